//! Registering feedback that reached head office by phone, email, the
//! website, WeChat/Weibo/Douyin, 12315 or another platform (S000 §2, S002
//! 5.1), with the time it really arrived. Before saving, likely duplicates
//! the server holds are offered for linking (the same customer or order
//! number with a similar text within seven days).

use automerge::Automerge;
use closeloop_shared::FeedbackDraft;
use closeloop_shared::api::{RecordSummary, SimilarQuery, SimilarRecords};
use closeloop_shared::contact::NewContact;
use closeloop_shared::record;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use send_wrapper::SendWrapper;
use web_sys::File;

use crate::components::choices::{self, option};
use crate::components::{CheckedContact, ContactForm, ContactSection, PersonalDataWarning};
use crate::contacts::{self, PostError};
use crate::i18n::{
    contact_error, format_time, lang, record_error, save_error, status_label, t, tr,
};
use crate::local_time;
use crate::repo::Repo;
use crate::session;
use crate::upload;

/// What the form is doing.
#[derive(Clone, PartialEq)]
enum Stage {
    Editing,
    Checking,
    /// Likely duplicates found: the user chooses.
    Offered(Vec<RecordSummary>),
    Saving,
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let repo = expect_context::<Repo>();
    // Follow the taxonomy: the server's arrives just after sign-in.
    let channels = {
        let repo = repo.clone();
        Memo::new(move |_| choices::channels(&repo.taxonomy().channels))
    };
    let sources = {
        let repo = repo.clone();
        Memo::new(move |_| choices::terms(&repo.taxonomy().sources))
    };
    let channel = RwSignal::new("phone".to_string());
    let source = RwSignal::new("external_customer".to_string());
    let types = {
        let repo = repo.clone();
        Memo::new(move |_| choices::terms(&repo.taxonomy().feedback_types))
    };
    // Optional: classified later if left empty.
    let feedback_type = RwSignal::new(String::new());
    let nickname = RwSignal::new(String::new());
    let order = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let received = RwSignal::new(local_time::input_minute(js_sys::Date::now() as i64));
    let stage = RwSignal::new(Stage::Editing);
    // The files chosen to attach (kept with the page; sent on saving).
    let files: StoredValue<Vec<SendWrapper<File>>, LocalStorage> =
        StoredValue::new_local(Vec::new());
    let file_names = RwSignal::new(Vec::<String>::new());
    let problem = RwSignal::new(None::<String>);
    let contact = ContactForm::new();
    // The contact as checked on submitting, sent on saving.
    let checked_contact = StoredValue::new(None::<CheckedContact>);
    let l = lang();
    let navigate = use_navigate();

