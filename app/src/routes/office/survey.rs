//! The record page's satisfaction-survey panel (head office's build, S003
//! §4): what the customer answered about this record, read again whenever
//! the server stores a change, and a single-use survey link to send them.

use closeloop_shared::survey::RecordSurveyAnswer;
use closeloop_shared::sync::DocumentId;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{Lang, format_time, lang, t};
use crate::session;

/// Links created on this page, by record: the record page redraws its
/// panels whenever the record changes, and a link must outlive that.
#[derive(Clone, Copy)]
pub struct IssuedLinks(RwSignal<Vec<(DocumentId, String)>>);

/// Keeps links created on the record page (call once per page).
pub fn provide_links() {
    provide_context(IssuedLinks(RwSignal::new(Vec::new())));
}

/// What the panel knows of the answers.
#[derive(Debug, Clone, PartialEq)]
enum Answers {
    Loading,
    /// Not for this user: no panel.
    Hidden,
    Failed,
    Shown(Vec<RecordSurveyAnswer>),
}

#[component]
pub fn SurveyPanel(id: DocumentId) -> impl IntoView {
    let answers = RwSignal::new(Answers::Loading);
    let push = expect_context::<super::live::Push>();
    Effect::new(move |_| {
        push.track();
        spawn_local(async move {
            let path = format!("/api/records/{id}/survey-answers");
            answers.set(match session::call("GET", &path, None).await {
                Ok((200, body)) => {
                    serde_json::from_str(&body).map_or(Answers::Failed, Answers::Shown)
                }
                Ok((401 | 403 | 404, _)) => Answers::Hidden,
                _ => Answers::Failed,
            });
        });
    });
    // Only the answers are redrawn when they are read again.
    let shown = Memo::new(move |_| answers.get() != Answers::Hidden);
    view! {
        <Show when=move || shown.get()>
            <section class="card survey-panel" data-testid="survey-panel">
                <h3>{move || t("survey.title")}</h3>
                {move || match answers.get() {
                    Answers::Loading => view! { <p class="loading">{move || t("survey.loading")}</p> }.into_any(),
                    Answers::Shown(list) if list.is_empty() => {
                        view! { <p class="hint">{move || t("survey.none")}</p> }.into_any()
                    }
                    Answers::Shown(list) => list.into_iter().map(|a| view! { <Answer a /> }).collect_view().into_any(),
                    _ => view! { <p class="problem" role="alert">{move || t("survey.unavailable")}</p> }.into_any(),
                }}
                <SendLink id />
            </section>
        </Show>
    }
}

/// One set of answers, question by question.
#[component]
fn Answer(a: RecordSurveyAnswer) -> impl IntoView {
    view! {
        <div class="survey-answer" data-testid="survey-answer" data-dissatisfied=a.dissatisfied.to_string()>
            <p class="meta">
                <time>{format_time(a.answered_at)}</time>
                {a.dissatisfied.then(|| view! { <span class="status-pill overdue">{move || t("survey.dissatisfied")}</span> })}
            </p>
            <dl class="facts">
                {a.lines.into_iter().map(|l| {
                    let (q, v) = (l.question, l.value);
                    view! {
                        <dt>{move || if lang().get() == Lang::En { q.en.clone() } else { q.zh.clone() }}</dt>
                        <dd>{move || if lang().get() == Lang::En { v.en.clone() } else { v.zh.clone() }}</dd>
                    }
                }).collect_view()}
            </dl>
        </div>
    }
}

/// Issues a link and shows it to copy into a message to the customer.
#[component]
fn SendLink(id: DocumentId) -> impl IntoView {
    let IssuedLinks(links) = expect_context::<IssuedLinks>();
    let link = Signal::derive(move || {
        links.with(|l| l.iter().find(|(d, _)| *d == id).map(|(_, url)| url.clone()))
    });
    let problem = RwSignal::new(None::<&'static str>);
    let busy = RwSignal::new(false);
    let issue = move |_| {
        busy.set(true);
        problem.set(None);
        spawn_local(async move {
            let path = format!("/api/records/{id}/survey-link");
            match session::call("POST", &path, None).await {
                Ok((201, body)) => {
                    let issued: Option<closeloop_shared::survey::SurveyLinkIssued> =
                        serde_json::from_str(&body).ok();
                    let origin = web_sys::window()
                        .and_then(|w| w.location().origin().ok())
                        .unwrap_or_default();
                    match issued {
                        Some(i) => links.update(|l| {
                            l.retain(|(d, _)| *d != id);
                            l.push((id, format!("{origin}{}", i.path)));
                        }),
                        None => problem.set(Some("survey.unavailable")),
                    }
                }
                Ok((403, _)) => problem.set(Some("survey.forbidden")),
                Ok(_) => problem.set(Some("survey.unavailable")),
                Err(()) => problem.set(Some("survey.offline")),
            }
            busy.set(false);
        });
    };
    view! {
        <button type="button" class="secondary" data-testid="survey-issue" on:click=issue disabled=move || busy.get()>
            {move || t("survey.issue")}
        </button>
        {move || link.get().map(|url| view! {
            <label class="survey-link">
                <span>{move || t("survey.link")}</span>
                <input type="text" readonly value=url data-testid="survey-link" on:focus=|e| {
                    use wasm_bindgen::JsCast;
                    if let Some(input) = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                        input.select();
                    }
                } />
            </label>
            <p class="hint">{move || t("survey.link_hint")}</p>
        })}
        {move || problem.get().map(|k| view! { <p class="problem" role="alert">{move || t(k)}</p> })}
    }
}
