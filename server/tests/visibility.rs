//! One access rule: for random users and records, what SQL returns (change
//! feed, record list, record count) is exactly what `Visibility::admits`
//! says in Rust. Runs on SQLite, and on PostgreSQL under `cargo xtask test`.

mod support;

use automerge::Automerge;
use closeloop_server::storage::{RecordOrder, Storage};
use closeloop_shared::access::{Principal, RecordScope, Role};
use closeloop_shared::api::RecordQuery;
use closeloop_shared::record::{self, Field};
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::sync::DocumentId;
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::{FeedbackDraft, FeedbackRecord};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

const TEAMS: [Option<&str>; 3] = [None, Some("north"), Some("south")];
const NAMES: [&str; 3] = ["li", "wang", "zhao"];

#[derive(Debug, Clone)]
struct Rec {
    team: Option<&'static str>,
    owner: Option<&'static str>,
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        prop::sample::select(TEAMS.to_vec()),
        prop::option::of(prop::sample::select(NAMES.to_vec())),
    )
        .prop_map(|(team, owner)| Rec { team, owner })
}

fn user() -> impl Strategy<Value = Principal> {
    (
        prop::sample::select(Role::ALL.to_vec()),
        prop::sample::select(TEAMS.to_vec()),
        prop::sample::select(NAMES.to_vec()),
    )
        .prop_map(|(role, team, name)| Principal {
            user_id: 1,
            username: name.into(),
            role,
            team: team.map(str::to_string),
        })
}

/// Stores a record document with the given team and assignee; returns its id.
async fn store(storage: &Storage, n: u64, r: &Rec) -> String {
    let mut doc = Automerge::new();
    let taxonomy = Taxonomy::default();
    FeedbackDraft {
        channel: "phone".into(),
        nickname: "客户".into(),
        description: "说明".into(),
        ..FeedbackDraft::default()
    }
    .write_new(&mut doc, &taxonomy, "t", 1_795_000_000_000)
    .expect("valid draft");
    if let Some(owner) = r.owner {
        record::set_field(
            &mut doc,
            &taxonomy,
            Field::Owner,
            owner,
            "office",
            1_795_000_000_001,
        )
        .expect("owner");
    }
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    let id = DocumentId::from_bytes(bytes);
    let record = FeedbackRecord::from_doc(&doc).expect("readable");
    storage
        .append(
            &id,
            &doc.save(),
            1,
            r.team,
            Some(&record),
            &SlaConfig::default(),
        )
        .await
        .expect("stored");
    id.to_string()
}

#[test]
fn sql_and_rust_agree_on_who_sees_which_record() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = rt.block_on(support::storage_for(dir.path()));
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    });
    // The runner takes a `Fn`: counters live in cells.
    let stored = std::cell::Cell::new(0u64);
    let all = std::cell::RefCell::new(Vec::<Rec>::new());
    let result = runner.run(
        &(
            prop::collection::vec(rec(), 1..8),
            prop::collection::vec(user(), 1..6),
        ),
        |(recs, users)| {
            rt.block_on(async {
                // Each case sees only its own records: those after the feed's head.
                let start = storage
                    .changed_after(
                        0,
                        i64::MAX,
                        closeloop_shared::access::Visibility::Everything,
                    )
                    .await
                    .expect("feed")
                    .last()
                    .map_or(0, |d| d.seq);
                let mut ids = Vec::new();
                for r in &recs {
                    stored.set(stored.get() + 1);
                    ids.push((store(&storage, stored.get(), r).await, r.clone()));
                    all.borrow_mut().push(r.clone());
                }
                for u in &users {
                    let mut want: Vec<String> = ids
                        .iter()
                        .filter(|(_, r)| {
                            u.visibility().admits(RecordScope {
                                team: r.team,
                                owner: r.owner,
                            })
                        })
                        .map(|(id, _)| id.clone())
                        .collect();
                    want.sort();
                    let mut fed: Vec<String> = storage
                        .changed_after(start, i64::MAX, u.visibility())
                        .await
                        .expect("feed")
                        .into_iter()
                        .map(|d| d.id)
                        .collect();
                    fed.sort();
                    prop_assert_eq!(&fed, &want, "change feed for {:?}", u);
                    let case: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
                    let mut listed: Vec<String> = storage
                        .records(
                            &RecordQuery::default(),
                            u.visibility(),
                            RecordOrder::ReceivedDesc,
                            i64::MAX,
                            0,
                            0,
                        )
                        .await
                        .expect("list")
                        .into_iter()
                        .map(|r| r.id)
                        .filter(|id| case.contains(id))
                        .collect();
                    listed.sort();
                    prop_assert_eq!(&listed, &want, "record list for {:?}", u);
                    let counted = storage
                        .count_records(&RecordQuery::default(), u.visibility(), 0)
                        .await
                        .expect("count");
                    let admitted = all
                        .borrow()
                        .iter()
                        .filter(|r| {
                            u.visibility().admits(RecordScope {
                                team: r.team,
                                owner: r.owner,
                            })
                        })
                        .count();
                    prop_assert_eq!(counted, admitted as i64, "record count for {:?}", u);
                }
                Ok(())
            })
        },
    );
    rt.block_on(storage.close());
    if let Err(e) = result {
        panic!("{e}");
    }
}