    let draft = move || FeedbackDraft {
        channel: channel.get_untracked(),
        source: source.get_untracked(),
        nickname: nickname.get_untracked(),
        description: description.get_untracked(),
        order_number: Some(order.get_untracked()),
        received_at_ms: local_time::parse(&received.get_untracked()),
        ..FeedbackDraft::default()
    };
    // Saves, optionally noting in the new record's log which record it
    // was linked to, then opens it.
    let save = {
        let repo = repo.clone();
        move |linked: Option<String>| {
            let repo = repo.clone();
            let navigate = navigate.clone();
            let mut d = draft();
            let given = checked_contact.get_value().flatten();
            stage.set(Stage::Saving);
            spawn_local(async move {
                let lang = l.get_untracked();
                // Uploaded first: a record is saved only with every file it names.
                let mut attachments = Vec::new();
                for file in files.get_value() {
                    match upload::upload(lang, &file).await {
                        Ok(a) => attachments.push(a),
                        Err(e) => {
                            problem.set(Some(e));
                            stage.set(Stage::Editing);
                            return;
                        }
                    }
                }
                // The contact first, so the record never names one the
                // server lacks; offline it waits sealed in the outbox.
                let mut queued = None;
                if let Some((details, consents)) = given {
                    let new = NewContact {
                        contact_ref: contacts::fresh_ref(),
                        details,
                        consents,
                        captured_at_ms: js_sys::Date::now() as i64,
                    };
                    let refused = match contacts::post(&new).await {
                        Ok(()) => {
                            d.contact_ref = Some(new.contact_ref);
                            None
                        }
                        Err(PostError::Unreachable) => {
                            queued = Some((new.details, new.consents));
                            None
                        }
                        Err(PostError::Refused(code)) => Some(contact_error(lang, &code)),
                        Err(PostError::NotSignedIn) => Some(tr(lang, "error.not_signed_in")),
                    };
                    if let Some(why) = refused {
                        problem.set(Some(format!("{}{why}", tr(lang, "contact.upload_failed"))));
                        stage.set(Stage::Editing);
                        return;
                    }
                }
                let kind = feedback_type.get_untracked();
                let taxonomy = repo.taxonomy_untracked();
                let classified = move |doc: &mut Automerge, by: &str, now: i64| {
                    if !kind.is_empty() {
                        record::set_field(
                            doc,
                            &taxonomy,
                            record::Field::FeedbackType,
                            &kind,
                            by,
                            now,
                        )?;
                    }
                    attachments
                        .iter()
                        .try_for_each(|a| record::add_attachment(doc, a, now))
                };
                match repo.capture_with_contact(d, queued, classified).await {
                    Ok(id) => {
                        if let Some(other) = linked {
                            let text = format!("{}{other}", tr(lang, "register.linked_to"));
                            let _ = repo
                                .edit(id, move |doc, by, now| {
                                    record::append_log(doc, &text, by, now)
                                })
                                .await;
                        }
                        navigate(&format!("/office/records/{id}"), Default::default());
                    }
                    Err(e) => {
                        problem.set(Some(save_error(lang, &e)));
                        stage.set(Stage::Editing);
                    }
                }
            });
        }
    };
    let on_submit = {
        let save = save.clone();
        let taxonomy = repo.taxonomy();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            if stage.get_untracked() != Stage::Editing {
                return;
            }
            let lang = l.get_untracked();
            let d = draft();
            if d.received_at_ms.is_none() {
                problem.set(Some(tr(lang, "register.bad_time").to_string()));
                return;
            }
            if let Err(e) = d.validate(&taxonomy) {
                problem.set(Some(record_error(lang, &e)));
                return;
            }
            match contact.checked() {
                Ok(c) => checked_contact.set_value(Some(c)),
                Err(e) => {
                    let why = format!(
                        "{} {}",
                        tr(lang, "contact.invalid"),
                        contact_error(lang, e.code())
                    );
                    problem.set(Some(why));
                    return;
                }
            }
            problem.set(None);
            stage.set(Stage::Checking);
            let save = save.clone();
            spawn_local(async move {
                match similar(&d).await {
                    Some(found) if !found.is_empty() => stage.set(Stage::Offered(found)),
                    // None found, or the server cannot be asked (offline):
                    // registering must not wait for it.
                    _ => save(None),
                }
            });
        }
    };
    view! {
        <p class="back"><a href="/office">{move || t("record.back")}</a></p>
        <section class="card register">
            <h2>{move || t("register.title")}</h2>
            <form on:submit=on_submit data-testid="register-form" novalidate>
                <div class="classify">
                    <label>
                        <span>{move || t("form.channel")}</span>
                        <select data-testid="reg-channel" prop:value=move || channel.get()
                            on:change=move |ev| channel.set(event_target_value(&ev))>
                            {move || channels.get().into_iter().map(option).collect_view()}
                        </select>
                    </label>
                    <label>
                        <span>{move || t("register.source")}</span>
                        <select data-testid="reg-source" prop:value=move || source.get()
                            on:change=move |ev| source.set(event_target_value(&ev))>
                            {move || sources.get().into_iter().map(option).collect_view()}
                        </select>
                    </label>
                    <label>
                        <span>{move || t("record.type")}</span>
                        <select data-testid="reg-type" prop:value=move || feedback_type.get()
                            on:change=move |ev| feedback_type.set(event_target_value(&ev))>
                            <option value="">{move || t("work.choose")}</option>
                            {move || types.get().into_iter().map(option).collect_view()}
                        </select>
                    </label>
                    <label>
                        <span>{move || t("register.received")}</span>
                        <input type="datetime-local" data-testid="reg-received" required
                            prop:value=move || received.get()
                            on:input=move |ev| received.set(event_target_value(&ev)) />
                    </label>
                </div>
                <label>
                    <span>{move || t("form.nickname")}</span>
                    <input type="text" data-testid="reg-nickname" maxlength=record::MAX_NICKNAME_CHARS.to_string() autocomplete="off"
                        placeholder=move || t("form.nickname.hint")
                        prop:value=move || nickname.get()
                        on:input=move |ev| nickname.set(event_target_value(&ev)) />
                </label>
                <label>
                    <span>{move || t("register.order")}</span>
                    <input type="text" data-testid="reg-order" maxlength=record::MAX_ORDER_NUMBER_CHARS.to_string() autocomplete="off"
                        prop:value=move || order.get()
                        on:input=move |ev| order.set(event_target_value(&ev)) />
                </label>
                <label>
                    <span>{move || t("form.description")}</span>
                    <textarea data-testid="reg-description" rows="4"
                        prop:value=move || description.get()
                        on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                </label>
                <PersonalDataWarning text=description on_move=contact.move_from(description) />
                <ContactSection form=contact />
                <label>
                    <span>{move || t("register.files")}</span>
                    <input type="file" multiple data-testid="reg-files" accept=record::ATTACHMENT_TYPES.join(",")
                        on:change=move |ev| {
                            // Refused at once, not after the others were sent.
                            let chosen = upload::chosen(&ev, l.get_untracked()).unwrap_or_else(|why| {
                                problem.set(Some(why));
                                Vec::new()
                            });
                            if !chosen.is_empty() {
                                problem.set(None);
                            }
                            file_names.set(chosen.iter().map(File::name).collect());
                            files.set_value(chosen.into_iter().map(SendWrapper::new).collect());
                        } />
                </label>
                {move || (!file_names.with(Vec::is_empty)).then(|| view! {
                    <ul class="files" data-testid="reg-file-names">
                        {file_names.get().into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
                    </ul>
                })}
                {move || problem.get().map(|p| view! { <p class="problem" role="alert" data-testid="reg-problem">{p}</p> })}
                {move || match stage.get() {
                    Stage::Offered(found) => {
                        let save = save.clone();
                        view! { <Offered found save /> }.into_any()
                    }
                    s => {
                        let editing = s == Stage::Editing;
                        view! {
                            <button type="submit" data-testid="reg-save" disabled=!editing>
                                {move || if editing { t("register.save") } else { t("form.saving") }}
                            </button>
                        }.into_any()
                    }
                }}
            </form>
        </section>
    }
}

