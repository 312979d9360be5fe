//! Relays sharing PostgreSQL act as one: an inbox's push stream on relay
//! two hears of a change stored, a notification raised and a record
//! reassigned through relay one; a sign-out, a changed role or a revocation
//! through relay one closes the user's sockets on relay two; and failed
//! sign-ins and the public endpoints' limits count across relays. PostgreSQL only: ignored on SQLite;
//! `cargo xtask test` runs them.

mod support;

use std::time::{Duration, Instant};

use closeloop_shared::workflow::Action;
use support::{Client, TestApp, close_reason, http, id, login, open_sync, two_relays};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An open `/api/events` stream.
struct Events(tokio::net::TcpStream);

impl Events {
    async fn open(app: &TestApp, token: &str) -> Events {
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let req = format!(
            "GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut events = Events(s);
        // The first event says the stream is live.
        events.next().await;
        events
    }

    /// Waits (10 s at most) for the next `records` event; how long it took.
    async fn next(&mut self) -> Duration {
        let started = Instant::now();
        let mut seen = String::new();
        let mut buf = [0u8; 4096];
        while !seen.contains("event: records") {
            let n = tokio::time::timeout(Duration::from_secs(10), self.0.read(&mut buf))
                .await
                .expect("a push within 10 s")
                .expect("the stream stays open");
            assert!(n > 0, "the stream ended");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        started.elapsed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn an_inbox_on_one_relay_hears_of_what_happens_through_the_other() {
    let (dir, one, two) = two_relays().await;
    let office_two = login(two.addr, "office").await;
    let mut inbox = Events::open(&two, &office_two).await;

    // A record stored through relay one.
    let mut tablet = Client::connect(one.addr, "north").await;
    tablet.capture(id(4), "一号中继收到的新反馈").await;
    tablet.acked(id(4)).await;
    let stored = inbox.next().await;

    // A notification raised by another relay (the storage of a third one).
    let third = support::storage_for(dir.path()).await;
    third
        .notify(&["office".into()], &id(4).to_string(), "escalated", 1)
        .await
        .unwrap();
    let notified = inbox.next().await;
    let (status, bell): (u16, serde_json::Value) = two
        .call("GET", "/api/notifications", Some(&office_two), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(bell["unread"], 1, "{bell}");

    // A reassignment through relay one.
    let mut office = Client::connect(one.addr, "office").await;
    office.fetch(id(4)).await.expect("office sees it");
    office.transition(id(4), &Action::Register, 1).await;
    let _ = inbox.next().await;
    let away = Action::Assign {
        owner: "south".into(),
        department: "门店运营".into(),
    };
    office.transition(id(4), &away, 2).await;
    let reassigned = inbox.next().await;
    println!(
        "pushed on relay two after: stored {stored:?}, notified {notified:?}, reassigned {reassigned:?}"
    );
    third.close().await;
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn sessions_end_on_every_relay_and_failed_sign_ins_count_across_relays() {
    let (_dir, one, two) = two_relays().await;

    // Signed out through relay one: the socket on relay two closes.
    let token = login(one.addr, "north").await;
    let mut ws = open_sync(two.addr, &token).await.expect("opens on two");
    let started = Instant::now();
    let out = http(one.addr, "POST", "/api/logout", Some(&token), None).await;
    assert!(out.starts_with("HTTP/1.1 2"), "{out}");
    assert!(close_reason(&mut ws).await.contains("signed out"));
    let logout = started.elapsed();

    // A role changed through relay one.
    let token = login(two.addr, "south").await;
    let mut ws = open_sync(two.addr, &token).await.expect("opens on two");
    let admin = login(one.addr, "admin").await;
    let started = Instant::now();
    let body = r#"{"role":"field_staff","team":"north"}"#;
    let changed = http(
        one.addr,
        "PUT",
        "/api/admin/users/south/role",
        Some(&admin),
        Some(body),
    )
    .await;
    assert!(changed.starts_with("HTTP/1.1 200"), "{changed}");
    assert!(close_reason(&mut ws).await.contains("role or team changed"));
    let role = started.elapsed();

    // Sessions revoked, and an account disabled, through relay one.
    let mut measured = Vec::new();
    for (user, action) in [("north", "revoke-sessions"), ("south", "disable")] {
        let token = login(two.addr, user).await;
        let mut ws = open_sync(two.addr, &token).await.expect("opens on two");
        let started = Instant::now();
        let path = format!("/api/admin/users/{user}/{action}");
        let done = http(one.addr, "POST", &path, Some(&admin), None).await;
        assert!(done.starts_with("HTTP/1.1 2"), "{action}: {done}");
        let reason = close_reason(&mut ws).await;
        assert!(!reason.is_empty(), "{action}: closed without a reason");
        measured.push((action, started.elapsed()));
    }
    println!(
        "sockets on relay two closed after: sign-out {logout:?}, role change {role:?}, {measured:?}"
    );

    // Failed sign-ins count wherever they arrive: three on each relay lock
    // the account on both.
    let wrong = r#"{"username":"office","password":"not the password"}"#;
    for (n, relay) in [&one, &two, &one, &two, &one].into_iter().enumerate() {
        let resp = http(relay.addr, "POST", "/api/login", None, Some(wrong)).await;
        assert!(resp.starts_with("HTTP/1.1 401"), "attempt {n}: {resp}");
    }
    for relay in [&one, &two] {
        let right = format!(
            r#"{{"username":"office","password":"{}"}}"#,
            support::PASSWORD
        );
        let resp = http(relay.addr, "POST", "/api/login", None, Some(&right)).await;
        assert!(resp.starts_with("HTTP/1.1 429"), "locked on both: {resp}");
    }
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn the_public_feedback_limit_holds_across_relays() {
    let (_dir, one, two) = two_relays().await;
    // Ten forms an hour from one address, however they are spread.
    for n in 0..10 {
        let relay = if n % 2 == 0 { &one } else { &two };
        let body = format!(r#"{{"description":"两台中继上的第 {n} 条"}}"#);
        let sent = http(relay.addr, "POST", "/api/feedback", None, Some(&body)).await;
        assert!(sent.starts_with("HTTP/1.1 201"), "{n}: {sent}");
    }
    for relay in [&one, &two] {
        let body = r#"{"description":"第十一条"}"#;
        let sent = http(relay.addr, "POST", "/api/feedback", None, Some(body)).await;
        assert!(
            sent.starts_with("HTTP/1.1 429") && sent.contains("rate_limited"),
            "{sent}"
        );
    }
    one.stop().await;
    two.stop().await;
}
