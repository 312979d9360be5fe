//! Head office's inbox: one page of the read model at a time, filtered and
//! sorted by the server (`GET /api/records`), re-read when the server
//! pushes that a change was stored (`/api/events`). No record document is
//! fetched for the list; opening a record loads that one over sync.

mod actions;
mod audit;
mod cases;
mod changes;
mod contact;
mod customer_file;
mod dashboard;
mod export;
mod filters;
mod keys;
pub mod live;
mod process;
mod record;
mod register;
mod reply;
mod rows;
mod survey;
mod survey_design;
mod survey_results;
mod work;

use closeloop_shared::api::{ErrorBody, RecordPage, RecordQuery};
use closeloop_shared::inbox::{INBOX_PAGE, SavedView};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::choices;
use crate::i18n::{Lang, lang, t, tr};
use crate::session::{self, Session};

pub use actions::ActionsPage;
pub use audit::AuditLogPage;
pub use cases::CaseLibraryPage;
pub use dashboard::DashboardPage;
pub use record::{FieldRecordPage, OfficeRecordPage};
pub use register::RegisterPage;
pub use survey_design::{SurveyBuilderPage, SurveySendingPage};
pub use survey_results::SurveyResultsPage;

/// The inbox.
#[component]
pub fn OfficePage() -> impl IntoView {
    let repo = expect_context::<crate::repo::Repo>();
    let governs = Memo::new(move |_| {
        matches!(repo.session.get(), Session::SignedIn { ref role, .. }
            if role == "supervisor" || role == "admin")
    });
    let me = Memo::new(move |_| match repo.session.get() {
        Session::SignedIn { username, .. } => Some(username),
        _ => session::cached_user().map(|u| u.username),
    });
    let view = RwSignal::new(SavedView::All);
    // A dashboard figure links here with its list's filters in the URL.
    let search = leptos_router::hooks::use_location().search.get_untracked();
    let decode = |s: &str| {
        js_sys::decode_uri_component(&s.replace('+', " "))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    let linked = RecordQuery::from_pairs(
        search
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            }),
    );
    let query = RwSignal::new(linked.unwrap_or_else(|| SavedView::All.query("")));
    // Server push: the same query, read again.
    let push = expect_context::<live::Push>();
    let live = push.live;
    let page = RwSignal::new(None::<RecordPage>);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let loads = RwSignal::new(0u64);
    // Reads are numbered. An answer is shown unless a later one is already
    // shown or the query has changed since: a slow answer never overwrites
    // a newer one, and a re-read after a push does not hide the answer
    // already on its way.
    let asked = StoredValue::new(0u64);
    let shown = StoredValue::new(0u64);
    let l = lang();

    Effect::new(move |prev: Option<RecordQuery>| {
        let q = query.get();
        push.track();
        let n = asked.get_value() + 1;
        asked.set_value(n);
        // Busy while a new query is answered; a re-read after a push
        // refreshes what is shown without flagging it.
        if prev.as_ref() != Some(&q) {
            busy.set(true);
        }
        let asked_for = q.clone();
        spawn_local(async move {
            let outcome = fetch_page(&q, l.get_untracked()).await;
            if shown.get_value() > n || query.with_untracked(|now| *now != q) {
                return;
            }
            shown.set_value(n);
            match outcome {
                Ok(p) => {
                    page.set(Some(p));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
            loads.update(|n| *n += 1);
        });
        asked_for
    });

    // A department's queue instead of a saved view (empty: none chosen).
    let queue = RwSignal::new(String::new());
    let choose = move |v: SavedView| {
        view.set(v);
        queue.set(String::new());
        query.set(v.query(&me.get_untracked().unwrap_or_default()));
    };
    let departments = {
        let repo = repo.clone();
        Memo::new(move |_| {
            choices::terms(
                repo.taxonomy()
                    .list(closeloop_shared::taxonomy::TermList::Department),
            )
        })
    };
    let go_to = move |delta: i64| {
        query.update(|q| q.page = Some((q.page.unwrap_or(1) + delta).max(1)));
    };
    let pages = move || {
        page.with(|p| {
            p.as_ref()
                .map(|p| ((p.total + p.per_page - 1) / p.per_page).max(1))
                .unwrap_or(1)
        })
    };
    let current = move || query.with(|q| q.page.unwrap_or(1));

    view! {
        <section class="card inbox-card">
            <div class="inbox-head">
                <h2>{move || t("inbox.title")}</h2>
                <a class="button" href="/office/new" data-testid="register-new">{move || t("register.new")}</a>
                {move || governs.get().then(|| view! {
                    <a class="button secondary" href="/office/audit" data-testid="audit-link">{move || t("nav.audit")}</a>
                })}
                <span class="live" data-live=move || live.get().to_string()>
                    {move || if live.get() { t("inbox.live") } else { t("inbox.not_live") }}
                </span>
            </div>
            <nav class="views" aria-label=move || t("inbox.views")>
                {SavedView::ALL
                    .into_iter()
                    .map(|v| {
                        view! {
                            <button
                                class="view"
                                data-view=v.key()
                                aria-pressed=move || (queue.with(String::is_empty) && view.get() == v).to_string()
                                on:click=move |_| choose(v)
                            >
                                {move || view_label(lang().get(), v)}
                            </button>
                        }
                    })
                    .collect_view()}
                <select class="view queue" data-testid="department-queue" aria-label=move || t("inbox.queue")
                    prop:value=move || queue.get()
                    on:change=move |ev| {
                        let d = event_target_value(&ev);
                        if d.is_empty() { return choose(view.get_untracked()) }
                        query.set(SavedView::department(&d));
                        queue.set(d);
                    }>
                    <option value="">{move || t("inbox.queue")}</option>
                    {move || departments.get().into_iter().map(choices::option).collect_view()}
                </select>
            </nav>
            <filters::Filters query />
            <div class="list-tools">
                <export::Export query />
                <a class="button secondary" data-testid="action-for-list" href=move || actions::for_list(&query.get())>
                    {move || t("action.for_list")}
                </a>
            </div>
            {move || (view.get() == SavedView::Archived && queue.with(String::is_empty)).then(|| {
                let href = move || {
                    let (from, to) = query.with(|q| (q.from, q.to));
                    let mut params = Vec::new();
                    params.extend(from.map(|f| format!("from={f}")));
                    params.extend(to.map(|t| format!("to={t}")));
                    format!("/api/archive/export.zip?{}", params.join("&"))
                };
                view! {
                    <p class="archive-export">
                        <a class="button secondary" href=href download data-testid="archive-export">{move || t("archive.export")}</a>
                        " " <span class="hint">{move || t("archive.export.hint")}</span>
                    </p>
                }
            })}
            {move || error.get().map(|e| view! { <p class="problem" role="alert">{e}</p> })}
            <rows::Rows page busy loads />
            <div class="pager">
                <button id="prev-page" class="secondary" disabled=move || { current() <= 1 }
                    on:click=move |_| go_to(-1)>
                    {move || t("inbox.prev")}
                </button>
                <span id="page-info" aria-live="polite">
                    {move || page_info(l.get(), current(), pages(), page.with(|p| p.as_ref().map_or(0, |p| p.total)))}
                </span>
                <button id="next-page" class="secondary" disabled=move || { current() >= pages() }
                    on:click=move |_| go_to(1)>
                    {move || t("inbox.next")}
                </button>
            </div>
            <p class="shortcuts" data-testid="shortcuts">{move || t("inbox.shortcuts")}</p>
        </section>
    }
}

fn view_label(l: Lang, v: SavedView) -> &'static str {
    tr(l, &format!("inbox.view.{}", v.key()))
}

fn page_info(l: Lang, page: i64, pages: i64, total: i64) -> String {
    match l {
        Lang::Zh => format!("第 {page} / {pages} 页 · 共 {total} 条"),
        Lang::En => format!("Page {page} of {pages} · {total} records"),
    }
}

/// One page of the list, or why not in the user's language.
async fn fetch_page(q: &RecordQuery, l: Lang) -> Result<RecordPage, String> {
    let mut q = q.clone();
    q.per_page.get_or_insert(INBOX_PAGE);
    let path = format!("/api/records?{}", q.to_query_string());
    match session::call("GET", &path, None).await {
        Ok((200, body)) => {
            serde_json::from_str(&body).map_err(|_| tr(l, "inbox.bad_answer").to_string())
        }
        Ok((401, _)) => Err(tr(l, "inbox.sign_in").to_string()),
        Ok((403, _)) => Err(tr(l, "inbox.forbidden").to_string()),
        Ok((_, body)) => Err(serde_json::from_str::<ErrorBody>(&body)
            .map(|e| e.message)
            .unwrap_or_else(|_| tr(l, "inbox.bad_answer").to_string())),
        Err(()) => Err(tr(l, "inbox.offline").to_string()),
    }
}
