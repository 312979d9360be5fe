//! The field tablet: capture feedback (online or not) and see what this
//! device holds.

use closeloop_shared::FeedbackDraft;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::choices;
use crate::components::{PersonalDataWarning, RecordList};
use crate::i18n::{lang, save_error, t, tr};
use crate::repo::Repo;

/// Capture form and the local record list.
#[component]
pub fn FieldPage() -> impl IntoView {
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
    // (succeeded, text) of the last save.
    let message = RwSignal::new(None::<(bool, String)>);
    let saving = RwSignal::new(false);
    let l = lang();

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        saving.set(true);
        let draft = FeedbackDraft {
            channel: channel.get_untracked(),
            nickname: nickname.get_untracked(),
            description: description.get_untracked(),
            ..FeedbackDraft::default()
        };
        let repo = repo.clone();
        spawn_local(async move {
            let lang = l.get_untracked();
            let outcome = match repo.capture(draft).await {
                Ok(_) => {
                    nickname.set(String::new());
                    description.set(String::new());
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
            <form on:submit=on_submit data-testid="capture-form" novalidate>
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
                <PersonalDataWarning text=description />
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
        <RecordList title_key="list.mine" editable=true />
    }
}
