//! `closeloop-server seed`: generated records land in storage with their
//! projection rows as the relay would store them, the same seed gives the
//! same rows, and the subcommand works on the real binary.

mod support;

use closeloop_server::seed::{SeedOptions, seed_records};
use closeloop_server::storage::{RecordOrder, Storage};
use closeloop_shared::access::Visibility;
use closeloop_shared::api::{RecordPage, RecordQuery};
use support::{TestApp, storage_args, storage_for};

const NOW: i64 = 1_790_000_000_000;

/// The rows a head-office list shows, oldest first, without the (random) ids.
type Row = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

async fn seeded(dir: &std::path::Path, records: usize, seed: u64) -> (Storage, Vec<Row>) {
    let storage = storage_for(dir).await;
    let sla = storage.sla_config(NOW).await.unwrap();
    let mut reported = Vec::new();
    let options = SeedOptions {
        records,
        seed,
        now_ms: NOW,
    };
    let stored = seed_records(&storage, &sla, options, |n| reported.push(n))
        .await
        .unwrap();
    assert_eq!(stored, records);
    assert_eq!(reported.last(), Some(&records), "progress reaches the end");
    let rows = storage
        .records(
            &RecordQuery::default(),
            Visibility::Everything,
            RecordOrder::ReceivedAsc,
            10_000,
            0,
            NOW,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.sla.facts.received_at_ms,
                r.channel,
                r.customer,
                r.description,
                r.feedback_type,
                r.priority,
                r.status,
                r.owner,
                r.department,
            )
        })
        .collect();
    (storage, rows)
}

#[tokio::test]
async fn seeded_records_are_projected_and_repeat_for_a_seed() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (storage, first) = seeded(a.path(), 300, 11).await;
    assert_eq!(first.len(), 300);
    let statuses: std::collections::BTreeSet<&str> = first.iter().map(|r| r.6.as_str()).collect();
    assert!(statuses.len() >= 5, "a spread of statuses: {statuses:?}");

    // The rows are what the documents project to: rebuilding changes nothing.
    let live = storage.projection_dump().await.unwrap();
    let sla = storage.sla_config(NOW).await.unwrap();
    assert_eq!(storage.rebuild_projection(&sla).await.unwrap(), (300, 0));
    assert_eq!(storage.projection_dump().await.unwrap(), live);
    storage.close().await;

    let (storage, again) = seeded(b.path(), 300, 11).await;
    storage.close().await;
    assert_eq!(first, again, "the same seed gives the same rows");
    let (storage, other) = seeded(c.path(), 300, 12).await;
    storage.close().await;
    assert_ne!(
        first.iter().map(|r| &r.3).collect::<Vec<_>>(),
        other.iter().map(|r| &r.3).collect::<Vec<_>>(),
        "another seed gives other records"
    );

    // Head office sees them through the API.
    let app = TestApp::spawn(a.path()).await;
    let token = app.token("office").await;
    let (status, page): (u16, RecordPage) = app
        .call("GET", "/api/records?per_page=50&page=2", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(page.total, 300);
    assert_eq!(page.records.len(), 50);
    app.stop().await;
}

#[tokio::test]
async fn the_seed_subcommand_stores_records() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_closeloop-server"))
        .args(storage_args(dir.path()).await)
        .args(["--log", "warn", "seed", "--records", "40", "--seed", "5"])
        .output()
        .expect("closeloop-server runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("seeded 40 records (seed 5)"), "{said}");
    let storage = storage_for(dir.path()).await;
    let stored = storage
        .count_records(&RecordQuery::default(), Visibility::Everything, 0)
        .await
        .unwrap();
    storage.close().await;
    assert_eq!(stored, 40);
}
