//! Changes automerge can apply without panicking, checked before a sync
//! message reaches `receive_sync_message`.
//!
//! automerge 0.12 trusts three things about a change when it applies it
//! (`BatchApply::import_ops`, each an `unwrap()`): that every actor the
//! change names (its own, unless it starts that actor at sequence 1, and
//! its "other actors") is in the document's actor table; that every
//! operation's actor index points into the change's actor list; and that
//! every action code is one it knows. An honest change keeps all three; a
//! hostile one need not, and the relay would panic. Found by fuzzing
//! (`docs/fuzzing.md`); until automerge returns errors there, such a
//! message is refused here. Cost: one pass over the message's operation
//! columns, and over the document's change metadata only when a change
//! names an actor the message does not start.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, Automerge, Change, ChangeHash};

use super::payload::PayloadError;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// Column type of actor indices.
const ACTOR_COLUMN: u64 = 1;
/// The action column's specification (column 4, unsigned integers).
const ACTION_COLUMN: u64 = (4 << 4) | 2;
/// Highest action code automerge 0.12 knows (`Mark`).
const MAX_ACTION: u64 = 7;
/// Actors the record lacks that one message may name (each costs a pass
/// over the message's changes); a record's whole history from the relay
/// names one per tablet and session that wrote it.
const MAX_NEW_ACTORS: usize = 1024;

/// Checks the chunks of a sync message (each entry may hold several
/// chunks back to back) against `doc`, the document they would be applied
/// to (`None`: a new, empty one).
///
/// A change automerge applies now (every dependency in the document or
/// earlier in the message) may name only actors the document has, or one
/// that the change itself or one of its ancestors in the message starts.
/// A change that waits for a missing dependency is left to automerge's
/// queue: honest clients send such changes (on top of one the relay
/// refused, or of one still queued), and what they name is only known
/// once the dependency arrives. That gap is open (`docs/fuzzing.md`).
/// Chunks that do not parse as changes are left for automerge to refuse.
pub fn check<'a>(
    doc: Option<&Automerge>,
    entries: impl Iterator<Item = &'a [u8]>,
) -> Result<(), PayloadError> {
    let chunks: Vec<&[u8]> = entries.flat_map(chunks).collect();
    let changes: Vec<Option<Change>> = chunks
        .iter()
        .map(|c| Change::from_bytes(c.to_vec()).ok())
        .collect();
    let index: HashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((c.as_ref()?.hash(), i)))
        .collect();
    // Messages list changes in causal order; a dependency later in the
    // message counts as missing, which only ever refuses or drops more.
    let earlier = |i: usize, d: &ChangeHash| index.get(d).copied().filter(|j| *j < i);
    let mut ready = vec![false; changes.len()];
    for (i, c) in changes.iter().enumerate() {
        ready[i] = c.as_ref().is_some_and(|c| {
            c.deps().iter().all(|d| match earlier(i, d) {
                Some(j) => ready[j],
                None => doc.is_some_and(|doc| doc.get_change_meta_by_hash(d).is_some()),
            })
        });
    }
    let mut known: Option<HashSet<ActorId>> = None;
    // Per actor started in the message: which changes descend from its start.
    let mut descends: HashMap<ActorId, Vec<bool>> = HashMap::new();
    for (i, change) in changes.iter().enumerate() {
        let Some(change) = change else { continue };
        columns_within(change)?;
        let own = (change.seq() > 1).then(|| change.actor_id());
        for actor in own.into_iter().chain(change.other_actor_ids()) {
            if known.get_or_insert_with(|| actors_of(doc)).contains(actor) {
                continue;
            }
            if !descends.contains_key(actor) {
                if descends.len() >= MAX_NEW_ACTORS {
                    return Err(PayloadError::Malformed(
                        "a sync message starts too many actors",
                    ));
                }
                let mut from = vec![false; changes.len()];
                for (j, c) in changes.iter().enumerate() {
                    let Some(c) = c else { continue };
                    from[j] = (c.seq() == 1 && c.actor_id() == actor)
                        || c.deps()
                            .iter()
                            .any(|d| earlier(j, d).is_some_and(|k| from[k]));
                }
                descends.insert(actor.clone(), from);
            }
            if descends.get(actor).is_some_and(|from| from[i]) {
                continue;
            }
            if ready[i] {
                return Err(PayloadError::Malformed(
                    "a change names an actor the record does not have",
                ));
            }
        }
    }
    Ok(())
}

