//! Erasure inside CRDT history (PIPL/GDPR requests, the end of retention):
//! a record's Automerge history keeps every value ever written, so personal
//! text cannot be deleted from it. Instead the record is re-created: a new
//! document holding only its current state, written once, with the nickname,
//! the contact reference and any personal data in free text replaced. The
//! old document is then dropped from storage and its id refused for ever
//! (the server's tombstones), so statistics survive without personal data.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, ObjId, ObjType, ROOT, ReadDoc, Value};

use super::RecordError;
use crate::personal_data;

/// What replaces personal data.
pub const REDACTED: &str = "（已删除）";

/// Keys whose string values are free text people typed: redacted where they
/// hold personal data or the customer's nickname. Ids, hashes, usernames,
/// taxonomy keys and times are kept as they are.
const FREE_TEXT: [&str; 9] = [
    "description",
    "solution",
    "text",
    "note",
    "goal",
    "method",
    "outcome",
    "name",
    "orderNumber",
];

/// Keys whose whole value is the customer: replaced outright.
const CUSTOMER: [&str; 2] = ["customer", "nickname"];

/// Keys dropped from the copy: the link to the erased contact.
const DROPPED: [&str; 1] = ["contactRef"];

/// Lists the copy has empty: the attachments (a photo or a receipt may
/// show the customer; their files are deleted with the history).
const EMPTIED: [&str; 1] = ["attachments"];

/// A new document with `doc`'s current state and none of its history,
/// personal data replaced by [`REDACTED`]; one change by `actor` at `at_ms`.
/// Concurrent values kept as conflicts are settled to the winning one.
pub fn redacted_copy(
    doc: &Automerge,
    actor: ActorId,
    at_ms: i64,
) -> Result<Automerge, RecordError> {
    let nickname = [CUSTOMER[0], CUSTOMER[1]]
        .iter()
        .find_map(|k| match doc.get(ROOT, *k) {
            Ok(Some((Value::Scalar(s), _))) => s.as_str().map(str::to_string),
            _ => None,
        })
        .filter(|n| !n.trim().is_empty());
    let mut copy = AutoCommit::new().with_actor(actor);
    let redact = |text: &str| {
        let mut t = personal_data::redact(text, REDACTED);
        if let Some(n) = &nickname {
            t = t.replace(n.as_str(), REDACTED);
        }
        t
    };
    copy_map(doc, &ROOT, &mut copy, &ROOT, &redact)?;
    copy.commit_with(
        automerge::transaction::CommitOptions::default()
            .with_message("personal data erased")
            .with_time(at_ms / 1000),
    );
    Ok(copy.document().clone())
}

fn copy_map(
    from: &Automerge,
    obj: &ObjId,
    to: &mut AutoCommit,
    target: &ObjId,
    redact: &dyn Fn(&str) -> String,
) -> Result<(), RecordError> {
    for key in from.keys(obj) {
        if DROPPED.contains(&key.as_str()) {
            continue;
        }
        if EMPTIED.contains(&key.as_str()) {
            to.put_object(target, key.as_str(), ObjType::List)?;
            continue;
        }
        let Some((value, id)) = from.get(obj, key.as_str())? else {
            continue;
        };
        match value {
            Value::Scalar(s) => {
                let s = s.into_owned();
                match s.as_str() {
                    Some(_) if CUSTOMER.contains(&key.as_str()) => {
                        to.put(target, key.as_str(), REDACTED)?
                    }
                    Some(text) if FREE_TEXT.contains(&key.as_str()) => {
                        to.put(target, key.as_str(), redact(text))?
                    }
                    _ => to.put(target, key.as_str(), s)?,
                }
            }
            Value::Object(kind) => {
                let child = to.put_object(target, key.as_str(), kind)?;
                copy_object(
                    from,
                    &id,
                    kind,
                    to,
                    &child,
                    FREE_TEXT.contains(&key.as_str()),
                    redact,
                )?;
            }
        }
    }
    Ok(())
}

fn copy_object(
    from: &Automerge,
    obj: &ObjId,
    kind: ObjType,
    to: &mut AutoCommit,
    target: &ObjId,
    free_text: bool,
    redact: &dyn Fn(&str) -> String,
) -> Result<(), RecordError> {
    match kind {
        ObjType::Map | ObjType::Table => copy_map(from, obj, to, target, redact),
        ObjType::Text => {
            let text = from.text(obj)?;
            let text = if free_text { redact(&text) } else { text };
            to.splice_text(target, 0, 0, &text)?;
            Ok(())
        }
        ObjType::List => {
            for i in 0..from.length(obj) {
                let Some((value, id)) = from.get(obj, i)? else {
                    continue;
                };
                match value {
                    Value::Scalar(s) => to.insert(target, i, s.into_owned())?,
                    Value::Object(k) => {
                        let child = to.insert_object(target, i, k)?;
                        copy_object(from, &id, k, to, &child, false, redact)?;
                    }
                }
            }
            Ok(())
        }
    }
}
