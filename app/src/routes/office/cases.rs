//! The typical-case library at head office (S003 §2, S004): the record
//! page's panel marks a record as an example or a lesson with why, and
//! `/office/cases` searches the library.

use closeloop_shared::cases::{CaseKind, MarkCase, TypicalCase};
use closeloop_shared::sync::DocumentId;
use closeloop_shared::taxonomy::TermList;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{Lang, format_time, lang, t, term_label, tr};
use crate::repo::Repo;
use crate::session;

/// The note being written on the record page, kept above the panel: the
/// page redraws its panels whenever the record changes.
#[derive(Clone, Copy)]
pub struct CaseDraft(RwSignal<String>);

/// Keeps the note being written (call once per page).
pub fn provide_draft() {
    provide_context(CaseDraft(RwSignal::new(String::new())));
}

/// An API answer in the user's language.
fn problem(l: Lang, status: u16, body: &str) -> String {
    session::refusal(l, status, body, "case.forbidden", |_, c| {
        matches!(c, "case_bad_note" | "case_bad_query")
            .then(|| tr(l, &format!("case.error.{c}")).into())
    })
}

/// Calls the case API; the mark as it is now, or the message why not.
async fn call(
    method: &str,
    path: &str,
    body: Option<String>,
    l: Lang,
) -> Result<Option<TypicalCase>, String> {
    match session::call(method, path, body).await {
        Ok((200, body)) => {
            serde_json::from_str(&body).map_err(|_| tr(l, "inbox.bad_answer").into())
        }
        Ok((status, body)) => Err(problem(l, status, &body)),
        Err(()) => Err(tr(l, "case.offline").into()),
    }
}

fn kind_pill(kind: CaseKind) -> impl IntoView {
    let key = format!("case.kind.{}", kind.key());
    view! { <span class=format!("status-pill case-{}", kind.key()) data-case-kind=kind.key()>{move || t(&key)}</span> }
}

/// The record page's panel.
#[component]
pub fn CasePanel(id: DocumentId) -> impl IntoView {
    let CaseDraft(note) = expect_context::<CaseDraft>();
    let mark = RwSignal::new(None::<Option<TypicalCase>>);
    let message = RwSignal::new(None::<String>);
    let language = lang();
    let path = move || format!("/api/records/{id}/typical-case");
    {
        let l = language.get_untracked();
        spawn_local(async move {
            match call("GET", &path(), None, l).await {
                Ok(m) => mark.set(Some(m)),
                Err(e) => message.set(Some(e)),
            }
        });
    }
    let send = move |method: &'static str, body: Option<String>| {
        let l = language.get_untracked();
        spawn_local(async move {
            match call(method, &path(), body, l).await {
                Ok(m) => {
                    message.set(None);
                    if m.is_some() {
                        note.set(String::new());
                    }
                    mark.set(Some(m));
                }
                Err(e) => message.set(Some(e)),
            }
        });
    };
    let save = move |kind: CaseKind| {
        let body = serde_json::to_string(&MarkCase {
            kind,
            note: note.get_untracked(),
        })
        .ok();
        send("PUT", body);
    };
    view! {
        <section class="card case-panel" data-testid="case-panel">
            <h3>{move || t("case.title")}</h3>
            {move || match mark.get() {
                None => view! { <p class="loading">{move || t("case.loading")}</p> }.into_any(),
                Some(Some(c)) => {
                    let again = c.note.clone();
                    view! {
                        <p data-testid="case-mark">{kind_pill(c.kind)} " " {c.note.clone()}</p>
                        <p class="hint">{c.marked_by.clone()} " · " {format_time(c.marked_at)}</p>
                        <div class="actions">
                            <button type="button" class="secondary" on:click=move |_| { note.set(again.clone()); mark.set(Some(None)); }>{move || t("case.edit")}</button>
                            <button type="button" class="secondary" data-testid="case-unmark" on:click=move |_| send("DELETE", None)>{move || t("case.unmark")}</button>
                        </div>
                    }.into_any()
                }
                Some(None) => view! {
                    <label>
                        <span>{move || t("case.note")}</span>
                        <textarea rows="2" maxlength="500" data-testid="case-note" placeholder=move || t("case.note_hint")
                            prop:value=move || note.get() on:input=move |e| note.set(event_target_value(&e))></textarea>
                    </label>
                    <div class="actions">
                        <button type="button" class="secondary" data-testid="case-example" on:click=move |_| save(CaseKind::Example)>{move || t("case.mark_example")}</button>
                        <button type="button" class="secondary" data-testid="case-lesson" on:click=move |_| save(CaseKind::Lesson)>{move || t("case.mark_lesson")}</button>
                    </div>
                }.into_any(),
            }}
            {move || message.get().map(|m| view! { <p class="problem" role="alert">{m}</p> })}
        </section>
    }
}

