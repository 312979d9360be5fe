//! Exports of more records than one page holds (issue: analytics point 6):
//! read a page at a time with keyset paging, every record exactly once,
//! newest first, with the count announced before the rows.

mod support;

use support::{TestApp, http, login};

/// More than two pages (pages hold 2,000) and not a multiple of one.
const RECORDS: usize = 4_321;

#[tokio::test]
async fn a_large_export_streams_every_record_once_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    support::seed(dir.path(), RECORDS, 3, 1_795_881_600_000).await;
    let app = TestApp::spawn(dir.path()).await;
    let office = login(app.addr, "office").await;
    let csv = http(
        app.addr,
        "GET",
        "/api/records/export.csv",
        Some(&office),
        None,
    )
    .await;
    let (head, body) = csv.split_once("\r\n\r\n").expect("a response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains("transfer-encoding: chunked"),
        "streamed: {head}"
    );
    assert!(
        head.contains(&format!("x-total-count: {RECORDS}")),
        "{head}"
    );
    let mut reader = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a CSV row")).collect();
    assert_eq!(rows.len(), RECORDS);
    let ids: std::collections::BTreeSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(ids.len(), RECORDS, "every record exactly once");
    let received: Vec<&str> = rows.iter().map(|r| &r[1]).collect();
    assert!(
        received.windows(2).all(|w| w[0] >= w[1]),
        "newest first across pages"
    );

    // A filter narrows it the same way as the list.
    let phone = http(
        app.addr,
        "GET",
        "/api/records/export.csv?channel=phone",
        Some(&office),
        None,
    )
    .await;
    let listed = http(
        app.addr,
        "GET",
        "/api/records?channel=phone&per_page=1",
        Some(&office),
        None,
    )
    .await;
    let total: serde_json::Value =
        serde_json::from_str(listed.split_once("\r\n\r\n").unwrap().1).unwrap();
    let body = phone.split_once("\r\n\r\n").unwrap().1;
    let n = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .count();
    assert_eq!(Some(n as u64), total["total"].as_u64());
    assert!(n > 0 && n < RECORDS);
    app.stop().await;
}
