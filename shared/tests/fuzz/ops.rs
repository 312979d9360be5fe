//! Hostile edits to a record document, as a program of operations a
//! modified client could write at any path: puts, deletes, inserts, new
//! objects, counters, text splices and marks, over several changes and
//! actors. A program is five bytes per operation, so byte mutations and
//! the proptest strategy below explore the same space.

use std::sync::OnceLock;

use automerge::marks::{ExpandMark, Mark};
use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{ActorId, Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, ValueRef};
use closeloop_shared::FeedbackDraft;
use closeloop_shared::access::{Principal, Role};
use closeloop_shared::record;
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::Action;
use proptest::prelude::*;

/// Capture time of the base records.
pub const T0: i64 = 1_795_000_000_000;
/// Who captured the base records.
pub const CAPTURER: &str = "field-north";

/// Keys a program writes: the record's own, the nested ones, and keys the
/// record has no place for.
const KEYS: [&str; 32] = [
    "schemaVersion",
    "receivedAt",
    "capturedBy",
    "channel",
    "source",
    "customer",
    "orderNumber",
    "contactRef",
    "description",
    "solution",
    "aspects",
    "attachments",
    "history",
    "log",
    "priority",
    "owner",
    "department",
    "nature",
    "rootCause",
    "plan",
    "reply",
    "followUp",
    "satisfactionLink",
    "v",
    "by",
    "at",
    "action",
    "text",
    "product.quality",
    "approvedByCeo",
    "",
    "__proto__",
];
/// Root keys nobody may write after creation, or that the record lacks.
const NEVER_AT_ROOT: [&str; 5] = [
    "schemaVersion",
    "capturedBy",
    "approvedByCeo",
    "",
    "__proto__",
];
const USERS: [&str; 5] = [CAPTURER, "field-north-2", "office", "boss", "admin"];
const WORDS: [&str; 8] = [
    "register",
    "assign",
    "start",
    "resolve",
    "close",
    "P1",
    "complaint",
    "冰箱不制冷",
];
/// Operations one program makes at most.
pub const MAX_OPS: usize = 64;
/// Text lengths around the record's limits.
const LENGTHS: [usize; 6] = [0, 1, 200, 201, 10_000, 10_001];

/// One operation; each field selects from the document or a table, so
/// any five bytes are a valid operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub kind: u8,
    pub obj: u8,
    pub prop: u8,
    pub value: u8,
    pub extra: u8,
}

impl Op {
    pub fn to_bytes(ops: &[Op]) -> Vec<u8> {
        ops.iter()
            .flat_map(|o| [o.kind, o.obj, o.prop, o.value, o.extra])
            .collect()
    }

    /// Any bytes: a missing tail of the last operation reads as zeros;
    /// at most [`MAX_OPS`] operations, so one input stays quick.
    pub fn from_bytes(bytes: &[u8]) -> Vec<Op> {
        bytes
            .chunks(5)
            .take(MAX_OPS)
            .map(|c| {
                let at = |i: usize| c.get(i).copied().unwrap_or(0);
                Op {
                    kind: at(0),
                    obj: at(1),
                    prop: at(2),
                    value: at(3),
                    extra: at(4),
                }
            })
            .collect()
    }
}

/// Programs of up to `max` operations, weighted towards writes.
pub fn program(max: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        (0u8..10, any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()).prop_map(
            |(kind, obj, prop, value, extra)| Op {
                kind,
                obj,
                prop,
                value,
                extra,
            },
        ),
        0..max,
    )
}

fn scalar(value: u8, extra: u8) -> ScalarValue {
    let pick = |table: &[&str]| table[usize::from(extra) % table.len()].to_string();
    match value % 14 {
        0 => ScalarValue::Str(pick(&USERS).into()),
        1 => ScalarValue::Str(
            "长"
                .repeat(LENGTHS[usize::from(extra) % LENGTHS.len()])
                .into(),
        ),
        2 => ScalarValue::Int(i64::from(extra as i8) * i64::from(value)),
        3 => ScalarValue::Uint(u64::MAX - u64::from(extra)),
        4 => ScalarValue::F64(f64::from(extra) / 3.0),
        5 => ScalarValue::Boolean(extra.is_multiple_of(2)),
        6 => ScalarValue::Null,
        7 => ScalarValue::Bytes(vec![extra; usize::from(value % 8)]),
        8 => ScalarValue::counter(i64::from(extra)),
        9 => ScalarValue::Timestamp(T0 + i64::from(extra) * 60_000),
        10 => ScalarValue::Str(pick(&WORDS).into()),
        11 => ScalarValue::Str("a".repeat(64).into()),
        12 => ScalarValue::Str("".into()),
        _ => ScalarValue::Str(pick(&KEYS).into()),
    }
}

