//! The record page's "Customer contact" panel. The details live in the
//! server's contact store, never in the record; each read is written to
//! the audit log, so they are fetched only when the user asks (S002 §8).

use closeloop_shared::contact::{ConsentPurpose, ContactView};
use closeloop_shared::sync::DocumentId;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{format_time, lang, t, tr};
use crate::session;

/// Where the panel is.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    Hidden,
    Loading,
    Contact(Box<ContactView>),
    /// An i18n key saying why not.
    Problem(&'static str),
}

#[component]
pub fn ContactPanel(id: DocumentId, contact_ref: Option<String>) -> impl IntoView {
    let shown = RwSignal::new(Shown::Hidden);
    let show = move |_| {
        shown.set(Shown::Loading);
        spawn_local(async move {
            let path = format!("/api/records/{id}/contact");
            shown.set(match session::call("GET", &path, None).await {
                Ok((200, body)) => match serde_json::from_str::<ContactView>(&body) {
                    Ok(v) => Shown::Contact(Box::new(v)),
                    Err(_) => Shown::Problem("contact.bad_answer"),
                },
                // `no_contact`: the capturing device has not sent it yet.
                Ok((404, _)) => Shown::Problem("contact.not_uploaded"),
                Ok((401 | 403, _)) => Shown::Problem("contact.forbidden"),
                Ok(_) => Shown::Problem("contact.bad_answer"),
                Err(()) => Shown::Problem("contact.offline"),
            });
        });
    };
    let has_contact = contact_ref.is_some();
    let erasable = contact_ref.clone();
    view! {
        <section class="card contact-panel" data-testid="contact-panel">
            <h3>{move || t("contact.panel")}</h3>
            {if has_contact {
                view! {
                    <p class="hint">{move || t("contact.logged")}</p>
                    {move || match shown.get() {
                        Shown::Hidden | Shown::Problem(_) => view! {
                            <button type="button" class="secondary" data-testid="show-contact" on:click=show>
                                {move || t("contact.show")}
                            </button>
                        }.into_any(),
                        Shown::Loading => view! { <p class="loading">{move || t("contact.loading")}</p> }.into_any(),
                        Shown::Contact(v) => view! {
                            <Details v=*v />
                            <button type="button" class="secondary" data-testid="hide-contact"
                                on:click=move |_| shown.set(Shown::Hidden)>{move || t("contact.hide")}</button>
                        }.into_any(),
                    }}
                    {move || match shown.get() {
                        Shown::Problem(key) => Some(view! {
                            <p class="problem" role="alert" data-testid="contact-problem">{move || t(key)}</p>
                        }),
                        _ => None,
                    }}
                }.into_any()
            } else {
                view! { <p class="empty" data-testid="contact-none">{move || t("contact.none")}</p> }.into_any()
            }}
            {erasable.map(|contact_ref| view! { <Erase contact_ref /> })}
        </section>
    }
}

/// What an erasure answered: each record's old and new id.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct Erased {
    records: Vec<(String, String)>,
}

/// The records the last erasure on this page re-created (new ids). Kept by
/// the record page, not the record: the erased record leaves this browser
/// too, and the result must outlive it.
#[derive(Debug, Clone, Copy)]
pub struct ErasedRecords(pub RwSignal<Vec<String>>);

