//! `cargo xtask bench relay`: a load generator against the real relay
//! binary on loopback. Ten tablets each capture 100 records and make 20
//! changes to each (Chinese text, shaped like real feedback), sending every
//! change as it is made; then a head-office client measures fan-out latency,
//! fresh pulls of 1,000 and 10,000 records, and the server's CPU and peak RSS.
//! Prints a Markdown table for `docs/benchmarks.md`.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash, ReadDoc};
use closeloop_shared::record::{self, FeedbackDraft};
use closeloop_shared::sync::{DocumentId, Effect, SharePolicy, SyncHub};
use closeloop_shared::taxonomy::Taxonomy;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

// The integration tests' raw HTTP client and sign-in, shared rather than copied.
#[path = "../tests/support/mod.rs"]
mod support;
use support::http;

const TABLETS: usize = 10;
const RECORDS: usize = 100;
const CHANGES: usize = 20;
/// Extra records (captured offline, synced in one burst) for the 10,000 pull.
const BURST_RECORDS: usize = 900;
const FANOUT_EDITS: usize = 200;
const PASSWORD: &str = "bench-password-2026";

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Ws>;

/// A sync client: the shared hub over a real socket, frames read by a task.
struct Peer {
    hub: SyncHub,
    sink: Sink,
    rx: mpsc::UnboundedReceiver<(Instant, Vec<u8>)>,
}

impl Peer {
    async fn connect(addr: SocketAddr, token: &str, name: &str) -> Peer {
        let mut req = format!("ws://{addr}/sync")
            .into_client_request()
            .expect("request");
        let auth = format!("Bearer {token}").parse().expect("header");
        req.headers_mut().insert("authorization", auth);
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("connect");
        let (sink, mut stream) = ws.split();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                if let Ws::Binary(b) = msg
                    && tx.send((Instant::now(), b.to_vec())).is_err()
                {
                    return;
                }
            }
        });
        let mut peer = Peer {
            hub: SyncHub::new(name.into(), SharePolicy::AnnounceAll),
            sink,
            rx,
        };
        let fx = peer.hub.connect(0, true);
        peer.send(fx).await;
        peer.pump_until(|p| p.hub.is_ready(0), 10).await;
        peer
    }

    async fn send(&mut self, effects: Vec<Effect>) {
        for e in effects {
            if let Effect::Send { frame, .. } = e {
                self.sink
                    .send(Ws::Binary(frame.into()))
                    .await
                    .expect("send");
            }
        }
    }

    async fn handle(&mut self, frame: &[u8]) {
        let fx = self.hub.receive(0, frame);
        self.send(fx).await;
    }

    /// Handles whatever has arrived, without waiting.
    async fn drain(&mut self) {
        while let Ok((_, frame)) = self.rx.try_recv() {
            self.handle(&frame).await;
        }
    }

    async fn pump_until(&mut self, done: impl Fn(&Peer) -> bool, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some((_, frame))) => self.handle(&frame).await,
                _ => panic!("bench client: condition not reached within {secs} s"),
            }
        }
    }

    /// Whether the document has arrived (a requested one starts empty).
    fn loaded(&self, id: &DocumentId) -> bool {
        self.hub
            .document(id)
            .is_some_and(|d| !d.get_heads().is_empty())
    }

    /// Requests documents and waits until all have arrived.
    async fn follow(&mut self, ids: &[DocumentId]) {
        for id in ids {
            let fx = self.hub.request(*id);
            self.send(fx).await;
        }
        self.pump_until(|p| ids.iter().all(|id| p.loaded(id)), 30)
            .await;
    }

    /// Whether the relay has acknowledged every change of `ids`.
    fn acked(&self, ids: &[DocumentId]) -> bool {
        ids.iter().all(|id| {
            let mine = self.hub.document(id).map(Automerge::get_heads);
            mine.is_some() && self.hub.peer_heads(id, 0).map(<[_]>::to_vec) == mine
        })
    }
}

fn record_id(tablet: usize, n: usize) -> DocumentId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(tablet as u64).to_be_bytes());
    b[8..].copy_from_slice(&(n as u64).to_be_bytes());
    b[0] = 0xB0;
    DocumentId::from_bytes(b)
}

