//! `/office/actions`: improvement actions (S000 §3, S001 §6, S002 6.2). A
//! new action comes from the dashboard (its filters), a typical case (its
//! record) or an inbox list (its records), as URL parameters; the list
//! shows owner, deadline and status, and each action's effect: its figure
//! before it was opened and after it was done, side by side.

use closeloop_shared::actions::{
    ActionChange, ActionDetail, ActionStatus, ImprovementAction, MAX_LINKED, Metric, NewAction,
};
use closeloop_shared::analytics::DAY_MS;
use closeloop_shared::api::{RecordPage, RecordQuery};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use crate::i18n::{Lang, lang, t, tr};
use crate::local_time;
use crate::session;

/// An API answer in the user's words.
fn problem(l: Lang, status: u16, body: &str) -> String {
    session::refusal(l, status, body, "action.forbidden", |_, c| {
        c.starts_with("action_")
            .then(|| tr(l, &format!("action.error.{c}")).into())
    })
}

async fn call<T: serde::de::DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<String>,
    l: Lang,
) -> Result<T, String> {
    match session::call(method, path, body).await {
        Ok((200, body)) => {
            serde_json::from_str(&body).map_err(|_| tr(l, "inbox.bad_answer").into())
        }
        Ok((status, body)) => Err(problem(l, status, &body)),
        Err(()) => Err(tr(l, "case.offline").into()),
    }
}

/// The new action the URL asks for, if any: `?new=1` with the dashboard's
/// `department`, `channel`, `type`, a `metric`, a `title`, `records`
/// (comma-separated ids) or `list` (an inbox query whose records to link).
fn draft_from_url(
    params: &leptos_router::params::ParamsMap,
) -> Option<(NewAction, Option<String>)> {
    params.get("new")?;
    let text = |k: &str| params.get(k).filter(|v| !v.is_empty());
    let records = text("records")
        .map(|r| r.split(',').map(str::to_string).take(MAX_LINKED).collect())
        .unwrap_or_default();
    let draft = NewAction {
        title: text("title").unwrap_or_default(),
        plan: String::new(),
        owner: String::new(),
        deadline_ms: local_time::parse(&local_time::day(js_sys::Date::now() as i64 + 30 * DAY_MS))
            .unwrap_or_default(),
        metric: text("metric")
            .and_then(|m| Metric::from_key(&m))
            .unwrap_or(Metric::RepeatComplaints),
        department: text("department"),
        channel: text("channel"),
        feedback_type: text("type"),
        records,
    };
    Some((draft, text("list")))
}

