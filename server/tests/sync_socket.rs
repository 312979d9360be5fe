//! The relay over a real WebSocket on loopback with a real SQLite file.

mod support;

use std::time::Duration;

use closeloop_shared::api::ErrorBody;
use closeloop_shared::sync::Message;
use futures_util::{SinkExt, StreamExt};
use support::{Client, METRICS_TOKEN, TestApp, http, id, login, wait_stored};
use tokio_tungstenite::tungstenite::Message as Ws;

#[tokio::test]
async fn a_record_synced_by_a_tablet_survives_a_restart_and_reaches_head_office() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut tablet = Client::connect(app.addr, "north").await;
    tablet.capture(id(1), "收银台排队太久").await;
    wait_stored(app.addr, id(1)).await;
    app.stop().await;

    let app = TestApp::spawn(dir.path()).await;
    let mut office = Client::connect(app.addr, "office").await;
    let record = office
        .fetch(id(1))
        .await
        .expect("record present after restart");
    assert_eq!(record.description, "收银台排队太久");
    assert_eq!(record.customer, "李先生");
    app.stop().await;
}

#[tokio::test]
async fn head_office_sees_live_edits_from_a_tablet() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut tablet = Client::connect(app.addr, "north").await;
    tablet.capture(id(2), "洗手间没有纸").await;
    wait_stored(app.addr, id(2)).await;
    let mut office = Client::connect(app.addr, "office").await;
    office.fetch(id(2)).await.expect("record");

    tablet.edit_description(id(2), "洗手间没有纸巾", 1).await;
    office.wait_for_description(id(2), "洗手间没有纸巾").await;
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_frame_gets_an_error_and_a_close_while_others_keep_syncing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut good = Client::connect(app.addr, "north").await;
    let mut bad = Client::connect(app.addr, "south").await;

    bad.ws
        .send(Ws::Binary(b"\xa1\x64type".to_vec().into()))
        .await
        .unwrap();
    let mut got_error = false;
    let mut got_close = false;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(5), bad.ws.next()).await {
        match frame {
            Ok(Ws::Binary(b)) => {
                got_error |= matches!(Message::decode(&b), Ok(Message::Error { .. }))
            }
            Ok(Ws::Close(_)) => got_close = true,
            _ => break,
        }
    }
    assert!(got_error, "an error frame explains the rejection");
    assert!(got_close, "the bad connection is closed");

    good.capture(id(3), "正常的反馈").await;
    wait_stored(app.addr, id(3)).await;
    let mut office = Client::connect(app.addr, "office").await;
    assert_eq!(office.fetch(id(3)).await.unwrap().description, "正常的反馈");
    app.stop().await;
}

#[tokio::test]
async fn a_request_for_an_unknown_document_is_answered_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut office = Client::connect(app.addr, "office").await;
    assert_eq!(office.fetch(id(9)).await, None);
    assert_eq!(office.unavailable, vec![id(9)]);
    let token = login(app.addr, "office").await;
    let feed = http(
        app.addr,
        "GET",
        "/api/documents?after=0",
        Some(&token),
        None,
    )
    .await;
    assert!(
        feed.starts_with("HTTP/1.1 200") && !feed.contains(&id(9).to_string()),
        "{feed}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_api_rejects_bad_query_parameters_with_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let token = app.token("office").await;
    for path in [
        "/api/documents?after=abc",
        "/api/documents?limit=0",
        "/api/documents?after=-1",
    ] {
        let (status, err): (u16, ErrorBody) = app.call("GET", path, Some(&token), None).await;
        assert_eq!((status, err.code.as_str()), (400, "bad_request"), "{path}");
    }
    let (status, health): (u16, serde_json::Value) = app.call("GET", "/healthz", None, None).await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    app.stop().await;
}

/// Reads one value from the Prometheus text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("metric {name} missing in:\n{text}"))
}

/// Polls `/metrics` until the named gauge reads `value` (`within` at most);
/// returns that metrics text for further checks.
async fn wait_for_metric(
    addr: std::net::SocketAddr,
    name: &str,
    value: u64,
    within: Duration,
) -> String {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let m = http(addr, "GET", "/metrics", Some(METRICS_TOKEN), None).await;
        if metric(&m, name) == value {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never reached {value}:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn documents_nobody_follows_are_evicted_and_metrics_show_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut tablet = Client::connect(app.addr, "north").await;
    tablet.capture(id(5), "货架标签价格与收银不一致").await;
    wait_stored(app.addr, id(5)).await;
    let before = http(app.addr, "GET", "/metrics", Some(METRICS_TOKEN), None).await;
    assert_eq!(metric(&before, "closeloop_documents_in_memory "), 1);
    assert_eq!(metric(&before, "closeloop_connections "), 1);
    assert!(metric(&before, "closeloop_sync_frames_received_total ") >= 2);
    assert!(metric(&before, "closeloop_storage_writes_total ") >= 1);

    drop(tablet);
    let m = wait_for_metric(
        app.addr,
        "closeloop_documents_in_memory ",
        0,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(metric(&m, "closeloop_documents_evicted_total "), 1);
    assert_eq!(metric(&m, "closeloop_connections "), 0);
    // Evicted from memory, not lost: it loads again from storage on request.
    let mut office = Client::connect(app.addr, "office").await;
    assert_eq!(
        office.fetch(id(5)).await.unwrap().description,
        "货架标签价格与收银不一致"
    );
    app.stop().await;
}

#[tokio::test]
async fn followed_documents_leave_memory_over_budget_and_followers_still_get_edits() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir.path(), |c| c.memory_documents = 1).await;
    let mut tablet = Client::connect(app.addr, "north").await;
    tablet.capture(id(6), "门口台阶太滑").await;
    tablet.capture(id(7), "停车场灯坏了").await;
    wait_stored(app.addr, id(7)).await;
    let mut office = Client::connect(app.addr, "office").await;
    office.fetch(id(6)).await.expect("record 6");
    office.fetch(id(7)).await.expect("record 7");
    // Over budget, a document leaves once it has been quiet for 2 s.
    let m = wait_for_metric(
        app.addr,
        "closeloop_documents_in_memory ",
        1,
        Duration::from_secs(15),
    )
    .await;
    assert!(metric(&m, "closeloop_documents_evicted_total ") >= 1);

    // Record 6 is out of memory but both still follow it.
    tablet
        .edit_description(id(6), "门口台阶太滑，已放防滑垫", 1)
        .await;
    office
        .wait_for_description(id(6), "门口台阶太滑，已放防滑垫")
        .await;
    app.stop().await;
}
