//! Record-keeping (S002 5.4) on the server's clock: a record closed for the
//! configured period is archived by the system and read-only from then on
//! (the relay refuses every change), and after the retention period it is
//! anonymised under a new id with audit entries for each run; the audit log
//! keeps its own retention. Time is the test's.

mod support;

use std::time::Duration;

use closeloop_shared::api::{RecordDetail, Tombstones};
use closeloop_shared::audit::{AuditAction, AuditPage, SYSTEM_ACTOR};
use closeloop_shared::record::{self, REDACTED};
use closeloop_shared::workflow::Action;
use support::*;

const RECEIVED: i64 = 1_700_000_000_000;
const DAY: i64 = 86_400_000;

async fn detail(app: &TestApp, who: &str, id: &str) -> (u16, Option<RecordDetail>) {
    let token = app.token(who).await;
    let (status, body): (u16, serde_json::Value) = app
        .call("GET", &format!("/api/records/{id}"), Some(&token), None)
        .await;
    (status, serde_json::from_value(body).ok())
}

/// Waits (15 s at most) until `done` holds for the record's detail.
async fn wait_for(app: &TestApp, id: &str, done: impl Fn(u16, Option<&RecordDetail>) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (status, d) = detail(app, "supervisor", id).await;
        if done(status, d.as_ref()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{id}: never happened ({status})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Uploads a PNG as the office user; its hash.
async fn upload(app: &TestApp, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let token = app.token("office").await;
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 201"), "{out}");
    let body = &out[out.find("\r\n\r\n").unwrap() + 4..];
    let stored: serde_json::Value = serde_json::from_str(body).unwrap();
    stored["sha256"].as_str().unwrap().to_string()
}

/// A binary answer, read through the routes in-process.
async fn download(app: &TestApp, path: &str) -> Vec<u8> {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let token = app.token("supervisor").await;
    let req = axum::http::Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    resp.into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

async fn audit(app: &TestApp, action: AuditAction) -> AuditPage {
    let token = app.token("supervisor").await;
    let (status, page): (u16, AuditPage) = app
        .call(
            "GET",
            &format!("/api/audit?action={}", action.key()),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    page
}

#[tokio::test]
async fn closed_records_are_archived_read_only_and_anonymised_after_retention() {
    let dir = tempfile::tempdir().unwrap();
    let clock = StepClock::at(RECEIVED);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;

    // Settings: never below three years.
    let admin = app.token("admin").await;
    let short =
        r#"{"archive_after_days":30,"keep_years":2,"at_end":"anonymise","audit_keep_years":3}"#;
    let (status, body): (u16, serde_json::Value) = app
        .call("PUT", "/api/admin/retention", Some(&admin), Some(short))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_retention"))
    );
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "PUT",
            "/api/admin/retention",
            Some(&admin),
            Some(&short.replace("\"keep_years\":2", "\"keep_years\":3")),
        )
        .await;
    assert_eq!(status, 200);

    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "王先生：退款一直没到账").await;
    let mut desk = Client::connect(app.addr, "office").await;
    desk.fetch(id(1)).await.expect("office reaches it");
    let assign = Action::Assign {
        owner: "office".into(),
        department: "客服中心".into(),
    };
    // A photo of the receipt, kept with the record in the archive.
    let photo: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 251) as u8).collect();
    let sha256 = upload(&app, &photo).await;
    let unattached = upload(&app, b"\x89PNG never attached").await;
    let attachment = record::Attachment {
        sha256: sha256.clone(),
        media_type: "image/png".into(),
        size: photo.len() as u64,
        name: "小票.png".into(),
    };
    let fx = desk
        .hub
        .change(id(1), |d| {
            record::add_attachment(d, &attachment, RECEIVED + 1)
        })
        .unwrap();
    desk.run(fx).await;
    desk.acked(id(1)).await;
    let steps = [
        Action::Register,
        assign,
        Action::Start,
        Action::Resolve,
        Action::Reply,
        Action::Close,
    ];
    for (i, step) in steps.iter().enumerate() {
        desk.transition(id(1), step, RECEIVED + 1 + i as i64).await;
    }
    let key = id(1).to_string();
    wait_for(&app, &key, |_, d| {
        d.is_some_and(|d| d.summary.status == "closed")
    })
    .await;

    // Closed for a month: archived by the system.
    clock.set(RECEIVED + 31 * DAY);
    wait_for(&app, &key, |_, d| {
        d.is_some_and(|d| d.summary.archived_at.is_some())
    })
    .await;
    let runs = audit(&app, AuditAction::ArchiveRun).await;
    assert_eq!(runs.entries.len(), 1);
    assert_eq!(runs.entries[0].actor, SYSTEM_ACTOR);

    // Read-only: a change to it is refused and stored nowhere.
    desk.try_edit_description(id(1), "归档后改写", RECEIVED + 32 * DAY)
        .await;
    desk.round_trip().await;
    let (_, d) = detail(&app, "supervisor", &key).await;
    assert_eq!(
        d.expect("still there").summary.description,
        "王先生：退款一直没到账"
    );
    // Still searchable among the archived.
    let supervisor = app.token("supervisor").await;
    let (_, page): (u16, serde_json::Value) = app
        .call(
            "GET",
            "/api/records?archived=true&q=退款",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(page["total"], 1, "{page}");

    // The archive for the period: records as CSV and XLSX, and the photo.
    let zip = download(
        &app,
        &format!(
            "/api/archive/export.zip?from={}&to={}",
            RECEIVED - DAY,
            RECEIVED + DAY
        ),
    )
    .await;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip");
    let mut names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("a name").to_string())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            format!("attachments/{sha256}.png"),
            "closeloop-records.csv".to_string(),
            "closeloop-records.xlsx".to_string(),
        ]
    );
    let mut csv = String::new();
    std::io::Read::read_to_string(
        &mut archive.by_name("closeloop-records.csv").unwrap(),
        &mut csv,
    )
    .unwrap();
    assert!(csv.contains("王先生：退款一直没到账"), "{csv}");
    let mut kept = Vec::new();
    std::io::Read::read_to_end(
        &mut archive
            .by_name(&format!("attachments/{sha256}.png"))
            .unwrap(),
        &mut kept,
    )
    .unwrap();
    assert_eq!(kept, photo);
    // An empty period is an empty archive, not an error.
    let empty = download(
        &app,
        &format!("/api/archive/export.zip?from={}", RECEIVED + DAY),
    )
    .await;
    assert_eq!(
        zip::ZipArchive::new(std::io::Cursor::new(empty))
            .unwrap()
            .len(),
        2
    );

    // Three years after it was received: anonymised under a new id.
    clock.set(RECEIVED + (3 * 365 + 2) * DAY);
    wait_for(&app, &key, |status, _| status == 404).await;
    let (_, list): (u16, Tombstones) = app
        .call(
            "GET",
            "/api/tombstones",
            Some(&app.token("north").await),
            None,
        )
        .await;
    let replaced = list.tombstones[0].replaced_by.clone().expect("re-created");
    let (_, d) = detail(&app, "supervisor", &replaced).await;
    let d = d.expect("the anonymised copy");
    assert_eq!(d.summary.customer, REDACTED);
    assert!(d.summary.archived_at.is_some(), "still archived");
    assert_eq!(d.summary.status, "closed", "statistics keep it");
    let purges = audit(&app, AuditAction::PurgeRun).await;
    assert!(
        purges
            .entries
            .iter()
            .any(|e| e.subject.as_deref() == Some("records")),
        "{purges:?}"
    );
    // The audit log's own retention took what was written in the first days.
    assert!(
        purges
            .entries
            .iter()
            .any(|e| e.subject.as_deref() == Some("audit_log")),
        "{purges:?}"
    );
    let settings = audit(&app, AuditAction::SettingsChanged).await;
    assert!(
        settings.entries.is_empty(),
        "three years old, purged: {settings:?}"
    );
    // The receipt's photo went with the history; so did a photo uploaded
    // and never attached to anything.
    let office = app.token("office").await;
    for gone in [&sha256, &unattached] {
        let (head, _) = support::binary::send(
            app.addr,
            "GET",
            &format!("/api/attachments/{gone}"),
            Some(&office),
            "image/png",
            &[],
        )
        .await;
        assert!(head.starts_with("HTTP/1.1 404"), "{gone}: {head}");
    }
    app.stop().await;
}
