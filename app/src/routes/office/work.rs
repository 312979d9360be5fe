//! Working a record at head office: classify and prioritise (with S003 §2's
//! criteria as help), take the workflow steps the record's state and the
//! user's role allow, log the processing, reply to the customer and record
//! their answer. Every edit goes through [`Repo::edit`] (the write rule
//! checked before it is kept) and syncs like any other change.

use closeloop_shared::authorize::Write;
use closeloop_shared::record::{self, Field};
use closeloop_shared::sla::Priority;
use closeloop_shared::sync::DocumentId;
use closeloop_shared::taxonomy::TermList;
use closeloop_shared::workflow::Action;
use closeloop_shared::{FeedbackRecord, RecordError};
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use web_sys::File;

use crate::components::choices;
use crate::i18n::{Lang, action_label, lang, save_error, t, tr};
use crate::repo::Repo;
use crate::upload;

/// What the user is typing, kept by the page so a change arriving over
/// sync (which re-renders the record) does not throw it away.
#[derive(Clone, Copy)]
pub struct Drafts {
    owner: RwSignal<String>,
    department: RwSignal<String>,
    note: RwSignal<String>,
    log: RwSignal<String>,
    /// The other sections' inputs, by name (see [`TEXTS`]).
    texts: StoredValue<Vec<(&'static str, RwSignal<String>)>>,
    /// Files to attach with the next log entry.
    files: StoredValue<Vec<SendWrapper<File>>, LocalStorage>,
    file_names: RwSignal<Vec<String>>,
    /// The outcome of the last edit: (succeeded, message, how many edits
    /// have reported, so the same message twice is still news).
    outcome: RwSignal<Option<(bool, String, u64)>>,
}

/// The inputs of the processing and reply sections.
const TEXTS: [&str; 12] = [
    "cause.class",
    "cause.text",
    "solution",
    "plan.owner",
    "plan.deadline",
    "plan.goal",
    "reply.channel",
    "reply.text",
    "answer.note",
    "follow.at",
    "follow.method",
    "follow.outcome",
];

impl Drafts {
    /// Made by the page, so the drafts live as long as it does.
    pub fn new() -> Self {
        Drafts {
            owner: RwSignal::new(String::new()),
            department: RwSignal::new(String::new()),
            note: RwSignal::new(String::new()),
            log: RwSignal::new(String::new()),
            texts: StoredValue::new(
                TEXTS
                    .into_iter()
                    .map(|k| (k, RwSignal::new(String::new())))
                    .collect(),
            ),
            files: StoredValue::new_local(Vec::new()),
            file_names: RwSignal::new(Vec::new()),
            outcome: RwSignal::new(None),
        }
    }

    /// The draft of the input named `key` (one of [`TEXTS`]).
    pub fn text(&self, key: &'static str) -> RwSignal<String> {
        self.texts
            .with_value(|t| t.iter().find(|(k, _)| *k == key).map(|(_, s)| *s))
            .unwrap_or_else(|| {
                debug_assert!(false, "no draft named {key}");
                RwSignal::new(String::new())
            })
    }

