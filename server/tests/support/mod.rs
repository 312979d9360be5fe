//! Helpers shared by the server's integration tests: the app on a free
//! port with a fresh database, signed-in sync clients over real WebSockets,
//! and a minimal HTTP client.
#![allow(dead_code)]

pub mod binary;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use closeloop_server::storage::Storage;
use closeloop_server::{Application, Clock, Config, SystemClock};
use closeloop_shared::access::Role;
use closeloop_shared::sync::{DocumentId, Effect, SharePolicy, SyncHub};
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::{FeedbackDraft, FeedbackRecord};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Password of every test user.
pub const PASSWORD: &str = "correct horse battery";
/// The bearer token test servers ask for on `/metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// The database behind a test server on `data_dir`: SQLite in that
/// directory, or, when `CLOSELOOP_TEST_POSTGRES` names a PostgreSQL server
/// (`cargo xtask test` starts one), a fresh database there — the same one
/// each time a test restarts a server on this directory.
pub async fn database_for(data_dir: &Path) -> Option<String> {
    use sqlx::{Connection, Executor};
    let server = std::env::var("CLOSELOOP_TEST_POSTGRES").ok()?;
    let marker = data_dir.join("test-database-url");
    if let Ok(url) = std::fs::read_to_string(&marker) {
        return Some(url);
    }
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("random name");
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("test_{name}");
    let mut admin = sqlx::PgConnection::connect(&server)
        .await
        .expect("the test PostgreSQL server is reachable");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create a test database");
    admin.close().await.expect("close");
    let url = format!("{}/{name}", server.trim_end_matches('/'));
    std::fs::write(&marker, &url).expect("remember the test database");
    Some(url)
}

/// Storage of a test server on `data_dir` (see [`database_for`]).
pub async fn storage_for(data_dir: &Path) -> Storage {
    let database = database_for(data_dir).await;
    Storage::connect(database.as_deref(), data_dir)
        .await
        .expect("storage")
}

/// Stores `records` generated records in the storage of `data_dir`, as
/// `closeloop-server seed` does, dated up to `now_ms`; for a test server
/// started on the directory afterwards.
pub async fn seed(data_dir: &Path, records: usize, seed: u64, now_ms: i64) {
    let storage = storage_for(data_dir).await;
    let options = closeloop_server::seed::SeedOptions {
        records,
        seed,
        now_ms,
    };
    let sla = closeloop_shared::sla::SlaConfig::default();
    closeloop_server::seed::seed_records(&storage, &sla, options, |_| {})
        .await
        .expect("seeded");
    storage.close().await;
}

/// `--data-dir` and, on PostgreSQL, `--database` for a server process.
pub async fn storage_args(data_dir: &Path) -> Vec<std::ffi::OsString> {
    let mut args = vec!["--data-dir".into(), data_dir.into()];
    if let Some(url) = database_for(data_dir).await {
        args.extend(["--database".into(), url.into()]);
    }
    args
}

/// Creates the users the tests sign in as.
pub async fn add_test_users(data_dir: &Path) {
    let storage = storage_for(data_dir).await;
    if storage.has_users().await.expect("users") {
        return;
    }
    for (name, role, team) in [
        ("north", Role::FieldStaff, Some("north")),
        ("south", Role::FieldStaff, Some("south")),
        ("office", Role::HeadOffice, None),
        ("supervisor", Role::Supervisor, None),
        ("admin", Role::Admin, None),
    ] {
        storage
            .add_user(name, PASSWORD, role, team, 0)
            .await
            .expect("user");
    }
    storage.close().await;
}

/// A clock tests move forward.
pub struct StepClock(pub std::sync::atomic::AtomicI64);

