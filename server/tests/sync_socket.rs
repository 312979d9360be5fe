//! The relay over a real WebSocket on loopback with a real SQLite file.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use closeloop_server::{Application, Config};
use closeloop_shared::sync::{DocumentId, Effect, Message, SharePolicy, SyncHub};
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::{FeedbackDraft, FeedbackRecord};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

struct TestApp {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    async fn spawn(data_dir: &Path) -> TestApp {
        let config = Config::for_test(data_dir.to_path_buf(), data_dir.join("no-dist"));
        let app = Application::build(config).await.expect("server starts");
        let addr = app.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
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
struct Client {
    hub: SyncHub,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    closed: bool,
    unavailable: Vec<DocumentId>,
}

impl Client {
    async fn connect(addr: SocketAddr, name: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/sync"))
            .await
            .expect("websocket connects");
        let mut c = Client {
            hub: SyncHub::new(name.into(), SharePolicy::AnnounceAll),
            ws,
            closed: false,
            unavailable: vec![],
        };
        let fx = c.hub.connect(0, true);
        c.run(fx).await;
        c.pump_until(|c| c.hub.is_ready(0)).await;
        c
    }

    async fn run(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Send { frame, .. } => {
                    self.ws.send(Ws::Binary(frame.into())).await.expect("send");
                }
                Effect::Unavailable { document_id } => self.unavailable.push(document_id),
                _ => {}
            }
        }
    }

    /// Feeds received frames to the hub until `done` holds (10 s at most).
    async fn pump_until(&mut self, done: impl Fn(&Client) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(!left.is_zero(), "condition not reached within 10 s");
            match tokio::time::timeout(left, self.ws.next()).await {
                Ok(Some(Ok(Ws::Binary(b)))) => {
                    let fx = self.hub.receive(0, &b);
                    self.run(fx).await;
                }
                Ok(Some(Ok(Ws::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    self.closed = true;
                    return;
                }
                Ok(Some(Ok(_))) => {}
                Err(_) => panic!("condition not reached within 10 s"),
            }
        }
    }

    /// Answers frames until the socket has been quiet for 300 ms.
    async fn settle(&mut self) {
        while let Ok(Some(Ok(frame))) =
            tokio::time::timeout(Duration::from_millis(300), self.ws.next()).await
        {
            if let Ws::Binary(b) = frame {
                let fx = self.hub.receive(0, &b);
                self.run(fx).await;
            }
        }
    }

    async fn capture(&mut self, id: DocumentId, text: &str) {
        let draft = FeedbackDraft {
            channel: "store_box".into(),
            nickname: "李先生".into(),
            description: text.into(),
            ..FeedbackDraft::default()
        };
        let fx = self
            .hub
            .change(id, |d| {
                draft.write_new(d, &Taxonomy::default(), "tablet", 1_700_000_000_000)
            })
            .unwrap();
        self.run(fx).await;
        self.settle().await;
    }

    async fn fetch(&mut self, id: DocumentId) -> Option<FeedbackRecord> {
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

fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

/// Waits until the relay has stored the document, via the change feed.
async fn wait_stored(addr: SocketAddr, doc: DocumentId) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let body = http_get(addr, "/api/documents?after=0").await;
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

/// A minimal HTTP/1.1 GET over a raw socket, returning status line and body.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn a_record_synced_by_a_tablet_survives_a_restart_and_reaches_head_office() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut tablet = Client::connect(app.addr, "tablet").await;
    tablet.capture(id(1), "收银台排队太久").await;
    wait_stored(app.addr, id(1)).await;
    app.stop().await;

    let app = TestApp::spawn(dir.path()).await;
    let mut office = Client::connect(app.addr, "office").await;
    let record = office
        .fetch(id(1))
        .await
        .expect("record present after restart");
    assert_eq!(record.description, "收银台排队太久");
    assert_eq!(record.customer, "李先生");
    app.stop().await;
}

#[tokio::test]
async fn head_office_sees_live_edits_from_a_tablet() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut tablet = Client::connect(app.addr, "tablet").await;
    tablet.capture(id(2), "洗手间没有纸").await;
    wait_stored(app.addr, id(2)).await;
    let mut office = Client::connect(app.addr, "office").await;
    office.fetch(id(2)).await.expect("record");

    let fx = tablet
        .hub
        .change(id(2), |d| {
            closeloop_shared::record::edit_description(d, "洗手间没有纸巾", 1)
        })
        .unwrap();
    tablet.run(fx).await;
    office
        .pump_until(|c| {
            c.hub
                .document(&id(2))
                .and_then(|d| FeedbackRecord::from_doc(d).ok())
                .is_some_and(|r| r.description == "洗手间没有纸巾")
        })
        .await;
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_frame_gets_an_error_and_a_close_while_others_keep_syncing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut good = Client::connect(app.addr, "good").await;
    let mut bad = Client::connect(app.addr, "bad").await;

    bad.ws
        .send(Ws::Binary(b"\xa1\x64type".to_vec().into()))
        .await
        .unwrap();
    let mut got_error = false;
    let mut got_close = false;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(5), bad.ws.next()).await {
        match frame {
            Ok(Ws::Binary(b)) => {
                got_error |= matches!(Message::decode(&b), Ok(Message::Error { .. }))
            }
            Ok(Ws::Close(_)) => got_close = true,
            _ => break,
        }
    }
    assert!(got_error, "an error frame explains the rejection");
    assert!(got_close, "the bad connection is closed");

