//! Attributed scalars: a value with who set it and when, stored as a small
//! map so a concurrent set by someone else is kept beside it, not lost.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use super::{Field, RecordError, timestamp};

/// One value of a field and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attributed {
    pub value: String,
    pub by: String,
    pub at_ms: i64,
}

/// A field set concurrently to different values: all of them, the one
/// currently shown first (Automerge's deterministic winner).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldConflict {
    pub field: Field,
    pub values: Vec<Attributed>,
}

/// Writes `{v, by, at}` under `key`, superseding every value seen so far.
pub(super) fn put(
    tx: &mut impl Transactable,
    key: &str,
    value: &str,
    by: &str,
    at_ms: i64,
) -> Result<(), RecordError> {
    let obj = tx.put_object(ROOT, key, ObjType::Map)?;
    tx.put(&obj, "v", value)?;
    tx.put(&obj, "by", by)?;
    tx.put(&obj, "at", timestamp(at_ms))?;
    Ok(())
}

/// Every concurrent value of a field, winner first; empty if never set.
pub(super) fn read_all(doc: &Automerge, field: Field) -> Result<Vec<Attributed>, RecordError> {
    let mut out = Vec::new();
    let winner = doc.get(ROOT, field.key())?.map(|(_, id)| id);
    for (value, id) in doc.get_all(ROOT, field.key())? {
        let Value::Object(ObjType::Map) = value else {
            continue;
        };
        let read = Attributed {
            value: scalar_str(doc, &id, "v").unwrap_or_default(),
            by: scalar_str(doc, &id, "by").unwrap_or_default(),
            at_ms: scalar_time(doc, &id, "at").unwrap_or_default(),
        };
        if Some(&id) == winner.as_ref() {
            out.insert(0, read);
        } else {
            out.push(read);
        }
    }
    Ok(out)
}

/// A string scalar, if present and a string.
pub(super) fn scalar_str(doc: &Automerge, obj: &automerge::ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(v) => Some(v.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// A timestamp (or integer) scalar, if present.
pub(super) fn scalar_time(doc: &Automerge, obj: &automerge::ObjId, key: &str) -> Option<i64> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Timestamp(t) | ScalarValue::Int(t) => Some(*t),
            ScalarValue::Uint(u) => i64::try_from(*u).ok(),
            _ => None,
        },
        _ => None,
    }
}
