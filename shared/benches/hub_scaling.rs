//! `cargo xtask bench relay-scaling`: the relay's work per sync message as
//! the number of loaded documents and open connections grows. The relay's
//! per-message CPU is `SyncHub::receive` (storage IO is one append per
//! change regardless of load); it should stay flat, unlike a relay that
//! loops over every connection × document after each event.

use std::hint::black_box;
use std::time::{Duration, Instant};

use automerge::Automerge;
use closeloop_shared::record::{self, FeedbackDraft};
use closeloop_shared::sync::{ConnectionId, DocumentId, Effect, SharePolicy, SyncHub};
use closeloop_shared::taxonomy::Taxonomy;

const EDITS: usize = 400;

fn id(n: usize) -> DocumentId {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(n as u64 + 1).to_le_bytes());
    DocumentId::from_bytes(b)
}

/// A frame in flight: to the relay (`None`) or to client k, on a connection id.
type Frame = (Option<usize>, ConnectionId, Vec<u8>);

/// The relay and its clients on an in-memory network.
struct World {
    relay: SyncHub,
    clients: Vec<SyncHub>,
}

impl World {
    /// Routes effects: client k is connection k+1 on the relay; the relay is connection 0 on clients.
    fn route(from: Option<usize>, effects: Vec<Effect>) -> Vec<Frame> {
        effects
            .into_iter()
            .filter_map(|e| match e {
                Effect::Send { conn, frame } => Some(match from {
                    None => (Some(conn as usize - 1), 0, frame),
                    Some(k) => (None, k as ConnectionId + 1, frame),
                }),
                _ => None,
            })
            .collect()
    }

    /// Delivers until quiet; returns time spent in the relay on frames from `timed` client.
    fn run(&mut self, mut pending: Vec<Frame>, timed: Option<usize>) -> Duration {
        let mut spent = Duration::ZERO;
        while let Some((to, conn, frame)) = pending.pop() {
            let fx = match to {
                None => {
                    let t = Instant::now();
                    let fx = self.relay.receive(conn, &frame);
                    if timed.is_some_and(|k| conn == k as ConnectionId + 1) {
                        spent += t.elapsed();
                    }
                    fx
                }
                Some(k) => self.clients[k].receive(0, &frame),
            };
            pending.extend(World::route(to, fx));
        }
        spent
    }
}

fn scenario(loaded_docs: usize, connections: usize, base: &Automerge) -> f64 {
    let mut relay = SyncHub::new("relay".into(), SharePolicy::OnRequest);
    // Documents loaded in the relay that this traffic never touches.
    for n in 1_000..1_000 + loaded_docs {
        relay.add_document(id(n), base.fork());
    }
    let mut w = World {
        relay,
        clients: Vec::new(),
    };
    let mut pending = Vec::new();
    for k in 0..connections {
        let mut c = SyncHub::new(format!("client-{k}"), SharePolicy::AnnounceAll);
        // Each client follows its own record; clients 1 and 2 also follow client 0's.
        c.add_document(id(k), base.fork());
        w.relay.connect(k as ConnectionId + 1, false);
        let fx = c.connect(0, true);
        w.clients.push(c);
        pending.extend(World::route(Some(k), fx));
    }
    w.run(pending, None);
    for k in 1..3.min(connections) {
        let fx = w.clients[k].request(id(0));
        w.run(World::route(Some(k), fx), None);
    }
    let mut spent = Duration::ZERO;
    for i in 0..EDITS {
        let fx = w.clients[0]
            .change(id(0), |d| {
                record::append_log(d, &format!("跟进 {i}"), "tablet", i as i64)
            })
            .expect("edit");
        spent += w.run(World::route(Some(0), fx), Some(0));
    }
    black_box(&w.relay);
    spent.as_secs_f64() * 1e6 / EDITS as f64
}

fn main() {
    let mut base = Automerge::new();
    FeedbackDraft {
        channel: "phone".into(),
        nickname: "客户".into(),
        description: "基准记录".into(),
        ..FeedbackDraft::default()
    }
    .write_new(&mut base, &Taxonomy::default(), "bench", 1)
    .expect("valid");
    println!(
        "| loaded documents | connections | relay µs per message from the editing tablet | vs 100 × 5 |"
    );
    println!("|---:|---:|---:|---:|");
    let mut baseline = None;
    for (docs, conns) in [(100, 5), (10_000, 5), (100, 100), (10_000, 100)] {
        // Median of three runs of the whole scenario.
        let mut runs: Vec<f64> = (0..3).map(|_| scenario(docs, conns, &base)).collect();
        runs.sort_by(f64::total_cmp);
        let us = runs[1];
        let base_us = *baseline.get_or_insert(us);
        println!("| {docs} | {conns} | {us:.1} | {:.2} |", us / base_us);
    }
}
