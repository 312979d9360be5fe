//! The web edge: foreign origins refused where the session cookie would
//! ride along, security headers on every kind of response, the HTTPS
//! cookie, `/metrics` behind a token, exports that spreadsheets open safely.

mod support;

use std::net::SocketAddr;

use support::{Client, METRICS_TOKEN, TestApp, id, login, wait_stored};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// One raw HTTP/1.1 request (`head` without the final blank line); the
/// raw response, headers lowercase-searchable as sent.
async fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn status(resp: &str) -> u16 {
    resp.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The value of a response header (name in lowercase).
fn header<'a>(resp: &'a str, name: &str) -> Option<&'a str> {
    let head = resp.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn assert_secure_headers(resp: &str, what: &str) {
    assert_eq!(
        header(resp, "x-content-type-options"),
        Some("nosniff"),
        "{what}: {resp}"
    );
    assert_eq!(
        header(resp, "referrer-policy"),
        Some("no-referrer"),
        "{what}"
    );
    assert_eq!(header(resp, "x-frame-options"), Some("DENY"), "{what}");
    assert!(header(resp, "content-security-policy").is_some(), "{what}");
}

/// Opens `/sync` with the session cookie and `origin`; the HTTP status of
/// a refused handshake, or 101.
async fn sync_with_cookie(addr: SocketAddr, token: &str, origin: &str) -> u16 {
    let mut req = format!("ws://{addr}/sync").into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert(
        "cookie",
        format!("closeloop_session={token}").parse().unwrap(),
    );
    h.insert("origin", origin.parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("handshake failed otherwise: {e}"),
    }
}

#[tokio::test]
async fn a_sync_socket_from_a_foreign_origin_is_refused_and_the_own_origin_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let token = login(app.addr, "north").await;
    assert_eq!(
        sync_with_cookie(app.addr, &token, "https://evil.example").await,
        403
    );
    let own = format!("http://{}", app.addr);
    assert_eq!(sync_with_cookie(app.addr, &token, &own).await, 101);
    app.stop().await;
}

#[tokio::test]
async fn a_cookie_write_from_a_foreign_origin_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let token = login(app.addr, "office").await;
    let cookie = format!("Cookie: closeloop_session={token}");
    let evil = raw(
        app.addr,
        &format!("POST /api/logout HTTP/1.1\r\n{cookie}\r\nOrigin: https://evil.example"),
        b"",
    )
    .await;
    assert_eq!(status(&evil), 403, "{evil}");
    assert!(evil.contains("cross_site"), "{evil}");
    assert_secure_headers(&evil, "a refusal");
    let me = raw(app.addr, &format!("GET /api/me HTTP/1.1\r\n{cookie}"), b"").await;
    assert_eq!(status(&me), 200, "the session survived: {me}");

    let own = format!("Origin: http://{}", app.addr);
    let out = raw(
        app.addr,
        &format!("POST /api/logout HTTP/1.1\r\n{cookie}\r\n{own}"),
        b"",
    )
    .await;
    assert_eq!(status(&out), 200, "{out}");
    let me = raw(app.addr, &format!("GET /api/me HTTP/1.1\r\n{cookie}"), b"").await;
    assert_eq!(status(&me), 401, "{me}");
    app.stop().await;
}