const TEXTS: [&str; 4] = [
    "门店空调温度过高，顾客反映试衣间闷热，希望尽快处理。",
    "会员积分没有到账，已经等了一周，客服电话一直占线。",
    "快递包装破损，商品外壳有划痕，要求换货并赔偿运费。",
    "收银台排队时间太长，只开了两个窗口，周末尤其严重。",
];

fn new_record(doc: &mut Automerge, tablet: usize, n: usize) {
    let draft = FeedbackDraft {
        channel: "face_to_face".into(),
        nickname: format!("客户{tablet}-{n}"),
        description: TEXTS[n % TEXTS.len()].into(),
        ..FeedbackDraft::default()
    };
    draft
        .write_new(
            doc,
            &Taxonomy::default(),
            &format!("tablet{tablet}"),
            1_790_000_000_000,
        )
        .expect("valid record");
}

/// The `k`-th follow-up change (k ≥ 1) by the user `by`: log entries and
/// description edits.
fn follow_up(doc: &mut Automerge, n: usize, k: usize, by: &str) {
    let at = 1_790_000_000_000 + k as i64 * 60_000;
    let result = if k.is_multiple_of(2) {
        let text = format!("{}（第{k}次补充：店长已到场查看）", TEXTS[n % TEXTS.len()]);
        record::edit_description(doc, &text, at)
    } else {
        record::append_log(
            doc,
            &format!("已电话联系客户，第{k}次跟进，约定明天回访。"),
            by,
            at,
        )
    };
    result.expect("valid change");
}

/// One tablet online: every change goes out as soon as it is made.
async fn tablet_online(addr: SocketAddr, token: String, t: usize) -> usize {
    let mut p = Peer::connect(addr, &token, &format!("tablet-{t}")).await;
    let ids: Vec<DocumentId> = (0..RECORDS).map(|n| record_id(t, n)).collect();
    for (n, id) in ids.iter().enumerate() {
        let fx = p
            .hub
            .change(*id, |d| {
                new_record(d, t, n);
                Ok::<_, ()>(())
            })
            .expect("create");
        p.send(fx).await;
        for k in 1..CHANGES {
            let fx = p
                .hub
                .change(*id, |d| {
                    follow_up(d, n, k, &format!("tablet{t}"));
                    Ok::<_, ()>(())
                })
                .expect("change");
            p.send(fx).await;
            p.drain().await;
        }
    }
    p.pump_until(|p| p.acked(&ids), 300).await;
    RECORDS * CHANGES
}

/// One tablet back from a day offline: captures first, then one sync burst.
async fn tablet_burst(addr: SocketAddr, token: String, t: usize) -> usize {
    let mut hub = SyncHub::new(format!("tablet-burst-{t}"), SharePolicy::AnnounceAll);
    let ids: Vec<DocumentId> = (0..BURST_RECORDS).map(|n| record_id(t + 100, n)).collect();
    for (n, id) in ids.iter().enumerate() {
        hub.change(*id, |d| {
            new_record(d, t, n);
            follow_up(d, n, 1, &format!("tablet{t}"));
            Ok::<_, ()>(())
        })
        .expect("offline capture");
    }
    let mut p = Peer::connect(addr, &token, &format!("tablet-burst-{t}")).await;
    for id in &ids {
        let doc = hub.document(id).expect("captured").clone();
        let fx = p.hub.add_document(*id, doc);
        p.send(fx).await;
        p.drain().await;
    }
    p.pump_until(|p| p.acked(&ids), 300).await;
    BURST_RECORDS * 2
}

/// A fresh head-office client pulls every record in the change feed;
/// at most `window` requests are outstanding. Returns (records, seconds).
async fn pull_all(addr: SocketAddr, token: &str, window: usize) -> (usize, f64) {
    let started = Instant::now();
    let mut ids = Vec::new();
    let mut after = 0i64;
    loop {
        let page = http(
            addr,
            "GET",
            &format!("/api/documents?after={after}&limit=1000"),
            Some(token),
            None,
        )
        .await;
        let v: serde_json::Value = serde_json::from_str(body(&page)).expect("feed JSON");
        let docs = v["documents"].as_array().cloned().unwrap_or_default();
        if docs.is_empty() {
            break;
        }
        for d in &docs {
            ids.push(
                d["id"]
                    .as_str()
                    .expect("id")
                    .parse::<DocumentId>()
                    .expect("document id"),
            );
        }
        after = v["next"].as_i64().expect("next");
    }
    let mut p = Peer::connect(addr, token, "office-pull").await;
    let mut next = 0;
    let mut done = 0;
    while done < ids.len() {
        while next < ids.len() && next - done < window {
            let fx = p.hub.request(ids[next]);
            p.send(fx).await;
            next += 1;
        }
        let (_, frame) = tokio::time::timeout(Duration::from_secs(60), p.rx.recv())
            .await
            .expect("pull stalled")
            .expect("socket open");
        p.handle(&frame).await;
        while done < next && p.loaded(&ids[done]) {
            done += 1;
        }
    }
    (ids.len(), started.elapsed().as_secs_f64())
}

