//! One record, at `/office/records/<id>` at head office and `/records/<id>`
//! on the tablet: its document is asked for over sync (the only document the
//! office page loads), its SLA clock comes from the read model. Shown: what
//! the customer said, the classification, competing values of fields edited
//! concurrently offline, the workflow history and the processing log. The
//! desk panels (customer contact and customer file, read from the server)
//! are in head office's build only; the tablet's page links there.

use closeloop_shared::FeedbackRecord;
use closeloop_shared::api::RecordDetail;
use closeloop_shared::sync::DocumentId;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_params_map, use_query_map};

use closeloop_shared::record::{CustomerAnswer, LogKind};

use super::process::ProcessPanel;
use super::reply::ReplyPanel;
use super::rows::sla_words;
use super::work::{Drafts, WorkPanel};
use closeloop_shared::taxonomy::TermList;

use crate::i18n::{
    action_label, channel_label, format_time, lang, status_label, t, term_label, tr,
};
use crate::repo::Repo;
use crate::session;

/// How long the page waits for the document before saying so.
const WAIT_MS: i32 = 10_000;

/// The panels only head office's build links in: both read the server.
#[derive(Clone, Copy)]
pub struct DeskPanels {
    /// The customer file, beside the history.
    pub file: fn(DocumentId) -> AnyView,
    /// The customer's contact, atop the side column.
    pub contact: fn(DocumentId, Option<String>) -> AnyView,
    /// The satisfaction survey: answers, and a link to send.
    pub survey: fn(DocumentId) -> AnyView,
    /// Marking the record as a typical case.
    pub case: fn(DocumentId) -> AnyView,
}

/// The record page with the desk panels (head office's build).
#[component]
pub fn OfficeRecordPage() -> impl IntoView {
    let desk = DeskPanels {
        file: |id| view! { <super::customer_file::CustomerFilePanel id /> }.into_any(),
        contact: |id, contact_ref| {
            view! { <super::contact::ContactPanel id contact_ref /> }.into_any()
        },
        survey: |id| view! { <super::survey::SurveyPanel id /> }.into_any(),
        case: |id| view! { <super::cases::CasePanel id /> }.into_any(),
    };
    super::survey::provide_links();
    super::cases::provide_draft();
    record_page(Some(desk))
}

/// The record page on the tablet: the desk panels are a link to head office.
#[component]
pub fn FieldRecordPage() -> impl IntoView {
    record_page(None)
}

fn record_page(desk: Option<DeskPanels>) -> impl IntoView {
    let params = use_params_map();
    let id =
        Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| s.parse::<DocumentId>().ok())));
    let repo = expect_context::<Repo>();
    let record = {
        let repo = repo.clone();
        Memo::new(move |_| {
            repo.version.track();
            id.get().and_then(|id| repo.record(&id))
        })
    };
    let detail = RwSignal::new(None::<RecordDetail>);
    provide_context(super::contact::ErasedRecords(RwSignal::new(Vec::new())));
    let drafts = Drafts::new();
    let log = super::changes::follow_log(id);
    let waited = RwSignal::new(false);
    // Until the device's own documents are in memory, not having one yet says nothing.
    let loaded = repo.loaded;
    // The SLA clock is the read model's: read again whenever the server
    // says a change was stored (ours included, once it is durable there).
    let push = expect_context::<super::live::Push>();
    Effect::new(move |_| {
        push.track();
        let Some(id) = id.get() else { return };
        spawn_local(async move {
            if let Ok((200, body)) = session::call("GET", &format!("/api/records/{id}"), None).await
            {
                detail.set(serde_json::from_str(&body).ok());
            }
        });
    });
    // `a` and `r` jump to assigning and replying; `?focus=` (from the
    // inbox's `a`/`r`) does so once the record is shown.
    let query = use_query_map();
    let focused = StoredValue::new(false);
    Effect::new(move |_| {
        let wanted = query.with(|q| q.get("focus"));
        if record.with(Option::is_some) && !focused.get_value() {
            focused.set_value(true);
            if let Some(selector) = wanted.as_deref().and_then(super::keys::target) {
                // After this render has reached the page.
                request_animation_frame(move || {
                    super::keys::focus(selector);
                });
            }
        }
    });
    let keys = window_event_listener(leptos::ev::keydown, move |e| {
        if let Some(selector) = super::keys::shortcut(&e)
            .as_deref()
            .and_then(super::keys::target)
            && super::keys::focus(selector)
        {
            e.prevent_default();
        }
    });
    on_cleanup(move || keys.remove());
    Effect::new(move |_| {
        let Some(id) = id.get() else { return };
        repo.request(id);
        waited.set(false);
        set_timeout(
            move || waited.set(true),
            std::time::Duration::from_millis(WAIT_MS as u64),
        );
    });
    view! {
        <p class="back">
            {if desk.is_some() {
                view! { <a href="/office">{move || t("record.back")}</a> }.into_any()
            } else {
                view! { <a href="/">{move || t("record.back_field")}</a> }.into_any()
            }}
        </p>
        <super::contact::ErasedNotice />
        {move || match (id.get(), record.get()) {
            (None, _) => view! { <p class="problem" role="alert">{move || t("record.bad_id")}</p> }.into_any(),
            (Some(_), None) => view! {
                <section class="card" aria-busy="true">
                    <p class="loading">{move || if waited.get() && loaded.get() { t("record.unreachable") } else { t("record.loading") }}</p>
                </section>
            }.into_any(),
            (Some(id), Some(r)) => view! { <Detail id r detail drafts log desk /> }.into_any(),
        }}
    }
}

