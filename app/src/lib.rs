//! Closeloop's PWA: field capture that works offline, and the head-office
//! view, both over the same local documents and sync link ([`repo::Repo`]).
//! It is built twice ([`Bundle`]): the tablet's build links only the field
//! pages and the record page ([`field_app`]), so its first download stays
//! small; head office's build has every page ([`office_app`]).

pub mod app_update;
pub mod attachments;
pub mod components;
pub mod contacts;
pub mod device;
pub mod i18n;
pub mod local_time;
mod outbox;
pub mod repo;
pub mod routes;
pub mod session;
mod settings_cache;
mod socket;
pub mod store;
mod sync_view;
mod tombstones;
mod upload;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;

use crate::components::StatusBadge;
use crate::i18n::{Lang, t};
use crate::repo::Repo;
use crate::routes::{
    ActionsPage, AdminRetentionPage, AdminSlaPage, AdminTaxonomyPage, AdminUsersPage, AuditLogPage,
    CaseLibraryPage, DashboardPage, FieldPage, FieldRecordPage, LoginPage, OfficePage,
    OfficeRecordPage, RegisterPage, SignInFirst, SurveyBuilderPage, SurveyResultsPage,
    SurveySendingPage,
};
use closeloop_shared::bundle::Bundle;

/// The tablet's build: its pages only (nothing else is linked in).
pub fn field_app() -> impl IntoView {
    view! { <App pages=field_pages /> }
}

/// Head office's build: every page.
pub fn office_app() -> impl IntoView {
    view! { <App pages=office_pages /> }
}

/// The whole app: header, then the build's `pages` once the device user's
/// local data is open; with nobody signed in, only sign-in (no data is opened).
#[component]
fn App(pages: fn() -> AnyView) -> impl IntoView {
    let lang = RwSignal::new(Lang::saved());
    provide_context(lang);
    // `Ok(None)`: nobody is signed in on this device.
    let repo: RwSignal<Option<Result<Option<Repo>, String>>> = RwSignal::new(None);
    spawn_local(async move {
        // The device's user only: a session cookie left by a sign-out that
        // could not reach the server must not open anyone's data again.
        let opened = match session::cached_user() {
            Some(user) => Repo::start(&user, socket::default_sync_url())
                .await
                .map(Some)
                .map_err(|e| e.to_string()),
            None => Ok(None),
        };
        repo.set(Some(opened));
    });
    register_service_worker();
    view! {
        <Router>
            <header class="top">
                <h1>{move || t("app.title")}</h1>
                <nav>
                    <A href="/">{move || t("nav.field")}</A>
                    <A href="/office" exact=true>{move || t("nav.office")}</A>
                    <A href="/office/dashboard">{move || t("nav.dashboard")}</A>
                    <A href="/office/surveys">{move || t("nav.surveys")}</A>
                    <A href="/office/cases">{move || t("nav.cases")}</A>
                    <A href="/office/actions">{move || t("nav.actions")}</A>
                    <A href="/admin/users">{move || t("nav.admin")}</A>
                </nav>
                <button
                    class="lang"
                    data-testid="lang"
                    on:click=move |_| {
                        let next = if lang.get() == Lang::Zh { Lang::En } else { Lang::Zh };
                        next.save();
                        lang.set(next);
                    }
                >
                    {move || if lang.get() == Lang::Zh { "English" } else { "中文" }}
                </button>
            </header>
            {move || match repo.get() {
                None => view! { <p class="loading">{move || t("list.loading")}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="problem banner" role="alert">{e}</p> }.into_any(),
                Some(Ok(Some(repo))) => view! { <Ready repo pages /> }.into_any(),
                Some(Ok(None)) => view! { <NobodySignedIn /> }.into_any(),
            }}
        </Router>
    }
}

/// The pages, with the opened [`Repo`] in context.
#[component]
fn Ready(repo: Repo, pages: fn() -> AnyView) -> impl IntoView {
    routes::office::live::provide(repo.session);
    provide_context(repo);
    view! {
        <app_update::UpdateBanner />
        <StatusBadge />
        <app_update::StorageLine />
        <main>{pages()}</main>
    }
}

/// The tablet build's pages; a head-office page is handed to the server,
/// which serves head office's build for it.
fn field_pages() -> AnyView {
    view! {
        <Routes fallback=|| view! { <FieldOrOffice /> }>
            <Route path=path!("/") view=FieldPage />
            <Route path=path!("/records/:id") view=FieldRecordPage />
            <Route path=path!("/login") view=LoginPage />
        </Routes>
    }
    .into_any()
}

/// Every page.
fn office_pages() -> AnyView {
    view! {
        <Routes fallback=|| view! { <FieldPage /> }>
            <Route path=path!("/") view=FieldPage />
            <Route path=path!("/office") view=OfficePage />
            <Route path=path!("/office/records/:id") view=OfficeRecordPage />
            <Route path=path!("/records/:id") view=OfficeRecordPage />
            <Route path=path!("/office/new") view=RegisterPage />
            <Route path=path!("/office/audit") view=AuditLogPage />
            <Route path=path!("/office/surveys") view=SurveyResultsPage />
            <Route path=path!("/office/surveys/edit") view=SurveyBuilderPage />
            <Route path=path!("/office/surveys/sending") view=SurveySendingPage />
            <Route path=path!("/office/cases") view=CaseLibraryPage />
            <Route path=path!("/office/dashboard") view=DashboardPage />
            <Route path=path!("/office/actions") view=ActionsPage />
            <Route path=path!("/admin/users") view=AdminUsersPage />
            <Route path=path!("/admin/sla") view=AdminSlaPage />
            <Route path=path!("/admin/taxonomy") view=AdminTaxonomyPage />
            <Route path=path!("/admin/retention") view=AdminRetentionPage />
            <Route path=path!("/login") view=LoginPage />
        </Routes>
    }
    .into_any()
}

/// In the tablet's build, a path it has no page for: a head-office page is
/// loaded from the server (head office's build), anything else is the
/// field page.
#[component]
fn FieldOrOffice() -> impl IntoView {
    let path = use_location().pathname.get_untracked();
    if Bundle::serving(&path) == Bundle::Field {
        return view! { <FieldPage /> }.into_any();
    }
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
    view! { <p class="loading">{move || t("list.loading")}</p> }.into_any()
}

/// With nobody signed in: sign-in, and everywhere else a page that says
/// to sign in (no local data is open, so no records are listed).
#[component]
fn NobodySignedIn() -> impl IntoView {
    view! {
        <div class="account">
            <a href="/login" data-testid="sign-in-link">{move || t("login.title")}</a>
        </div>
        <div class="status" data-testid="sync-status" data-status="signed_out">
            {move || t("device.nobody")}
        </div>
        <main>
            <Routes fallback=|| view! { <SignInFirst /> }>
                <Route path=path!("/login") view=LoginPage />
            </Routes>
        </main>
    }
}

/// The service worker keeps the app shell for offline start-up.
fn register_service_worker() {
    if let Some(w) = web_sys::window() {
        let sw = w.navigator().service_worker();
        let _ = sw.register("/sw.js");
    }
}