/// One tablet edits records head office follows (through another relay
/// when there are several); returns latencies in ms.
async fn fanout(
    tablet_addr: SocketAddr,
    office_addr: SocketAddr,
    tablet_token: &str,
    office_token: &str,
) -> Vec<f64> {
    let ids: Vec<DocumentId> = (0..20).map(|n| record_id(0, n)).collect();
    let mut office = Peer::connect(office_addr, office_token, "office-fanout").await;
    office.follow(&ids).await;
    let mut tablet = Peer::connect(tablet_addr, tablet_token, "tablet-fanout").await;
    tablet.follow(&ids).await;
    let sent: Arc<Mutex<Vec<(DocumentId, ChangeHash, Instant)>>> = Arc::default();
    let watcher = {
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut seen = 0;
            let deadline = Instant::now() + Duration::from_secs(60);
            while seen < FANOUT_EDITS && Instant::now() < deadline {
                let Ok(Some((at, frame))) =
                    tokio::time::timeout(Duration::from_secs(5), office.rx.recv()).await
                else {
                    break;
                };
                office.handle(&frame).await;
                let sent = sent.lock().expect("lock").clone();
                for (id, hash, t0) in sent.iter().skip(seen) {
                    let arrived = office
                        .hub
                        .document(id)
                        .is_some_and(|d| d.get_change_by_hash(hash).is_some());
                    if !arrived {
                        break;
                    }
                    latencies.push(at.duration_since(*t0).as_secs_f64() * 1000.0);
                    seen += 1;
                }
            }
            latencies
        })
    };
    for k in 0..FANOUT_EDITS {
        let id = ids[k % ids.len()];
        let fx = tablet
            .hub
            .change(id, |d| {
                // Records of tablet 0, edited with tablet 0's token.
                follow_up(d, k, 100 + k, "tablet0");
                Ok::<_, ()>(())
            })
            .expect("edit");
        let hash = tablet
            .hub
            .document(&id)
            .and_then(|d| d.get_heads().first().copied())
            .expect("head");
        sent.lock().expect("lock").push((id, hash, Instant::now()));
        tablet.send(fx).await;
        tablet.drain().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    watcher.await.expect("watcher")
}

/// Runs one task per tablet at once; returns the changes they made, the
/// seconds it took and the relays' CPU seconds meanwhile.
async fn every_tablet(
    pids: &[u32],
    tokens: &[String],
    start: impl Fn(String, usize) -> tokio::task::JoinHandle<usize>,
) -> (usize, f64, f64) {
    let cpu = |pids: &[u32]| pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>();
    let before = cpu(pids);
    let started = Instant::now();
    let tasks: Vec<_> = (0..TABLETS).map(|t| start(tokens[t].clone(), t)).collect();
    let mut changes = 0;
    for task in tasks {
        changes += task.await.expect("tablet");
    }
    (changes, started.elapsed().as_secs_f64(), cpu(pids) - before)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// The largest peak resident memory of the relays, in MB.
fn peak_rss(pids: &[u32]) -> f64 {
    pids.iter()
        .map(|p| peak_rss_mb(*p))
        .fold(f64::NAN, f64::max)
}

/// Peak resident memory of a process in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server_bin() -> PathBuf {
    std::env::var_os("CLOSELOOP_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release-server/closeloop-server")
        })
}

fn storage_args(data: &Path) -> Vec<std::ffi::OsString> {
    let mut args = vec!["--data-dir".into(), data.into()];
    if let Some(url) = std::env::var_os("CLOSELOOP_BENCH_DATABASE") {
        args.extend(["--database".into(), url]);
    }
    args
}