impl Clock for StepClock {
    fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl StepClock {
    pub fn at(ms: i64) -> Arc<StepClock> {
        Arc::new(StepClock(std::sync::atomic::AtomicI64::new(ms)))
    }

    pub fn set(&self, ms: i64) {
        self.0.store(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The same routes, for calls that need no socket.
    pub router: axum::Router,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    pub async fn spawn(data_dir: &Path) -> TestApp {
        Self::spawn_with(data_dir, |_| {}).await
    }

    /// As [`TestApp::spawn`], with settings changed by `tune`.
    pub async fn spawn_with(data_dir: &Path, tune: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_with_clock(data_dir, tune, Arc::new(SystemClock)).await
    }

    /// As [`TestApp::spawn_with`], telling time by `clock`.
    pub async fn spawn_with_clock(
        data_dir: &Path,
        tune: impl FnOnce(&mut Config),
        clock: Arc<dyn Clock>,
    ) -> TestApp {
        add_test_users(data_dir).await;
        let mut config = Config::for_test(data_dir.to_path_buf(), data_dir.join("no-dist"));
        config.database = database_for(data_dir).await;
        config.metrics_token = Some(METRICS_TOKEN.into());
        tune(&mut config);
        let app = Application::build_with_clock(config, clock)
            .await
            .expect("server starts");
        let addr = app.local_addr();
        let router = app.router();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            router,
            stop: Some(stop),
            task,
        }
    }

    /// Calls the routes in-process, without a socket: the status and the
    /// body read as `T` (JSON).
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, T) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let mut req = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .body(axum::body::Body::from(body.unwrap_or("").to_string()))
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("answered");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: {status} {e}: {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    }

    /// Signs in through the routes in-process and returns the token.
    pub async fn token(&self, user: &str) -> String {
        let body = format!(r#"{{"username":"{user}","password":"{PASSWORD}"}}"#);
        let (status, signed): (u16, closeloop_shared::api::SignedIn) =
            self.call("POST", "/api/login", None, Some(&body)).await;
        assert_eq!(status, 200, "sign-in as {user}");
        signed.token
    }

    pub async fn stop(mut self) {
        // The routes hold the relay's handle: the relay ends once all are gone.
        self.router = axum::Router::new();
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("graceful shutdown finishes")
            .expect("server task")
            .expect("server ran cleanly");
    }
}

/// A sync client: the shared hub driven over a real socket.
pub struct Client {
    pub hub: SyncHub,
    pub ws: Socket,
    pub closed: bool,
    pub unavailable: Vec<DocumentId>,
    /// Changes the relay refused, dropped here: (document, reason code).
    pub refused: Vec<(DocumentId, String)>,
    /// Why the connection ended, as the relay's close frame said (or how
    /// it ended without one).
    pub close_reason: Option<String>,
}

impl Client {
    /// Signs in as `user` and opens a sync connection.
    pub async fn connect(addr: SocketAddr, user: &str) -> Client {
        let token = login(addr, user).await;
        let mut req = format!("ws://{addr}/sync")
            .into_client_request()
            .expect("request");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket connects");
        let name = user;
        let mut c = Client {
            hub: SyncHub::new(name.into(), SharePolicy::AnnounceAll),
            ws,
            closed: false,
            unavailable: vec![],
            refused: vec![],
            close_reason: None,
        };
        let fx = c.hub.connect(0, true);
        c.run(fx).await;
        c.pump_until(|c| c.hub.is_ready(0)).await;
        c
    }

    pub async fn run(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                // A relay that closed the socket is what some tests wait for.
                Effect::Send { frame, .. } if !self.closed => {
                    let sent = self.ws.send(Ws::Binary(frame.into())).await;
                    self.closed = sent.is_err();
                }
                Effect::Unavailable { document_id } => self.unavailable.push(document_id),
                Effect::Dropped {
                    document_id, code, ..
                } => self.refused.push((document_id, code)),
                _ => {}
            }
        }
    }

