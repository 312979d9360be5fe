//! `/office/audit`: the audit log for supervisors and administrators
//! (S002 §6) — who signed in or failed to, saw a customer's contact,
//! exported, erased, changed roles or settings, and the archive and purge
//! runs — filtered by action, person and period, paged, exported as CSV.

use closeloop_shared::audit::{AuditAction, AuditEntry, AuditPage, AuditQuery, SYSTEM_ACTOR};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{format_time, t};
use crate::local_time;
use crate::session;

const PAGE: u32 = 100;
const DAY_MS: i64 = 86_400_000;

/// The query's set fields as URL parameters, values percent-encoded (for
/// the list and the export).
fn params(q: &AuditQuery) -> String {
    let mut parts = Vec::new();
    if let Some(a) = q.action {
        parts.push(format!("action={}", a.key()));
    }
    if let Some(actor) = q.actor.as_deref().filter(|a| !a.is_empty()) {
        parts.push(format!("actor={}", js_sys::encode_uri_component(actor)));
    }
    for (k, v) in [
        ("from_ms", q.from_ms),
        ("to_ms", q.to_ms),
        ("before_id", q.before_id),
    ] {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    }
    if let Some(l) = q.limit {
        parts.push(format!("limit={l}"));
    }
    parts.join("&")
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = RwSignal::new(AuditQuery::default());
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let next = RwSignal::new(None::<i64>);
    let problem = RwSignal::new(None::<&'static str>);
    // A new filter reads the first page; "older" appends the next.
    let load = move |before: Option<i64>| {
        let q = AuditQuery {
            before_id: before,
            limit: Some(PAGE),
            ..query.get_untracked()
        };
        spawn_local(async move {
            let path = format!("/api/audit?{}", params(&q));
            match session::call("GET", &path, None).await {
                Ok((200, body)) => match serde_json::from_str::<AuditPage>(&body) {
                    Ok(page) => {
                        problem.set(None);
                        next.set(page.next_before_id);
                        if before.is_some() {
                            entries.update(|e| e.extend(page.entries));
                        } else {
                            entries.set(page.entries);
                        }
                    }
                    Err(_) => problem.set(Some("inbox.bad_answer")),
                },
                Ok((401 | 403, _)) => problem.set(Some("audit.forbidden")),
                Ok(_) => problem.set(Some("inbox.bad_answer")),
                Err(()) => problem.set(Some("inbox.offline")),
            }
        });
    };
    Effect::new(move |_| {
        query.track();
        load(None);
    });
    let export = move || {
        let q = AuditQuery {
            limit: None,
            ..query.get()
        };
        format!("/api/audit/export.csv?{}", params(&q))
    };
    let day = |ms: Option<i64>| ms.map(local_time::day).unwrap_or_default();
    view! {
        <section class="card audit" data-testid="audit-log">
            <div class="inbox-head">
                <h2>{move || t("audit.title")}</h2>
                <a class="button secondary" href=export download data-testid="audit-export">{move || t("audit.export")}</a>
            </div>
            <p class="hint">{move || t("audit.hint")}</p>
            <div class="filters" role="search">
                <label class="filter">
                    <span>{move || t("audit.action")}</span>
                    <select id="a-action"
                        prop:value=move || query.with(|q| q.action.map(|a| a.key()).unwrap_or_default())
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            query.update(|q| q.action = AuditAction::from_key(&v));
                        }>
                        <option value="">{move || t("audit.all_actions")}</option>
                        {AuditAction::ALL.into_iter().map(|a| {
                            let key = format!("audit.a.{}", a.key());
                            view! { <option value=a.key()>{move || t(&key)}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label class="filter">
                    <span>{move || t("audit.actor")}</span>
                    <input id="a-actor" type="search"
                        prop:value=move || query.with(|q| q.actor.clone().unwrap_or_default())
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            query.update(|q| q.actor = Some(v.trim().to_string()).filter(|v| !v.is_empty()));
                        } />
                </label>
                <label class="filter">
                    <span>{move || t("audit.from")}</span>
                    <input id="a-from" type="date" prop:value=move || query.with(|q| day(q.from_ms))
                        on:change=move |ev| {
                            let v = local_time::parse(&event_target_value(&ev));
                            query.update(|q| q.from_ms = v);
                        } />
                </label>
                <label class="filter">
                    <span>{move || t("audit.to")}</span>
                    <input id="a-to" type="date" prop:value=move || query.with(|q| day(q.to_ms.map(|t| t - 1)))
                        on:change=move |ev| {
                            let v = local_time::parse(&event_target_value(&ev)).map(|m| m + DAY_MS);
                            query.update(|q| q.to_ms = v);
                        } />
                </label>
            </div>
            {move || problem.get().map(|k| view! { <p class="problem" role="alert">{move || t(k)}</p> })}
            <table class="audit-table">
                <thead><tr>
                    <th>{move || t("audit.at")}</th>
                    <th>{move || t("audit.actor")}</th>
                    <th>{move || t("audit.action")}</th>
                    <th>{move || t("audit.subject")}</th>
                    <th>{move || t("audit.detail")}</th>
                </tr></thead>
                <tbody>
                    <For each=move || entries.get() key=|e| e.id let:e>
                        <Row e />
                    </For>
                </tbody>
            </table>
            {move || (entries.with(Vec::is_empty) && problem.get().is_none())
                .then(|| view! { <p class="empty">{move || t("audit.empty")}</p> })}
            {move || next.get().map(|before| view! {
                <button type="button" class="secondary" data-testid="audit-more" on:click=move |_| load(Some(before))>
                    {move || t("audit.more")}
                </button>
            })}
        </section>
    }
}

#[component]
fn Row(e: AuditEntry) -> impl IntoView {
    let key = format!("audit.a.{}", e.action.key());
    let system = e.actor == SYSTEM_ACTOR;
    let actor = e.actor.clone();
    view! {
        <tr data-action=e.action.key()>
            <td><time>{format_time(e.at_ms)}</time></td>
            <td>{move || if system { t("audit.system").to_string() } else { actor.clone() }}</td>
            <td>{move || t(&key)}</td>
            <td>{e.subject.clone().unwrap_or_default()}</td>
            <td class="detail">{e.detail.clone().unwrap_or_default()}</td>
        </tr>
    }
}
