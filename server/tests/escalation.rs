//! Escalation runs on the server with nobody's page open: an overdue record
//! gets one `escalate` step written by the system through the relay (so it
//! syncs to every client), appears in the escalated view, and its owner and
//! every supervisor get a notification they mark read. Time is the test's.

mod support;

use std::time::Duration;

use closeloop_shared::api::{Notifications, RecordPage};
use closeloop_shared::record::Field;
use closeloop_shared::workflow::Action;
use support::{Client, METRICS_TOKEN, StepClock, TestApp, http, id};

const RECEIVED: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

/// A counter from `/metrics`.
async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = http(app.addr, "GET", "/metrics", Some(METRICS_TOKEN), None).await;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in {text}"))
}

/// Waits (10 s at most) until the escalation job has completed `runs` more runs.
async fn runs_after(app: &TestApp, runs: u64) {
    let start = counter(app, "closeloop_escalation_runs_total").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while counter(app, "closeloop_escalation_runs_total").await < start + runs {
        assert!(
            tokio::time::Instant::now() < deadline,
            "escalation job did not run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn bell(app: &TestApp, token: &str) -> Notifications {
    let (status, n): (u16, Notifications) = app
        .call("GET", "/api/notifications", Some(token), None)
        .await;
    assert_eq!(status, 200);
    n
}

#[tokio::test]
async fn an_overdue_record_is_escalated_once_by_the_system_and_its_people_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let clock = StepClock::at(RECEIVED + HOUR);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "冷库停电，生鲜全部变质").await;
    north.capture(id(2), "建议延长营业时间").await;
    let mut desk = Client::connect(app.addr, "office").await;
    desk.fetch(id(1)).await.expect("office reaches it");
    desk.set_field(id(1), Field::Priority, "P0", RECEIVED + 1)
        .await;
    desk.transition(id(1), &Action::Register, RECEIVED + 2)
        .await;
    desk.transition(
        id(1),
        &Action::Assign {
            owner: "office".into(),
            department: "门店运营".into(),
        },
        RECEIVED + 3,
    )
    .await;

    // An hour in, P0's 2-hour first response is not due: nothing happens.
    runs_after(&app, 1).await;
    let office = app.token("office").await;
    assert_eq!(bell(&app, &office).await.unread, 0);

    // Three hours in it is overdue: the system escalates it.
    clock.set(RECEIVED + 3 * HOUR);
    let office = app.token("office").await;
    let supervisor = app.token("supervisor").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bell(&app, &supervisor).await.unread == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no escalation within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The step is in the document every client syncs, written by the system.
    desk.pump_until(|c| {
        c.hub
            .document(&id(1))
            .and_then(|d| closeloop_shared::FeedbackRecord::from_doc(d).ok())
            .is_some_and(|r| r.workflow.escalation == 1)
    })
    .await;
    let r = closeloop_shared::FeedbackRecord::from_doc(desk.hub.document(&id(1)).unwrap()).unwrap();
    let step = r.history.last().unwrap();
    assert_eq!(
        (step.action.key(), step.by.as_str()),
        ("escalate", "system:sla")
    );
    assert_eq!(step.at_ms, RECEIVED + 3 * HOUR, "at the server's time");

    // Owner and supervisor are told; the record is in the escalated view.
    for token in [&office, &supervisor] {
        let n = bell(&app, token).await;
        assert_eq!(n.unread, 1, "{n:?}");
        assert_eq!(n.items[0].record_id, id(1).to_string());
        assert_eq!(n.items[0].kind, "escalated");
        assert_eq!(
            n.items[0].description.as_deref(),
            Some("冷库停电，生鲜全部变质")
        );
    }
    let (_, escalated): (u16, RecordPage) = app
        .call(
            "GET",
            "/api/records?escalated=true&open=true",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(escalated.records.len(), 1);
    assert_eq!(escalated.records[0].id, id(1).to_string());

    // Later runs do not escalate the same overdue clock again.
    runs_after(&app, 2).await;
    assert_eq!(counter(&app, "closeloop_records_escalated_total").await, 1);
    assert_eq!(bell(&app, &supervisor).await.unread, 1);

    // Read per user: the supervisor's mark leaves the owner's unread.
    let item = bell(&app, &supervisor).await.items[0].id;
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            &format!("/api/notifications/{item}/read"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(bell(&app, &supervisor).await.unread, 0);
    assert_eq!(bell(&app, &office).await.unread, 1);
    // Nobody marks another user's notification.
    let theirs = bell(&app, &office).await.items[0].id;
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            &format!("/api/notifications/{theirs}/read"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(bell(&app, &office).await.unread, 1);
    let (status, _): (u16, serde_json::Value) = app
        .call("POST", "/api/notifications/read-all", Some(&office), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(bell(&app, &office).await.unread, 0);
    app.stop().await;
}
