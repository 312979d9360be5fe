//! `/api/records` over the projection: filters, sort, paging, full text,
//! team visibility, detail with history, and clear errors for bad input.

mod support;

use closeloop_shared::api::{ErrorBody, RecordDetail, RecordPage, Stats};
use closeloop_shared::record::{self, Field};
use closeloop_shared::sla::SlaState;
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::Action;
use support::{Client, TestApp, http, id, login, wait_stored};

#[tokio::test]
async fn head_office_lists_filters_and_opens_records() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let t = Taxonomy::default();
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "冷柜温度过高，饮料不冰").await;
    north.capture(id(2), "收银排队太久").await;
    let mut south = Client::connect(app.addr, "south").await;
    south.capture(id(3), "停车场照明不足").await;
    wait_stored(app.addr, id(3)).await;
    let mut desk = Client::connect(app.addr, "office").await;
    desk.fetch(id(1)).await.expect("office reaches it");
    let fx = desk
        .hub
        .change(id(1), |d| {
            record::set_field(d, &t, Field::Priority, "P0", "office", 5)?;
            record::transition(d, &Action::Register, Some("紧急"), "office", 6)
        })
        .unwrap();
    desk.run(fx).await;
    desk.acked(id(1)).await;

    // The JSON API in-process, read as the types the app reads.
    let office = app.token("office").await;
    let page = |path: &'static str, token: String| {
        let app = &app;
        async move {
            let (status, page): (u16, RecordPage) = app.call("GET", path, Some(&token), None).await;
            assert_eq!(status, 200, "{path}");
            page
        }
    };
    let all = page("/api/records", office.clone()).await;
    assert_eq!(all.total, 3);
    let p0 = page("/api/records?priority=P0", office.clone()).await;
    assert_eq!(p0.total, 1);
    assert_eq!(p0.records[0].status, "registered");
    let text = page("/api/records?q=%E6%8E%92%E9%98%9F", office.clone()).await; // 排队
    assert_eq!(text.total, 1);
    assert_eq!(text.records[0].description, "收银排队太久");
    let paged = page(
        "/api/records?per_page=2&page=2&sort=received_at",
        office.clone(),
    )
    .await;
    assert_eq!((paged.total, paged.records.len()), (3, 1));
    let by_priority = page("/api/records?sort=priority", office.clone()).await;
    assert_eq!(
        by_priority.records[0].priority.as_deref(),
        Some("P0"),
        "records with a priority first"
    );

    // Field staff see their team only, in lists and details alike.
    let south_token = app.token("south").await;
    let mine = page("/api/records", south_token.clone()).await;
    assert_eq!(mine.total, 1);
    assert_eq!(mine.records[0].description, "停车场照明不足");
    let detail_path = format!("/api/records/{}", id(1));
    let (status, _): (u16, ErrorBody) = app
        .call("GET", &detail_path, Some(&south_token), None)
        .await;
    assert_eq!(status, 404);

    let (status, detail): (u16, RecordDetail) =
        app.call("GET", &detail_path, Some(&office), None).await;
    assert_eq!(status, 200);
    assert_eq!(detail.summary.priority.as_deref(), Some("P0"));
    assert_eq!(detail.history[0].action, "register");
    assert_eq!(detail.history[0].note.as_deref(), Some("紧急"));
    app.stop().await;
}

#[tokio::test]
async fn bad_list_requests_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let token = app.token("office").await;
    for (path, status, code) in [
        ("/api/records?per_page=0", 400, "bad_request"),
        ("/api/records?per_page=100000", 400, "bad_request"),
        ("/api/records?page=0", 400, "bad_request"),
        ("/api/records?sort=password", 400, "bad_request"),
        ("/api/records?from=yesterday", 400, "bad_request"),
        ("/api/records?colour=red", 400, "bad_request"),
        ("/api/records/not-an-id", 404, "not_found"),
        (
            "/api/records/29iQSuSeK6H6XFqvhfQGfzFYssr2",
            404,
            "not_found",
        ),
    ] {
        let (got, err): (u16, ErrorBody) = app.call("GET", path, Some(&token), None).await;
        assert_eq!(
            (got, err.code.as_str()),
            (status, code),
            "{path}: {}",
            err.message
        );
        assert!(
            !err.message.is_empty(),
            "{path}: the error says what is wrong"
        );
    }
    let (status, err): (u16, ErrorBody) = app.call("GET", "/api/records", None, None).await;
    assert_eq!((status, err.code.as_str()), (401, "unauthorized"));
    app.stop().await;
}

