//! The audit log (S002 §6): sign-ins and failures, sign-outs, exports, role
//! and account changes and settings are written; supervisors and
//! administrators read, filter and export it; nobody can change an entry.

mod support;

use closeloop_shared::audit::{AuditAction, AuditPage};
use support::*;

#[tokio::test]
async fn who_did_what_is_written_filterable_exportable_and_cannot_be_changed() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;

    let wrong = r#"{"username":"north","password":"not the password"}"#;
    let (status, _): (u16, serde_json::Value) =
        app.call("POST", "/api/login", None, Some(wrong)).await;
    assert_eq!(status, 401);
    let office = app.token("office").await;
    let admin = app.token("admin").await;
    let supervisor = app.token("supervisor").await;

    let role = r#"{"role":"supervisor","team":null}"#;
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "PUT",
            "/api/admin/users/office/role",
            Some(&admin),
            Some(role),
        )
        .await;
    assert_eq!(status, 200);
    let export = http(
        app.addr,
        "GET",
        "/api/records/export.csv?status=new",
        Some(&supervisor),
        None,
    )
    .await;
    assert!(export.starts_with("HTTP/1.1 200"), "{export}");
    let (status, _): (u16, serde_json::Value) =
        app.call("POST", "/api/logout", Some(&office), None).await;
    assert_eq!(status, 200);

    let (status, page): (u16, AuditPage) =
        app.call("GET", "/api/audit", Some(&supervisor), None).await;
    assert_eq!(status, 200);
    let seen: Vec<(AuditAction, &str, Option<&str>)> = page
        .entries
        .iter()
        .map(|e| (e.action, e.actor.as_str(), e.subject.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (AuditAction::Logout, "office", None),
            (AuditAction::RecordsExported, "supervisor", None),
            (AuditAction::RoleChanged, "admin", Some("office")),
            (AuditAction::Login, "supervisor", None),
            (AuditAction::Login, "admin", None),
            (AuditAction::Login, "office", None),
            (AuditAction::LoginFailed, "north", None),
        ]
    );
    assert!(
        page.entries[1]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("\"status\":\"new\""))
    );
    assert!(
        page.entries[2]
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("role supervisor"))
    );

    // Filters and pages.
    let (_, failed): (u16, AuditPage) = app
        .call(
            "GET",
            "/api/audit?action=login_failed",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(failed.entries.len(), 1);
    let (_, first): (u16, AuditPage) = app
        .call("GET", "/api/audit?limit=3", Some(&admin), None)
        .await;
    assert_eq!(first.entries.len(), 3);
    let before = first.next_before_id.expect("more pages");
    let (_, rest): (u16, AuditPage) = app
        .call(
            "GET",
            &format!("/api/audit?limit=10&before_id={before}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(rest.entries.len(), 4);
    assert_eq!(rest.next_before_id, None);
    let (status, answer): (u16, serde_json::Value) = app
        .call("GET", "/api/audit?action=reboot", Some(&admin), None)
        .await;
    assert_eq!(status, 400, "{answer}");

    // Field staff and head office may not read it.
    for who in ["north", "office"] {
        let token = app.token(who).await;
        let (status, _): (u16, serde_json::Value) =
            app.call("GET", "/api/audit", Some(&token), None).await;
        // `office` is a supervisor by now: a demoted-or-promoted role counts at once.
        assert_eq!(status, if who == "office" { 200 } else { 403 }, "{who}");
    }

    // The export holds every entry and is itself written down.
    let csv = http(
        app.addr,
        "GET",
        "/api/audit/export.csv?actor=north",
        Some(&supervisor),
        None,
    )
    .await;
    assert!(csv.starts_with("HTTP/1.1 200"), "{csv}");
    assert!(csv.contains("login_failed"), "{csv}");
    assert!(!csv.contains("role_changed"), "filtered by actor: {csv}");
    let (_, exported): (u16, AuditPage) = app
        .call(
            "GET",
            "/api/audit?action=audit_exported",
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(exported.entries.len(), 1);

    // Append-only, even for someone with the database in hand.
    let changed = change_an_entry(dir.path()).await;
    assert!(changed.is_err(), "an audit entry was changed");
    assert!(
        changed.unwrap_err().contains("append-only"),
        "refused by the trigger"
    );
    app.stop().await;
}

async fn change_an_entry(dir: &std::path::Path) -> Result<u64, String> {
    use sqlx::Connection;
    let sql = "UPDATE audit_log SET actor = 'someone else'";
    match database_for(dir).await {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(&url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(sql)
                .execute(&mut conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
        None => {
            let url = format!("sqlite://{}", dir.join("closeloop.sqlite3").display());
            let mut conn = sqlx::SqliteConnection::connect(&url)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(sql)
                .execute(&mut conn)
                .await
                .map(|r| r.rows_affected())
                .map_err(|e| e.to_string())
        }
    }
}
