//! The website's feedback form: a customer without an account sends
//! feedback, it becomes a record in head office's inbox; bad input is
//! refused with a code and stores nothing; a filled honeypot is answered
//! as accepted and stores nothing; size and per-address rate are bounded.

mod support;

use closeloop_shared::api::RecordPage;
use support::{TestApp, http};

async fn listed(app: &TestApp, token: &str) -> RecordPage {
    let (status, page): (u16, RecordPage) =
        app.call("GET", "/api/records", Some(token), None).await;
    assert_eq!(status, 200);
    page
}

#[tokio::test]
async fn website_feedback_becomes_a_record_and_abuse_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let office = app.token("office").await;

    let body = r#"{"description":"  网站下单后一直没有发货  ","order_number":"A-1029","nickname":"","website":""}"#;
    let (status, sent): (u16, serde_json::Value) =
        app.call("POST", "/api/feedback", None, Some(body)).await;
    assert_eq!(status, 201, "{sent}");
    let reference = sent["reference"].as_str().unwrap().to_string();
    assert_eq!(reference.len(), 8);
    let page = listed(&app, &office).await;
    assert_eq!(page.records.len(), 1, "stored before it is acknowledged");
    let r = &page.records[0];
    assert_eq!(
        (r.channel.as_str(), r.customer.as_str()),
        ("web_form", "网站访客")
    );
    assert_eq!(r.description, "网站下单后一直没有发货");
    assert!(
        r.id.to_uppercase().starts_with(&reference),
        "{} {reference}",
        r.id
    );

    for (bad, code) in [
        (r#"{"description":"   "}"#, "description_empty"),
        (
            &format!(r#"{{"description":"{}"}}"#, "长".repeat(2_001)) as &str,
            "description_too_long",
        ),
        (
            &format!(r#"{{"description":"ok","nickname":"{}"}}"#, "名".repeat(65)) as &str,
            "nickname_too_long",
        ),
    ] {
        let (status, err): (u16, serde_json::Value) =
            app.call("POST", "/api/feedback", None, Some(bad)).await;
        assert_eq!((status, err["code"].as_str()), (400, Some(code)), "{err}");
    }
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/feedback",
            None,
            Some(r#"{"description":"buy cheap watches","website":"http://spam.example"}"#),
        )
        .await;
    assert_eq!(status, 201, "a robot is told nothing");
    let huge = format!(r#"{{"description":"{}"}}"#, "x".repeat(20_000));
    let (status, _): (u16, serde_json::Value) =
        app.call("POST", "/api/feedback", None, Some(&huge)).await;
    assert_eq!(status, 413);
    assert_eq!(
        listed(&app, &office).await.records.len(),
        1,
        "nothing else stored"
    );

    // One address: ten an hour.
    let mut last = String::new();
    for n in 0..11 {
        let body = format!(r#"{{"description":"第 {n} 条"}}"#);
        last = http(app.addr, "POST", "/api/feedback", None, Some(&body)).await;
        if n < 10 {
            assert!(last.starts_with("HTTP/1.1 201"), "{n}: {last}");
        }
    }
    assert!(
        last.starts_with("HTTP/1.1 429") && last.contains("rate_limited"),
        "{last}"
    );
    app.stop().await;
}