/// `/office/cases`: the library, searched by words and kind.
#[component]
pub fn CaseLibraryPage() -> impl IntoView {
    let query = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let cases = RwSignal::new(None::<Result<Vec<TypicalCase>, String>>);
    let language = lang();
    let search = move || {
        let l = language.get_untracked();
        let mut path = format!(
            "/api/typical-cases?q={}",
            js_sys::encode_uri_component(&query.get_untracked())
        );
        let k = kind.get_untracked();
        if !k.is_empty() {
            path.push_str(&format!("&kind={k}"));
        }
        spawn_local(async move {
            cases.set(Some(match session::call("GET", &path, None).await {
                Ok((200, body)) => {
                    serde_json::from_str(&body).map_err(|_| tr(l, "inbox.bad_answer").into())
                }
                Ok((status, body)) => Err(problem(l, status, &body)),
                Err(()) => Err(tr(l, "case.offline").into()),
            }));
        });
    };
    search();
    let taxonomy = expect_context::<Repo>().taxonomy();
    view! {
        <section class="card case-library" data-testid="case-library">
            <h2>{move || t("case.library")}</h2>
            <p class="hint">{move || t("case.library_hint")}</p>
            <form class="filters" role="search" on:submit=move |e: leptos::ev::SubmitEvent| { e.prevent_default(); search(); }>
                <label class="filter"><span>{move || t("case.search")}</span>
                    <input type="search" data-testid="case-search" maxlength="100" on:input=move |e| query.set(event_target_value(&e)) />
                </label>
                <label class="filter"><span>{move || t("case.kind")}</span>
                    <select data-testid="case-kind" on:change=move |e| { kind.set(event_target_value(&e)); search(); }>
                        <option value="">{move || t("case.kind.any")}</option>
                        {CaseKind::ALL.map(|k| { let key = format!("case.kind.{}", k.key()); view! { <option value=k.key()>{move || t(&key)}</option> } })}
                    </select>
                </label>
                <button type="submit" data-testid="case-find">{move || t("case.find")}</button>
            </form>
            {move || match cases.get() {
                None => view! { <p class="loading">{move || t("case.loading")}</p> }.into_any(),
                Some(Err(m)) => view! { <p class="problem" role="alert">{m}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="hint" data-testid="case-none">{move || t("case.none")}</p> }.into_any(),
                Some(Ok(list)) => {
                    let taxonomy = taxonomy.clone();
                    view! {
                        <ul class="cases" data-testid="cases">
                            {list.into_iter().map(|c| {
                                let tax = taxonomy.clone();
                                let ty = c.feedback_type.clone();
                                let (dept, received, by) = (c.department.clone(), format_time(c.received_at), c.marked_by.clone());
                                view! {
                                    <li data-case=c.id.clone()>
                                        <p>{kind_pill(c.kind)} " " <strong>{c.note.clone()}</strong></p>
                                        <p class="what"><a href=format!("/office/records/{}", c.id)>{c.description.chars().take(120).collect::<String>()}</a></p>
                                        <p><a class="button secondary" data-testid="case-start-action" href=format!(
                                            "/office/actions?new=1&records={}&title={}",
                                            c.id,
                                            js_sys::encode_uri_component(&c.note.chars().take(100).collect::<String>())
                                        )>{move || t("action.start")}</a></p>
                                        <p class="hint">{move || {
                                            // Type and department only when the record has them.
                                            let ty = ty.as_deref().map(|k| term_label(lang().get(), &tax, TermList::FeedbackType, k));
                                            [ty, dept.clone(), Some(received.clone()), Some(by.clone())]
                                                .into_iter()
                                                .flatten()
                                                .filter(|s| !s.is_empty())
                                                .collect::<Vec<_>>()
                                                .join(" · ")
                                        }}</p>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </section>
    }
}
