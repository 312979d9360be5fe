//! The periodic reports (issue: analytics point 3): the quarter's and the
//! half year's figures as a print-ready page and a workbook, in Chinese or
//! English, with the period's improvement actions; text from users cannot
//! become markup; field staff get none.

mod support;

use closeloop_shared::analytics::Dashboard;
use closeloop_shared::calendar::WorkingCalendar;
use closeloop_shared::reports::ReportPeriod;
use support::{StepClock, TestApp, http, login};

/// 2026-11-29 00:00 in UTC+8: the seeded records lie in the 90 days before.
const T0: i64 = 1_795_881_600_000;

#[tokio::test]
async fn the_quarter_and_the_half_year_report_their_figures() {
    let dir = tempfile::tempdir().unwrap();
    support::seed(dir.path(), 400, 9, T0).await;
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, StepClock::at(T0)).await;
    let (office, field) = (
        login(app.addr, "office").await,
        login(app.addr, "north").await,
    );
    let action = r#"{"title":"<script>alert(1)</script> 回拨","plan":"","owner":"li",
        "deadline_ms":1796486400000,"metric":"csat","department":null,"channel":null,
        "feedback_type":null,"records":[]}"#;
    let created = http(
        app.addr,
        "POST",
        "/api/improvement-actions",
        Some(&office),
        Some(action),
    )
    .await;
    assert!(created.starts_with("HTTP/1.1 200"), "{created}");

    let page = http(
        app.addr,
        "GET",
        "/api/reports/2026-Q4.html",
        Some(&office),
        None,
    )
    .await;
    let (head, body) = page.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/html"), "{head}");
    assert!(body.contains("<h1>季度分析报告 2026-Q4</h1>"));
    // Its volume is the dashboard's for the quarter.
    let (from, to) = ReportPeriod::parse("2026-Q4")
        .unwrap()
        .bounds(&WorkingCalendar::default());
    let answer = http(
        app.addr,
        "GET",
        &format!("/api/dashboard?from={from}&to={to}"),
        Some(&office),
        None,
    )
    .await;
    let quarter: Dashboard =
        serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert!(quarter.total > 0);
    assert!(
        body.contains(&format!("<th>反馈量</th><td>{}</td>", quarter.total)),
        "the quarter's volume in the key figures"
    );
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt; 回拨"));
    assert!(!body.contains("<script>"), "text never becomes markup");

    let english = http(
        app.addr,
        "GET",
        "/api/reports/2026-H2.html?lang=en",
        Some(&office),
        None,
    )
    .await;
    assert!(
        english.contains("<h1>Half-yearly evaluation 2026-H2</h1>"),
        "{english}"
    );

    let xlsx = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let req = format!(
            "GET /api/reports/2026-Q4.xlsx HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {office}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        support::dechunked(out)
    };
    let split = xlsx.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(String::from_utf8_lossy(&xlsx[..split]).contains("spreadsheetml"));
    assert!(
        xlsx[split..].starts_with(b"PK\x03\x04"),
        "a workbook is a zip archive"
    );

    for (path, token, status) in [
        ("/api/reports/2026-Q5.html", &office, "400"),
        ("/api/reports/2026-Q4.pdf", &office, "404"),
        ("/api/reports/2026-Q4.html?lang=fr", &office, "400"),
        ("/api/reports/2026-Q4.html", &field, "403"),
    ] {
        let answer = http(app.addr, "GET", path, Some(token), None).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{path}: {answer}"
        );
    }
    app.stop().await;
}