#[tokio::test]
async fn security_headers_are_on_the_api_health_attachments_and_static_files() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    let app = TestApp::spawn_with(dir.path(), |c| c.dist_dir = dist.clone()).await;
    let token = login(app.addr, "north").await;
    let auth = format!("Authorization: Bearer {token}");

    let me = raw(app.addr, &format!("GET /api/me HTTP/1.1\r\n{auth}"), b"").await;
    assert_secure_headers(&me, "/api/me");
    assert_secure_headers(
        &raw(app.addr, "GET /healthz HTTP/1.1", b"").await,
        "/healthz",
    );
    let page = raw(app.addr, "GET /office HTTP/1.1", b"").await;
    assert_secure_headers(&page, "the PWA");
    assert!(
        header(&page, "content-security-policy")
            .unwrap()
            .contains("script-src")
    );
    assert_eq!(
        header(&page, "strict-transport-security"),
        None,
        "plain HTTP: no HSTS"
    );

    for (media, disposition) in [("image/png", "inline"), ("application/pdf", "attachment")] {
        let head = format!("POST /api/attachments HTTP/1.1\r\n{auth}\r\nContent-Type: {media}");
        let up = raw(app.addr, &head, media.as_bytes()).await;
        assert_eq!(status(&up), 201, "{up}");
        let sha: serde_json::Value =
            serde_json::from_str(up.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let path = format!("/api/attachments/{}", sha["sha256"].as_str().unwrap());
        let down = raw(app.addr, &format!("GET {path} HTTP/1.1\r\n{auth}"), b"").await;
        assert_eq!(status(&down), 200, "{down}");
        assert_secure_headers(&down, media);
        assert_eq!(header(&down, "content-security-policy"), Some("sandbox"));
        let cd = header(&down, "content-disposition").unwrap();
        assert!(cd.starts_with(disposition), "{media}: {cd}");
    }
    app.stop().await;
}

#[tokio::test]
async fn each_page_gets_the_index_of_its_build_and_both_loaders_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(dist.join("office")).unwrap();
    let page = |name: &str| format!("<!doctype html><script type=module>{name}()</script>");
    std::fs::write(dist.join("index.html"), page("field")).unwrap();
    std::fs::write(dist.join("office/index.html"), page("office")).unwrap();
    std::fs::write(dist.join("office/office-1a2b.js"), "export {}").unwrap();
    let app = TestApp::spawn_with(dir.path(), |c| c.dist_dir = dist.clone()).await;

    for (path, build) in [
        ("/", "field()"),
        ("/login", "field()"),
        ("/records/abc", "field()"),
        ("/office/records/abc", "office()"),
        ("/office", "office()"),
        ("/office/", "office()"),
        ("/office/new", "office()"),
        ("/admin/users?tab=1", "office()"),
        ("/office/office-1a2b.js", "export {}"),
    ] {
        let resp = raw(app.addr, &format!("GET {path} HTTP/1.1"), b"").await;
        assert_eq!(status(&resp), 200, "{path}: {resp}");
        assert!(resp.contains(build), "{path}: {resp}");
        let other = if build == "field()" {
            "office()"
        } else {
            "field()"
        };
        assert!(!resp.contains(other), "{path}: {resp}");
    }
    let resp = raw(app.addr, "GET / HTTP/1.1", b"").await;
    let csp = header(&resp, "content-security-policy").unwrap();
    for loader in ["field()", "office()"] {
        let hash = base64_sha256(loader);
        assert!(csp.contains(&format!("'sha256-{hash}'")), "{loader}: {csp}");
    }
    app.stop().await;
}

fn base64_sha256(text: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure_and_host_prefixed_and_hsts_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir.path(), |c| {
        c.public_url = Some("https://feedback.example.com".into())
    })
    .await;
    let body = format!(
        r#"{{"username":"office","password":"{}"}}"#,
        support::PASSWORD
    );
    let head = "POST /api/login HTTP/1.1\r\nContent-Type: application/json\r\n\
                Origin: https://feedback.example.com";
    let signed = raw(app.addr, head, body.as_bytes()).await;
    assert_eq!(status(&signed), 200, "{signed}");
    let cookie = header(&signed, "set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-closeloop_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(header(&signed, "strict-transport-security").is_some());

    // The public URL is the origin now; the listening address is not.
    let token = cookie.split(['=', ';']).nth(1).unwrap().to_string();
    let own = format!("http://{}", app.addr);
    assert_eq!(sync_with_cookie(app.addr, &token, &own).await, 403);
    let c = format!("Cookie: __Host-closeloop_session={token}");
    let me = raw(app.addr, &format!("GET /api/me HTTP/1.1\r\n{c}"), b"").await;
    assert_eq!(status(&me), 200, "the new cookie name is read: {me}");
    app.stop().await;
}

