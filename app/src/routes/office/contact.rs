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
        </section>
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
