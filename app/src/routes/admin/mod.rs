//! Administration: accounts, the SLA policy and working calendar, and the
//! taxonomy with the channels' owners. Every call is checked on the
//! server (administrators only); edits are checked here first with the
//! same shared rules, so errors show in the user's language before saving.

mod retention;
mod sla;
mod taxonomy;
mod users;

use leptos::prelude::*;
use leptos_router::components::A;

pub use retention::AdminRetentionPage;
pub use sla::AdminSlaPage;
pub use taxonomy::AdminTaxonomyPage;
pub use users::AdminUsersPage;

use crate::i18n::{Lang, t, tr};
use crate::session;

/// The administration pages' own navigation.
#[component]
fn AdminNav() -> impl IntoView {
    view! {
        <nav class="views admin-nav" aria-label=move || t("admin.nav")>
            <A href="/admin/users">{move || t("admin.nav.users")}</A>
            <A href="/admin/sla">{move || t("admin.nav.sla")}</A>
            <A href="/admin/taxonomy">{move || t("admin.nav.taxonomy")}</A>
            <A href="/admin/retention">{move || t("admin.nav.retention")}</A>
            <A href="/office/audit">{move || t("nav.audit")}</A>
        </nav>
    }
}

/// An API error in the user's language.
fn problem(l: Lang, status: u16, body: &str) -> String {
    session::refusal(l, status, body, "admin.forbidden", |status, c| {
        if status == 401 {
            return Some(tr(l, "inbox.sign_in").to_string());
        }
        matches!(
            c,
            "bad_username"
                | "weak_password"
                | "missing_team"
                | "user_exists"
                | "not_found"
                | "bad_sla"
                | "bad_taxonomy"
                | "bad_retention"
        )
        .then(|| tr(l, &format!("admin.error.{c}")).to_string())
    })
}

/// Reads a setting as `T`, or says why not.
async fn load<T: serde::de::DeserializeOwned>(path: &str, l: Lang) -> Result<T, String> {
    match session::call("GET", path, None).await {
        Ok((200, body)) => {
            serde_json::from_str(&body).map_err(|_| tr(l, "inbox.bad_answer").to_string())
        }
        Ok((status, body)) => Err(problem(l, status, &body)),
        Err(()) => Err(tr(l, "inbox.offline").to_string()),
    }
}

/// Saves a setting; the message to show.
async fn save<T: serde::Serialize>(path: &str, value: &T, l: Lang) -> (bool, String) {
    let Ok(body) = serde_json::to_string(value) else {
        return (false, tr(l, "inbox.bad_answer").to_string());
    };
    match session::call("PUT", path, Some(body)).await {
        Ok((200, _)) => (true, tr(l, "admin.settings_saved").to_string()),
        Ok((status, body)) => (false, problem(l, status, &body)),
        Err(()) => (false, tr(l, "inbox.offline").to_string()),
    }
}
