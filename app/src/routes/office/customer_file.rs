//! The record page's customer file (顾客档案, S002 5.4): every record of the
//! same customer — by a contact with the same phone or email, or confirmed
//! by head office — newest first, with the replies and answers each was
//! given; same-nickname records to confirm; important records marked with
//! why. Head office and supervisors only (others see no panel).

use closeloop_shared::api::{CustomerFile, FileEntry, FileLink, RecordSummary};
use closeloop_shared::sync::DocumentId;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{format_time, lang, status_label, t};
use crate::session;

/// Characters of a description the file shows.
const SNIPPET_CHARS: usize = 80;

#[derive(Debug, Clone, PartialEq)]
enum Loaded {
    Loading,
    /// Not for this role: no panel.
    Hidden,
    Failed,
    File(CustomerFile),
}

#[component]
pub fn CustomerFilePanel(id: DocumentId) -> impl IntoView {
    let file = RwSignal::new(Loaded::Loading);
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            let path = format!("/api/records/{id}/customer");
            file.set(match session::call("GET", &path, None).await {
                Ok((200, body)) => serde_json::from_str(&body).map_or(Loaded::Failed, Loaded::File),
                Ok((401 | 403, _)) => Loaded::Hidden,
                _ => Loaded::Failed,
            });
        });
    });
    let refresh = move || reload.update(|n| *n += 1);
    move || match file.get() {
        Loaded::Hidden => None,
        shown => Some(view! {
            <section class="card customer-file" data-testid="customer-file">
                <h3>{move || t("file.title")}</h3>
                <p class="hint">{move || t("file.hint")}</p>
                {match shown {
                    Loaded::Loading => view! { <p class="loading">{move || t("file.loading")}</p> }.into_any(),
                    Loaded::File(f) => view! { <FileView id f refresh /> }.into_any(),
                    _ => view! { <p class="problem" role="alert">{move || t("file.unavailable")}</p> }.into_any(),
                }}
            </section>
        }),
    }
}

#[component]
fn FileView(
    id: DocumentId,
    f: CustomerFile,
    refresh: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let again = refresh.clone();
    view! {
        <ol class="file-entries">
            {f.entries.into_iter().map(|e| view! { <Entry e refresh=refresh.clone() /> }).collect_view()}
        </ol>
        {(!f.candidates.is_empty()).then(|| view! {
            <h4>{move || t("file.candidates")}</h4>
            <p class="hint">{move || t("file.candidates.hint")}</p>
            <ul class="file-candidates" data-testid="file-candidates">
                {f.candidates.into_iter().map(|r| view! { <Candidate id r refresh=again.clone() /> }).collect_view()}
            </ul>
        })}
    }
}