#[tokio::test]
async fn the_filtered_list_exports_as_csv_and_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "冷柜温度过高, \"很冷\"").await;
    north.capture(id(2), "收银排队太久").await;
    let mut south = Client::connect(app.addr, "south").await;
    south.capture(id(3), "停车场照明不足").await;
    wait_stored(app.addr, id(3)).await;

    let office = login(app.addr, "office").await;
    let csv = http(
        app.addr,
        "GET",
        "/api/records/export.csv?sort=received_at",
        Some(&office),
        None,
    )
    .await;
    assert!(csv.starts_with("HTTP/1.1 200"), "{csv}");
    assert!(
        csv.contains("content-type: text/csv; charset=utf-8"),
        "{csv}"
    );
    assert!(csv.contains("attachment; filename=\"closeloop-records.csv\""));
    let body = csv.split("\r\n\r\n").nth(1).unwrap();
    assert!(
        body.starts_with('\u{feff}'),
        "UTF-8 BOM for spreadsheet programs"
    );
    let lines: Vec<&str> = body.trim_end().lines().collect();
    assert_eq!(lines.len(), 4, "heading + 3 records: {body}");
    assert!(lines[0].contains("反馈内容 description"));
    let quoted = lines.iter().find(|l| l.contains("冷柜")).unwrap();
    assert!(
        quoted.contains("\"冷柜温度过高, \"\"很冷\"\"\""),
        "CSV quoting: {quoted}"
    );

    let south_token = login(app.addr, "south").await;
    let theirs = http(
        app.addr,
        "GET",
        "/api/records/export.csv",
        Some(&south_token),
        None,
    )
    .await;
    let body = theirs.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(
        body.trim_end().lines().count(),
        2,
        "south exports only its own: {body}"
    );
    assert!(body.contains("停车场照明不足"));

    let xlsx = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let req = format!(
            "GET /api/records/export.xlsx?q=%E6%8E%92%E9%98%9F HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {office}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        support::dechunked(out)
    };
    let split = xlsx.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&xlsx[..split]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("spreadsheetml.sheet"), "{head}");
    assert!(
        xlsx[split..].starts_with(b"PK\x03\x04"),
        "an XLSX file is a zip archive"
    );

    let bad = http(
        app.addr,
        "GET",
        "/api/records/export.csv?sort=evil",
        Some(&office),
        None,
    )
    .await;
    assert!(bad.starts_with("HTTP/1.1 400"), "{bad}");
    app.stop().await;
}