fn add_user(data: &Path, name: &str, role: &str, team: Option<&str>) {
    let mut c = Command::new(server_bin());
    c.args(storage_args(data))
        .args(["--log", "warn", "user", "add", name, "--role", role]);
    if let Some(t) = team {
        c.args(["--team", t]);
    }
    let out = c
        .env("CLOSELOOP_PASSWORD", PASSWORD)
        .output()
        .expect("closeloop-server runs");
    assert!(
        out.status.success(),
        "user add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

async fn login(addr: SocketAddr, user: &str) -> String {
    support::login_as(addr, user, PASSWORD).await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let data = tempfile::tempdir().expect("temp dir");
    for t in 0..TABLETS {
        add_user(
            data.path(),
            &format!("tablet{t}"),
            "field_staff",
            Some("north"),
        );
    }
    add_user(data.path(), "office", "head_office", None);
    // Several relays share a PostgreSQL database; tablet t uses relay
    // t mod n and head office the last one.
    let relays: usize = std::env::var("CLOSELOOP_BENCH_RELAYS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let mut servers = Vec::new();
    let mut addrs = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..relays {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let child = Command::new(server_bin())
            .args(storage_args(data.path()))
            .args([
                "--port",
                &port.to_string(),
                "--log",
                "warn",
                "--dist-dir",
                "/nonexistent",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("server starts");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        pids.push(child.id());
        servers.push(Server(child));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).await.is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        addrs.push(addr);
    }
    let at = move |t: usize| addrs[t % relays];
    let office_addr = at(relays - 1);
    let mut tokens = Vec::new();
    for t in 0..TABLETS {
        tokens.push(login(at(t), &format!("tablet{t}")).await);
    }
    let office = login(office_addr, "office").await;

    let (changes, ingest_s, ingest_cpu) = every_tablet(&pids, &tokens, |token, t| {
        tokio::spawn(tablet_online(at(t), token, t))
    })
    .await;

    let mut latencies = fanout(at(0), office_addr, &tokens[0], &office).await;
    latencies.sort_by(f64::total_cmp);
    let (pulled_1k, pull_1k_s) = pull_all(office_addr, &office, 200).await;
    let rss_main = peak_rss(&pids);

    let (burst_changes, burst_s, burst_cpu) = every_tablet(&pids, &tokens, |token, t| {
        tokio::spawn(tablet_burst(at(t), token, t))
    })
    .await;
    let (pulled_10k, pull_10k_s) = pull_all(office_addr, &office, 200).await;
    let rss = peak_rss(&pids);
    let backend = match (std::env::var_os("CLOSELOOP_BENCH_DATABASE"), relays) {
        (None, _) => "SQLite".to_string(),
        (Some(_), 1) => "PostgreSQL".to_string(),
        (Some(_), n) => format!("PostgreSQL, {n} relays; CPU summed, RSS the largest relay's"),
    };

    println!("| measurement ({backend}) | result |");
    println!("|---|---:|");
    println!(
        "| online ingest: {TABLETS} tablets × {RECORDS} records × {CHANGES} changes, each change its own message | {changes} changes in {ingest_s:.2} s = **{:.0} changes/s** |",
        changes as f64 / ingest_s
    );
    println!("| relay CPU for that load (user + system) | **{ingest_cpu:.2} s** |");
    println!(
        "| offline burst: {TABLETS} tablets reconnect with {BURST_RECORDS} records × 2 changes each | {burst_changes} changes in {burst_s:.2} s = {:.0} changes/s, CPU {burst_cpu:.2} s |",
        burst_changes as f64 / burst_s
    );
    println!(
        "| fan-out tablet edit → head office receipt ({} of {FANOUT_EDITS} edits) | p50 **{:.1} ms**, p95 **{:.1} ms** |",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95)
    );
    println!(
        "| fresh head-office pull, feed + sync | {pulled_1k} records in **{pull_1k_s:.2} s** |"
    );
    println!(
        "| fresh head-office pull, feed + sync | {pulled_10k} records in **{pull_10k_s:.2} s** |"
    );
    println!(
        "| server peak RSS (VmHWM) through the online load, fan-out and the 1,000 pull | **{rss_main:.0} MB** |"
    );
    println!("| server peak RSS after the burst and the 10,000 pull | {rss:.0} MB |");
    assert_eq!(latencies.len(), FANOUT_EDITS, "every fan-out edit arrived");
    assert_eq!(pulled_1k, TABLETS * RECORDS);
    assert_eq!(pulled_10k, TABLETS * (RECORDS + BURST_RECORDS));
}
