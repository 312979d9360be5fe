//! `/admin/retention`: when closed records are archived, how many years
//! records and audit entries are kept (never below three, S002 5.4), and
//! whether records past retention are anonymised or deleted. Checked here
//! with the shared rule before saving, and again by the server.

use closeloop_shared::retention::{AtRetentionEnd, RetentionPolicy};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{AdminNav, load, save};
use crate::i18n::{lang, t, tr};

#[component]
pub fn AdminRetentionPage() -> impl IntoView {
    let policy = RwSignal::new(None::<RetentionPolicy>);
    let message = RwSignal::new(None::<(bool, String)>);
    let language = lang();
    spawn_local(async move {
        match load::<RetentionPolicy>("/api/admin/retention", language.get_untracked()).await {
            Ok(p) => policy.set(Some(p)),
            Err(e) => message.set(Some((false, e))),
        }
    });
    let number = move |set: fn(&mut RetentionPolicy, u32)| {
        move |ev: leptos::ev::Event| {
            // Not a number: 0, which the rule refuses with its reason.
            let n = event_target_value(&ev).trim().parse().unwrap_or(0);
            policy.update(|p| p.iter_mut().for_each(|p| set(p, n)));
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = language.get_untracked();
        let Some(p) = policy.get_untracked() else {
            return;
        };
        if p.validate().is_err() {
            // One message names every limit, whichever was broken.
            return message.set(Some((
                false,
                tr(l, "admin.error.bad_retention").to_string(),
            )));
        }
        spawn_local(async move {
            let (ok, m) = save("/api/admin/retention", &p, l).await;
            message.set(Some((ok, m)));
        });
    };
    view! {
        <AdminNav />
        <section class="card admin retention-settings" data-testid="retention-settings">
            <h2>{move || t("retention.title")}</h2>
            <p class="hint">{move || t("retention.hint")}</p>
            {move || policy.get().map(|p| view! {
                // Our own message, in the user's language, instead of the browser's.
                <form class="settings-form" novalidate on:submit=submit>
                    <label class="filter">
                        <span>{move || t("retention.archive_after")}</span>
                        <input id="r-archive" type="number" min="1" max="3650" inputmode="numeric"
                            prop:value=p.archive_after_days.to_string()
                            on:change=number(|p, n| p.archive_after_days = n) />
                    </label>
                    <label class="filter">
                        <span>{move || t("retention.keep_years")}</span>
                        <input id="r-keep" type="number" min="3" max="100" inputmode="numeric"
                            prop:value=p.keep_years.to_string()
                            on:change=number(|p, n| p.keep_years = n) />
                    </label>
                    <label class="filter">
                        <span>{move || t("retention.at_end")}</span>
                        <select id="r-end" on:change=move |ev| {
                            let end = if event_target_value(&ev) == "delete" {
                                AtRetentionEnd::Delete
                            } else {
                                AtRetentionEnd::Anonymise
                            };
                            policy.update(|p| p.iter_mut().for_each(|p| p.at_end = end));
                        }>
                            <option value="anonymise" selected=p.at_end == AtRetentionEnd::Anonymise>
                                {move || t("retention.anonymise")}</option>
                            <option value="delete" selected=p.at_end == AtRetentionEnd::Delete>
                                {move || t("retention.delete")}</option>
                        </select>
                    </label>
                    <label class="filter">
                        <span>{move || t("retention.audit_years")}</span>
                        <input id="r-audit" type="number" min="3" max="100" inputmode="numeric"
                            prop:value=p.audit_keep_years.to_string()
                            on:change=number(|p, n| p.audit_keep_years = n) />
                    </label>
                    <button type="submit" data-testid="retention-save">{move || t("retention.save")}</button>
                </form>
            })}
            {move || message.get().map(|(ok, m)| view! {
                <p class=if ok { "message ok" } else { "message problem" } role="status" data-testid="retention-message">{m}</p>
            })}
        </section>
    }
}
