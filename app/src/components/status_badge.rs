//! Online/offline indicator, and the last storage problem if any.

use leptos::prelude::*;

use crate::i18n::t;
use crate::repo::{Repo, SyncStatus};

/// Tells the user whether captures are reaching head office yet.
#[component]
pub fn StatusBadge() -> impl IntoView {
    let repo = expect_context::<Repo>();
    let status = repo.status;
    let problem = repo.problem;
    view! {
        <div
            class="status"
            data-testid="sync-status"
            data-status=move || format!("{:?}", status.get()).to_lowercase()
        >
            {move || match status.get() {
                SyncStatus::Online => t("status.online"),
                SyncStatus::Offline => t("status.offline"),
                SyncStatus::Connecting => t("status.connecting"),
            }}
        </div>
        {move || problem.get().map(|p| view! { <p class="problem banner" role="alert">{p}</p> })}
    }
}
