//! The contact store (S002 §8): details uploaded through the API, sealed at
//! rest, shown only to head office, supervisors and a record's owner with
//! every view audited, erased by destroying the customer's key. Runs on
//! SQLite, and on PostgreSQL under `cargo xtask test`.

mod support;

use closeloop_shared::FeedbackDraft;
use closeloop_shared::audit::{AuditAction, AuditPage};
use closeloop_shared::contact::{ContactView, contact_ref};
use closeloop_shared::workflow::Action;
use support::*;

const PHONE: &str = "13912345678";
const EMAIL: &str = "wang.fang@example.com";
const NAME: &str = "王芳";

fn new_contact(reference: &str) -> String {
    new_contact_at(reference, now_ms())
}

fn new_contact_at(reference: &str, captured_at_ms: i64) -> String {
    serde_json::json!({
        "contact_ref": reference,
        "details": { "phone": "139 1234 5678", "email": "Wang.Fang@Example.com", "name": NAME },
        "consents": ["follow_up"],
        "captured_at_ms": captured_at_ms,
    })
    .to_string()
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as i64)
}

#[tokio::test]
async fn contacts_are_stored_sealed_shown_to_who_needs_them_and_every_view_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let north = app.token("north").await;
    let south = app.token("south").await;
    let reference = contact_ref(rand_bytes());

    // Uploaded by the tablet that captured it; a retry is no error.
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/contacts",
            Some(&north),
            Some(&new_contact(&reference)),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/contacts",
            Some(&north),
            Some(&new_contact(&reference)),
        )
        .await;
    assert_eq!(status, 200, "a retried upload");
    let (status, body): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/contacts",
            Some(&south),
            Some(&new_contact(&reference)),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("contact_exists"))
    );

    // Bad input: a clear code, nothing stored.
    for (body, code) in [
        (new_contact("ct-guessable"), "contact_bad_ref"),
        (
            new_contact(&contact_ref(rand_bytes())).replace("139 1234 5678", "call me"),
            "contact_bad_phone",
        ),
        (
            new_contact(&contact_ref(rand_bytes())).replace("Wang.Fang@Example.com", "wang@"),
            "contact_bad_email",
        ),
        (
            new_contact_at(&contact_ref(rand_bytes()), now_ms() + 2 * 86_400_000),
            "contact_bad_time",
        ),
    ] {
        let (status, answer): (u16, serde_json::Value) = app
            .call("POST", "/api/contacts", Some(&north), Some(&body))
            .await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some(code)),
            "{body}"
        );
    }
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/contacts",
            None,
            Some(&new_contact(&contact_ref(rand_bytes()))),
        )
        .await;
    assert_eq!(status, 401);

    // The record carries only the reference.
    let mut tablet = Client::connect(app.addr, "north").await;
    let draft = FeedbackDraft {
        channel: "store_box".into(),
        nickname: "王女士".into(),
        description: "想要回电说明退款进度".into(),
        contact_ref: Some(reference.clone()),
        ..FeedbackDraft::default()
    };
    tablet.capture_draft(id(1), draft).await;
    wait_stored(app.addr, id(1)).await;
    let path = format!("/api/records/{}/contact", id(1));

    // Head office sees it.
    let office = app.token("office").await;
    let (status, view): (u16, ContactView) = app.call("GET", &path, Some(&office), None).await;
    assert_eq!(status, 200);
    let details = view.details.expect("details");
    assert_eq!(details.phone.as_deref(), Some(PHONE));
    assert_eq!(details.email.as_deref(), Some(EMAIL));
    assert_eq!(details.name.as_deref(), Some(NAME));
    assert_eq!(view.consents.len(), 1);
    assert_eq!(view.consents[0].recorded_by, "north");
    assert_eq!(view.created_by, "north");

    // Field staff of the team, not the owner: refused; administrators too.
    for who in ["north", "admin"] {
        let token = app.token(who).await;
        let (status, _): (u16, serde_json::Value) =
            app.call("GET", &path, Some(&token), None).await;
        assert_eq!(status, 403, "{who}");
    }
    // Once the record is assigned to north, north sees it.
    let mut desk = Client::connect(app.addr, "office").await;
    desk.fetch(id(1)).await.expect("office reaches it");
    desk.transition(id(1), &Action::Register, 2).await;
    let assign = Action::Assign {
        owner: "north".into(),
        department: "客服中心".into(),
    };
    desk.transition(id(1), &assign, 3).await;
    wait_until_owner(&app, id(1), "north").await;
    let (status, _): (u16, ContactView) = app.call("GET", &path, Some(&north), None).await;
    assert_eq!(status, 200, "the owner");

    // Nothing readable at rest: not in the database, not in the record.
    let stored = stored_text(dir.path()).await;
    for secret in [PHONE, EMAIL, NAME, "wang.fang"] {
        assert!(!stored.contains(secret), "{secret} found at rest");
    }
    assert!(
        stored.contains(&reference),
        "the search does read the database"
    );

    // Every view is in the audit log, for supervisors.
    let supervisor = app.token("supervisor").await;
    let (status, page): (u16, AuditPage) = app
        .call(
            "GET",
            "/api/audit?action=contact_viewed",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let viewers: Vec<&str> = page.entries.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(viewers, ["north", "office"], "newest first");
    assert!(
        page.entries
            .iter()
            .all(|e| e.subject.as_deref() == Some(reference.as_str()))
    );
    let (status, _): (u16, serde_json::Value) =
        app.call("GET", "/api/audit", Some(&office), None).await;
    assert_eq!(status, 403, "head office does not read the audit log");
    app.stop().await;
}

