//! Online/offline indicator, who is signed in (and signing out, with a
//! warning when something is not on the server yet), and the last storage
//! problem if any.

use leptos::prelude::*;

use leptos::task::spawn_local;

use crate::i18n::t;
use crate::repo::{Repo, SyncStatus, Unsynced};
use crate::session::Session;

/// Tells the user whether captures are reaching head office yet.
#[component]
pub fn StatusBadge() -> impl IntoView {
    let repo = expect_context::<Repo>();
    let status = repo.status;
    let problem = repo.problem;
    let session = repo.session;
    let repo_unsynced = repo.unsynced;
    let last_synced = repo.last_synced;
    let contacts_waiting = repo.contacts.waiting;
    let files = repo.files;
    let sync_now = {
        let repo = repo.clone();
        move |_| repo.sync_now()
    };
    let device_user = repo.username().to_string();
    let signed_out = move || session.get() == Session::SignedOut;
    // What signing out now would lose, while the warning is open.
    let warning = RwSignal::new(None::<Unsynced>);
    let leaving = RwSignal::new(false);
    let leave = {
        let repo = repo.clone();
        move || {
            leaving.set(true);
            let repo = repo.clone();
            spawn_local(async move { repo.sign_out().await });
        }
    };
    let sign_out = {
        let (repo, leave) = (repo.clone(), leave.clone());
        move |_| {
            let unsynced = repo.unsynced_now();
            if unsynced.is_empty() {
                leave();
            } else {
                warning.set(Some(unsynced));
            }
        }
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
                // Offline (or not checked yet): the device's user may still sign out.
                Session::Unknown => {
                    view! {
                        <span data-testid="device-user">{device_user.clone()}</span>
                        <button class="secondary" data-testid="sign-out" on:click=sign_out.clone()>
                            {move || t("nav.logout")}
                        </button>
                    }
                        .into_any()
                }
            }}
        </div>
        <div
            class="status"
            data-testid="sync-status"
            data-unsynced=move || repo_unsynced.get()
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
        {move || (!signed_out()).then(|| {
            let sync_now = sync_now.clone();
            let records = repo_unsynced.get();
            let contacts = contacts_waiting.get();
            let waiting_files = files.waiting.get();
            view! {
                <div class="sync-line" data-testid="sync-line">
                    {(records > 0).then(|| view! {
                        <span data-testid="records-waiting" data-count=records>
                            <strong>{records}</strong> " " {move || t("sync.records_waiting")}
                        </span>
                    })}
                    {(contacts > 0).then(|| view! {
                        <span><strong>{contacts}</strong> " " {move || t("sync.contacts_waiting")}</span>
                    })}
                    {(waiting_files > 0).then(|| view! {
                        <span data-testid="files-waiting" data-count=waiting_files>
                            <strong>{waiting_files}</strong> " " {move || t("sync.files_waiting")}
                            {move || {
                                let (sent, total) = files.progress.get();
                                (total > 0 && sent > 0).then(|| format!(" · {}%", sent * 100 / total))
                            }}
                        </span>
                    })}
                    {move || files.refused.with(|r| (!r.is_empty()).then(|| view! {
                        <span class="problem" data-testid="files-refused" role="alert">
                            {format!("{} {}", t("sync.files_refused"), r.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "))}
                        </span>
                    }))}
                    {(records == 0 && contacts == 0 && waiting_files == 0 && status.get() == SyncStatus::Online)
                        .then(|| view! { <span data-testid="in-step">{move || t("sync.in_step")}</span> })}
                    <span data-testid="last-synced" data-at=move || last_synced.get().unwrap_or_default()>
                        {move || match last_synced.get() {
                            Some(at) => format!("{} {}", t("sync.last"), crate::i18n::format_time(at)),
                            None => t("sync.never").to_string(),
                        }}
                    </span>
                    <button type="button" class="secondary sync-now" data-testid="sync-now"
                        disabled=move || status.get() == SyncStatus::Connecting
                        on:click=sync_now>
                        {move || if status.get() == SyncStatus::Connecting { t("sync.retrying") } else { t("sync.now") }}
                    </button>
                </div>
            }
        })}
        {move || problem.get().map(|p| view! { <p class="problem banner" role="alert">{p}</p> })}
        {move || warning.get().map(|u| {
            let leave = leave.clone();
            view! {
                <div class="problem sign-out-warning" role="alertdialog" data-testid="sign-out-warning"
                    aria-labelledby="sign-out-warning-title">
                    <h2 id="sign-out-warning-title">{move || t("device.signout.title")}</h2>
                    <ul>
                        {(u.records > 0).then(|| view! {
                            <li data-testid="unsynced-records" data-count=u.records>
                                <strong>{u.records}</strong> " " {move || t("device.signout.records")}
                            </li>
                        })}
                        {(u.contacts > 0).then(|| view! {
                            <li data-testid="unsynced-contacts" data-count=u.contacts>
                                <strong>{u.contacts}</strong> " " {move || t("device.signout.contacts")}
                            </li>
                        })}
                        {(u.files > 0).then(|| view! {
                            <li data-testid="unsynced-files" data-count=u.files>
                                <strong>{u.files}</strong> " " {move || t("device.signout.files")}
                            </li>
                        })}
                    </ul>
                    <p>{move || t("device.signout.lost")}</p>
                    <div class="actions">
                        <button class="secondary" data-testid="sign-out-cancel" on:click=move |_| warning.set(None)>
                            {move || t("device.signout.cancel")}
                        </button>
                        <button class="danger" data-testid="sign-out-anyway"
                            disabled=move || leaving.get()
                            on:click=move |_| leave()>
                            {move || if leaving.get() { t("device.signing_out") } else { t("device.signout.anyway") }}
                        </button>
                    </div>
                </div>
            }
        })}
    }
}