    /// Shows a message where edits report.
    pub fn report(&self, ok: bool, message: String) {
        let seq = self
            .outcome
            .with_untracked(|o| o.as_ref().map_or(0, |o| o.2))
            + 1;
        self.outcome.set(Some((ok, message, seq)));
    }
}

/// Runs one edit and reports it; `done` runs after it was kept.
pub(super) fn run(
    id: DocumentId,
    drafts: Drafts,
    edit: impl FnOnce(&mut automerge::Automerge, &str, i64) -> Result<(), RecordError> + 'static,
    done: impl FnOnce() + 'static,
) {
    let (repo, l) = (expect_context::<Repo>(), lang().get_untracked());
    spawn_local(edit_and_report(repo, l, id, drafts, edit, done));
}

/// [`run`]'s work, for code already outside the component (no context there).
async fn edit_and_report(
    repo: Repo,
    l: Lang,
    id: DocumentId,
    drafts: Drafts,
    edit: impl FnOnce(&mut automerge::Automerge, &str, i64) -> Result<(), RecordError> + 'static,
    done: impl FnOnce() + 'static,
) {
    match repo.edit(id, edit).await {
        Ok(()) => {
            done();
            drafts.report(true, tr(l, "work.saved").to_string());
        }
        Err(e) => drafts.report(false, save_error(l, &e)),
    }
}

/// The steps offered as plain buttons (assigning needs a form).
const STEPS: [&str; 8] = [
    "register",
    "start",
    "await_customer",
    "customer_responded",
    "resolve",
    "reply",
    "close",
    "escalate",
];

#[component]
pub fn WorkPanel(id: DocumentId, r: FeedbackRecord, drafts: Drafts) -> impl IntoView {
    let repo = expect_context::<Repo>();
    let taxonomy = repo.taxonomy();
    let departments = choices::terms(taxonomy.list(TermList::Department));
    let now = js_sys::Date::now() as i64;
    let may = |w: Write| repo.may(&id, w);
    // Steps the record's state allows now and the user's role may take.
    let steps: Vec<&'static str> = STEPS
        .into_iter()
        .chain(["reopen"])
        .filter(|k| Action::plain(k).is_some_and(|a| r.workflow.apply(&a, now).is_ok()))
        .filter(|k| may(Write::Step((*k).to_string())))
        .collect();
    let assign_key = match r.workflow.status.key() {
        "registered" => Some("assign"),
        "assigned" | "in_progress" => Some("reassign"),
        _ => None,
    }
    .filter(|k| may(Write::Step((*k).to_string())));
    let classify = may(Write::Classify("nature"));
    let prioritise = may(Write::SlaFact("priority"));
    let selects: Vec<(Field, TermList, Option<String>)> = vec![
        (
            Field::FeedbackType,
            TermList::FeedbackType,
            r.feedback_type.clone(),
        ),
        (Field::Nature, TermList::Nature, r.nature.clone()),
        (Field::Urgency, TermList::Urgency, r.urgency.clone()),
        (Field::Impact, TermList::Impact, r.impact.clone()),
        (
            Field::ComplaintKind,
            TermList::ComplaintKind,
            r.complaint_kind.clone(),
        ),
    ];
    view! {
        <section class="card work" data-testid="work">
            <h3>{move || t("work.classify")}</h3>
            <div class="classify">
                {selects.into_iter().map(|(field, list, current)| {
                    let options = choices::terms(taxonomy.list(list));
                    let taxonomy = taxonomy.clone();
                    view! {
                        <label class="filter">
                            <span>{move || t(&format!("work.f.{}", field.key()))}</span>
                            <select data-field=field.key() disabled=!classify
                                prop:value=current.clone().unwrap_or_default()
                                on:change=move |ev| {
                                    let value = event_target_value(&ev);
                                    let taxonomy = taxonomy.clone();
                                    run(id, drafts, move |d, by, now| record::set_field(d, &taxonomy, field, &value, by, now), || {});
                                }>
                                <option value="" disabled=true>{move || t("work.choose")}</option>
                                {options.into_iter().map(choices::option).collect_view()}
                            </select>
                        </label>
                    }
                }).collect_view()}
            </div>
            <fieldset class="priority" disabled=!prioritise>
                <legend>{move || t("work.priority")}</legend>
                {Priority::ALL.into_iter().map(|p| {
                    let taxonomy = taxonomy.clone();
                    view! {
                        <label class="choice">
                            <input type="radio" name="priority" value=p.key()
                                checked=r.priority == Some(p)
                                on:change=move |_| {
                                    let taxonomy = taxonomy.clone();
                                    run(id, drafts, move |d, by, now| record::set_field(d, &taxonomy, Field::Priority, p.key(), by, now), || {});
                                } />
                            <strong>{p.key()}</strong>
                            <small>{move || t(&format!("work.priority.{}", p.key()))}</small>
                        </label>
                    }
                }).collect_view()}
            </fieldset>

            <h3>{move || t("work.steps")}</h3>
            <label class="note">
                <span>{move || t("work.note")}</span>
                <input type="text" data-testid="step-note" prop:value=move || drafts.note.get()
                    on:input=move |ev| drafts.note.set(event_target_value(&ev)) />
            </label>
            {assign_key.map(|key| view! {
                <div class="assign">
                    <label class="filter">
                        <span>{move || t("work.owner")}</span>
                        <input type="text" data-testid="assign-owner" prop:value=move || drafts.owner.get()
                            on:input=move |ev| drafts.owner.set(event_target_value(&ev)) />
                    </label>
                    <label class="filter">
                        <span>{move || t("work.department")}</span>
                        <input type="text" data-testid="assign-department" list="departments" prop:value=move || drafts.department.get()
                            on:input=move |ev| drafts.department.set(event_target_value(&ev)) />
                        // The departments admins listed, as suggestions.
                        <datalist id="departments">
                            {departments.clone().into_iter().map(choices::option).collect_view()}
                        </datalist>
                    </label>
                    <button data-step=key on:click=move |_| {
                        let (owner, department) = (drafts.owner.get_untracked(), drafts.department.get_untracked());
                        let note = drafts.note.get_untracked();
                        let action = if key == "assign" {
                            Action::Assign { owner, department }
                        } else {
                            Action::Reassign { owner, department }
                        };
                        run(id, drafts, move |d, by, now| {
                            record::transition(d, &action, Some(note.as_str()).filter(|n| !n.trim().is_empty()), by, now)
                        }, move || drafts.note.set(String::new()));
                    }>{move || action_label(lang().get(), key)}</button>
                </div>
            })}
            <div class="steps">
                {steps.into_iter().map(|key| view! {
                    <button class="secondary" data-step=key on:click=move |_| {
                        let note = drafts.note.get_untracked();
                        let Some(action) = Action::plain(key) else { return };
                        run(id, drafts, move |d, by, now| {
                            record::transition(d, &action, Some(note.as_str()).filter(|n| !n.trim().is_empty()), by, now)
                        }, move || drafts.note.set(String::new()));
                    }>{move || action_label(lang().get(), key)}</button>
                }).collect_view()}
            </div>

            <h3>{move || t("work.log")}</h3>
            <div class="log-entry">
                <textarea rows="2" data-testid="log-text" prop:value=move || drafts.log.get()
                    on:input=move |ev| drafts.log.set(event_target_value(&ev))></textarea>
                <label class="files">
                    <span>{move || t("work.log_files")}</span>
                    <input type="file" multiple data-testid="log-files" accept=record::ATTACHMENT_TYPES.join(",")
                        on:change=move |ev| {
                            let chosen = upload::chosen(&ev, lang().get_untracked()).unwrap_or_else(|why| {
                                drafts.report(false, why);
                                Vec::new()
                            });
                            drafts.file_names.set(chosen.iter().map(File::name).collect());
                            drafts.files.set_value(chosen.into_iter().map(SendWrapper::new).collect());
                        } />
                </label>
                {move || (!drafts.file_names.with(Vec::is_empty)).then(|| view! {
                    <ul class="files">
                        {drafts.file_names.get().into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
                    </ul>
                })}
                <button data-testid="add-log" on:click=move |_| add_log(id, drafts)>{move || t("work.add_log")}</button>
            </div>

            {move || drafts.outcome.get().map(|(ok, m, seq)| view! {
                <p role="status" class=if ok { "message ok" } else { "message problem" } data-testid="work-outcome"
                    data-seq=seq.to_string()>{m}</p>
            })}
        </section>
    }
}

/// Appends the typed log entry with the chosen files: uploaded first, then
/// attached to the record and named in the entry, in one edit.
fn add_log(id: DocumentId, drafts: Drafts) {
    let text = drafts.log.get_untracked();
    let files = drafts.files.get_value();
    let l = lang().get_untracked();
    let done = move || {
        drafts.log.set(String::new());
        drafts.files.set_value(Vec::new());
        drafts.file_names.set(Vec::new());
        // The input would still name the files just sent.
        if let Some(input) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| {
                d.query_selector(r#"[data-testid="log-files"]"#)
                    .ok()
                    .flatten()
            })
            .and_then(|el| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(el).ok())
        {
            input.set_value("");
        }
    };
    if files.is_empty() {
        run(
            id,
            drafts,
            move |d, by, now| record::append_log(d, &text, by, now),
            done,
        );
        return;
    }
    let repo = expect_context::<Repo>();
    spawn_local(async move {
        let mut attached = Vec::new();
        for file in &files {
            match upload::upload(l, file).await {
                Ok(a) => attached.push(a),
                Err(why) => return drafts.report(false, why),
            }
        }
        let names: Vec<&str> = attached.iter().map(|a| a.name.as_str()).collect();
        let entry = format!(
            "{} ({}{})",
            text.trim(),
            tr(l, "work.attached"),
            names.join(", ")
        );
        let edit = move |d: &mut automerge::Automerge, by: &str, now: i64| {
            for a in &attached {
                record::add_attachment(d, a, now)?;
            }
            record::append_log(d, entry.trim_start(), by, now)
        };
        edit_and_report(repo, l, id, drafts, edit, done).await;
    });
}

/// Settles a field changed concurrently: writing the chosen value
/// supersedes every competing one, on every replica once synced.
pub fn settle(
    id: DocumentId,
    drafts: Drafts,
    field: Field,
    value: String,
    taxonomy: std::sync::Arc<closeloop_shared::taxonomy::Taxonomy>,
) {
    run(
        id,
        drafts,
        move |d, by, now| record::set_field(d, &taxonomy, field, &value, by, now),
        || {},
    );
}