#[tokio::test]
async fn metrics_need_the_configured_token() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let none = raw(app.addr, "GET /metrics HTTP/1.1", b"").await;
    assert_eq!(status(&none), 401, "{none}");
    let wrong = raw(
        app.addr,
        "GET /metrics HTTP/1.1\r\nAuthorization: Bearer nope",
        b"",
    )
    .await;
    assert_eq!(status(&wrong), 401, "{wrong}");
    let head = format!("GET /metrics HTTP/1.1\r\nAuthorization: Bearer {METRICS_TOKEN}");
    let ok = raw(app.addr, &head, b"").await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(ok.contains("closeloop_connections"), "{ok}");
    app.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir.path(), |c| c.metrics_token = None).await;
    let head = format!("GET /metrics HTTP/1.1\r\nAuthorization: Bearer {METRICS_TOKEN}");
    let refused = raw(app.addr, &head, b"").await;
    assert_eq!(status(&refused), 401, "no token configured: {refused}");
    app.stop().await;
}

#[tokio::test]
async fn exports_neutralise_formulas_and_survive_cells_over_excels_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Records and relay refuse texts over 10,000 characters; one stored
    // before that limit existed (written here straight into storage) may
    // still be longer than Excel's 32,767 per cell.
    {
        use automerge::transaction::Transactable;
        use automerge::{ROOT, ReadDoc};
        let mut doc = automerge::Automerge::new();
        closeloop_shared::FeedbackDraft {
            channel: "phone".into(),
            nickname: "旧记录".into(),
            description: "短".into(),
            ..Default::default()
        }
        .write_new(&mut doc, &Default::default(), "north", 1_700_000_000_000)
        .unwrap();
        let long = "很长的反馈".repeat(8_000);
        let mut tx = doc.transaction();
        let (_, text) = tx.get(ROOT, "description").unwrap().expect("description");
        tx.splice_text(&text, 0, 0, &long).unwrap();
        tx.commit();
        let record = closeloop_shared::FeedbackRecord::from_doc(&doc).unwrap();
        let storage = support::storage_for(dir.path()).await;
        storage
            .append(
                &id(2),
                &doc.save(),
                1_700_000_000_000,
                Some("north"),
                Some(&record),
                &Default::default(),
            )
            .await
            .unwrap();
        storage.close().await;
    }
    let app = TestApp::spawn(dir.path()).await;
    let mut tablet = Client::connect(app.addr, "north").await;
    tablet
        .capture(id(1), "=HYPERLINK(\"http://evil\",\"点我\")")
        .await;
    wait_stored(app.addr, id(2)).await;
    let token = login(app.addr, "office").await;
    let auth = format!("Authorization: Bearer {token}");

    let (_, detail): (u16, serde_json::Value) = app
        .call(
            "GET",
            &format!("/api/records/{}", id(2)),
            Some(&token),
            None,
        )
        .await;
    let stored = detail["description"].as_str().unwrap_or_default();
    assert!(
        stored.chars().count() > 40_000,
        "the long text is in the read model"
    );

    let csv = raw(
        app.addr,
        &format!("GET /api/records/export.csv HTTP/1.1\r\n{auth}"),
        b"",
    )
    .await;
    assert_eq!(status(&csv), 200);
    assert!(
        csv.contains("'=HYPERLINK"),
        "{}",
        &csv[..csv.len().min(2000)]
    );
    assert!(!csv.contains(",=HYPERLINK"), "no live formula");

    let xlsx = raw(
        app.addr,
        &format!("GET /api/records/export.xlsx HTTP/1.1\r\n{auth}"),
        b"",
    )
    .await;
    assert_eq!(status(&xlsx), 200, "{}", &xlsx[..xlsx.len().min(500)]);
    assert!(
        header(&xlsx, "content-type")
            .unwrap()
            .contains("spreadsheetml")
    );
    app.stop().await;
}
