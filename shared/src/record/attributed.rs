//! Attributed scalars: a value with who set it and when, stored as a small
//! map so a concurrent set by someone else is kept beside it, not lost.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, Value};

use super::fields::Fields;
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
/// `root` is the document's root, read once for every field.
pub(super) fn read_all(
    doc: &Automerge,
    root: &Fields,
    field: Field,
) -> Result<Vec<Attributed>, RecordError> {
    if !root.conflicted(field.key()) {
        // The common case: one value (or none), found in the root's pass.
        return Ok(root
            .object(field.key(), ObjType::Map)
            .map(|id| attributed(doc, &id))
            .into_iter()
            .collect());
    }
    let mut out = Vec::new();
    let winner = doc.get(ROOT, field.key())?.map(|(_, id)| id);
    for (value, id) in doc.get_all(ROOT, field.key())? {
        let Value::Object(ObjType::Map) = value else {
            continue;
        };
        let read = attributed(doc, &id);
        if Some(&id) == winner.as_ref() {
            out.insert(0, read);
        } else {
            out.push(read);
        }
    }
    Ok(out)
}

/// One value of a field, from its `{v, by, at}` map.
fn attributed(doc: &Automerge, id: &ObjId) -> Attributed {
    let f = Fields::of(doc, id);
    Attributed {
        value: f.str("v").unwrap_or_default(),
        by: f.str("by").unwrap_or_default(),
        at_ms: f.time("at").unwrap_or_default(),
    }
}
