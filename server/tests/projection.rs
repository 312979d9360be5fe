//! The SQL read model follows every merged change, in the same transaction,
//! and `rebuild-projection` recreates exactly the same rows from the documents.

mod support;

use closeloop_shared::FeedbackRecord;
use closeloop_shared::record::{self, CustomerAnswer, Field};
use closeloop_shared::sla::{DueTimes, SlaConfig};
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::Action;
use support::{Client, TestApp, database_for, id, storage_args, storage_for, wait_stored};

/// The due moments the default SLA settings give the record as `client` has it.
fn expected_due(client: &Client, doc: closeloop_shared::sync::DocumentId) -> DueTimes {
    let r = FeedbackRecord::from_doc(client.hub.document(&doc).expect("held")).expect("readable");
    SlaConfig::default().due_times(r.priority, &r.sla_facts())
}

/// One edit of a record document.
type Edit<'a> = Box<dyn Fn(&mut automerge::Automerge) -> Result<(), record::RecordError> + 'a>;

#[tokio::test]
async fn the_projection_follows_changes_and_rebuilds_identically() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let t = Taxonomy::default();
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "冷柜温度过高").await;
    north.capture(id(2), "收银排队太久").await;
    wait_stored(app.addr, id(2)).await;
    // Head office triages and replies; the assignee works the record.
    let mut office = Client::connect(app.addr, "office").await;
    office
        .fetch(id(1))
        .await
        .expect("office reaches the record");
    let steps: Vec<(bool, Edit)> = vec![
        (
            true,
            Box::new(|d| record::set_field(d, &t, Field::Priority, "P1", "office", 10)),
        ),
        (
            true,
            Box::new(|d| record::transition(d, &Action::Register, None, "office", 11)),
        ),
        (
            true,
            Box::new(|d| {
                let a = Action::Assign {
                    owner: "north".into(),
                    department: "售后".into(),
                };
                record::transition(d, &a, Some("请尽快处理"), "office", 12)
            }),
        ),
        (
            false,
            Box::new(|d| record::transition(d, &Action::Start, None, "north", 13)),
        ),
        (
            false,
            Box::new(|d| record::append_log(d, "已联系门店调温", "north", 14)),
        ),
        (
            false,
            Box::new(|d| record::transition(d, &Action::AwaitCustomer, None, "north", 15)),
        ),
        (
            false,
            Box::new(|d| record::transition(d, &Action::CustomerResponded, None, "north", 16)),
        ),
        (
            false,
            Box::new(|d| record::transition(d, &Action::Resolve, None, "north", 17)),
        ),
        (
            true,
            Box::new(|d| {
                record::add_reply(d, &t, "store_box", "冷柜已调至4度", "office", 18)?;
                record::record_answer(d, CustomerAnswer::Satisfied, "", "office", 18)
            }),
        ),
        (
            true,
            Box::new(|d| record::transition(d, &Action::Reply, None, "office", 19)),
        ),
    ];
    for (by_office, step) in &steps {
        let c = if *by_office { &mut office } else { &mut north };
        // Each step starts from what the relay holds.
        c.round_trip().await;
        c.acked(id(1)).await;
        let fx = c.hub.change(id(1), step).unwrap();
        c.run(fx).await;
        c.acked(id(1)).await;
    }
    north.round_trip().await;
    north.acked(id(1)).await;
    let expected_due = expected_due(&north, id(1));
    app.stop().await;

    let storage = storage_for(dir.path()).await;
    let live = storage.projection_dump().await.unwrap();
    let records: Vec<&String> = live.iter().filter(|r| r.starts_with("records:")).collect();
    assert_eq!(records.len(), 2, "{live:#?}");
    let first = records
        .iter()
        .find(|r| r.contains(&id(1).to_string()))
        .unwrap();
    for expected in ["'replied'", "'P1'", "'north'", "'售后'", "'冷柜温度过高'"] {
        assert!(first.contains(expected), "{expected} missing in {first}");
    }
    // SLA due moments are stored for the record with a priority only.
    for (column, due) in [
        ("first_response_due_at", expected_due.first_response_ms),
        ("resolution_due_at", expected_due.resolution_ms),
    ] {
        let due = due.expect("a P1 record has both due moments");
        assert!(
            first.contains(&format!("{column}={due},"))
                || first.ends_with(&format!("{column}={due}")),
            "{column}={due} in {first}"
        );
        let second = records.iter().find(|r| r.contains(&id(2).to_string()));
        assert!(second.unwrap().contains(&format!("{column}=NULL")));
    }
    assert_eq!(
        live.iter()
            .filter(|r| r.starts_with("record_history:"))
            .count(),
        7
    );
    let replies: Vec<&String> = live
        .iter()
        .filter(|r| r.starts_with("record_replies:"))
        .collect();
    assert_eq!(replies.len(), 1, "{live:#?}");
    for expected in ["'冷柜已调至4度'", "'satisfied'", "'store_box'"] {
        assert!(
            replies[0].contains(expected),
            "{expected} in {}",
            replies[0]
        );
    }
    assert!(
        live.iter()
            .any(|r| r.starts_with("record_log:") && r.contains("已联系门店调温"))
    );

    assert_eq!(
        storage
            .rebuild_projection(&Default::default())
            .await
            .unwrap(),
        (2, 0)
    );
    assert_eq!(
        storage.projection_dump().await.unwrap(),
        live,
        "rebuilt rows equal the live ones"
    );
    storage.close().await;

    // The same through the command line.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_closeloop-server"))
        .args(storage_args(dir.path()).await)
        .arg("rebuild-projection")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 records"));
    let storage = storage_for(dir.path()).await;
    assert_eq!(storage.projection_dump().await.unwrap(), live);
}