fn obj_type(n: u8) -> ObjType {
    [ObjType::Map, ObjType::List, ObjType::Text, ObjType::Table][usize::from(n) % 4]
}

/// Objects of the document a program can address: the root, every object
/// at a root key, and every object one or two levels inside those.
fn objects(doc: &Automerge) -> Vec<(ObjId, ObjType)> {
    let mut out = vec![(ROOT, ObjType::Map)];
    let mut i = 0;
    while i < out.len() && out.len() < 200 {
        let (obj, _) = out[i].clone();
        if i > 0 && doc.parents(&obj).map(|p| p.count()).unwrap_or(0) >= 3 {
            i += 1;
            continue;
        }
        for item in doc.map_range(&obj, ..) {
            if let ValueRef::Object(t) = item.value {
                out.push((item.id(), t));
            }
        }
        for item in doc.list_range(&obj, ..) {
            if let ValueRef::Object(t) = item.value {
                out.push((item.id(), t));
            }
        }
        i += 1;
    }
    out
}

/// Whether `obj` is an entry of one of the append-only lists.
fn is_list_entry(doc: &Automerge, obj: &ObjId) -> bool {
    let Ok(parents) = doc.parents(obj) else {
        return false;
    };
    let path: Vec<_> = parents.map(|p| p.prop).collect();
    matches!(path.as_slice(), [automerge::Prop::Seq(_), automerge::Prop::Map(k)]
        if ["history", "log", "attachments"].contains(&k.as_str()))
}

/// Runs `ops` on `doc` in one or more changes; failing operations are
/// skipped, as a hostile client would simply not send them. Returns the
/// first operation the changes hold that nobody may make (so the rule
/// must refuse them): read from the changes, because automerge leaves out
/// a put that changes nothing.
/// [`apply`], or `None` when automerge itself panics while the attacker
/// builds the change (automerge 0.12's local transactions have such paths,
/// e.g. "cant convert op into a value" on some list puts): no client can
/// send such a change, so there is nothing for the relay to judge.
pub fn try_apply(doc: &mut Automerge, ops: &[Op]) -> Option<Option<String>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| apply(doc, ops))).ok()
}

pub fn apply(doc: &mut Automerge, ops: &[Op]) -> Option<String> {
    let before = doc.get_heads();
    let mut objs = objects(doc);
    let entries: Vec<String> = objs
        .iter()
        .filter(|(o, _)| is_list_entry(doc, o))
        .map(|(o, _)| o.to_string())
        .collect();
    let mut tx = doc.transaction();
    for op in ops {
        if op.kind % 10 == 9 {
            // Commit; an odd `extra` writes the next change as another actor.
            let time = i64::from(op.value) * 1000;
            tx.commit_with(CommitOptions::default().with_time(time));
            if op.extra % 2 == 1 {
                doc.set_actor(ActorId::from(vec![op.extra; 16]));
            }
            tx = doc.transaction();
            continue;
        }
        let (obj, kind) = objs[usize::from(op.obj) % objs.len()].clone();
        let key = KEYS[usize::from(op.prop) % KEYS.len()];
        if let Some(made) = step(&mut tx, op, &obj, kind, key) {
            objs.push(made);
        }
    }
    tx.commit();
    if before.is_empty() {
        return None; // creating: the set-once keys are written now
    }
    doc.get_changes(&before)
        .iter()
        .find_map(|c| forbidden(&c.decode(), &entries))
}

/// An operation nobody may make after creation: a set-once key or one the
/// record lacks at the root, deleting an append-only list, or writing
/// inside an existing entry of one.
fn forbidden(change: &automerge::ExpandedChange, entries: &[String]) -> Option<String> {
    use automerge::legacy::{Key, ObjectId, OpType};
    change.operations.iter().find_map(|op| {
        let key = match &op.key {
            Key::Map(k) => Some(k.as_str()),
            Key::Seq(_) => None,
        };
        match (&op.obj, key) {
            (ObjectId::Root, Some(key)) if NEVER_AT_ROOT.contains(&key) => {
                Some(format!("{:?} at root key `{key}`", op.action))
            }
            (ObjectId::Root, Some(key))
                if matches!(op.action, OpType::Delete)
                    && ["history", "log", "attachments"].contains(&key) =>
            {
                Some(format!("deletes `{key}`"))
            }
            (ObjectId::Id(id), _)
                if entries.contains(&format!("{}@{}", id.counter(), id.actor())) =>
            {
                Some(format!("{:?} inside an existing list entry", op.action))
            }
            _ => None,
        }
    })
}

