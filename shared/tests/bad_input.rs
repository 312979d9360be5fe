//! Damaged, foreign and hostile documents: reading never panics, and
//! every outcome is a record or a typed error.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ScalarValue};
use closeloop_shared::record::{FeedbackDraft, FeedbackRecord};
use closeloop_shared::sync::load_document;
use closeloop_shared::taxonomy::Taxonomy;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const KEYS: &[&str] = &[
    "schemaVersion",
    "receivedAt",
    "channel",
    "customer",
    "nickname",
    "description",
    "solution",
    "priority",
    "owner",
    "nature",
    "aspects",
    "attachments",
    "history",
    "log",
    "reply",
    "plan",
    "rootCause",
    "followUp",
    "v",
    "by",
    "at",
    "action",
    "from",
    "size",
    "sha256",
    "mediaType",
    "customerAnswer",
];

#[derive(Debug, Clone)]
enum Put {
    Scalar(usize, ScalarValue),
    Object(usize, u8),
    Nested(usize, usize, ScalarValue),
    ListItem(usize, ScalarValue),
}

fn scalar() -> impl Strategy<Value = ScalarValue> {
    prop_oneof![
        any::<i64>().prop_map(ScalarValue::Int),
        any::<u64>().prop_map(ScalarValue::Uint),
        any::<i64>().prop_map(ScalarValue::Timestamp),
        any::<f64>().prop_map(ScalarValue::F64),
        any::<bool>().prop_map(ScalarValue::Boolean),
        "[a-z0-9_]{0,8}".prop_map(|s| ScalarValue::Str(s.into())),
        Just(ScalarValue::Null),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(ScalarValue::Bytes),
    ]
}

fn put() -> impl Strategy<Value = Put> {
    let k = 0..KEYS.len();
    prop_oneof![
        (k.clone(), scalar()).prop_map(|(k, v)| Put::Scalar(k, v)),
        (k.clone(), 0u8..3).prop_map(|(k, t)| Put::Object(k, t)),
        (k.clone(), k.clone(), scalar()).prop_map(|(a, b, v)| Put::Nested(a, b, v)),
        (k, scalar()).prop_map(|(k, v)| Put::ListItem(k, v)),
    ]
}

/// Applies random writes over a valid record; individual writes may fail
/// (e.g. a nested put into a scalar): that is the test doing damage, not a result.
fn damage(doc: &mut Automerge, puts: &[Put]) {
    for p in puts {
        let _ = doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            match p {
                Put::Scalar(k, v) => tx.put(ROOT, KEYS[*k], v.clone())?,
                Put::Object(k, t) => {
                    let kind = [ObjType::Map, ObjType::List, ObjType::Text][*t as usize % 3];
                    tx.put_object(ROOT, KEYS[*k], kind)?;
                }
                Put::Nested(a, b, v) => {
                    if let Some((_, obj)) = automerge::ReadDoc::get(tx, ROOT, KEYS[*a])? {
                        tx.put(&obj, KEYS[*b], v.clone())?;
                    }
                }
                Put::ListItem(k, v) => {
                    if let Some((_, obj)) = automerge::ReadDoc::get(tx, ROOT, KEYS[*k])? {
                        tx.insert(&obj, 0, v.clone())?;
                    }
                }
            }
            Ok(())
        });
    }
}

fn valid() -> Automerge {
    let mut doc = Automerge::new();
    FeedbackDraft {
        channel: "phone".into(),
        nickname: "客户".into(),
        description: "描述".into(),
        ..FeedbackDraft::default()
    }
    .write_new(&mut doc, &Taxonomy::default(), "t", 1_795_000_000_000)
    .unwrap();
    doc
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(doc) = Automerge::load(&bytes) {
            let _ = FeedbackRecord::from_doc(&doc);
        }
        if let Ok(doc) = load_document([bytes.as_slice()]) {
            let _ = FeedbackRecord::from_doc(&doc);
        }
    }

    #[test]
    fn a_valid_save_with_flipped_bytes_never_panics(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut bytes = valid().save();
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] ^= b | 1;
        }
        if let Ok(doc) = Automerge::load(&bytes) {
            let _ = FeedbackRecord::from_doc(&doc);
        }
    }

    #[test]
    fn structurally_damaged_records_read_or_fail_cleanly(puts in proptest::collection::vec(put(), 1..12)) {
        let mut doc = valid();
        damage(&mut doc, &puts);
        match FeedbackRecord::from_doc(&doc) {
            Ok(r) => {
                prop_assert!(!r.customer.is_empty() || puts.iter().any(|p| matches!(p, Put::Scalar(k, _) if KEYS[*k] == "customer")));
                prop_assert!((0..7_258_118_400_000).contains(&r.received_at_ms));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}

/// Found by the property above on a fresh clone: `customer` replaced by a
/// map and the schema-1 `nickname` set to "" read as an empty customer.
#[test]
fn a_customer_that_is_not_a_string_is_an_error_not_a_fallback() {
    let mut doc = valid();
    damage(
        &mut doc,
        &[
            Put::Object(3, 0),
            Put::Scalar(4, ScalarValue::Str("".into())),
        ],
    );
    assert!(FeedbackRecord::from_doc(&doc).is_err());
}
