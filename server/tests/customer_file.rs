//! The customer file (顾客档案, S002 5.4): records of one customer are
//! found by a contact with the same phone number (matched by keyed hash),
//! or confirmed by head office from a same-nickname suggestion; important
//! records are marked and kept in the file; the file shows each record's
//! replies. Field staff and administrators do not open files.

mod support;

use closeloop_shared::FeedbackDraft;
use closeloop_shared::api::{CustomerFile, FileLink};
use closeloop_shared::contact::contact_ref;
use support::*;

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as i64)
}

async fn contact(app: &TestApp, token: &str, phone: &str) -> String {
    let reference = contact_ref(rand_bytes());
    let body = serde_json::json!({
        "contact_ref": reference,
        "details": { "phone": phone },
        "consents": [],
        "captured_at_ms": now_ms(),
    });
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/contacts",
            Some(token),
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(status, 201);
    reference
}

fn draft(nickname: &str, text: &str, contact: Option<String>) -> FeedbackDraft {
    FeedbackDraft {
        channel: "store_box".into(),
        nickname: nickname.into(),
        description: text.into(),
        contact_ref: contact,
        ..FeedbackDraft::default()
    }
}

#[tokio::test]
async fn a_customers_records_come_together_by_contact_or_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let north = app.token("north").await;
    let mut tablet = Client::connect(app.addr, "north").await;
    // Two visits, the same phone written two ways: one customer.
    let first = contact(&app, &north, "139 0000 1111").await;
    let second = contact(&app, &north, "+86 13900001111").await;
    let other = contact(&app, &north, "13700002222").await;
    tablet
        .capture_draft(id(1), draft("张女士", "冰箱不制冷", Some(first)))
        .await;
    tablet
        .capture_draft(id(2), draft("张姐", "上门师傅迟到", Some(second)))
        .await;
    tablet
        .capture_draft(id(3), draft("张女士", "表扬门店服务", None))
        .await;
    tablet
        .capture_draft(id(4), draft("李先生", "会员积分", Some(other)))
        .await;
    for n in 1..=4 {
        wait_stored(app.addr, id(n)).await;
    }

    let office = app.token("office").await;
    let path = |n: u8, tail: &str| format!("/api/records/{}/customer{tail}", id(n));
    let (status, file): (u16, CustomerFile) =
        app.call("GET", &path(1, ""), Some(&office), None).await;
    assert_eq!(status, 200);
    let links: Vec<(String, FileLink)> = file
        .entries
        .iter()
        .map(|e| (e.record.id.clone(), e.link))
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(links.contains(&(id(1).to_string(), FileLink::This)));
    assert!(
        links.contains(&(id(2).to_string(), FileLink::Contact)),
        "same phone"
    );
    // Same nickname, no contact: offered, not assumed.
    let offered: Vec<&str> = file.candidates.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(offered, [id(3).to_string()]);

    // Head office confirms it and marks the complaint important.
    let body = serde_json::json!({ "document_id": id(3).to_string() }).to_string();
    let (status, _): (u16, serde_json::Value) = app
        .call("POST", &path(1, "/link"), Some(&office), Some(&body))
        .await;
    assert_eq!(status, 200);
    let mark = r#"{"note":"重复投诉，需回访"}"#;
    let (status, _): (u16, serde_json::Value) = app
        .call("PUT", &path(1, "/important"), Some(&office), Some(mark))
        .await;
    assert_eq!(status, 200);
    let (status, bad): (u16, serde_json::Value) = app
        .call(
            "PUT",
            &path(1, "/important"),
            Some(&office),
            Some(r#"{"note":"  "}"#),
        )
        .await;
    assert_eq!((status, bad["code"].as_str()), (400, Some("bad_note")));

    // From any of its records, the same file.
    let (_, file): (u16, CustomerFile) = app.call("GET", &path(2, ""), Some(&office), None).await;
    let mut ids: Vec<&str> = file.entries.iter().map(|e| e.record.id.as_str()).collect();
    ids.sort_unstable();
    let mut want = [id(1).to_string(), id(2).to_string(), id(3).to_string()];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert!(file.candidates.is_empty());
    let marked = file
        .entries
        .iter()
        .find(|e| e.record.id == id(1).to_string())
        .unwrap();
    assert_eq!(marked.important.as_deref(), Some("重复投诉，需回访"));
    let (_, unrelated): (u16, CustomerFile) =
        app.call("GET", &path(4, ""), Some(&office), None).await;
    assert_eq!(unrelated.entries.len(), 1);

    // Not for field staff or administrators.
    for who in ["north", "admin"] {
        let token = app.token(who).await;
        let (status, _): (u16, serde_json::Value) =
            app.call("GET", &path(1, ""), Some(&token), None).await;
        assert_eq!(status, 403, "{who}");
    }
    app.stop().await;
}
