//! The head-office inbox's server side: filters and sort on the running
//! SLA clock answered by storage at the server's (test-controlled) clock,
//! the saved views' filters, and server push of stored changes.

mod support;

use std::time::Duration;

use closeloop_shared::api::RecordPage;
use closeloop_shared::record::Field;
use closeloop_shared::sla::SlaState;
use closeloop_shared::sync::DocumentId;
use closeloop_shared::workflow::Action;
use support::{Client, StepClock, TestApp, id};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// When the test client captures every record (see `Client::capture`).
const RECEIVED: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;

async fn page(app: &TestApp, token: &str, query: &str) -> RecordPage {
    let (status, page): (u16, RecordPage) = app
        .call("GET", &format!("/api/records?{query}"), Some(token), None)
        .await;
    assert_eq!(status, 200, "{query}");
    page
}

fn ids(page: &RecordPage) -> Vec<String> {
    page.records.iter().map(|r| r.id.clone()).collect()
}

async fn set(desk: &mut Client, doc: DocumentId, field: Field, value: &str) {
    desk.set_field(doc, field, value, RECEIVED + 1).await;
}

#[tokio::test]
async fn inbox_filters_and_sorts_on_the_running_clock_at_the_servers_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = StepClock::at(RECEIVED + 60 * MINUTE);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;
    let mut north = Client::connect(app.addr, "north").await;
    for (n, text) in [(1, "整个门店停电"), (2, "收银排队太久"), (3, "店员很热情")]
    {
        north.capture(id(n), text).await;
    }
    let mut desk = Client::connect(app.addr, "office").await;
    for n in [1, 2, 3] {
        desk.fetch(id(n)).await.expect("office reaches it");
    }
    // P0: first response within 2 calendar hours, near due at 20 % left.
    set(&mut desk, id(1), Field::Priority, "P0").await;
    set(&mut desk, id(1), Field::Nature, "complaint").await;
    // P1: 4 business hours; the test's received time is a Tuesday night.
    set(&mut desk, id(2), Field::Priority, "P1").await;
    set(&mut desk, id(3), Field::Nature, "praise").await;
    desk.transition(id(2), &Action::Register, RECEIVED + 2)
        .await;
    // (Steps replay in time order: each a moment after the one before.)
    desk.transition(
        id(2),
        &Action::Assign {
            owner: "office".into(),
            department: "store_ops".into(),
        },
        RECEIVED + 3,
    )
    .await;
    let office = app.token("office").await;

    let p0 = id(1).to_string();
    // An hour in: on track, nothing near due or overdue.
    let near = page(&app, &office, "due=near").await;
    assert_eq!(near.total, 0, "{near:?}");
    // 1 h 40 min in: 20 minutes of 120 left, near due; still not overdue.
    clock.set(RECEIVED + 100 * MINUTE);
    let near = page(&app, &office, "due=near").await;
    assert_eq!(ids(&near), vec![p0.clone()]);
    assert_eq!(near.records[0].sla_state, Some(SlaState::NearDue));
    assert_eq!(near.records[0].remaining_ms, Some(20 * MINUTE));
    assert_eq!(page(&app, &office, "due=overdue").await.total, 0);
    // 3 h in: overdue (and the old `overdue=true` means the same).
    clock.set(RECEIVED + 180 * MINUTE);
    assert_eq!(
        ids(&page(&app, &office, "due=overdue").await),
        vec![p0.clone()]
    );
    assert_eq!(
        ids(&page(&app, &office, "overdue=true").await),
        vec![p0.clone()]
    );
    let rest = page(&app, &office, "overdue=false").await;
    assert_eq!(rest.total, 2, "{rest:?}");
    assert!(!ids(&rest).contains(&p0));
    assert_eq!(page(&app, &office, "due=near").await.total, 0, "past near");

    // The saved views' filters.
    assert_eq!(
        ids(&page(&app, &office, "nature=complaint").await),
        vec![p0.clone()]
    );
    let mine = page(&app, &office, "owner=office&open=true").await;
    assert_eq!(ids(&mine), vec![id(2).to_string()]);
    let unassigned = page(&app, &office, "unassigned=true&open=true").await;
    assert_eq!(unassigned.total, 2);
    assert!(!ids(&unassigned).contains(&id(2).to_string()));
    assert_eq!(page(&app, &office, "open=false").await.total, 0);

    // Sorted by what falls due next: P0 (2 h) before P1 (4 business
    // hours from Wednesday 09:00), the record without a clock last.
    let by_due = page(&app, &office, "sort=due").await;
    assert_eq!(
        ids(&by_due),
        vec![p0.clone(), id(2).to_string(), id(3).to_string()]
    );
    assert_eq!(by_due.records[2].due_at, None);

    // Answered: the first-response clock stops, the resolution clock
    // (24 h for P0) is the one the inbox now watches.
    desk.transition(id(1), &Action::Register, RECEIVED + 4)
        .await;
    desk.transition(
        id(1),
        &Action::Assign {
            owner: "office".into(),
            department: "store_ops".into(),
        },
        RECEIVED + 5,
    )
    .await;
    desk.transition(id(1), &Action::Start, RECEIVED + 181 * MINUTE)
        .await;
    assert_eq!(page(&app, &office, "due=overdue").await.total, 0);
    clock.set(RECEIVED + 25 * 60 * MINUTE);
    // (A day later the idle session has ended: sign in again.)
    let office = app.token("office").await;
    let late = page(&app, &office, "due=overdue&priority=P0").await;
    assert_eq!(ids(&late), vec![p0]);
    assert_eq!(
        late.records[0].due_at,
        Some(RECEIVED + 24 * 60 * MINUTE),
        "P0: resolved within 24 h"
    );
    // The P1 record, never started, is past its 4 business hours by now.
    assert_eq!(page(&app, &office, "due=overdue").await.total, 2);
    app.stop().await;
}

