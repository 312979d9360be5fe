//! Designing surveys at head office (S003 §4): the builder with its
//! preview, and when surveys go out (after closing or replying, campaigns,
//! periodic) with the audit of what was sent. Supervisors and admins
//! change them; head office reads them. Every call is checked again on
//! the server.

mod builder;
mod preview;
mod sending;

use leptos::prelude::*;
use leptos_router::components::A;

pub use builder::SurveyBuilderPage;
pub use sending::SurveySendingPage;

use crate::i18n::{Lang, t, tr};

/// The survey sent after records are closed or replied.
const SURVEY: &str = "satisfaction";

/// The survey pages' own navigation.
#[component]
pub fn DesignNav() -> impl IntoView {
    view! {
        <nav class="views admin-nav" aria-label=move || t("nav.surveys")>
            <A href="/office/surveys" exact=true>{move || t("design.nav.results")}</A>
            <A href="/office/surveys/edit">{move || t("design.nav.edit")}</A>
            <A href="/office/surveys/sending">{move || t("design.nav.sending")}</A>
        </nav>
    }
}

/// An API error in the user's language.
fn problem(l: Lang, status: u16, body: &str) -> String {
    crate::session::refusal(l, status, body, "design.forbidden", |status, c| {
        if status == 401 {
            return Some(tr(l, "inbox.sign_in").to_string());
        }
        ["survey_", "sending_", "campaign_"]
            .iter()
            .any(|p| c.starts_with(p))
            .then(|| tr(l, &format!("design.error.{c}")).to_string())
    })
}