#[tokio::test]
async fn statistics_count_and_time_what_the_caller_may_see() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "冷柜温度过高").await;
    north.capture(id(2), "收银排队太久").await;
    let mut south = Client::connect(app.addr, "south").await;
    south.capture(id(3), "停车场照明不足").await;
    wait_stored(app.addr, id(3)).await;
    // Captured at 1_700_000_000_000 by the test client: started 1 h later, resolved 3 h later.
    const T: i64 = 1_700_000_000_000;
    // Head office registers and assigns; the assignee works it.
    let mut desk = Client::connect(app.addr, "office").await;
    desk.fetch(id(1)).await.expect("office reaches it");
    let fx = desk
        .hub
        .change(id(1), |d| {
            record::transition(d, &Action::Register, None, "office", T + 1)?;
            let a = Action::Assign {
                owner: "north".into(),
                department: "售后".into(),
            };
            record::transition(d, &a, None, "office", T + 2)
        })
        .unwrap();
    desk.run(fx).await;
    desk.acked(id(1)).await;
    north.round_trip().await;
    north.acked(id(1)).await;
    let fx = north
        .hub
        .change(id(1), |d| {
            record::transition(d, &Action::Start, None, "north", T + 3_600_000)?;
            record::transition(d, &Action::Resolve, None, "north", T + 3 * 3_600_000)
        })
        .unwrap();
    north.run(fx).await;
    north.acked(id(1)).await;

    let office = app.token("office").await;
    let stats = |path: &'static str, token: String| {
        let app = &app;
        async move {
            let (status, s): (u16, Stats) = app.call("GET", path, Some(&token), None).await;
            assert_eq!(status, 200, "{path}");
            s
        }
    };
    let s = stats("/api/stats", office.clone()).await;
    assert_eq!(s.total, 3);
    assert_eq!(s.by_status.get("resolved"), Some(&1));
    assert_eq!(s.by_status.get("new"), Some(&2));
    assert_eq!(s.by_channel.get("store_box"), Some(&3));
    assert_eq!(s.by_department.get("售后"), Some(&1));
    assert_eq!(s.first_response.count, 1);
    assert_eq!(s.first_response.mean_ms, Some(3_600_000));
    assert_eq!(s.resolution.median_ms, Some(3 * 3_600_000));
    assert_eq!(s.first_contact_resolution_rate, Some(1.0));
    // No priority yet: no SLA clock runs.
    assert_eq!(s.first_response_sla.met, 0);
    assert_eq!(s.repeat_complaint_rate, None, "no complaints yet");

    // Both north records become P0 complaints of the same customer.
    let t = Taxonomy::default();
    // The capturer classifies; head office sets the priority.
    for n in [1, 2] {
        let fx = north
            .hub
            .change(id(n), |d| {
                record::set_field(d, &t, Field::FeedbackType, "complaint", "north", T + 11)
            })
            .unwrap();
        north.run(fx).await;
    }
    north.acked(id(1)).await;
    north.acked(id(2)).await;
    desk.fetch(id(2)).await.expect("office reaches it");
    desk.round_trip().await;
    for n in [1, 2] {
        let fx = desk
            .hub
            .change(id(n), |d| {
                record::set_field(d, &t, Field::Priority, "P0", "office", T + 10)
            })
            .unwrap();
        desk.run(fx).await;
        desk.acked(id(n)).await;
    }
    let s = stats("/api/stats", office.clone()).await;
    // id(1) answered and resolved within P0's 2 h / 24 h; id(2) never answered, long overdue.
    let first = s.first_response_sla;
    let resolution = s.resolution_sla;
    assert_eq!((first.met, first.overdue), (1, 1), "{s:?}");
    assert_eq!((resolution.met, resolution.overdue), (1, 1), "{s:?}");
    assert_eq!(first.rate, Some(0.5));
    assert_eq!(
        s.repeat_complaint_rate,
        Some(0.5),
        "the second complaint repeats the first"
    );

    let theirs = stats("/api/stats", app.token("south").await).await;
    assert_eq!(theirs.total, 1, "south counts only what it may see");
    let none = stats("/api/stats?from=1800000000000", office.clone()).await;
    assert_eq!(none.total, 0);
    assert_eq!(none.first_contact_resolution_rate, None);
    for bad in ["/api/stats?from=soon", "/api/stats?colour=red"] {
        let (status, err): (u16, ErrorBody) = app.call("GET", bad, Some(&office), None).await;
        assert_eq!((status, err.code.as_str()), (400, "bad_request"), "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_list_shows_sla_state_and_filters_overdue_records() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let t = Taxonomy::default();
    let mut north = Client::connect(app.addr, "north").await;
    // Captured by the test client at 1_700_000_000_000 (2023): long past any due time.
    north.capture(id(1), "整个门店停电").await;
    north.capture(id(2), "建议增加儿童座椅").await;
    let mut desk = Client::connect(app.addr, "office").await;
    desk.fetch(id(1)).await.expect("office reaches it");
    let fx = desk
        .hub
        .change(id(1), |d| {
            record::set_field(d, &t, Field::Priority, "P0", "office", 1)
        })
        .unwrap();
    desk.run(fx).await;
    desk.acked(id(1)).await;

    let office = app.token("office").await;
    let (_, overdue): (u16, RecordPage) = app
        .call("GET", "/api/records?overdue=true", Some(&office), None)
        .await;
    assert_eq!(overdue.total, 1, "{overdue:?}");
    let r = &overdue.records[0];
    assert_eq!(r.description, "整个门店停电");
    assert_eq!(r.sla_state, Some(SlaState::Overdue));
    assert_eq!(
        r.due_at,
        Some(1_700_000_000_000i64 + 2 * 3_600_000),
        "P0: first response within 2 h"
    );
    let (_, rest): (u16, RecordPage) = app
        .call("GET", "/api/records?overdue=false", Some(&office), None)
        .await;
    assert_eq!(rest.total, 1);
    assert_eq!(
        rest.records[0].sla_state, None,
        "no priority, no SLA clock yet"
    );
    let (status, _): (u16, ErrorBody) = app
        .call("GET", "/api/records?overdue=maybe", Some(&office), None)
        .await;
    assert_eq!(status, 400);
    app.stop().await;
}