#[tokio::test]
async fn erasure_destroys_the_key_and_the_details_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let north = app.token("north").await;
    let reference = contact_ref(rand_bytes());
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            "/api/contacts",
            Some(&north),
            Some(&new_contact(&reference)),
        )
        .await;
    assert_eq!(status, 201);
    let mut tablet = Client::connect(app.addr, "north").await;
    let draft = FeedbackDraft {
        channel: "store_box".into(),
        nickname: "王女士".into(),
        description: "请回电".into(),
        contact_ref: Some(reference.clone()),
        ..FeedbackDraft::default()
    };
    tablet.capture_draft(id(2), draft).await;
    wait_stored(app.addr, id(2)).await;

    let erase = format!("/api/contacts/{reference}/erase");
    let office = app.token("office").await;
    let (status, _): (u16, serde_json::Value) = app.call("POST", &erase, Some(&office), None).await;
    assert_eq!(status, 403, "head office asks a supervisor");
    let supervisor = app.token("supervisor").await;
    let (status, body): (u16, serde_json::Value) =
        app.call("POST", &erase, Some(&supervisor), None).await;
    assert_eq!(
        (status, body["contact_erased"].as_bool()),
        (200, Some(true))
    );

    // The record was re-created without the reference: nothing to show.
    let new_id = body["records"][0][1]
        .as_str()
        .expect("re-created")
        .to_string();
    let (status, answer): (u16, serde_json::Value) = app
        .call(
            "GET",
            &format!("/api/records/{new_id}/contact"),
            Some(&office),
            None,
        )
        .await;
    assert_eq!((status, answer["code"].as_str()), (404, Some("no_contact")));
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "GET",
            &format!("/api/records/{}/contact", id(2)),
            Some(&office),
            None,
        )
        .await;
    assert_eq!(status, 404, "the old record is gone");
    // Erasing again finishes nothing new and is no error.
    let (status, again): (u16, serde_json::Value) =
        app.call("POST", &erase, Some(&supervisor), None).await;
    assert_eq!(
        (status, again["contact_erased"].as_bool()),
        (200, Some(false))
    );

    let (status, page): (u16, AuditPage) = app
        .call(
            "GET",
            &format!("/api/audit?subject={reference}"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let actions: Vec<AuditAction> = page.entries.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [AuditAction::ContactErased, AuditAction::ContactCreated]
    );
    app.stop().await;
}

async fn wait_until_owner(app: &TestApp, doc: closeloop_shared::sync::DocumentId, owner: &str) {
    let office = app.token("office").await;
    for _ in 0..250 {
        let (_, detail): (u16, serde_json::Value) = app
            .call("GET", &format!("/api/records/{doc}"), Some(&office), None)
            .await;
        if detail["owner"].as_str() == Some(owner) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{doc} never assigned to {owner}");
}

#[tokio::test]
async fn a_relay_given_another_master_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let first = TestApp::spawn(dir.path()).await;
    first.stop().await;
    let mut config =
        closeloop_server::Config::for_test(dir.path().into(), dir.path().join("no-dist"));
    config.database = database_for(dir.path()).await;
    config.contact_key_file = Some(dir.path().join("another.key"));
    let refused = closeloop_server::Application::build(config).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("--contact-key-file"), "{message}");
}
