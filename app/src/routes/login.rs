//! Sign-in: needed to sync, not to capture (a tablet captures offline
//! before anyone has signed in, and syncs once someone does).

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use crate::i18n::{lang, t, tr};
use crate::repo::Repo;
use crate::session::SignInError;

/// Username and password form.
#[component]
pub fn LoginPage() -> impl IntoView {
    let repo = expect_context::<Repo>();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let l = lang();
    let navigate = use_navigate();
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let (repo, navigate) = (repo.clone(), navigate.clone());
        spawn_local(async move {
            let lang = l.get_untracked();
            match repo
                .sign_in(username.get_untracked().trim(), &password.get_untracked())
                .await
            {
                Ok(()) => {
                    password.set(String::new());
                    error.set(None);
                    navigate("/", Default::default());
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