/// Every actor with a change in the document.
fn actors_of(doc: Option<&Automerge>) -> HashSet<ActorId> {
    doc.map(|d| {
        d.get_changes_meta(&[])
            .into_iter()
            .map(|m| m.actor.into_owned())
            .collect()
    })
    .unwrap_or_default()
}

/// The chunks of one entry, by their headers; stops at anything that is
/// not a whole chunk.
fn chunks(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while bytes.get(..4) == Some(&MAGIC[..]) {
        let mut r = Reader(bytes.get(9..).unwrap_or_default());
        let Some(len) = r.uleb().and_then(|l| usize::try_from(l).ok()) else {
            break;
        };
        let header = bytes.len() - r.0.len();
        let Some(chunk) = header.checked_add(len).and_then(|end| bytes.get(..end)) else {
            break;
        };
        out.push(chunk);
        bytes = &bytes[chunk.len()..];
    }
    out
}

/// The actor indices and action codes of a change's operation columns.
fn columns_within(change: &Change) -> Result<(), PayloadError> {
    const BAD: PayloadError = PayloadError::Malformed(
        "a change's operations name an actor or action that does not exist",
    );
    let mut r = Reader(change.raw_bytes());
    // Header: magic, checksum, chunk type, body length.
    r.take(9).ok_or(BAD)?;
    r.uleb().ok_or(BAD)?;
    let deps = r.uleb().ok_or(BAD)?;
    r.take(usize::try_from(deps).map_err(|_| BAD)?.saturating_mul(32))
        .ok_or(BAD)?;
    r.bytes().ok_or(BAD)?; // actor
    r.uleb().ok_or(BAD)?; // seq
    r.uleb().ok_or(BAD)?; // start op
    r.uleb().ok_or(BAD)?; // time (signed; same length)
    r.bytes().ok_or(BAD)?; // message
    let others = r.uleb().ok_or(BAD)?;
    for _ in 0..others {
        r.bytes().ok_or(BAD)?;
    }
    let n = r.uleb().ok_or(BAD)?;
    let mut specs = Vec::new();
    for _ in 0..n.min(r.0.len() as u64) {
        let spec = r.uleb().ok_or(BAD)?;
        let len = usize::try_from(r.uleb().ok_or(BAD)?).map_err(|_| BAD)?;
        specs.push((spec, len));
    }
    for (spec, len) in specs {
        let data = r.take(len).ok_or(BAD)?;
        let limit = match spec {
            ACTION_COLUMN => MAX_ACTION,
            s if s & 0b111 == ACTOR_COLUMN => others,
            _ => continue,
        };
        if largest_value(data).is_none_or(|v| v > limit) {
            return Err(BAD);
        }
    }
    Ok(())
}

/// The largest value of a run-length encoded column of unsigned numbers
/// (0 if it holds none); `None` if it does not parse.
fn largest_value(data: &[u8]) -> Option<u64> {
    let mut r = Reader(data);
    let mut most = 0;
    while !r.0.is_empty() {
        let count = r.sleb()?;
        let literals = if count < 0 { count.unsigned_abs() } else { 1 };
        if count == 0 {
            r.uleb()?; // a run of nulls
            continue;
        }
        for _ in 0..literals {
            most = most.max(r.uleb()?);
        }
    }
    Some(most)
}

/// A cursor over bytes; every read checks the length first.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let head = self.0.get(..n)?;
        self.0 = &self.0[n..];
        Some(head)
    }

    fn uleb(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.take(1)?.first()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn sleb(&mut self) -> Option<i64> {
        let mut value = 0i64;
        for shift in (0..64).step_by(7) {
            let b = *self.take(1)?.first()?;
            value |= i64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                if shift + 7 < 64 && b & 0x40 != 0 {
                    value |= -1i64 << (shift + 7);
                }
                return Some(value);
            }
        }
        None
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.uleb()?).ok()?;
        self.take(n)
    }
}
