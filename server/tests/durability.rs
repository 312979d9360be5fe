//! Fault test: the relay process is killed with SIGKILL twenty times while
//! five clients keep editing. After every restart, every change the relay
//! had acknowledged is still there, and all clients converge with it, with
//! a memory budget of two documents so followed documents keep leaving
//! memory and coming back.
//! Bounded: 20 kills, each cycle a fraction of a second of load.

use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use closeloop_shared::record::{self, FeedbackDraft, FeedbackRecord};
use closeloop_shared::sync::{DocumentId, Effect, SharePolicy, SyncHub};
use closeloop_shared::taxonomy::Taxonomy;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as Ws;

mod support;

const CLIENTS: u8 = 5;
const KILLS: usize = 20;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The server process; killed when dropped, so a failing test leaves no orphan.
struct Server(Child);

impl Server {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn start(port: u16, storage: &[std::ffi::OsString]) -> Server {
    Server(
        Command::new(env!("CARGO_BIN_EXE_closeloop-server"))
            .args([
                "--port",
                &port.to_string(),
                "--log",
                "error",
                "--dist-dir",
                "/nonexistent",
                "--demo-data",
                // Two documents for five tablets: documents leave memory
                // and reload while followed, all through the test.
                "--memory-documents",
                "2",
            ])
            .args(storage)
            .stdout(Stdio::null())
            .spawn()
            .expect("server starts"),
    )
}

async fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "server did not come back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Signs in as the demo field user (team north).
async fn demo_token(addr: SocketAddr) -> String {
    support::login_as(addr, "field-north", "closeloop-demo").await
}

fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n + 1; 16])
}

/// What the clients share with the test.
#[derive(Default)]
struct Shared {
    /// Every head the relay ever told a client it has.
    acknowledged: HashMap<DocumentId, HashSet<ChangeHash>>,
    /// Each client's current heads.
    heads: HashMap<DocumentId, Vec<ChangeHash>>,
}

/// One tablet: edits its record while `editing`, reconnects whenever the relay dies.
async fn tablet(
    n: u8,
    addr: SocketAddr,
    token: String,
    editing: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
) {
    let t = Taxonomy::default();
    let doc = id(n);
    let mut hub = SyncHub::new(format!("tablet-{n}"), SharePolicy::AnnounceAll);
    let draft = FeedbackDraft {
        channel: "phone".into(),
        nickname: format!("客户{n}"),
        description: "初始".into(),
        ..FeedbackDraft::default()
    };
    hub.change(doc, |d| draft.write_new(d, &t, "field-north", 1))
        .expect("capture");
    let mut edits = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let Some(mut ws) = support::open_sync(addr, &token).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let mut outgoing = hub.connect(0, true);
        'connected: loop {
            for e in outgoing.drain(..) {
                if let Effect::Send { frame, .. } = e
                    && ws.send(Ws::Binary(frame.into())).await.is_err()
                {
                    break 'connected;
                }
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if editing.load(Ordering::Relaxed) {
                edits += 1;
                let fx = hub
                    .change(doc, |d| {
                        record::append_log(d, &format!("第 {edits} 次处理"), "field-north", edits)
                    })
                    .expect("edit");
                outgoing.extend(fx);
            }
            match tokio::time::timeout(Duration::from_millis(15), ws.next()).await {
                Ok(Some(Ok(Ws::Binary(b)))) => outgoing.extend(hub.receive(0, &b)),
                Ok(Some(Ok(_))) | Err(_) => {}
                Ok(None) | Ok(Some(Err(_))) => break,
            }
            let mut s = shared.lock().expect("lock");
            if let Some(h) = hub.peer_heads(&doc, 0) {
                s.acknowledged
                    .entry(doc)
                    .or_default()
                    .extend(h.iter().copied());
            }
            s.heads.insert(
                doc,
                hub.document(&doc)
                    .map(|d| d.get_heads())
                    .unwrap_or_default(),
            );
        }
        hub.disconnect(0);
    }
}

/// Fetches one document from the relay on a fresh connection.
async fn fetch(addr: SocketAddr, token: &str, doc: DocumentId) -> Option<automerge::Automerge> {
    let mut ws = support::open_sync(addr, token).await?;
    let mut hub = SyncHub::new("auditor".into(), SharePolicy::OnRequest);
    let mut out = hub.connect(0, true);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut requested = false;
    while Instant::now() < deadline {
        for e in out.drain(..) {
            match e {
                Effect::Send { frame, .. } => ws.send(Ws::Binary(frame.into())).await.ok()?,
                Effect::Unavailable { .. } => return None,
                _ => {}
            }
        }
        if hub.is_ready(0) && !requested {
            requested = true;
            out.extend(hub.request(doc));
            continue;
        }
        if hub
            .document(&doc)
            .is_some_and(|d| FeedbackRecord::from_doc(d).is_ok())
        {
            // One quiet moment so the whole history has arrived.
            match tokio::time::timeout(Duration::from_millis(100), ws.next()).await {
                Ok(Some(Ok(Ws::Binary(b)))) => out.extend(hub.receive(0, &b)),
                _ => return hub.document(&doc).cloned(),
            }
            continue;
        }
        match tokio::time::timeout(Duration::from_millis(200), ws.next()).await {
            Ok(Some(Ok(Ws::Binary(b)))) => out.extend(hub.receive(0, &b)),
            Ok(Some(Ok(_))) | Err(_) => {}
            _ => return None,
        }
    }
    None
}

/// Waits until the relay holds every acknowledged change and each client's heads.
async fn audit(addr: SocketAddr, token: &str, shared: &Mutex<Shared>, round: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (acknowledged, heads) = {
            let s = shared.lock().expect("lock");
            (s.acknowledged.clone(), s.heads.clone())
        };
        let mut converged = true;
        for n in 0..CLIENTS {
            let doc = id(n);
            let Some(stored) = fetch(addr, token, doc).await else {
                converged = false;
                continue;
            };
            for h in acknowledged.get(&doc).into_iter().flatten() {
                assert!(
                    stored.get_change_meta_by_hash(h).is_some(),
                    "round {round}: change {h} was acknowledged but is missing after SIGKILL"
                );
            }
            converged &= heads.get(&doc).is_some_and(|h| *h == stored.get_heads());
        }
        if converged {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "round {round}: clients did not converge with the relay within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill_and_clients_converge() {
    let data = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let storage = support::storage_args(data.path()).await;
    let mut server = start(port, &storage);
    wait_listening(addr).await;
    let token = demo_token(addr).await;

    let editing = Arc::new(AtomicBool::new(true));
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Mutex::new(Shared::default()));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(tablet(
                n,
                addr,
                token.clone(),
                editing.clone(),
                stop.clone(),
                shared.clone(),
            ))
        })
        .collect();

    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.as_nanos() as u64)
        | 1;
    println!("random seed {seed}");
    for round in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        editing.store(true, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(100 + seed % 400)).await;
        server.kill(); // SIGKILL: no chance to flush or shut down
        server = start(port, &storage);
        wait_listening(addr).await;
        editing.store(false, Ordering::Relaxed);
        audit(addr, &token, &shared, round).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("client task");
    }
    let acknowledged: usize = shared
        .lock()
        .expect("lock")
        .acknowledged
        .values()
        .map(HashSet::len)
        .sum();
    println!("{KILLS} kills survived; {acknowledged} acknowledged heads verified");
    assert!(
        acknowledged > CLIENTS as usize * KILLS,
        "the load made progress between kills"
    );
    server.kill();
}