#[component]
fn Detail(
    id: DocumentId,
    r: FeedbackRecord,
    detail: RwSignal<Option<RecordDetail>>,
    drafts: Drafts,
    log: RwSignal<Vec<closeloop_shared::api::ChangeItem>>,
    desk: Option<DeskPanels>,
) -> impl IntoView {
    let (work, process, reply) = (r.clone(), r.clone(), r.clone());
    let settle =
        expect_context::<Repo>().may(&id, closeloop_shared::authorize::Write::Classify("nature"));
    let status = r.workflow.status.key();
    let taxonomy = expect_context::<Repo>().taxonomy();
    let channel = {
        let (key, taxonomy) = (r.channel.clone(), taxonomy.clone());
        move || channel_label(lang().get(), &taxonomy, &key).unwrap_or_default()
    };
    let sla = move || {
        detail.with(|d| {
            d.as_ref().map(|d| {
                let s = &d.summary;
                (
                    sla_words(lang().get(), s.sla_state, s.remaining_ms),
                    s.due_at,
                )
            })
        })
    };
    let terms = taxonomy.clone();
    let term = move |list: TermList, key: &Option<String>| {
        let taxonomy = terms.clone();
        let key = key.clone().unwrap_or_default();
        move || {
            if key.is_empty() {
                String::new()
            } else {
                term_label(lang().get(), &taxonomy, list, &key)
            }
        }
    };
    let kind = term(TermList::FeedbackType, &r.feedback_type);
    let nature = term(TermList::Nature, &r.nature);
    // S002 5.3: registered within 24 h of arriving; once resolved, the
    // reply within 24 h: each its own clock.
    let clocks = r.clone();
    let clock = move |reply: bool| {
        let now = js_sys::Date::now() as i64;
        let c = if reply {
            clocks.reply_clock(now)?
        } else {
            clocks.registration_clock(now)
        };
        Some((
            sla_words(lang().get(), Some(c.state), Some(c.remaining_ms)),
            c.due_at_ms,
            c.state,
        ))
    };
    let has_reply_clock = r.reply_clock(0).is_some();
    let fixed = |v: Option<String>| Signal::stored(v.unwrap_or_default());
    let department = {
        let (d, taxonomy) = (r.department.clone(), taxonomy.clone());
        // A listed department by its label; free text as written.
        Signal::derive(move || {
            d.as_deref()
                .map(|d| term_label(lang().get(), &taxonomy, TermList::Department, d))
                .unwrap_or_default()
        })
    };
    let rows: Vec<(&'static str, Signal<String>)> = vec![
        (
            "record.priority",
            fixed(r.priority.map(|p| p.key().to_string())),
        ),
        ("record.owner", fixed(r.owner.clone())),
        ("record.department", department),
        ("record.order", fixed(r.order_number.clone())),
    ];
    view! {
        <div class="record-layout">
        <div class="record-main">
        <section class="card record-detail" data-record-loaded="true">
            <h2>
                {r.customer.clone()}
                <span class="status-pill">{move || status_label(lang().get(), status)}</span>
                {r.archived_at_ms.is_some().then(|| view! {
                    <span class="status-pill archived" data-testid="archived">{move || t("record.archived")}</span>
                })}
            </h2>
            <p class="meta">
                <time>{format_time(r.received_at_ms)}</time>
                <span>{channel}</span>
                <span class="sla">{move || sla().map(|(words, due)| format!("{words} {}", due.map(format_time).unwrap_or_default()))}</span>
            </p>
            <p class="description">{r.description.clone()}</p>
            <RecordFiles id files=r.attachments.clone() />
            <dl class="facts">
                {[("record.registration", "registration-clock", false), ("record.reply_clock", "reply-clock", true)]
                    .into_iter()
                    .filter(|(_, _, reply)| !reply || has_reply_clock)
                    .map(|(label, testid, reply)| {
                        let clock = clock.clone();
                        let words = clock.clone();
                        view! {
                            <dt>{move || t(label)}</dt>
                            <dd class=move || format!("sla {}", super::rows::sla_class(clock(reply).map(|c| c.2)))
                                data-testid=testid>
                                {move || words(reply).map(|(w, due, _)| format!("{w} · {}", format_time(due)))}
                            </dd>
                        }
                    })
                    .collect_view()}
                <dt>{move || t("record.type")}</dt>
                <dd>{move || or_dash(kind())}</dd>
                <dt>{move || t("record.nature")}</dt>
                <dd>{move || or_dash(nature())}</dd>
                {rows.into_iter().map(|(k, v)| view! {
                    <dt>{move || t(k)}</dt>
                    <dd>{move || or_dash(v.get())}</dd>
                }).collect_view()}
            </dl>
        </section>
        {(!r.conflicts.is_empty()).then(|| view! {
            <section class="card conflicts" data-testid="conflicts">
                <h3>{move || t("record.conflicts")}</h3>
                <ul>
                    {r.conflicts.iter().map(|c| { let field_key = c.field.key(); let taxonomy = taxonomy.clone(); view! {
                        <li>
                            <strong>{move || tr(lang().get(), &format!("field.{}", field_key))}</strong>
                            <ul>
                                {c.values.iter().map(|v| {
                                    let (field, value) = (c.field, v.value.clone());
                                    let (shown, taxonomy) = (v.value.clone(), taxonomy.clone());
                                    let label = move || match field.terms() {
                                        Some(list) => term_label(lang().get(), &taxonomy, list, &shown),
                                        None => shown.clone(),
                                    };
                                    view! {
                                        <li data-value=v.value.clone()>
                                            {label} " — " {v.by.clone()} " · " {format_time(v.at_ms)}
                                            {settle.then(|| view! {
                                                <button class="secondary" data-settle=v.value.clone() on:click=move |_| {
                                                    let value = value.clone();
                                                    let taxonomy = expect_context::<Repo>().taxonomy();
                                                    super::work::settle(id, drafts, field, value, taxonomy);
                                                }>{move || t("record.choose_value")}</button>
                                            })}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </li>
                    }}).collect_view()}
                </ul>
            </section>
        })}
        <section class="card">
            <h3>{move || t("record.history")}</h3>
            {if r.history.is_empty() {
                view! { <p class="empty">{move || t("record.no_history")}</p> }.into_any()
            } else {
                view! {
                    <ol class="timeline">
                        {r.history.iter().map(|h| {
                            let action = h.action.key();
                            view! {
                                <li><time>{format_time(h.at_ms)}</time> " " {who(&h.by)} " · "
                                    {move || action_label(lang().get(), action)}
                                    {h.note.clone().map(|n| view! { " " <q>{n}</q> })}</li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
            <h3>{move || t("record.log")}</h3>
            {if r.log.is_empty() {
                view! { <p class="empty">{move || t("record.no_log")}</p> }.into_any()
            } else {
                view! {
                    <ol class="timeline">
                        {r.log.iter().map(|e| {
                            let kind = log_kind_key(&e.kind);
                            view! {
                                <li data-kind=kind.unwrap_or("note")><time>{format_time(e.at_ms)}</time> " " {who(&e.by)} " · "
                                    {kind.map(|k| view! { <span class="kind">{move || t(k)}</span> " " })}
                                    {e.text.clone()}</li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
        {desk.map(|d| (d.file)(id))}
        <super::changes::ChangeTimeline id log />
        </div>
        <div class="record-side">
            {match desk {
                Some(d) => view! { {(d.contact)(id, r.contact_ref.clone())} {(d.survey)(id)} {(d.case)(id)} }.into_any(),
                None => view! {
                    <section class="card desk-link" data-testid="desk-link">
                        <p class="hint">{move || t("record.at_desk")}</p>
                        <a class="button secondary" rel="external" href=format!("/office/records/{id}")>
                            {move || t("record.open_at_desk")}
                        </a>
                    </section>
                }.into_any(),
            }}
            <WorkPanel id r=work drafts />
            <ProcessPanel id r=process drafts />
            <ReplyPanel id r=reply drafts />
        </div>
        </div>
    }
}

/// The label of a log entry that is more than a note.
fn log_kind_key(kind: &LogKind) -> Option<&'static str> {
    match kind {
        LogKind::Note => None,
        LogKind::Reply { .. } => Some("log.reply"),
        LogKind::Answer(CustomerAnswer::Satisfied) => Some("log.answer.satisfied"),
        LogKind::Answer(CustomerAnswer::HasQuestions) => Some("log.answer.has_questions"),
        LogKind::FollowUp => Some("log.follow_up"),
    }
}

fn or_dash(v: String) -> String {
    if v.is_empty() { "—".to_string() } else { v }
}

/// Who took a step: the system's own account by a name people read.
fn who(by: &str) -> impl Fn() -> String + use<> {
    let by = by.to_string();
    move || {
        if by == "system:survey" {
            t("record.system_survey").to_string()
        } else if by.starts_with("system:") {
            t("record.system").to_string()
        } else {
            by.clone()
        }
    }
}

/// A record's files, from this device where it holds them; who may attach
/// (the record's owner in the field, head office) adds more, kept on this
/// device first and uploaded when online.
#[component]
fn RecordFiles(id: DocumentId, files: Vec<closeloop_shared::record::Attachment>) -> impl IntoView {
    let repo = expect_context::<Repo>();
    let may = repo.may(&id, closeloop_shared::authorize::Write::Attach);
    // Why a kept file could not be added (added, the record shows it).
    let problem = RwSignal::new(None::<String>);
    let l = lang();
    let on_kept = Callback::new(move |a: closeloop_shared::record::Attachment| {
        let repo = repo.clone();
        let lang = l.get_untracked();
        spawn_local(async move {
            let outcome = repo
                .edit(id, move |doc, _, now| {
                    closeloop_shared::record::add_attachment(doc, &a, now)
                })
                .await;
            if let Err(e) = outcome {
                problem.set(Some(crate::i18n::save_error(lang, &e)));
            }
        });
    });
    (may || !files.is_empty()).then(|| view! {
        <div class="attachments" data-testid="attachments">
            <h3>{move || t("record.attachments")}</h3>
            <ul>
                {files.into_iter().map(|a| view! { <crate::components::AttachmentThumb attachment=a /> }).collect_view()}
            </ul>
            {may.then(|| view! {
                <div class="attach-more" data-testid="attach-more">
                    <crate::components::AddFiles on_kept />
                    <p role="alert" class="problem" data-testid="attach-message">{move || problem.get()}</p>
                </div>
            })}
        </div>
    })
}
