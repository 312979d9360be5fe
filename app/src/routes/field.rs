//! The field tablet: capture feedback (online or not) and see what this
//! device holds.

use automerge::Automerge;
use closeloop_shared::record::{self, Field, MAX_NICKNAME_CHARS, MAX_ORDER_NUMBER_CHARS};
use closeloop_shared::taxonomy::{Taxonomy, TermList};
use closeloop_shared::{FeedbackDraft, RecordError};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::choices;
use crate::components::{
    AttachmentPicker, ContactForm, ContactSection, PersonalDataWarning, RecordList,
};
use crate::i18n::{Lang, contact_error, lang, record_error, save_error, t, tr};
use crate::local_time;
use crate::repo::Repo;

mod controls;
mod draft;
mod form;

use crate::session::Session;
use controls::*;
use form::*;

/// Capture form and the local record list; after the session expired,
/// only the way to sign in again (the data stays for this user's next
/// sign-in, shown to nobody meanwhile).
#[component]
pub fn FieldPage() -> impl IntoView {
    let session = expect_context::<Repo>().session;
    view! {
        <Show
            when=move || session.get() != Session::SignedOut
            fallback=|| view! {
                <section class="card narrow" data-testid="session-expired">
                    <p role="status">{move || t("device.expired")}</p>
                    <a class="button" href="/login">{move || t("device.sign_in_first.action")}</a>
                </section>
            }
        >
            <Capture />
        </Show>
    }
}

