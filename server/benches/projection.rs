//! `cargo xtask bench projection`: what one more change costs on a record
//! with 10 and with 10,000 processing-log entries (the read model now
//! writes only what changed), and how long loading a document takes from
//! every chunk ever written and from one compacted save. SQLite in a
//! temporary directory, release-grade build (`cargo bench`). Prints a
//! Markdown table for `docs/benchmarks.md`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::Automerge;
use closeloop_server::storage::{ChunkWrite, RecordUpdate, Storage};
use closeloop_shared::record::{self, FeedbackDraft, FeedbackRecord};
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::sync::{DocumentId, load_document};
use closeloop_shared::taxonomy::Taxonomy;

/// Changes measured per row; the median is reported.
const SAMPLES: usize = 15;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1000.0
}

/// A record captured and then given `entries` log entries, one change each;
/// returns the document and each change as its own chunk.
fn record_with_log(entries: usize) -> (Automerge, Vec<Vec<u8>>) {
    let mut doc = Automerge::new();
    FeedbackDraft {
        channel: "phone".into(),
        nickname: "长期客户".into(),
        description: "会员积分多次未到账，需要持续跟进。".into(),
        ..FeedbackDraft::default()
    }
    .write_new(&mut doc, &Taxonomy::default(), "bench", 1_795_000_000_000)
    .expect("valid draft");
    let mut chunks = vec![doc.save()];
    for n in 0..entries {
        let heads = doc.get_heads();
        record::append_log(
            &mut doc,
            &format!("第 {n} 次跟进：已致电客户"),
            "li",
            n as i64 + 2,
        )
        .expect("log entry");
        chunks.push(doc.save_after(&heads));
    }
    (doc, chunks)
}

fn write(id: DocumentId, chunk: Vec<u8>) -> ChunkWrite {
    ChunkWrite {
        id,
        chunk,
        team: Some("north".into()),
        changes: Vec::new(),
        author: None,
    }
}

/// `(incremental ms, full rewrite ms, record read ms, load ms, load after compaction ms, chunks)`.
async fn measure(storage: &Storage, n: u8, entries: usize) -> [f64; 6] {
    let sla = SlaConfig::default();
    let id = DocumentId::from_bytes([n; 16]);
    let (mut doc, chunks) = record_with_log(entries);
    let chunk_count = chunks.len();
    let record = Arc::new(FeedbackRecord::from_doc(&doc).expect("readable"));
    let writes: Vec<ChunkWrite> = chunks.into_iter().map(|c| write(id, c)).collect();
    let first = RecordUpdate {
        id,
        before: None,
        after: record.clone(),
    };
    storage
        .append_batch(&writes, &[first], 1, &sla)
        .await
        .expect("stored");
    let mut before = record;
    let (mut incremental, mut full, mut read) = (Vec::new(), Vec::new(), Vec::new());
    for s in 0..SAMPLES * 2 {
        let heads = doc.get_heads();
        record::append_log(&mut doc, "再次跟进", "li", 1_000_000 + s as i64).expect("entry");
        let chunk = doc.save_after(&heads);
        let started = Instant::now();
        let after = Arc::new(FeedbackRecord::from_doc(&doc).expect("readable"));
        read.push(started.elapsed());
        // Alternate: rows brought up to date from `before`, or all rewritten.
        let keep = s % 2 == 0;
        let update = RecordUpdate {
            id,
            before: keep.then(|| before.clone()),
            after: after.clone(),
        };
        let started = Instant::now();
        storage
            .append_batch(&[write(id, chunk)], &[update], 2, &sla)
            .await
            .expect("stored");
        if keep { &mut incremental } else { &mut full }.push(started.elapsed());
        before = after;
    }
    let load = |storage: &Storage| {
        let storage = storage.clone();
        async move {
            let mut times = Vec::new();
            let mut last = None;
            for _ in 0..5 {
                let started = Instant::now();
                let stored = storage.load(&id).await.expect("load").expect("stored");
                let doc = load_document(stored.chunks.iter().map(Vec::as_slice)).expect("loads");
                times.push(started.elapsed());
                last = Some((stored, doc));
            }
            (median(times), last.expect("loaded"))
        }
    };
    let (load_many, (stored, loaded)) = load(storage).await;
    let (first_id, last_id) = (stored.chunk_ids[0], *stored.chunk_ids.last().expect("ids"));
    storage
        .compact(&id, first_id, last_id, &loaded.save())
        .await
        .expect("compacted");
    let (load_one, (after, _)) = load(storage).await;
    assert_eq!(after.chunks.len(), 1, "one save after compaction");
    [
        median(incremental),
        median(full),
        median(read),
        load_many,
        load_one,
        (chunk_count + SAMPLES * 2) as f64,
    ]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let storage = Storage::open(dir.path()).await.expect("storage");
        println!("| log entries | one more change: rows that changed (ms) | same change, every row rewritten (ms) | reading the record from its document (ms) | load from every chunk (ms) | load after compaction (ms) |");
        println!("|---:|---:|---:|---:|---:|---:|");
        for (n, entries) in [(1u8, 10usize), (2, 10_000)] {
            let [inc, full, read, many, one, chunks] = measure(&storage, n, entries).await;
            println!(
                "| {entries} | {inc:.2} | {full:.2} | {read:.2} | {many:.1} ({chunks} chunks) | {one:.1} |"
            );
        }
        storage.close().await;
    });
}
