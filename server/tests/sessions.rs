//! Sessions that end close their sync sockets: logout, a user disabled in
//! storage (as the `user` command in another process does), a changed role,
//! expiry by the server's clock, and the admin API. Real sockets on
//! loopback, real storage; each test waits for the close frame itself.

mod support;

use closeloop_shared::access::Role;
use futures_util::SinkExt;
use support::{
    Client, PASSWORD, Socket, StepClock, TestApp, close_reason, http, login, open_sync, storage_for,
};
use tokio_tungstenite::tungstenite::Message as Ws;

/// A signed-in sync socket and its token.
async fn socket_for(app: &TestApp, user: &str) -> (Socket, String) {
    let token = login(app.addr, user).await;
    let ws = open_sync(app.addr, &token)
        .await
        .expect("sync socket opens");
    (ws, token)
}

fn status(resp: &str) -> u16 {
    resp.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn signing_out_closes_that_sessions_socket_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut leaving, token) = socket_for(&app, "north").await;
    let mut staying = Client::connect(app.addr, "north").await;

    let out = http(app.addr, "POST", "/api/logout", Some(&token), None).await;
    assert_eq!(status(&out), 200, "{out}");
    assert_eq!(
        close_reason(&mut leaving).await,
        "signed out or sessions revoked"
    );

    // The other session of the same user keeps syncing.
    staying.round_trip().await;
    assert!(!staying.closed);
    assert!(
        open_sync(app.addr, &token).await.is_none(),
        "the token is dead"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_user_disabled_by_another_process_is_disconnected_and_cannot_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut ws, _) = socket_for(&app, "south").await;
    let (mut other, _) = socket_for(&app, "north").await;

    // What `closeloop-server user disable south` does, on its own connection.
    let storage = storage_for(dir.path()).await;
    storage.set_disabled("south", true).await.unwrap();
    // Disabling also deletes the sessions, so an enable revives none.
    let reason = close_reason(&mut ws).await;
    assert!(
        reason.contains("revoked") || reason.contains("disabled"),
        "{reason}"
    );
    let body = format!(r#"{{"username":"south","password":"{PASSWORD}"}}"#);
    let refused = http(app.addr, "POST", "/api/login", None, Some(&body)).await;
    assert_eq!(status(&refused), 401, "{refused}");

    storage.set_disabled("south", false).await.unwrap();
    login(app.addr, "south").await;
    storage.close().await;
    // North was never touched.
    other
        .send(Ws::Ping(Vec::new().into()))
        .await
        .expect("north's socket is still open");
    app.stop().await;
}

#[tokio::test]
async fn a_changed_role_or_team_closes_sockets_opened_under_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (mut ws, token) = socket_for(&app, "north").await;
    let storage = storage_for(dir.path()).await;
    storage
        .set_role("north", Role::FieldStaff, Some("south"))
        .await
        .unwrap();
    assert!(close_reason(&mut ws).await.contains("role or team changed"));
    // The session holds: a new socket opens under the new team.
    let mut again = open_sync(app.addr, &token).await.expect("reconnects");
    storage.close().await;
    again.send(Ws::Ping(Vec::new().into())).await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn an_expired_session_closes_its_socket_by_the_servers_clock() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_800_000_000_000;
    let clock = StepClock::at(start);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;
    let (mut ws, token) = socket_for(&app, "north").await;

    clock.set(start + 31 * 86_400_000);
    assert_eq!(close_reason(&mut ws).await, "the session expired");
    let me = http(app.addr, "GET", "/api/me", Some(&token), None).await;
    assert_eq!(status(&me), 401, "{me}");
    app.stop().await;
}

#[tokio::test]
async fn a_session_unused_for_twelve_hours_ends() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_800_000_000_000;
    let clock = StepClock::at(start);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;
    let token = login(app.addr, "office").await;
    clock.set(start + 11 * 3_600_000);
    let me = http(app.addr, "GET", "/api/me", Some(&token), None).await;
    assert_eq!(status(&me), 200, "used within 12 h: {me}");
    clock.set(start + 22 * 3_600_000);
    let me = http(app.addr, "GET", "/api/me", Some(&token), None).await;
    assert_eq!(status(&me), 200, "the last use counts, not the login: {me}");
    clock.set(start + 35 * 3_600_000);
    let me = http(app.addr, "GET", "/api/me", Some(&token), None).await;
    assert_eq!(status(&me), 401, "idle for 13 h: {me}");
    app.stop().await;
}