#[tokio::test]
async fn an_upgrade_that_adds_projected_columns_fills_them_for_existing_records() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let t = Taxonomy::default();
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(3), "试衣间灯光太暗").await;
    let mut office = Client::connect(app.addr, "office").await;
    office
        .fetch(id(3))
        .await
        .expect("office reaches the record");
    let fx = office
        .hub
        .change(id(3), |d| {
            record::set_field(d, &t, Field::Priority, "P2", "office", 10)
        })
        .unwrap();
    office.run(fx).await;
    office.acked(id(3)).await;
    let due = expected_due(&office, id(3))
        .resolution_ms
        .expect("a P2 record has a resolution due moment");
    app.stop().await;
    let storage = storage_for(dir.path()).await;
    let live = storage.projection_dump().await.unwrap();
    storage.close().await;
    assert!(
        live.iter()
            .any(|r| r.contains("'P2'") && r.contains(&format!("resolution_due_at={due}"))),
        "{live:#?}"
    );

    // The database as a build before migration 8 left it, with due moments
    // not yet filled in (as after migration 7 on an older database).
    let url = database_for(dir.path()).await.unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            dir.path().join("closeloop.sqlite3").display()
        )
    });
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    for statement in [
        "UPDATE records SET first_response_due_at = NULL, resolution_due_at = NULL",
        "DROP TABLE record_attachments",
        "DELETE FROM schema_migrations WHERE version = 8",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    // Opening it migrates and rebuilds: every projected value is back.
    let storage = storage_for(dir.path()).await;
    assert_eq!(storage.projection_dump().await.unwrap(), live);
    storage.close().await;
}

/// A commit of more writes than one statement takes (several groups, the
/// documents interleaved) keeps each document's chunks in write order and
/// returns each write's chunk id, ascending, in write order.
#[tokio::test]
async fn a_large_batch_keeps_every_documents_chunks_in_write_order() {
    use closeloop_server::storage::ChunkWrite;
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_for(dir.path()).await;
    let docs = [id(41), id(42), id(43)];
    let writes: Vec<ChunkWrite> = (0..151u8)
        .map(|n| ChunkWrite {
            id: docs[usize::from(n) % docs.len()],
            chunk: vec![n; 3 + usize::from(n) % 5],
            team: Some("north".into()),
            changes: Vec::new(),
            author: None,
        })
        .collect();
    let ids = storage
        .append_batch(&writes, &[], 1_000, &SlaConfig::default())
        .await
        .expect("stored");
    assert_eq!(ids.len(), writes.len());
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    for (k, doc) in docs.iter().enumerate() {
        let stored = storage.load(doc).await.expect("read").expect("stored");
        let expected: Vec<(i64, Vec<u8>)> = writes
            .iter()
            .zip(&ids)
            .skip(k)
            .step_by(docs.len())
            .map(|(w, id)| (*id, w.chunk.clone()))
            .collect();
        let got: Vec<(i64, Vec<u8>)> = stored.chunk_ids.into_iter().zip(stored.chunks).collect();
        assert_eq!(got, expected, "document {k}");
        assert_eq!(stored.team.as_deref(), Some("north"));
    }
    storage.close().await;
}
