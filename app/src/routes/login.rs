//! Sign-in: it opens the user's own local data (a tablet signs in once
//! online, then works offline for the life of its session), so records
//! are captured in that user's name and team. Without it nothing is shown.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use crate::i18n::{lang, t, tr};
use crate::repo::go_to;
use crate::session::{self, SignInError};

/// Username and password form; after a revoked session, says why the
/// device's data is gone.
#[component]
pub fn LoginPage() -> impl IntoView {
    let revoked = use_query_map().with_untracked(|q| q.get("revoked").is_some());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let l = lang();
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let lang = l.get_untracked();
            match session::sign_in(username.get_untracked().trim(), &password.get_untracked()).await
            {
                Ok(_) => {
                    password.set(String::new());
                    error.set(None);
                    // A fresh load opens this user's data, and only theirs.
                    go_to("/");
                    return;
                }
                Err(SignInError::WrongCredentials) => {
                    error.set(Some(tr(lang, "login.failed").into()))
                }
                Err(SignInError::Unreachable) => {
                    error.set(Some(tr(lang, "login.unreachable").into()))
                }
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card narrow">
            <h2>{move || t("login.title")}</h2>
            {revoked.then(|| view! {
                <p class="problem banner" role="alert" data-testid="revoked">{move || t("device.revoked")}</p>
            })}
            <form on:submit=on_submit data-testid="login-form">
                <label>
                    <span>{move || t("login.username")}</span>
                    <input
                        data-testid="username"
                        type="text"
                        autocomplete="username"
                        autocapitalize="none"
                        prop:value=move || username.get()
                        on:input=move |ev| username.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    <span>{move || t("login.password")}</span>
                    <input
                        data-testid="password"
                        type="password"
                        autocomplete="current-password"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit" data-testid="sign-in" disabled=move || busy.get()>
                    {move || t("login.submit")}
                </button>
                <p role="status" class="message problem" data-testid="login-error">
                    {move || error.get()}
                </p>
            </form>
        </section>
    }
}

/// What every page shows with nobody signed in: no records, and the way in.
#[component]
pub fn SignInFirst() -> impl IntoView {
    view! {
        <section class="card narrow empty-state" data-testid="sign-in-first">
            <h2>{move || t("device.sign_in_first.title")}</h2>
            <p>{move || t("device.sign_in_first.text")}</p>
            <a class="button" href="/login" data-testid="go-sign-in">
                {move || t("device.sign_in_first.action")}
            </a>
        </section>
    }
}