#[tokio::test]
async fn administrators_manage_users_over_the_api_and_nobody_else_may() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let storage = storage_for(dir.path()).await;
    storage
        .add_user("boss", PASSWORD, Role::Admin, None, 0)
        .await
        .unwrap();
    storage.close().await;
    let admin = login(app.addr, "boss").await;
    let office = login(app.addr, "office").await;

    let denied = http(app.addr, "GET", "/api/admin/users", Some(&office), None).await;
    assert_eq!(status(&denied), 403, "head office is not admin: {denied}");
    let denied = http(
        app.addr,
        "POST",
        "/api/admin/users/north/disable",
        None,
        None,
    )
    .await;
    assert_eq!(status(&denied), 401, "{denied}");

    let (mut ws, _) = socket_for(&app, "north").await;
    let path = "/api/admin/users/north/disable";
    let ok = http(app.addr, "POST", path, Some(&admin), None).await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(close_reason(&mut ws).await.contains("revoked"));
    let (_, list): (u16, closeloop_shared::api::UserList) = app
        .call("GET", "/api/admin/users", Some(&admin), None)
        .await;
    let north = list.users.iter().find(|u| u.username == "north").unwrap();
    assert!(north.disabled);
    assert_eq!(north.sessions, 0);

    let ok = http(
        app.addr,
        "POST",
        "/api/admin/users/north/enable",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status(&ok), 200, "{ok}");
    let (mut ws, _) = socket_for(&app, "north").await;
    let body = r#"{"password":"a brand new secret"}"#;
    let path = "/api/admin/users/north/reset-password";
    let ok = http(app.addr, "POST", path, Some(&admin), Some(body)).await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(close_reason(&mut ws).await.contains("revoked"));
    support::login_as(app.addr, "north", "a brand new secret").await;

    let body = r#"{"role":"field_staff","team":null}"#;
    let path = "/api/admin/users/south/role";
    let bad = http(app.addr, "PUT", path, Some(&admin), Some(body)).await;
    assert_eq!(status(&bad), 400, "field staff need a team: {bad}");
    let missing = http(
        app.addr,
        "POST",
        "/api/admin/users/nobody/revoke-sessions",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(status(&missing), 404, "{missing}");
    app.stop().await;
}

/// The `code` of an error answer.
fn code(resp: &str) -> String {
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str::<closeloop_shared::api::ErrorBody>(body)
        .map(|e| e.code)
        .unwrap_or_else(|_| format!("no error body in {resp}"))
}

#[tokio::test]
async fn a_revoked_session_is_told_apart_from_an_expired_or_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_800_000_000_000;
    let clock = StepClock::at(start);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;
    let revoked = login(app.addr, "north").await;
    let disabled = login(app.addr, "south").await;
    let signed_out = login(app.addr, "office").await;
    let expiring = login(app.addr, "office").await;

    let storage = storage_for(dir.path()).await;
    assert_eq!(storage.revoke_sessions("north").await.unwrap(), 1);
    storage.set_disabled("south", true).await.unwrap();
    storage.set_disabled("south", false).await.unwrap();
    let out = http(app.addr, "POST", "/api/logout", Some(&signed_out), None).await;
    assert_eq!(status(&out), 200, "{out}");

    for (token, want) in [
        (revoked.as_str(), "session_revoked"),
        (disabled.as_str(), "session_revoked"),
        (signed_out.as_str(), "unauthorized"),
        ("no-such-token", "unauthorized"),
    ] {
        let me = http(app.addr, "GET", "/api/me", Some(token), None).await;
        assert_eq!(status(&me), 401, "{me}");
        assert_eq!(code(&me), want, "{me}");
    }
    // A revoked token cannot open the sync socket either.
    assert!(open_sync(app.addr, &revoked).await.is_none());
    // Signing in again gives a fresh session that works.
    let again = login(app.addr, "north").await;
    let me = http(app.addr, "GET", "/api/me", Some(&again), None).await;
    assert_eq!(status(&me), 200, "{me}");

    // Expiry is not revocation; and revocation markers go with the
    // sessions' own expiry.
    clock.set(start + 31 * 86_400_000);
    let me = http(app.addr, "GET", "/api/me", Some(&expiring), None).await;
    assert_eq!(code(&me), "unauthorized", "{me}");
    storage
        .purge_sessions(start + 31 * 86_400_000)
        .await
        .unwrap();
    let me = http(app.addr, "GET", "/api/me", Some(&revoked), None).await;
    assert_eq!(code(&me), "unauthorized", "forgotten after expiry: {me}");
    storage.close().await;
    app.stop().await;
}