/// The likely duplicates and the choices: link to one, or register anyway.
#[component]
fn Offered(
    found: Vec<RecordSummary>,
    save: impl Fn(Option<String>) + Clone + 'static,
) -> impl IntoView {
    let anyway = save.clone();
    view! {
        <div class="duplicates" role="alert" data-testid="duplicates">
            <strong>{move || t("register.duplicates")}</strong>
            <ul>
                {found.into_iter().map(|r| {
                    let save = save.clone();
                    let id = r.id.clone();
                    let status = r.status.clone();
                    view! {
                        <li data-duplicate=r.id.clone()>
                            <a href=format!("/office/records/{}", r.id) target="_blank">{r.customer.clone()} " · " {r.description.clone()}</a>
                            <small>{format_time(r.received_at)} " · " {move || status_label(lang().get(), &status)}</small>
                            <button type="button" class="secondary" data-testid="link-duplicate"
                                on:click=move |_| save(Some(id.clone()))>{move || t("register.link")}</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <button type="button" data-testid="register-anyway" on:click=move |_| anyway(None)>
                {move || t("register.anyway")}
            </button>
        </div>
    }
}

/// Likely duplicates on the server; `None` when it cannot be asked.
async fn similar(d: &FeedbackDraft) -> Option<Vec<RecordSummary>> {
    let q = SimilarQuery {
        customer: d.nickname.clone(),
        order_number: d.order_number.clone().filter(|o| !o.trim().is_empty()),
        text: d.description.clone(),
        received_at: d.received_at_ms?,
    };
    let enc = |s: &str| String::from(js_sys::encode_uri_component(s));
    let mut path = format!(
        "/api/records/similar?customer={}&text={}&received_at={}",
        enc(&q.customer),
        enc(&q.text),
        q.received_at
    );
    if let Some(o) = &q.order_number {
        path.push_str(&format!("&order_number={}", enc(o)));
    }
    match session::call("GET", &path, None).await {
        Ok((200, body)) => serde_json::from_str::<SimilarRecords>(&body)
            .ok()
            .map(|s| s.records),
        _ => None,
    }
}
