//! Erasure that really erases (S002 §8, PIPL/GDPR requests): after a
//! supervisor erases a customer, their phone number and nickname are
//! nowhere the server keeps anything — database files, chunk store, blob
//! store (a photo of their receipt is deleted), exports — the record lives on redacted under a new id, the old id
//! is refused to every replica, and a tablet still holding it is told.

mod support;

use closeloop_shared::FeedbackDraft;
use closeloop_shared::api::{RecordDetail, Tombstones};
use closeloop_shared::contact::contact_ref;
use closeloop_shared::record::{Attachment, REDACTED, add_attachment};
use support::binary::send;
use support::*;

const PHONE: &str = "13987654321";
const NICKNAME: &str = "刘晓晓";

#[tokio::test]
async fn an_erased_customer_is_nowhere_and_their_record_lives_on_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let north = app.token("north").await;
    let reference = contact_ref(rand_bytes());
    let contact = serde_json::json!({
        "contact_ref": reference,
        "details": { "phone": PHONE },
        "consents": ["follow_up"],
        "captured_at_ms": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    });
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/contacts",
            Some(&north),
            Some(&contact.to_string()),
        )
        .await;
    assert_eq!(status, 201);

    // Captured with the phone typed into the text as well (the warning was ignored).
    let mut tablet = Client::connect(app.addr, "north").await;
    let draft = FeedbackDraft {
        channel: "store_box".into(),
        nickname: NICKNAME.into(),
        description: format!("{NICKNAME}说洗衣机漏水，请打 {PHONE} 联系"),
        contact_ref: Some(reference.clone()),
        ..FeedbackDraft::default()
    };
    tablet.capture_draft(id(3), draft).await;
    tablet
        .edit_description(id(3), &format!("{NICKNAME}：洗衣机漏水，电话 {PHONE}"), 2)
        .await;
    // And a photo of the receipt, which shows the number too.
    let receipt = format!("PNG receipt, customer {PHONE}").into_bytes();
    let (head, body) = send(
        app.addr,
        "POST",
        "/api/attachments",
        Some(&north),
        "image/png",
        &receipt,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    let stored_blob: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let photo = Attachment {
        sha256: stored_blob["sha256"].as_str().unwrap().to_string(),
        media_type: "image/png".into(),
        size: receipt.len() as u64,
        name: "receipt.png".into(),
    };
    let fx = tablet
        .hub
        .change(id(3), |d| add_attachment(d, &photo, 3))
        .unwrap();
    tablet.run(fx).await;
    tablet.acked(id(3)).await;
    let photo_path = format!("/api/attachments/{}", photo.sha256);
    let download = |token: String| {
        let path = photo_path.clone();
        async move { send(app.addr, "GET", &path, Some(&token), "image/png", &[]).await }
    };
    let (head, got) = download(app.token("supervisor").await).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(got, receipt);
    let mut office = Client::connect(app.addr, "office").await;
    office.fetch(id(3)).await.expect("head office follows it");

    let export = |path: &'static str| {
        let supervisor = app.token("supervisor");
        async move { http(app.addr, "GET", path, Some(&supervisor.await), None).await }
    };
    let before = export("/api/records/export.csv").await;
    assert!(
        before.contains(NICKNAME),
        "the search can find it: {before}"
    );
    assert!(stored_text(dir.path()).await.contains(NICKNAME));

    // Head office opened an improvement action on this record.
    let office_token = app.token("office").await;
    let new = format!(
        r#"{{"title":"洗衣机漏水回访","plan":"上门检查","owner":"li","deadline_ms":1796486400000,
        "metric":"volume","department":null,"channel":null,"feedback_type":null,"records":["{}"]}}"#,
        id(3)
    );
    let (status, action): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/improvement-actions",
            Some(&office_token),
            Some(&new),
        )
        .await;
    assert_eq!(status, 200, "{action}");

    let supervisor = app.token("supervisor").await;
    let (status, done): (u16, serde_json::Value) = app
        .call(
            "POST",
            &format!("/api/contacts/{reference}/erase"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, 200, "{done}");
    let new_id = done["records"][0][1]
        .as_str()
        .expect("re-created")
        .to_string();
    assert_eq!(
        done["records"][0][0].as_str(),
        Some(id(3).to_string().as_str())
    );

    // Every replica is told: the follower hears "unavailable", the list of
    // tombstones names the old id and its replacement.
    office.pump_until(|c| c.unavailable.contains(&id(3))).await;
    let (_, list): (u16, Tombstones) = app
        .call("GET", "/api/tombstones?after=0", Some(&north), None)
        .await;
    assert_eq!(list.tombstones.len(), 1);
    assert_eq!(list.tombstones[0].document_id, id(3).to_string());
    assert_eq!(
        list.tombstones[0].replaced_by.as_deref(),
        Some(new_id.as_str())
    );

    // The old id takes nothing: a tablet's offline edit is not stored.
    tablet
        .try_edit_description(id(3), &format!("{NICKNAME} 又来电 {PHONE}"), 3)
        .await;
    let mut late = Client::connect(app.addr, "office").await;
    assert_eq!(late.fetch(id(3)).await, None, "the old id is refused");

    // The record lives on, redacted, with what statistics need.
    let (status, detail): (u16, RecordDetail) = app
        .call(
            "GET",
            &format!("/api/records/{new_id}"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(detail.summary.customer, REDACTED);
    assert_eq!(
        detail.summary.description,
        format!("{REDACTED}：洗衣机漏水，电话 {REDACTED}")
    );
    assert_eq!(detail.summary.channel, "store_box");
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "GET",
            &format!("/api/records/{}", id(3)),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // The improvement action follows the record to its copy.
    let path = format!(
        "/api/improvement-actions/{}",
        action["id"].as_str().unwrap()
    );
    let (status, followed): (u16, serde_json::Value) =
        app.call("GET", &path, Some(&office_token), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        followed["action"]["records"],
        serde_json::json!([new_id]),
        "{followed}"
    );

    // The photo went with the history: its bytes are gone.
    let (head, _) = download(supervisor.clone()).await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    // Nowhere at rest, nowhere in an export.
    let after = export("/api/records/export.csv").await;
    assert!(after.contains(REDACTED), "{after}");
    let stored = stored_text(dir.path()).await;
    for (name, text) in [("the export", &after), ("storage", &stored)] {
        assert!(!text.contains(PHONE), "the phone number is in {name}");
        assert!(!text.contains(NICKNAME), "the nickname is in {name}");
    }
    app.stop().await;
}