/// One record of the file.
#[component]
fn Entry(e: FileEntry, refresh: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let r = &e.record;
    let link = match e.link {
        FileLink::This => "file.link.this",
        FileLink::Contact => "file.link.contact",
        FileLink::Confirmed => "file.link.confirmed",
    };
    let status = r.status.clone();
    let href = format!("/office/records/{}", r.id);
    let this = e.link == FileLink::This;
    let record_id = r.id.clone();
    view! {
        <li data-testid="file-entry" data-link=link.trim_start_matches("file.link.") class:important=e.important.is_some()>
            <p class="meta">
                <time>{format_time(r.received_at)}</time>
                <span class="status-pill">{move || status_label(lang().get(), &status)}</span>
                <span class="link-kind">{move || t(link)}</span>
                {e.important.is_some().then(|| view! { <span class="important-pill">{move || t("file.important")}</span> })}
            </p>
            <p>
                <strong>{r.customer.clone()}</strong> " "
                {if this {
                    view! { <span>{snippet(&r.description)}</span> }.into_any()
                } else {
                    view! { <a href=href>{snippet(&r.description)}</a> }.into_any()
                }}
            </p>
            {if e.replies.is_empty() {
                view! { <p class="empty">{move || t("file.no_replies")}</p> }.into_any()
            } else {
                view! {
                    <ul class="file-replies">
                        {e.replies.iter().map(|reply| view! {
                            <li><time>{format_time(reply.at)}</time> " · " {reply.content.clone()}
                                {reply.customer_answer.clone().map(|a| {
                                    let key = format!("log.answer.{a}");
                                    view! { " · " <em>{move || t(&key)}</em> }
                                })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <Mark record_id note=e.important.clone() refresh />
        </li>
    }
}

/// Marks a record important with why, or unmarks it.
#[component]
fn Mark(
    record_id: String,
    note: Option<String>,
    refresh: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let editing = RwSignal::new(false);
    let text = RwSignal::new(note.clone().unwrap_or_default());
    let problem = RwSignal::new(None::<&'static str>);
    let marked = note.is_some();
    let send = {
        let record_id = record_id.clone();
        move |note: Option<String>| {
            let (record_id, refresh) = (record_id.clone(), refresh.clone());
            spawn_local(async move {
                let path = format!("/api/records/{record_id}/customer/important");
                let body = serde_json::json!({ "note": note }).to_string();
                match session::call("PUT", &path, Some(body)).await {
                    Ok((200, _)) => refresh(),
                    Ok((400, _)) => problem.set(Some("file.bad_note")),
                    _ => problem.set(Some("file.failed")),
                }
            });
        }
    };
    let unmark = send.clone();
    view! {
        <div class="file-mark">
            {note.map(|n| view! { <p class="important-note" data-testid="important-note">{n}</p> })}
            {move || if editing.get() {
                let send = send.clone();
                view! {
                    <label>{move || t("file.note")}
                        <input type="text" maxlength="500" data-testid="important-text"
                            placeholder=move || t("file.note.placeholder")
                            prop:value=move || text.get()
                            on:input=move |ev| text.set(event_target_value(&ev)) />
                    </label>
                    <button type="button" data-testid="important-save"
                        on:click=move |_| send(Some(text.get_untracked()))>{move || t("file.save_mark")}</button>
                }.into_any()
            } else if marked {
                let unmark = unmark.clone();
                view! {
                    <button type="button" class="secondary" on:click=move |_| unmark(None)>{move || t("file.unmark")}</button>
                }.into_any()
            } else {
                view! {
                    <button type="button" class="secondary" data-testid="mark-important"
                        on:click=move |_| editing.set(true)>{move || t("file.mark")}</button>
                }.into_any()
            }}
            {move || problem.get().map(|k| view! { <p class="problem" role="alert">{move || t(k)}</p> })}
        </div>
    }
}

/// A same-nickname record head office may confirm as this customer's.
#[component]
fn Candidate(
    id: DocumentId,
    r: RecordSummary,
    refresh: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let failed = RwSignal::new(false);
    let other = r.id.clone();
    let confirm = move |_| {
        let (other, refresh) = (other.clone(), refresh.clone());
        spawn_local(async move {
            let path = format!("/api/records/{id}/customer/link");
            let body = serde_json::json!({ "document_id": other }).to_string();
            match session::call("POST", &path, Some(body)).await {
                Ok((200, _)) => refresh(),
                _ => failed.set(true),
            }
        });
    };
    view! {
        <li data-testid="file-candidate">
            <time>{format_time(r.received_at)}</time> " · "
            <a href=format!("/office/records/{}", r.id)>{snippet(&r.description)}</a> " "
            <button type="button" class="secondary" data-testid="confirm-same" on:click=confirm>
                {move || t("file.confirm")}
            </button>
            {move || failed.get().then(|| view! { <span class="problem">{move || t("file.failed")}</span> })}
        </li>
    }
}

fn snippet(text: &str) -> String {
    let mut s: String = text.chars().take(SNIPPET_CHARS).collect();
    if text.chars().count() > SNIPPET_CHARS {
        s.push('…');
    }
    s
}