    /// Feeds received frames to the hub until `done` holds (10 s at most).
    pub async fn pump_until(&mut self, done: impl Fn(&Client) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(!left.is_zero(), "condition not reached within 10 s");
            match tokio::time::timeout(left, self.ws.next()).await {
                Ok(Some(Ok(Ws::Binary(b)))) => {
                    let fx = self.hub.receive(0, &b);
                    self.run(fx).await;
                }
                Ok(Some(Ok(Ws::Close(frame)))) => {
                    self.closed = true;
                    self.close_reason =
                        Some(frame.map(|f| f.reason.to_string()).unwrap_or_default());
                    return;
                }
                Ok(None) => {
                    self.closed = true;
                    self.close_reason = Some("ended without a close frame".into());
                    return;
                }
                Ok(Some(Err(e))) => {
                    self.closed = true;
                    self.close_reason = Some(format!("failed: {e}"));
                    return;
                }
                Ok(Some(Ok(_))) => {}
                Err(_) => panic!("condition not reached within 10 s"),
            }
        }
    }

    /// Waits until the relay acknowledged everything this client has of
    /// `id`: the relay sends its heads only for what it has stored, so equal
    /// heads mean stored (10 s at most).
    pub async fn acked(&mut self, id: DocumentId) {
        self.pump_until(|c| {
            let ours = c.hub.document(&id).map(|d| d.get_heads());
            ours.is_some() && c.hub.peer_heads(&id, 0).map(<[_]>::to_vec) == ours
        })
        .await;
    }

    /// A round trip to the relay: everything it sent this client before
    /// handling this request has arrived when the answer does (the relay
    /// handles messages in order and each socket delivers in order).
    pub async fn round_trip(&mut self) {
        let probe = DocumentId::from_bytes(rand_bytes());
        let fx = self.hub.request(probe);
        self.run(fx).await;
        self.pump_until(|c| c.unavailable.contains(&probe)).await;
    }

    pub async fn capture(&mut self, id: DocumentId, text: &str) {
        let draft = FeedbackDraft {
            channel: "store_box".into(),
            nickname: "李先生".into(),
            description: text.into(),
            ..FeedbackDraft::default()
        };
        self.capture_draft(id, draft).await;
    }

    /// Captures `draft` as a new record and waits for the relay's acknowledgement.
    pub async fn capture_draft(&mut self, id: DocumentId, draft: FeedbackDraft) {
        // Written as the signed-in user, as the relay's write rule requires.
        let me = self.hub.peer_id().to_string();
        let fx = self
            .hub
            .change(id, |d| {
                draft.write_new(d, &Taxonomy::default(), &me, 1_700_000_000_000)
            })
            .unwrap();
        self.run(fx).await;
        self.acked(id).await;
    }

    /// Rewrites a record's description here and sends the change.
    /// Edits the description here and waits for the relay's
    /// acknowledgement. Waiting matters beyond the ack: the sync protocol may
    /// need a second round (a Bloom filter false positive makes this client
    /// think the relay has the change), which only a client that keeps
    /// reading its socket answers.
    pub async fn edit_description(&mut self, id: DocumentId, text: &str, at_ms: i64) {
        self.try_edit_description(id, text, at_ms).await;
        self.acked(id).await;
    }

    /// Edits the description here and sends it, without waiting: for edits
    /// the relay refuses (it never acknowledges them).
    pub async fn try_edit_description(&mut self, id: DocumentId, text: &str, at_ms: i64) {
        let fx = self
            .hub
            .change(id, |d| {
                closeloop_shared::record::edit_description(d, text, at_ms)
            })
            .unwrap();
        self.run(fx).await;
    }

    /// Sets a classification field here (as this client's user, default
    /// taxonomy) and waits for the relay's acknowledgement.
    pub async fn set_field(
        &mut self,
        id: DocumentId,
        field: closeloop_shared::record::Field,
        value: &str,
        at_ms: i64,
    ) {
        let me = self.hub.peer_id().to_string();
        let taxonomy = Taxonomy::default();
        let fx = self
            .hub
            .change(id, |d| {
                closeloop_shared::record::set_field(d, &taxonomy, field, value, &me, at_ms)
            })
            .unwrap();
        self.run(fx).await;
        self.acked(id).await;
    }

    /// Applies a workflow step here and sends it.
    pub async fn transition(
        &mut self,
        id: DocumentId,
        action: &closeloop_shared::workflow::Action,
        at_ms: i64,
    ) {
        let me = self.hub.peer_id().to_string();
        let fx = self
            .hub
            .change(id, |d| {
                closeloop_shared::record::transition(d, action, None, &me, at_ms)
            })
            .unwrap();
        self.run(fx).await;
        self.acked(id).await;
    }

    /// The record's description as this client has it ("" if absent).
    pub fn description(&self, id: DocumentId) -> String {
        self.hub
            .document(&id)
            .and_then(|d| FeedbackRecord::from_doc(d).ok())
            .map(|r| r.description)
            .unwrap_or_default()
    }

    /// Waits (10 s at most) until the record's description reads `text`.
    pub async fn wait_for_description(&mut self, id: DocumentId, text: &str) {
        self.pump_until(|c| c.description(id) == text).await;
    }

    pub async fn fetch(&mut self, id: DocumentId) -> Option<FeedbackRecord> {
        let fx = self.hub.request(id);
        self.run(fx).await;
        self.pump_until(|c| {
            c.unavailable.contains(&id)
                || c.hub
                    .document(&id)
                    .is_some_and(|d| FeedbackRecord::from_doc(d).is_ok())
        })
        .await;
        self.hub
            .document(&id)
            .and_then(|d| FeedbackRecord::from_doc(d).ok())
    }
}

/// Two relays on one fresh PostgreSQL database (same data directory → same
/// database).
pub async fn two_relays() -> (tempfile::TempDir, TestApp, TestApp) {
    assert!(
        std::env::var_os("CLOSELOOP_TEST_POSTGRES").is_some(),
        "scale-out needs PostgreSQL: run it with `cargo xtask test`"
    );
    let dir = tempfile::tempdir().unwrap();
    let one = TestApp::spawn(dir.path()).await;
    let two = TestApp::spawn(dir.path()).await;
    assert_ne!(one.addr, two.addr);
    (dir, one, two)
}

