//! Settings admins change while the server runs: the taxonomy every client
//! reads, and the SLA policy whose clocks the lists and the overdue filter
//! use — a saved change counts at once, a bad one is refused and changes
//! nothing, and both survive a restart.

mod support;

use std::time::Duration;

use closeloop_shared::api::RecordPage;
use closeloop_shared::record::{self, Field};
use closeloop_shared::sla::{SlaConfig, SlaPolicy};
use closeloop_shared::taxonomy::{Channel, Label, Taxonomy};
use support::{Client, StepClock, TestApp, id};

const RECEIVED: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn admins_edit_the_taxonomy_and_everyone_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (north, office, admin) = (
        app.token("north").await,
        app.token("office").await,
        app.token("admin").await,
    );
    let (status, shipped): (u16, Taxonomy) =
        app.call("GET", "/api/taxonomy", Some(&north), None).await;
    assert_eq!((status, &shipped), (200, &Taxonomy::default()));

    let mut edited = shipped.clone();
    edited.channels.push(Channel {
        key: "xiaohongshu".into(),
        label: Label {
            zh: "小红书".into(),
            en: "Xiaohongshu".into(),
        },
        field: false,
        owner: Some("office".into()),
    });
    let body = serde_json::to_string(&edited).unwrap();
    let (status, _): (u16, serde_json::Value) = app
        .call("PUT", "/api/admin/taxonomy", Some(&office), Some(&body))
        .await;
    assert_eq!(
        status, 403,
        "head office reads settings, admins change them"
    );

    let mut broken = edited.clone();
    broken.channels.push(broken.channels[0].clone());
    let (status, err): (u16, serde_json::Value) = app
        .call(
            "PUT",
            "/api/admin/taxonomy",
            Some(&admin),
            Some(&serde_json::to_string(&broken).unwrap()),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["code"], "bad_taxonomy");
    let (_, now): (u16, Taxonomy) = app.call("GET", "/api/taxonomy", Some(&north), None).await;
    assert_eq!(now, shipped, "a refused edit changes nothing");

    let (status, _): (u16, Taxonomy) = app
        .call("PUT", "/api/admin/taxonomy", Some(&admin), Some(&body))
        .await;
    assert_eq!(status, 200);
    let (_, now): (u16, Taxonomy) = app.call("GET", "/api/taxonomy", Some(&north), None).await;
    assert_eq!(now, edited, "in effect without a restart");
    app.stop().await;

    let app = TestApp::spawn(dir.path()).await;
    let north = app.token("north").await;
    let (_, kept): (u16, Taxonomy) = app.call("GET", "/api/taxonomy", Some(&north), None).await;
    assert_eq!(kept, edited, "kept across a restart");
    app.stop().await;
}

async fn overdue(app: &TestApp, token: &str) -> Vec<String> {
    let (status, page): (u16, RecordPage) = app
        .call("GET", "/api/records?due=overdue", Some(token), None)
        .await;
    assert_eq!(status, 200);
    page.records.into_iter().map(|r| r.id).collect()
}

#[tokio::test]
async fn a_new_sla_policy_moves_every_records_clock_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    // Three hours after a P0 arrived: past S003's two hours for a first
    // response, well within S002's 24.
    let clock = StepClock::at(RECEIVED + 3 * HOUR);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "整个门店停电").await;
    let mut desk = Client::connect(app.addr, "office").await;
    desk.fetch(id(1)).await.expect("office reaches it");
    let t = Taxonomy::default();
    let fx = desk
        .hub
        .change(id(1), |d| {
            record::set_field(d, &t, Field::Priority, "P0", "office", RECEIVED + 1)
        })
        .unwrap();
    desk.run(fx).await;
    desk.acked(id(1)).await;
    let (office, admin) = (app.token("office").await, app.token("admin").await);
    assert_eq!(overdue(&app, &office).await, vec![id(1).to_string()]);

    let (status, current): (u16, SlaConfig) =
        app.call("GET", "/api/admin/sla", Some(&admin), None).await;
    assert_eq!((status, current.policy.name.as_str()), (200, "S003"));
    let mut bad = current.clone();
    bad.policy.near_due_percent = 0;
    let (status, err): (u16, serde_json::Value) = app
        .call(
            "PUT",
            "/api/admin/sla",
            Some(&admin),
            Some(&serde_json::to_string(&bad).unwrap()),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("bad_sla")),
        "{err}"
    );
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "PUT",
            "/api/admin/sla",
            Some(&office),
            Some(&serde_json::to_string(&current).unwrap()),
        )
        .await;
    assert_eq!(status, 403);

    let s002 = SlaConfig {
        policy: SlaPolicy::s002(),
        calendar: current.calendar.clone(),
    };
    let (status, _): (u16, SlaConfig) = app
        .call(
            "PUT",
            "/api/admin/sla",
            Some(&admin),
            Some(&serde_json::to_string(&s002).unwrap()),
        )
        .await;
    assert_eq!(status, 200);
    // The list's clock is computed with the new policy at once…
    let (_, page): (u16, RecordPage) = app.call("GET", "/api/records", Some(&office), None).await;
    assert_eq!(page.records[0].due_at, Some(RECEIVED + 24 * HOUR));
    // …and the stored due moments the overdue filter reads catch up.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !overdue(&app, &office).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still overdue under S002"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;

    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock).await;
    let admin = app.token("admin").await;
    let (_, kept): (u16, SlaConfig) = app.call("GET", "/api/admin/sla", Some(&admin), None).await;
    assert_eq!(kept, s002, "kept across a restart");
    app.stop().await;
}

/// Every signed-in device reads the SLA policy and calendar (tablets show
/// due moments offline); only administrators change them.
#[tokio::test]
async fn everyone_signed_in_reads_the_sla_policy_and_only_admins_write_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let north = app.token("north").await;
    let (status, read): (u16, SlaConfig) = app.call("GET", "/api/sla", Some(&north), None).await;
    assert_eq!(status, 200);
    assert_eq!(read, SlaConfig::default());
    let (status, _): (u16, serde_json::Value) = app.call("GET", "/api/sla", None, None).await;
    assert_eq!(status, 401);
    let body = serde_json::to_string(&read).unwrap();
    let (status, _): (u16, serde_json::Value) = app
        .call("PUT", "/api/admin/sla", Some(&north), Some(&body))
        .await;
    assert_eq!(status, 403);
    app.stop().await;
}