    good.capture(id(3), "正常的反馈").await;
    wait_stored(app.addr, id(3)).await;
    let mut office = Client::connect(app.addr, "office").await;
    assert_eq!(office.fetch(id(3)).await.unwrap().description, "正常的反馈");
    app.stop().await;
}

#[tokio::test]
async fn a_request_for_an_unknown_document_is_answered_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut office = Client::connect(app.addr, "office").await;
    assert_eq!(office.fetch(id(9)).await, None);
    assert_eq!(office.unavailable, vec![id(9)]);
    assert!(
        !http_get(app.addr, "/api/documents?after=0")
            .await
            .contains(&id(9).to_string())
    );
    app.stop().await;
}

#[tokio::test]
async fn the_api_rejects_bad_query_parameters_with_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    for path in [
        "/api/documents?after=abc",
        "/api/documents?limit=0",
        "/api/documents?after=-1",
    ] {
        let resp = http_get(app.addr, path).await;
        assert!(resp.starts_with("HTTP/1.1 400"), "{path}: {resp}");
        assert!(resp.contains(r#""code":"bad_request""#), "{path}: {resp}");
    }
    let health = http_get(app.addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200") && health.contains("ok"));
    app.stop().await;
}

/// Reads one value from the Prometheus text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(name)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("metric {name} missing in:\n{text}"))
}

#[tokio::test]
async fn documents_nobody_follows_are_evicted_and_metrics_show_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut tablet = Client::connect(app.addr, "tablet").await;
    tablet.capture(id(5), "货架标签价格与收银不一致").await;
    wait_stored(app.addr, id(5)).await;
    let before = http_get(app.addr, "/metrics").await;
    assert_eq!(metric(&before, "closeloop_documents_in_memory "), 1);
    assert_eq!(metric(&before, "closeloop_connections "), 1);
    assert!(metric(&before, "closeloop_sync_frames_received_total ") >= 2);
    assert!(metric(&before, "closeloop_storage_writes_total ") >= 1);

    drop(tablet);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = http_get(app.addr, "/metrics").await;
        if metric(&m, "closeloop_documents_in_memory ") == 0 {
            assert_eq!(metric(&m, "closeloop_documents_evicted_total "), 1);
            assert_eq!(metric(&m, "closeloop_connections "), 0);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "document never evicted:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Evicted from memory, not lost: it loads again from storage on request.
    let mut office = Client::connect(app.addr, "office").await;
    assert_eq!(
        office.fetch(id(5)).await.unwrap().description,
        "货架标签价格与收银不一致"
    );
    app.stop().await;
}
