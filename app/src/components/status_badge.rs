//! Online/offline indicator, and the last storage problem if any.

use leptos::prelude::*;

use leptos::task::spawn_local;

use crate::i18n::t;
use crate::repo::{Repo, SyncStatus};
use crate::session::Session;

/// Tells the user whether captures are reaching head office yet.
#[component]
pub fn StatusBadge() -> impl IntoView {
    let repo = expect_context::<Repo>();
    let status = repo.status;
    let problem = repo.problem;
    let session = repo.session;
    let signed_out = move || session.get() == Session::SignedOut;
    let sign_out = move |_| {
        let repo = repo.clone();
        spawn_local(async move { repo.sign_out().await });
    };
    view! {
        <div class="account">
            <super::Bell />
            {move || match session.get() {
                Session::SignedIn { username, .. } => {
                    view! {
                        <span data-testid="signed-in-as">{username}</span>
                        <button class="secondary" data-testid="sign-out" on:click=sign_out.clone()>
                            {move || t("nav.logout")}
                        </button>
                    }
                        .into_any()
                }
                Session::SignedOut => {
                    view! {
                        <a href="/login" data-testid="sign-in-link">
                            {move || t("status.signed_out")}
                        </a>
                    }
                        .into_any()
                }
                Session::Unknown => view! { <span></span> }.into_any(),
            }}
        </div>
        <div
            class="status"
            data-testid="sync-status"
            data-status=move || {
                if signed_out() { "signed_out".to_string() } else { format!("{:?}", status.get()).to_lowercase() }
            }
        >
            {move || match status.get() {
                _ if signed_out() => t("status.local_only"),
                SyncStatus::Online => t("status.online"),
                SyncStatus::Offline => t("status.offline"),
                SyncStatus::Connecting => t("status.connecting"),
            }}
        </div>
        {move || problem.get().map(|p| view! { <p class="problem banner" role="alert">{p}</p> })}
    }
}
