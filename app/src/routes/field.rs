//! The field tablet: capture feedback (online or not) and see what this
//! device holds.

use closeloop_shared::FeedbackDraft;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::choices;
use crate::components::{ContactForm, ContactSection, PersonalDataWarning, RecordList};
use crate::i18n::{contact_error, lang, save_error, t, tr};
use crate::repo::Repo;
use crate::session::Session;

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
    let channels = {
        let repo = repo.clone();
        Memo::new(move |_| choices::channels(repo.taxonomy().field_channels()))
    };
    let channel = RwSignal::new(
        channels
            .with_untracked(|c| c.first().map(|c| c.0.clone()))
            .unwrap_or_default(),
    );
    let nickname = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let contact = ContactForm::new();
    // (succeeded, text) of the last save.
    let message = RwSignal::new(None::<(bool, String)>);
    let saving = RwSignal::new(false);
    let l = lang();

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let lang = l.get_untracked();
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
        let draft = FeedbackDraft {
            channel: channel.get_untracked(),
            nickname: nickname.get_untracked(),
            description: description.get_untracked(),
            ..FeedbackDraft::default()
        };
        let repo = repo.clone();
        spawn_local(async move {
            let outcome = match repo.capture_with_contact(draft, checked).await {
                Ok(_) => {
                    nickname.set(String::new());
                    description.set(String::new());
                    contact.clear();
                    (true, tr(lang, "form.saved").to_string())
                }
                Err(e) => (false, save_error(lang, &e)),
            };
            message.set(Some(outcome));
            saving.set(false);
        });
    };

    view! {
        <section class="card">
            <h2>{move || t("form.title")}</h2>
            <form
                on:submit=on_submit
                data-testid="capture-form"
                novalidate
                // The last save's message is about what was typed then.
                on:input=move |_| message.set(None)
            >
                <label>
                    <span>{move || t("form.channel")}</span>
                    <select
                        data-testid="channel"
                        prop:value=move || channel.get()
                        on:change=move |ev| channel.set(event_target_value(&ev))
                    >
                        {move || channels.get().into_iter().map(choices::option).collect_view()}
                    </select>
                </label>
                <label>
                    <span>{move || t("form.nickname")}</span>
                    <input
                        data-testid="nickname"
                        type="text"
                        autocomplete="off"
                        maxlength="64"
                        placeholder=move || t("form.nickname.hint")
                        prop:value=move || nickname.get()
                        on:input=move |ev| nickname.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    <span>{move || t("form.description")}</span>
                    <textarea
                        data-testid="description"
                        rows="4"
                        prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))
                    ></textarea>
                </label>
                <PersonalDataWarning text=description on_move=contact.move_from(description) />
                <ContactSection form=contact />
                <button type="submit" data-testid="save" disabled=move || saving.get()>
                    {move || if saving.get() { t("form.saving") } else { t("form.save") }}
                </button>
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

/// How many contacts wait to be sent, and those the server refused.
#[component]
fn ContactOutbox() -> impl IntoView {
    let repo = expect_context::<Repo>();
    let queue = repo.contacts;
    let dismiss = {
        let repo = repo.clone();
        move |_| {
            let repo = repo.clone();
            spawn_local(async move { repo.dismiss_contact_failures().await });
        }
    };
    // The refused contact's record, by its nickname (read when shown).
    let record_of = move |contact_ref: &str| {
        repo.records()
            .into_iter()
            .find(|(_, r)| r.contact_ref.as_deref() == Some(contact_ref))
            .map(|(_, r)| r.customer)
    };
    view! {
        <p class="contact-outbox" data-testid="contacts-waiting" data-count=move || queue.waiting.get()>
            {move || t("contact.waiting")}
            <span class="count">{move || queue.waiting.get()}</span>
        </p>
        {move || {
            let failed = queue.failed.get();
            (!failed.is_empty()).then(|| {
                let l = lang().get();
                view! {
                    <div class="problem contact-failed" role="alert" data-testid="contacts-failed">
                        <p>{tr(l, "contact.failed")}</p>
                        <ul>
                            {failed.into_iter().map(|f| view! {
                                <li data-code=f.code.clone()>
                                    {record_of(&f.contact_ref).unwrap_or_else(|| tr(l, "contact.unknown_record").to_string())}
                                    " — " {contact_error(l, &f.code)}
                                </li>
                            }).collect_view()}
                        </ul>
                        <button type="button" class="secondary" on:click=dismiss.clone()>{tr(l, "contact.dismiss")}</button>
                    </div>
                }
            })
        }}
    }
}
