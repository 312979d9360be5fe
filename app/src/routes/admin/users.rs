//! Accounts at `/admin/users`: create, change role and
//! team, disable and enable, reset a password, end every session. Every
//! call is checked on the server (administrators only); errors come back
//! with stable codes shown in the user's language.

use closeloop_shared::access::Role;
use closeloop_shared::api::{NewPassword, NewUser, RoleChange, UserList, UserSummary};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{AdminNav, problem};
use crate::i18n::{Lang, format_time, lang, t, tr};
use crate::session;

fn role_label(l: Lang, r: Role) -> &'static str {
    tr(l, &format!("role.{}", r.key()))
}

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let users = RwSignal::new(Vec::<UserSummary>::new());
    let message = RwSignal::new(None::<(bool, String)>);
    // Read here: the closures below also run outside the component's scope.
    let language = lang();
    let reload = move || {
        let l = language.get_untracked();
        spawn_local(async move {
            match session::call("GET", "/api/admin/users", None).await {
                Ok((200, body)) => {
                    if let Ok(list) = serde_json::from_str::<UserList>(&body) {
                        users.set(list.users);
                    }
                }
                Ok((status, body)) => message.set(Some((false, problem(l, status, &body)))),
                Err(()) => message.set(Some((false, tr(l, "inbox.offline").to_string()))),
            }
        });
    };
    reload();
    // Runs one call; on success reloads the list and says `done`.
    let act =
        move |method: &'static str, path: String, body: Option<String>, done: &'static str| {
            let l = language.get_untracked();
            spawn_local(async move {
                match session::call(method, &path, body).await {
                    Ok((200, _)) => {
                        message.set(Some((true, tr(l, done).to_string())));
                        reload();
                    }
                    Ok((status, body)) => message.set(Some((false, problem(l, status, &body)))),
                    Err(()) => message.set(Some((false, tr(l, "inbox.offline").to_string()))),
                }
            });
        };
    let (name, password, role, team) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(Role::FieldStaff),
        RwSignal::new(String::new()),
    );
    let create = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = NewUser {
            username: name.get_untracked(),
            password: password.get_untracked(),
            role: role.get_untracked(),
            team: Some(team.get_untracked()).filter(|t| !t.trim().is_empty()),
        };
        let Ok(body) = serde_json::to_string(&body) else {
            return;
        };
        password.set(String::new());
        act(
            "POST",
            "/api/admin/users".into(),
            Some(body),
            "admin.created",
        );
    };
    view! {
        <AdminNav />
        <section class="card admin">
            <h2>{move || t("admin.title")}</h2>
            {move || message.get().map(|(ok, m)| view! {
                <p role="status" data-testid="admin-message" class=if ok { "message ok" } else { "message problem" }>{m}</p>
            })}
            <table class="inbox users">
                <thead><tr>
                    <th scope="col">{move || t("admin.username")}</th>
                    <th scope="col">{move || t("admin.role")}</th>
                    <th scope="col">{move || t("admin.team")}</th>
                    <th scope="col">{move || t("admin.sessions")}</th>
                    <th scope="col">{move || t("admin.actions")}</th>
                </tr></thead>
                <tbody>
                    {move || users.get().into_iter().map(|u| {
                        let name = u.username.clone();
                        let (n1, n2, n3, n4) = (name.clone(), name.clone(), name.clone(), name.clone());
                        let team = u.team.clone();
                        let new_password = RwSignal::new(String::new());
                        view! {
                            <tr data-user=u.username.clone() class:disabled=u.disabled>
                                <td>{u.username.clone()}
                                    {u.disabled.then(|| view! { <span class="badge conflict">{move || t("admin.disabled")}</span> })}</td>
                                <td>
                                    <select aria-label=move || t("admin.role") data-testid="user-role"
                                        on:change=move |ev| {
                                            let Some(r) = Role::from_key(&event_target_value(&ev)) else { return };
                                            let body = serde_json::to_string(&RoleChange { role: r, team: team.clone() }).ok();
                                            act("PUT", format!("/api/admin/users/{n1}/role"), body, "admin.saved");
                                        }>
                                        {Role::ALL.into_iter().map(|r| view! {
                                            <option value=r.key() selected=r == u.role>{move || role_label(lang().get(), r)}</option>
                                        }).collect_view()}
                                    </select>
                                </td>
                                <td>{u.team.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{u.sessions} {u.last_seen_at.map(|s| format!(" · {}", format_time(s)))}</td>
                                <td class="user-actions">
                                    {if u.disabled {
                                        view! { <button class="secondary" data-testid="enable" on:click=move |_| act("POST", format!("/api/admin/users/{n2}/enable"), None, "admin.saved")>{move || t("admin.enable")}</button> }.into_any()
                                    } else {
                                        view! { <button class="secondary" data-testid="disable" on:click=move |_| act("POST", format!("/api/admin/users/{n2}/disable"), None, "admin.saved")>{move || t("admin.disable")}</button> }.into_any()
                                    }}
                                    <button class="secondary" data-testid="revoke" on:click=move |_| act("POST", format!("/api/admin/users/{n3}/revoke-sessions"), None, "admin.revoked")>
                                        {move || t("admin.revoke")}
                                    </button>
                                    <input type="password" autocomplete="new-password" data-testid="new-password"
                                        placeholder=move || t("admin.new_password")
                                        prop:value=move || new_password.get()
                                        on:input=move |ev| new_password.set(event_target_value(&ev)) />
                                    <button class="secondary" data-testid="reset-password" on:click=move |_| {
                                        let body = serde_json::to_string(&NewPassword { password: new_password.get_untracked() }).ok();
                                        new_password.set(String::new());
                                        act("POST", format!("/api/admin/users/{n4}/reset-password"), body, "admin.saved");
                                    }>{move || t("admin.reset")}</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h3>{move || t("admin.create")}</h3>
            <form class="classify" on:submit=create data-testid="create-user" novalidate>
                <label><span>{move || t("admin.username")}</span>
                    <input type="text" data-testid="new-username" autocomplete="off" prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev)) /></label>
                <label><span>{move || t("admin.password")}</span>
                    <input type="password" data-testid="new-user-password" autocomplete="new-password" prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev)) /></label>
                <label><span>{move || t("admin.role")}</span>
                    <select data-testid="new-role" on:change=move |ev| {
                        if let Some(r) = Role::from_key(&event_target_value(&ev)) { role.set(r) }
                    }>
                        {Role::ALL.into_iter().map(|r| view! {
                            <option value=r.key()>{move || role_label(lang().get(), r)}</option>
                        }).collect_view()}
                    </select></label>
                <label><span>{move || t("admin.team")}</span>
                    <input type="text" data-testid="new-team" prop:value=move || team.get()
                        on:input=move |ev| team.set(event_target_value(&ev)) /></label>
                <button type="submit" data-testid="create">{move || t("admin.create")}</button>
            </form>
        </section>
    }
}