/// Reads from an SSE response until `count` `records` events arrived or
/// `limit` passed; returns how many arrived.
async fn read_events(
    stream: &mut TcpStream,
    seen: &mut String,
    count: usize,
    limit: Duration,
) -> usize {
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        let n = seen.matches("event: records").count();
        if n >= count {
            return n;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return n,
            Ok(Ok(read)) => seen.push_str(&String::from_utf8_lossy(&buf[..read])),
        }
    }
}

#[tokio::test]
async fn a_stored_change_is_pushed_to_open_inboxes_and_a_revoked_session_ends_its_stream() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let office = app.token("office").await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "GET /api/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {office}\r\nAccept: text/event-stream\r\n\r\n",
        app.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = String::new();
    assert_eq!(
        read_events(&mut stream, &mut seen, 1, Duration::from_secs(5)).await,
        1,
        "the stream opens with an event: {seen}"
    );
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("text/event-stream"), "{seen}");

    // A tablet's record, acknowledged (so stored): the inbox hears of it.
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(7), "冷柜温度过高").await;
    assert_eq!(
        read_events(&mut stream, &mut seen, 2, Duration::from_secs(5)).await,
        2,
        "a stored change is pushed: {seen}"
    );
    assert!(
        !seen.contains(&id(7).to_string()),
        "the event names no record"
    );

    // Signed out: the next change ends the stream instead of reaching it.
    let (status, _): (u16, serde_json::Value) =
        app.call("POST", "/api/logout", Some(&office), None).await;
    assert_eq!(status, 200);
    north.capture(id(8), "购物车轮子坏了").await;
    assert_eq!(
        read_events(&mut stream, &mut seen, 3, Duration::from_secs(3)).await,
        2,
        "no event after sign-out: {seen}"
    );

    // Without a session there is no stream at all.
    let (status, _): (u16, serde_json::Value) = app.call("GET", "/api/events", None, None).await;
    assert_eq!(status, 401);
    drop(stream);
    app.stop().await;
}

#[tokio::test]
async fn likely_duplicates_are_found_by_customer_text_and_time_within_what_the_user_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    // Captured as 李先生 at RECEIVED (see `Client::capture`).
    north
        .capture(id(1), "冰箱送到后冷藏室不制冷，要求换货。")
        .await;
    north.capture(id(2), "门店停车场太小，周末没有车位。").await;
    let office = app.token("office").await;
    let similar = |token: String, customer: &str, text: &str, at: i64| {
        let path = format!(
            "/api/records/similar?customer={}&text={}&received_at={at}",
            urlencode(customer),
            urlencode(text)
        );
        let app = &app;
        async move {
            let (status, found): (u16, closeloop_shared::api::SimilarRecords) =
                app.call("GET", &path, Some(&token), None).await;
            assert_eq!(status, 200, "{path}");
            found.records.into_iter().map(|r| r.id).collect::<Vec<_>>()
        }
    };
    let day = 86_400_000;
    let phone_again = "你们送的冰箱冷藏室不制冷！我要换货";
    assert_eq!(
        similar(office.clone(), "李先生", phone_again, RECEIVED + day).await,
        vec![id(1).to_string()],
        "same customer, similar text, next day"
    );
    assert!(
        similar(office.clone(), "李先生", "发票开错了", RECEIVED + day)
            .await
            .is_empty()
    );
    assert!(
        similar(office.clone(), "王女士", phone_again, RECEIVED + day)
            .await
            .is_empty()
    );
    assert!(
        similar(office.clone(), "李先生", phone_again, RECEIVED + 8 * day)
            .await
            .is_empty()
    );
    assert!(
        similar(app.token("south").await, "李先生", phone_again, RECEIVED)
            .await
            .is_empty(),
        "another team's records are not offered"
    );
    let long = "a".repeat(closeloop_shared::record::MAX_DESCRIPTION_CHARS + 1);
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "GET",
            &format!(
                "/api/records/similar?customer=x&text={}&received_at=0",
                urlencode(&long)
            ),
            Some(&office),
            None,
        )
        .await;
    assert_eq!(status, 400);
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
