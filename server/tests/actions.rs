//! Improvement actions (issue: analytics point 5): head office opens one
//! with an owner, a deadline, the figure to move and the records behind
//! it; its effect compares the figure the dashboard computes before it was
//! opened with after it was done; field staff can do none of it.

mod support;

use closeloop_shared::actions::{ActionDetail, ActionStatus, ImprovementAction};
use closeloop_shared::analytics::{DAY_MS, Dashboard};
use support::{StepClock, TestApp};

/// 2026-11-29 00:00 in UTC+8: the seeded records lie in the 90 days before.
const T0: i64 = 1_795_881_600_000;

#[tokio::test]
async fn an_action_is_followed_and_its_effect_measured_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    support::seed(dir.path(), 600, 5, T0).await;
    let clock = StepClock::at(T0);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;
    let (office, field) = (app.token("office").await, app.token("north").await);
    let new = r#"{"title":" 投诉电话当天回拨 ","plan":"客服中心每天 17:00 前回拨当天的投诉电话",
        "owner":"li","deadline_ms":1796486400000,"metric":"volume","department":null,
        "channel":"phone","feedback_type":null,"records":["r2","r1","r2"]}"#;

    let (status, _): (u16, serde_json::Value) = app
        .call("POST", "/api/improvement-actions", Some(&field), Some(new))
        .await;
    assert_eq!(status, 403, "field staff open no actions");
    let untitled = new.replace(" 投诉电话当天回拨 ", " ");
    let (status, err): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/improvement-actions",
            Some(&office),
            Some(&untitled),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("action_bad_title"))
    );
    let (status, action): (u16, ImprovementAction) = app
        .call("POST", "/api/improvement-actions", Some(&office), Some(new))
        .await;
    assert_eq!(status, 200);
    assert_eq!(action.title, "投诉电话当天回拨");
    assert_eq!(action.records, ["r1", "r2"]);
    assert_eq!(
        (action.status, action.created_by.as_str()),
        (ActionStatus::Open, "office")
    );

    // Before: the dashboard's own figure for the 28 days before opening.
    let path = format!("/api/improvement-actions/{}", action.id);
    let (_, detail): (u16, ActionDetail) = app.call("GET", &path, Some(&office), None).await;
    let from = T0 - 28 * DAY_MS;
    let (_, before): (u16, Dashboard) = app
        .call(
            "GET",
            &format!("/api/dashboard?from={from}&to={T0}&channel=phone"),
            Some(&office),
            None,
        )
        .await;
    assert!(before.total > 0, "seeded phone records in the period");
    assert_eq!(detail.effect.before, Some(before.total as f64));
    assert_eq!(detail.effect.after, None, "not done: no after yet");

    // Done a day later; two days after that, nothing new came in by phone.
    clock.set(T0 + DAY_MS);
    // A day idle ends a session: sign in again.
    let office = app.token("office").await;
    let (status, done): (u16, ImprovementAction) = app
        .call("PUT", &path, Some(&office), Some(r#"{"status":"done"}"#))
        .await;
    assert_eq!((status, done.done_at_ms), (200, Some(T0 + DAY_MS)));
    clock.set(T0 + 3 * DAY_MS);
    let office = app.token("office").await;
    let (_, detail): (u16, ActionDetail) = app.call("GET", &path, Some(&office), None).await;
    assert_eq!(
        detail.effect.after_period,
        Some((T0 + DAY_MS, T0 + 3 * DAY_MS))
    );
    assert_eq!(detail.effect.after, Some(0.0));
    assert_eq!(
        detail.effect.improved(),
        Some(true),
        "fewer phone complaints"
    );

    // Listed among all, found by a record it links, not among open ones.
    let list = |q: &str| format!("/api/improvement-actions?{q}");
    let (_, all): (u16, Vec<ImprovementAction>) =
        app.call("GET", &list(""), Some(&office), None).await;
    let (_, by_record): (u16, Vec<ImprovementAction>) = app
        .call("GET", &list("record=r1"), Some(&office), None)
        .await;
    let (_, open): (u16, Vec<ImprovementAction>) = app
        .call("GET", &list("open=true"), Some(&office), None)
        .await;
    assert_eq!((all.len(), by_record.len(), open.len()), (1, 1, 0));
    assert_eq!(all[0].records, ["r1", "r2"], "listed with its records");
    let long = list(&format!("record={}", "x".repeat(65)));
    let (status, _): (u16, serde_json::Value) = app.call("GET", &long, Some(&office), None).await;
    assert_eq!(status, 400);

    // Reopened, it is open again and its done moment is gone.
    let (_, reopened): (u16, ImprovementAction) = app
        .call(
            "PUT",
            &path,
            Some(&office),
            Some(r#"{"status":"in_progress","owner":" wang "}"#),
        )
        .await;
    assert_eq!(
        (reopened.done_at_ms, reopened.owner.as_str()),
        (None, "wang")
    );
    let (status, _): (u16, serde_json::Value) = app
        .call("PUT", &path, Some(&office), Some(r#"{"deadline_ms":0}"#))
        .await;
    assert_eq!(status, 400);
    let (status, _): (u16, serde_json::Value) = app
        .call("GET", "/api/improvement-actions/nope", Some(&office), None)
        .await;
    assert_eq!(status, 404);
    app.stop().await;
}