/// One operation; the object it made, if any.
fn step(
    tx: &mut Transaction<'_>,
    op: &Op,
    obj: &ObjId,
    kind: ObjType,
    key: &str,
) -> Option<(ObjId, ObjType)> {
    let value = scalar(op.value, op.extra);
    let len = tx.length(obj);
    let index = usize::from(op.prop) % (len + 2);
    let seq = matches!(kind, ObjType::List | ObjType::Text);
    // A failing operation is skipped.
    let ok = |_: Result<(), automerge::AutomergeError>| None;
    match (op.kind % 10, seq) {
        (0, false) => ok(tx.put(obj, key, value)),
        (0, true) => ok(tx.put(obj, index, value)),
        (1, _) => {
            let t = obj_type(op.value);
            let made = if seq {
                tx.put_object(obj, index, t)
            } else {
                tx.put_object(obj, key, t)
            };
            made.ok().map(|m| (m, t))
        }
        (2, true) => ok(tx.insert(obj, index, value)),
        (3, true) => {
            let t = obj_type(op.value);
            tx.insert_object(obj, index, t).ok().map(|m| (m, t))
        }
        (4, false) => ok(tx.delete(obj, key)),
        (4, true) => ok(tx.delete(obj, index)),
        (5, false) => ok(tx.increment(obj, key, i64::from(op.extra as i8))),
        (5, true) => ok(tx.increment(obj, index, i64::from(op.extra as i8))),
        (6, true) => {
            let text = match scalar(op.value, op.extra) {
                ScalarValue::Str(s) => s.to_string(),
                other => other.to_string(),
            };
            let del = isize::from(op.extra % 4);
            ok(tx.splice_text(obj, index, del, &text))
        }
        (7, true) => {
            let end = (index + usize::from(op.extra % 8)).min(len);
            let mark = Mark::new(key.to_string(), value, index.min(end), end);
            ok(tx.mark(obj, mark, ExpandMark::Both))
        }
        (8, _) if kind == ObjType::Text => {
            ok(tx.update_text(obj, "x".repeat(usize::from(op.extra))))
        }
        _ => None,
    }
}

/// Principals the programs are checked as: the capturer, a colleague,
/// head office, a supervisor and an admin.
pub fn principal(n: u8) -> Principal {
    let (name, role) = [
        (CAPTURER, Role::FieldStaff),
        ("field-north-2", Role::FieldStaff),
        ("office", Role::HeadOffice),
        ("boss", Role::Supervisor),
        ("admin", Role::Admin),
    ][usize::from(n) % 5];
    Principal {
        user_id: i64::from(n % 5) + 1,
        username: name.into(),
        role,
        team: (role == Role::FieldStaff).then(|| "north".into()),
    }
}

/// Records to start from, built once: empty (a program creates it), just
/// captured, and registered and assigned with a log entry and an attachment.
pub fn bases() -> &'static [Automerge; 3] {
    static BASES: OnceLock<[Automerge; 3]> = OnceLock::new();
    BASES.get_or_init(|| {
        let actor = |n: u8| Automerge::new().with_actor(ActorId::from(vec![n; 16]));
        let tax = Taxonomy::default();
        let mut captured = actor(1);
        let draft = FeedbackDraft {
            channel: "phone".into(),
            nickname: "会员 3390".into(),
            description: "冰箱不制冷".into(),
            order_number: Some("A-1".into()),
            ..FeedbackDraft::default()
        };
        let built = draft.write_new(&mut captured, &tax, CAPTURER, T0);
        let mut worked = captured.clone().with_actor(ActorId::from(vec![2; 16]));
        let assign = Action::Assign {
            owner: CAPTURER.into(),
            department: "after_sales".into(),
        };
        let built = built
            .and_then(|()| {
                record::transition(&mut worked, &Action::Register, None, "office", T0 + 1)
            })
            .and_then(|()| record::transition(&mut worked, &assign, None, "office", T0 + 2))
            .and_then(|()| record::append_log(&mut worked, "客户已回电", CAPTURER, T0 + 3))
            .and_then(|()| {
                let photo = record::Attachment {
                    sha256: "a".repeat(64),
                    media_type: "image/jpeg".into(),
                    size: 10,
                    name: "p.jpg".into(),
                };
                record::add_attachment(&mut worked, &photo, T0 + 4)
            });
        assert_eq!(
            built,
            Ok(()),
            "the base records are written through the record layer"
        );
        [actor(3), captured, worked]
    })
}

/// A copy of base `n` that writes as its own actor.
pub fn base(n: u8) -> Automerge {
    bases()[usize::from(n) % 3]
        .clone()
        .with_actor(ActorId::from(vec![0xa0 | (n % 3); 16]))
}