/// A customer's erasure request (PIPL/GDPR), for supervisors and
/// administrators: a warning first, then the contact is destroyed and the
/// records re-created without personal data under new ids.
#[component]
fn Erase(contact_ref: String) -> impl IntoView {
    let session = expect_context::<crate::repo::Repo>().session;
    let ErasedRecords(done) = expect_context::<ErasedRecords>();
    let may = move || {
        matches!(session.get(), crate::session::Session::SignedIn { ref role, .. }
            if role == "supervisor" || role == "admin")
    };
    let step = RwSignal::new(0u8); // 0 button, 1 warning, 2 working, 3 failed
    let contact_ref = StoredValue::new(contact_ref);
    let erase = move |_| {
        step.set(2);
        let path = format!("/api/contacts/{}/erase", contact_ref.get_value());
        spawn_local(async move {
            match session::call("POST", &path, None).await {
                Ok((200, body)) => match serde_json::from_str::<Erased>(&body) {
                    Ok(e) => done.set(e.records.into_iter().map(|(_, new)| new).collect()),
                    Err(_) => step.set(3),
                },
                _ => step.set(3),
            }
        });
    };
    move || {
        may().then(|| match step.get() {
        0 | 3 => view! {
            <div class="erase">
                {(step.get() == 3).then(|| view! { <p class="problem" role="alert">{move || t("erase.failed")}</p> })}
                <button type="button" class="danger" data-testid="erase-customer" on:click=move |_| step.set(1)>
                    {move || t("erase.button")}
                </button>
            </div>
        }.into_any(),
        1 => view! {
            <div class="erase warning" role="alertdialog" data-testid="erase-warning">
                <p>{move || t("erase.warning")}</p>
                <button type="button" class="danger" data-testid="erase-confirm" on:click=erase>{move || t("erase.confirm")}</button>
                <button type="button" class="secondary" on:click=move |_| step.set(0)>{move || t("erase.cancel")}</button>
            </div>
        }.into_any(),
        _ => view! { <p class="loading">{move || t("erase.working")}</p> }.into_any(),
    })
    }
}

/// What the last erasure re-created, with links to the new records.
#[component]
pub fn ErasedNotice() -> impl IntoView {
    let ErasedRecords(done) = expect_context::<ErasedRecords>();
    move || {
        let records = done.get();
        (!records.is_empty()).then(|| view! {
            <section class="card erase done" role="status" data-testid="erase-done">
                <p>{move || t("erase.done")}</p>
                <ul>
                    {records.into_iter().map(|new| view! {
                        <li><a href=format!("/office/records/{new}") data-testid="erased-record">{move || t("erase.open_new")}</a></li>
                    }).collect_view()}
                </ul>
            </section>
        })
    }
}

/// What the server holds: the details (or when they were erased) and
/// each consent with its time.
#[component]
fn Details(v: ContactView) -> impl IntoView {
    let rows: Vec<(&'static str, String)> = v
        .details
        .as_ref()
        .map(|d| {
            [
                ("contact.phone", d.phone.clone()),
                ("contact.email", d.email.clone()),
                ("contact.name", d.name.clone()),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect()
        })
        .unwrap_or_default();
    view! {
        <div class="contact-view" data-testid="contact-view">
            {v.erased_at_ms.map(|at| view! {
                <p class="erased" data-testid="contact-erased">{move || t("contact.erased")} " " {format_time(at)}</p>
            })}
            {(!rows.is_empty()).then(|| view! {
                <dl class="facts">
                    {rows.into_iter().map(|(k, value)| view! {
                        <dt>{move || t(k)}</dt>
                        <dd data-field=k.trim_start_matches("contact.")>{value}</dd>
                    }).collect_view()}
                </dl>
            })}
            <h4>{move || t("contact.consents")}</h4>
            {if v.consents.is_empty() {
                view! { <p class="empty">{move || t("contact.no_consent")}</p> }.into_any()
            } else {
                view! {
                    <ul class="consents" data-testid="contact-consents">
                        {v.consents.iter().map(|c| {
                            let purpose = c.purpose;
                            view! {
                                <li data-purpose=purpose.key()>
                                    {move || consent_label(purpose)} " · " {format_time(c.at_ms)} " · " {c.recorded_by.clone()}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <p class="meta">{move || t("contact.taken")} " " {format_time(v.created_at_ms)} " · " {v.created_by.clone()}</p>
        </div>
    }
}

fn consent_label(purpose: ConsentPurpose) -> &'static str {
    let key = match purpose {
        ConsentPurpose::FollowUp => "contact.consent.follow_up",
        ConsentPurpose::Survey => "contact.consent.survey",
    };
    tr(lang().get(), key)
}