#[component]
pub fn ActionsPage() -> impl IntoView {
    let language = lang();
    let params = use_query_map().get_untracked();
    let draft = RwSignal::new(draft_from_url(&params).map(|(d, _)| d));
    // An inbox list: its records (up to the limit) are linked.
    if let Some((_, Some(list))) = draft_from_url(&params) {
        let l = language.get_untracked();
        spawn_local(async move {
            let path = format!("/api/records?{list}&per_page={MAX_LINKED}");
            if let Ok(page) = call::<RecordPage>("GET", &path, None, l).await {
                draft.update(|d| {
                    if let Some(d) = d {
                        d.records = page.records.into_iter().map(|r| r.id).collect();
                    }
                });
            }
        });
    }
    let actions = RwSignal::new(None::<Result<Vec<ImprovementAction>, String>>);
    let message = RwSignal::new(None::<String>);
    let reload = move || {
        let l = language.get_untracked();
        spawn_local(async move {
            actions.set(Some(call("GET", "/api/improvement-actions", None, l).await));
        });
    };
    reload();
    let save = move |_| {
        let Some(d) = draft.get_untracked() else {
            return;
        };
        let l = language.get_untracked();
        spawn_local(async move {
            let body = serde_json::to_string(&d).ok();
            match call::<ImprovementAction>("POST", "/api/improvement-actions", body, l).await {
                Ok(_) => {
                    draft.set(None);
                    message.set(None);
                    reload();
                }
                Err(e) => message.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card actions-page" data-testid="actions">
            <div class="inbox-head">
                <h2>{move || t("action.title")}</h2>
                {move || draft.with(Option::is_none).then(|| view! {
                    <a class="button secondary" href="/office/actions?new=1" data-testid="action-new">{move || t("action.new")}</a>
                })}
            </div>
            {move || draft.get().is_some().then(|| view! { <Form draft save /> })}
            {move || message.get().map(|m| view! { <p class="problem" role="alert">{m}</p> })}
            {move || match actions.get() {
                None => view! { <p class="loading">{move || t("case.loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="problem" role="alert">{e}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="hint" data-testid="action-none">{move || t("action.none")}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="action-list">
                        {list.into_iter().map(|a| view! { <Row a reload /> }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}

/// The new action's form.
#[component]
fn Form(
    draft: RwSignal<Option<NewAction>>,
    save: impl Fn(leptos::ev::MouseEvent) + 'static,
) -> impl IntoView {
    let set = move |f: &dyn Fn(&mut NewAction)| {
        draft.update(|d| {
            if let Some(d) = d {
                f(d)
            }
        })
    };
    let get =
        move |f: fn(&NewAction) -> String| draft.with(|d| d.as_ref().map(f).unwrap_or_default());
    let scope = move || {
        draft.with(|d| {
            let Some(d) = d else { return String::new() };
            [&d.department, &d.channel, &d.feedback_type]
                .into_iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" · ")
        })
    };
    view! {
        <div class="action-form" data-testid="action-form">
            <label><span>{move || t("action.name")}</span>
                <input data-testid="action-title" maxlength="100" prop:value=move || get(|d| d.title.clone())
                    on:input=move |e| { let v = event_target_value(&e); set(&|d| d.title = v.clone()) } /></label>
            <label><span>{move || t("action.plan")}</span>
                <textarea rows="3" maxlength="2000" data-testid="action-plan" prop:value=move || get(|d| d.plan.clone())
                    on:input=move |e| { let v = event_target_value(&e); set(&|d| d.plan = v.clone()) }></textarea></label>
            <div class="filters">
                <label class="filter"><span>{move || t("action.owner")}</span>
                    <input data-testid="action-owner" maxlength="64" prop:value=move || get(|d| d.owner.clone())
                        on:input=move |e| { let v = event_target_value(&e); set(&|d| d.owner = v.clone()) } /></label>
                <label class="filter"><span>{move || t("action.deadline")}</span>
                    <input type="date" data-testid="action-deadline" prop:value=move || get(|d| local_time::day(d.deadline_ms))
                        on:change=move |e| { let v = local_time::parse(&event_target_value(&e)).unwrap_or(0); set(&|d| d.deadline_ms = v) } /></label>
                <label class="filter"><span>{move || t("action.metric")}</span>
                    <select data-testid="action-metric" on:change=move |e| {
                        let v = Metric::from_key(&event_target_value(&e));
                        set(&|d| if let Some(m) = v { d.metric = m });
                    }>
                        {Metric::ALL.map(|m| view! {
                            <option value=m.key() selected=move || draft.with(|d| d.as_ref().map(|d| d.metric) == Some(m))>
                                {move || m.name(lang().get() == Lang::En)}
                            </option>
                        })}
                    </select></label>
            </div>
            <p class="hint" data-testid="action-scope">
                {move || t("action.scope")} " " {move || { let s = scope(); if s.is_empty() { t("dash.all").to_string() } else { s } }}
                " · " {move || t("action.records")} " " {move || draft.with(|d| d.as_ref().map_or(0, |d| d.records.len()))}
            </p>
            <div class="actions">
                <button type="button" data-testid="action-save" on:click=save>{move || t("action.save")}</button>
                <a class="button secondary" href="/office/actions">{move || t("action.cancel")}</a>
            </div>
        </div>
    }
}

/// One action: what, who, by when, status, and its effect on demand.
#[component]
fn Row(a: ImprovementAction, reload: impl Fn() + Copy + 'static) -> impl IntoView {
    let language = lang();
    let detail = RwSignal::new(None::<Result<ActionDetail, String>>);
    let path = format!("/api/improvement-actions/{}", a.id);
    let change = {
        let path = path.clone();
        move |status: ActionStatus| {
            let (path, l) = (path.clone(), language.get_untracked());
            let body = serde_json::to_string(&ActionChange {
                status: Some(status),
                ..ActionChange::default()
            })
            .ok();
            spawn_local(async move {
                let _ = call::<ImprovementAction>("PUT", &path, body, l).await;
                reload();
            });
        }
    };
    let measure = move |_| {
        let (path, l) = (path.clone(), language.get_untracked());
        spawn_local(async move { detail.set(Some(call("GET", &path, None, l).await)) });
    };
    let overdue = a.overdue(js_sys::Date::now() as i64);
    let status = a.status;
    view! {
        <li data-action=a.id.clone() class:overdue=overdue>
            <p><strong>{a.title.clone()}</strong> " "
                <span class=format!("status-pill action-{}", status.key())>{move || t(&format!("action.status.{}", status.key()))}</span>
                {overdue.then(|| view! { " " <span class="status-pill overdue">{move || t("action.overdue")}</span> })}
            </p>
            <p class="hint">{a.owner.clone()} " · " {move || t("action.deadline")} " " {local_time::day(a.deadline_ms)}
                " · " {move || a.metric.name(lang().get() == Lang::En)} " · " {move || t("action.records")} " " {a.records.len()}</p>
            {(!a.plan.is_empty()).then(|| view! { <p>{a.plan.clone()}</p> })}
            <div class="actions">
                <select data-testid="action-status" on:change=move |e| {
                    if let Some(s) = ActionStatus::from_key(&event_target_value(&e)) { change(s) }
                }>
                    {ActionStatus::ALL.map(|s| view! {
                        <option value=s.key() selected={s == status}>{move || t(&format!("action.status.{}", s.key()))}</option>
                    })}
                </select>
                <button type="button" class="secondary" data-testid="action-measure" on:click=measure>{move || t("action.effect")}</button>
            </div>
            {move || detail.get().map(|d| match d {
                Err(e) => view! { <p class="problem" role="alert">{e}</p> }.into_any(),
                Ok(d) => {
                    let e = d.effect;
                    let when = |(from, to): (i64, i64)| format!("{} – {}", local_time::day(from), local_time::day(to - 1));
                    view! {
                        <table class="effect" data-testid="action-effect">
                            <thead><tr><th></th><th>{move || t("action.before")}</th><th>{move || t("action.after")}</th></tr></thead>
                            <tbody><tr>
                                <th scope="row">{move || e.metric.name(lang().get() == Lang::En)}</th>
                                <td>{e.metric.show(e.before)} <small>" " {when(e.before_period)}</small></td>
                                <td>{e.metric.show(e.after)} <small>" " {e.after_period.map(when).unwrap_or_default()}</small></td>
                            </tr></tbody>
                        </table>
                        <p class="hint" data-testid="action-verdict">{move || t(match (e.improved(), e.after_period) {
                            (Some(true), _) => "action.improved",
                            (Some(false), _) => "action.not_improved",
                            (None, None) => "action.not_yet",
                            (None, Some(_)) => "action.no_data",
                        })}</p>
                    }.into_any()
                }
            })}
        </li>
    }
}

/// `/office/actions?new=1&list=…` for an inbox list's records.
pub fn for_list(q: &RecordQuery) -> String {
    let mut q = q.clone();
    (q.page, q.per_page) = (None, None);
    format!(
        "/office/actions?new=1&list={}",
        js_sys::encode_uri_component(&q.to_query_string())
    )
}