/// Capture form and the local record list.
#[component]
fn Capture() -> impl IntoView {
    let repo = expect_context::<Repo>();
    // Follow the taxonomy: the server's arrives just after sign-in.
    let taxonomy = {
        let repo = repo.clone();
        Memo::new(move |_| repo.taxonomy())
    };
    let channels = Memo::new(move |_| choices::channels(taxonomy.get().field_channels()));
    let list = move |l: TermList| Memo::new(move |_| choices::terms(taxonomy.get().list(l)));
    let sources = list(TermList::Source);
    let fields = Fields::new(
        channels
            .with_untracked(|c| c.first().map(|c| c.0.clone()))
            .unwrap_or_default(),
    );
    let username = repo.username().to_string();
    let draft_state = RwSignal::new(DraftState::None);
    if let Some(d) = draft::load(&username) {
        fields.restore(d, &taxonomy.get_untracked());
        draft_state.set(DraftState::Restored);
    }
    // Every change is kept at once; a page hidden or closed keeps it again.
    Effect::new({
        let username = username.clone();
        move |prev: Option<()>| {
            fields.track();
            if prev.is_some() {
                let kept = draft::store(&username, &fields.kept());
                draft_state.set(if kept {
                    DraftState::Saved
                } else {
                    DraftState::None
                });
            }
        }
    });
    let flush = {
        let username = username.clone();
        move |_: web_sys::Event| {
            draft::store(&username, &fields.kept());
        }
    };
    let hide = window_event_listener_untyped("pagehide", flush.clone());
    let hidden = window_event_listener_untyped("visibilitychange", flush);
    // Left as it is, the received time follows the clock (saved as now).
    let tick = set_interval_with_handle(
        move || {
            let now = now_minute();
            if !fields.received_set.get_untracked() && fields.received.get_untracked() != now {
                fields.received.set(now);
            }
        },
        std::time::Duration::from_secs(20),
    )
    .ok();
    on_cleanup(move || {
        hide.remove();
        hidden.remove();
        if let Some(t) = tick {
            t.clear();
        }
    });

    let contact = ContactForm::new();
    // (succeeded, text) of the last save.
    let message = RwSignal::new(None::<(bool, String)>);
    let saving = RwSignal::new(false);
    // A field's problem shows once it was left, or a save was tried.
    let tried = RwSignal::new(false);
    let left = RwSignal::new(Vec::<Input>::new());
    let l = lang();
    let found = Memo::new(move |_| {
        let (d, bad_time) = fields.record();
        let now = js_sys::Date::now() as i64;
        problems(d, bad_time, &taxonomy.get(), l.get(), now)
    });
    let problem = move |input: Input| {
        Signal::derive(move || {
            let shown = tried.get() || left.with(|v| v.contains(&input));
            shown
                .then(|| {
                    found.with(|f| f.iter().find(|(i, _)| *i == input).map(|(_, m)| m.clone()))
                })
                .flatten()
        })
    };
    let leave = move |input: Input| {
        move |_| {
            if !left.with_untracked(|v| v.contains(&input)) {
                left.update(|v| v.push(input));
            }
        }
    };

    let discard = {
        let username = username.clone();
        move |_| {
            fields.reset();
            contact.clear();
            tried.set(false);
            left.set(Vec::new());
            message.set(None);
            draft::clear(&username);
            draft_state.set(DraftState::None);
        }
    };

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let lang = l.get_untracked();
        tried.set(true);
        // Invalid input is marked where it is and never saved.
        let now = js_sys::Date::now() as i64;
        let (d, bad_time) = untrack(|| fields.record());
        let taxonomy = repo.taxonomy_untracked();
        let wrong = problems(d.clone(), bad_time, &taxonomy, lang, now);
        if let Some((_, first)) = wrong.first() {
            // One problem is named; several are marked where they are.
            let text = if wrong.len() == 1 || wrong.iter().all(|(i, _)| *i == Input::Form) {
                first.clone()
            } else {
                tr(lang, "capture.invalid").to_string()
            };
            message.set(Some((false, text)));
            return;
        }
        // A bad contact field is marked and blocks the save; the text stays.
        let checked = match contact.checked() {
            Ok(c) => c,
            Err(e) => {
                let why = format!(
                    "{} {}",
                    tr(lang, "contact.invalid"),
                    contact_error(lang, e.code())
                );
                message.set(Some((false, why)));
                return;
            }
        };
        saving.set(true);
        let classes = fields.classification();
        let aspects = fields.aspects.get_untracked();
        let files = fields.attachments.get_untracked();
        let repo = repo.clone();
        let username = username.clone();
        // Classification and files go in with the record: one durable save.
        let classified = move |doc: &mut Automerge, by: &str, now: i64| {
            for (field, value) in &classes {
                record::set_field(doc, &taxonomy, *field, value, by, now)?;
            }
            for a in &aspects {
                record::add_aspect(doc, &taxonomy, a, now)?;
            }
            files
                .iter()
                .try_for_each(|a| record::add_attachment(doc, a, now))
        };
        spawn_local(async move {
            let outcome = match repo.capture_with_contact(d, checked, classified).await {
                Ok(_) => {
                    fields.reset();
                    contact.clear();
                    tried.set(false);
                    left.set(Vec::new());
                    draft::clear(&username);
                    draft_state.set(DraftState::None);
                    (true, tr(lang, "form.saved").to_string())
                }
                Err(e) => (false, save_error(lang, &e)),
            };
            message.set(Some(outcome));
            saving.set(false);
        });
    };

    let types = list(TermList::FeedbackType);
    let natures = list(TermList::Nature);
    let kinds = list(TermList::ComplaintKind);
    let urgencies = list(TermList::Urgency);
    let impacts = list(TermList::Impact);
    let events = list(TermList::EventCategory);
    let aspect_list = list(TermList::Aspect);
    let nickname = fields.nickname;
    let description = fields.description;

    view! {
        <section class="card capture">
            <h2>{move || t("form.title")}</h2>
            <form
                on:submit=on_submit
                data-testid="capture-form"
                novalidate
                // The last save's message is about what was typed then.
                on:input=move |_| message.set(None)
            >
                <fieldset class="group">
                    <legend>{move || t("capture.group.who")}</legend>
                    <div class="pair">
                        <label>
                            <span>{move || t("form.channel")}</span>
                            <select
                                data-testid="channel"
                                prop:value=move || fields.channel.get()
                                on:change=move |ev| fields.channel.set(event_target_value(&ev))
                            >
                                {move || channels.get().into_iter().map(|c| view! { <Opt choice=c value=fields.channel /> }).collect_view()}
                            </select>
                            <Problem id="channel-problem" problem=problem(Input::Channel) />
                        </label>
                        <label>
                            <span>{move || t("capture.source")}</span>
                            <select
                                data-testid="source"
                                prop:value=move || fields.source.get()
                                on:change=move |ev| fields.source.set(event_target_value(&ev))
                            >
                                {move || sources.get().into_iter().map(|c| view! { <Opt choice=c value=fields.source /> }).collect_view()}
                            </select>
                            <Problem id="source-problem" problem=problem(Input::Source) />
                        </label>
                    </div>
                    <label>
                        <span class="required">{move || t("form.nickname")}</span>
                        <input
                            data-testid="nickname"
                            type="text"
                            autocomplete="off"
                            maxlength=MAX_NICKNAME_CHARS.to_string()
                            placeholder=move || t("form.nickname.hint")
                            aria-describedby="nickname-problem"
                            class:invalid=move || problem(Input::Nickname).get().is_some()
                            aria-invalid=move || problem(Input::Nickname).get().is_some().to_string()
                            prop:value=move || nickname.get()
                            on:input=move |ev| nickname.set(event_target_value(&ev))
                            on:blur=leave(Input::Nickname)
                        />
                        <Problem id="nickname-problem" problem=problem(Input::Nickname) />
                    </label>
                    <ContactSection form=contact />
                </fieldset>
                <fieldset class="group">
                    <legend>{move || t("capture.group.what")}</legend>
                    <label>
                        <span class="required">{move || t("form.description")}</span>
                        <textarea
                            data-testid="description"
                            rows="5"
                            aria-describedby="description-problem"
                            class:invalid=move || problem(Input::Description).get().is_some()
                            aria-invalid=move || problem(Input::Description).get().is_some().to_string()
                            prop:value=move || description.get()
                            on:input=move |ev| description.set(event_target_value(&ev))
                            on:blur=leave(Input::Description)
                        ></textarea>
                        <Problem id="description-problem" problem=problem(Input::Description) />
                    </label>
                    <PersonalDataWarning text=description on_move=contact.move_from(description) />
                    <div class="pair">
                        <label>
                            <span class="required">{move || t("capture.received")}</span>
                            <input
                                type="datetime-local"
                                data-testid="received"
                                required
                                aria-describedby="received-problem received-hint"
                                class:invalid=move || problem(Input::Received).get().is_some()
                                aria-invalid=move || problem(Input::Received).get().is_some().to_string()
                                prop:value=move || fields.received.get()
                                on:input=move |ev| {
                                    fields.received.set(event_target_value(&ev));
                                    fields.received_set.set(true);
                                }
                                on:blur=leave(Input::Received)
                            />
                            <small class="hint" id="received-hint">{move || t("capture.received.hint")}</small>
                            <Problem id="received-problem" problem=problem(Input::Received) />
                        </label>
                        <label>
                            <span>{move || t("capture.order")} <Optional /></span>
                            <input
                                type="text"
                                data-testid="order"
                                autocomplete="off"
                                maxlength=MAX_ORDER_NUMBER_CHARS.to_string()
                                aria-describedby="order-problem"
                                class:invalid=move || problem(Input::Order).get().is_some()
                                aria-invalid=move || problem(Input::Order).get().is_some().to_string()
                                prop:value=move || fields.order.get()
                                on:input=move |ev| fields.order.set(event_target_value(&ev))
                                on:blur=leave(Input::Order)
                            />
                            <Problem id="order-problem" problem=problem(Input::Order) />
                        </label>
                    </div>
                    <label class="check">
                        <input
                            type="checkbox"
                            data-testid="at-event"
                            prop:checked=move || fields.at_event.get()
                            on:change=move |ev| fields.at_event.set(event_target_checked(&ev))
                        />
                        <span>{move || t("capture.at_event")}</span>
                    </label>
                    <Show when=move || fields.at_event.get()>
                        <TermSelect label="capture.event_category" testid="event-category" value=fields.event_category choices=events />
                    </Show>
                    <AttachmentPicker files=fields.attachments />
                </fieldset>
                <fieldset class="group">
                    <legend>{move || t("capture.group.classify")} " " <Optional /></legend>
                    <p class="hint">{move || t("capture.group.classify.hint")}</p>
                    <div class="pair">
                        <TermSelect label="capture.type" testid="type" value=fields.feedback_type choices=types />
                        <TermSelect label="capture.nature" testid="nature" value=fields.nature choices=natures />
                        <Show when=move || fields.nature.get() == "complaint">
                            <TermSelect label="capture.complaint_kind" testid="complaint-kind" value=fields.complaint_kind choices=kinds />
                        </Show>
                        <TermSelect label="capture.urgency" testid="urgency" value=fields.urgency choices=urgencies />
                        <TermSelect label="capture.impact" testid="impact" value=fields.impact choices=impacts />
                    </div>
                    <fieldset class="aspects">
                        <legend>{move || t("capture.aspects")} " " <Optional /></legend>
                        <div class="chips">
                            {move || aspect_list.get().into_iter().map(|c| view! { <AspectBox choice=c aspects=fields.aspects /> }).collect_view()}
                        </div>
                    </fieldset>
                </fieldset>
                <div class="capture-actions">
                    <button type="submit" data-testid="save" disabled=move || saving.get()>
                        {move || if saving.get() { t("form.saving") } else { t("form.save") }}
                    </button>
                    <Show when=move || draft_state.get() != DraftState::None>
                        <button type="button" class="secondary" data-testid="discard-draft" on:click=discard.clone()>
                            {move || t("capture.draft.discard")}
                        </button>
                    </Show>
                    <span
                        class="draft-state"
                        data-testid="draft-state"
                        data-state=move || match draft_state.get() {
                            DraftState::None => "none",
                            DraftState::Restored => "restored",
                            DraftState::Saved => "saved",
                        }
                    >
                        {move || match draft_state.get() {
                            DraftState::None => "",
                            DraftState::Restored => t("capture.draft.restored"),
                            DraftState::Saved => t("capture.draft.saved"),
                        }}
                    </span>
                </div>
                <p
                    role="status"
                    data-testid="form-message"
                    class=move || match message.get() {
                        Some((true, _)) => "message ok",
                        Some((false, _)) => "message problem",
                        None => "message",
                    }
                >
                    {move || message.get().map(|(_, m)| m)}
                </p>
            </form>
        </section>
        <ContactOutbox />
        <RecordList title_key="list.mine" editable=true />
    }
}