pub fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

/// Random bytes for ids no test chose.
pub fn rand_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("random bytes");
    b
}

/// Waits until the relay has stored the document, via the change feed.
pub async fn wait_stored(addr: SocketAddr, doc: DocumentId) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let token = login(addr, "office").await;
    loop {
        let body = http(addr, "GET", "/api/documents?after=0", Some(&token), None).await;
        if body.contains(&doc.to_string()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "document never stored: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A minimal HTTP/1.1 request over a raw socket; returns status line, headers and body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    String::from_utf8(dechunked(out)).expect("a UTF-8 response")
}

/// A raw response with a chunked body (a streamed export) as if it had
/// been sent whole: the chunks joined, the sizes gone.
pub fn dechunked(response: Vec<u8>) -> Vec<u8> {
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response;
    };
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    if !head.contains("transfer-encoding: chunked") {
        return response;
    }
    let mut out = response[..split + 4].to_vec();
    let mut rest = &response[split + 4..];
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&rest[..eol])
            .ok()
            .and_then(|h| usize::from_str_radix(h.split(';').next()?.trim(), 16).ok())
            .expect("a chunk size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
        rest = &rest[eol + 2 + size + 2..];
    }
    out
}

/// GET without credentials.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    http(addr, "GET", path, None, None).await
}

/// Signs in and returns the session token.
pub async fn login(addr: SocketAddr, user: &str) -> String {
    login_as(addr, user, PASSWORD).await
}

/// Signs in with an explicit password and returns the session token.
pub async fn login_as(addr: SocketAddr, user: &str, password: &str) -> String {
    let body = format!(r#"{{"username":"{user}","password":"{password}"}}"#);
    let resp = http(addr, "POST", "/api/login", None, Some(&body)).await;
    let json = resp.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|_| panic!("login failed: {resp}"));
    v["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {resp}"))
        .to_string()
}

/// A sync socket signed in with a bearer token.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a sync socket with `token`; `None` if the relay is down or refuses.
pub async fn open_sync(addr: SocketAddr, token: &str) -> Option<Socket> {
    let mut req = format!("ws://{addr}/sync").into_client_request().ok()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().ok()?);
    tokio_tungstenite::connect_async(req)
        .await
        .ok()
        .map(|(ws, _)| ws)
}

/// Waits (5 s at most) for the relay's close frame; returns its reason.
pub async fn close_reason(ws: &mut Socket) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, futures_util::StreamExt::next(ws)).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame)))) => {
                return frame.map(|f| f.reason.to_string()).unwrap_or_default();
            }
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("socket ended without a close frame: {other:?}"),
            Err(_) => panic!("socket not closed within 5 s"),
        }
    }
}

/// Every byte the server keeps, as text to search: the files of the data
/// directory (SQLite's database and log, the blob store), and on PostgreSQL
/// every row of every table (byte columns as hex and as text).
pub async fn stored_text(dir: &std::path::Path) -> String {
    use sqlx::{Connection, Row};
    if let Some(url) = database_for(dir).await {
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(&mut conn)
        .await
        .expect("tables");
        let mut all = String::new();
        for t in tables {
            let rows = sqlx::query(&format!("SELECT CAST(t AS TEXT) AS r FROM {t} t"))
                .fetch_all(&mut conn)
                .await
                .expect("rows");
            for r in rows {
                let text: String = r.get("r");
                all.push_str(&text);
                all.push_str(&String::from_utf8_lossy(&hex_decoded(&text)));
            }
        }
        return all;
    }
    let mut all = String::new();
    let mut dirs = vec![dir.to_path_buf()];
    // The database files and every file below (attachments).
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.is_file() {
                all.push_str(&String::from_utf8_lossy(
                    &std::fs::read(&path).expect("read"),
                ));
            }
        }
    }
    all
}

/// Bytes of every `\x…` hex run PostgreSQL prints for byte columns.
pub fn hex_decoded(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for run in text.split("\\\\x").skip(1).chain(text.split("\\x").skip(1)) {
        let hex: Vec<u8> = run.bytes().take_while(u8::is_ascii_hexdigit).collect();
        for pair in hex.chunks_exact(2) {
            if let Ok(b) = u8::from_str_radix(&String::from_utf8_lossy(pair), 16) {
                out.push(b);
            }
        }
    }
    out
}
