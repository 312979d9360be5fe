//! Jobs on relays sharing PostgreSQL run on one relay at a time: the relay
//! escalating overdue records is SIGKILLed mid-job, two more relays compete
//! to take over, and every overdue record ends escalated exactly once —
//! none missed, none twice. PostgreSQL only: ignored on SQLite; `cargo
//! xtask test` runs it. Bounded: one kill, 60 s at most.

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use closeloop_server::storage::Storage;
use closeloop_shared::record::FeedbackRecord;
use closeloop_shared::sync::DocumentId;

/// A relay process; killed when dropped, so a failing test leaves no orphan.
struct Relay(Child);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(storage: &[std::ffi::OsString]) -> Relay {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    Relay(
        Command::new(env!("CARGO_BIN_EXE_closeloop-server"))
            .args(["--port", &port.to_string(), "--log", "error"])
            .args(["--dist-dir", "/nonexistent", "--escalation-seconds", "1"])
            .args(storage)
            .stdout(Stdio::null())
            .spawn()
            .expect("relay starts"),
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Each record's escalation count, as its document has it.
async fn escalations(storage: &Storage, ids: &[String]) -> BTreeMap<String, u32> {
    let mut counts = BTreeMap::new();
    for key in ids {
        let id: DocumentId = key.parse().unwrap();
        let stored = storage.load(&id).await.unwrap().expect("stored");
        let doc = closeloop_shared::sync::load_document(stored.chunks.iter().map(Vec::as_slice))
            .expect("loads");
        let record = FeedbackRecord::from_doc(&doc).expect("a record");
        counts.insert(key.clone(), record.workflow.escalation);
    }
    counts
}

async fn still_due(storage: &Storage) -> usize {
    storage
        .due_for_escalation(now_ms(), 10_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn a_job_whose_relay_dies_mid_run_is_finished_once_by_another() {
    assert!(
        std::env::var_os("CLOSELOOP_TEST_POSTGRES").is_some(),
        "scale-out needs PostgreSQL: run it with `cargo xtask test`"
    );
    let dir = tempfile::tempdir().unwrap();
    // A year of records: many open ones are long overdue now.
    support::seed(dir.path(), 4_000, 17, now_ms()).await;
    let storage = support::storage_for(dir.path()).await;
    let due: Vec<String> = storage
        .due_for_escalation(now_ms(), 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.document_id)
        .collect();
    assert!(
        due.len() > 150,
        "more overdue records than one run escalates: {}",
        due.len()
    );
    let before = escalations(&storage, &due).await;
    let args = support::storage_args(dir.path()).await;

    // Relay one takes the job and is killed once it is part way through.
    let mut one = start(&args);
    let deadline = Instant::now() + Duration::from_secs(30);
    while still_due(&storage).await == due.len() {
        assert!(Instant::now() < deadline, "relay one never escalated");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = one.0.kill(); // SIGKILL: no chance to release anything
    let _ = one.0.wait();
    let left = still_due(&storage).await;
    println!("relay one killed with {left} of {} still due", due.len());
    assert!(left > 0, "relay one finished before it was killed");

    // Two relays compete for what is left.
    let _two = start(&args);
    let _three = start(&args);
    let deadline = Instant::now() + Duration::from_secs(60);
    while still_due(&storage).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the job was not finished by the other relays"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = escalations(&storage, &due).await;
    let twice: Vec<_> = due
        .iter()
        .filter(|k| after[*k] != before[*k] + 1)
        .map(|k| (k, before[k], after[k]))
        .collect();
    assert!(
        twice.is_empty(),
        "{} records not escalated exactly once (before, after), e.g. {:?}",
        twice.len(),
        &twice[..twice.len().min(5)]
    );
    storage.close().await;
}
