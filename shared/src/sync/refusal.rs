//! Changes a document must not keep: rolled back on the relay before
//! anything is stored or forwarded, and dropped on the client that made
//! them so it converges with the relay again.

use std::collections::HashSet;

use automerge::{Automerge, Change, ChangeHash};

/// Why changes were refused, by whom they were judged (the write rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The refused changes.
    pub changes: Vec<ChangeHash>,
    /// Stable reason key, for the app to translate.
    pub code: String,
    /// The reason in English, for logs and other clients.
    pub reason: String,
}

/// Decides whether the changes a peer's message added may stay: given the
/// document holding them, its heads before, and the new changes in order.
pub type WriteCheck<'a> =
    dyn FnMut(&Automerge, &[ChangeHash], &[Change]) -> Result<(), Refusal> + 'a;

/// The document as it was at `before` (its queue of changes waiting for
/// dependencies goes too: peers send those again).
pub fn rollback(doc: &Automerge, before: &[ChangeHash]) -> Option<Automerge> {
    if before.is_empty() {
        return Some(Automerge::new());
    }
    doc.fork_at(before).ok()
}

/// The document without `refused` and every change that depends on them,
/// and the changes taken out (in the order they had been applied). The
/// result writes under a new actor id.
pub fn drop_changes(doc: &Automerge, refused: &[ChangeHash]) -> (Automerge, Vec<Change>) {
    let mut gone: HashSet<ChangeHash> = refused.iter().copied().collect();
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    // Changes come in causal order: a dependant follows what it depends on.
    for change in doc.get_changes(&[]) {
        if gone.contains(&change.hash()) || change.deps().iter().any(|d| gone.contains(d)) {
            gone.insert(change.hash());
            removed.push(change);
        } else {
            kept.push(change);
        }
    }
    if removed.is_empty() {
        return (doc.clone(), removed);
    }
    // A new actor: the dropped changes' sequence numbers may linger on the
    // relay (queued for the dependency it refused), so they are not reused.
    let mut fresh = Automerge::new();
    // Changes taken from a valid document apply to an empty one.
    if fresh.apply_changes(kept).is_err() {
        return (doc.clone(), Vec::new());
    }
    (fresh, removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ReadDoc};

    fn put(doc: &mut Automerge, key: &str, v: i64) -> ChangeHash {
        doc.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, key, v))
            .unwrap();
        doc.get_heads()[0]
    }

    #[test]
    fn dropping_a_change_drops_its_dependants_and_keeps_the_rest() {
        let mut doc = Automerge::new();
        put(&mut doc, "a", 1);
        let mut other = doc.fork();
        let bad = put(&mut doc, "b", 2);
        put(&mut doc, "c", 3);
        put(&mut other, "d", 4);
        doc.merge(&mut other).unwrap();
        let (kept, removed) = drop_changes(&doc, &[bad]);
        assert_eq!(removed.len(), 2, "the refused change and the one after it");
        assert!(kept.get(ROOT, "a").unwrap().is_some());
        assert!(kept.get(ROOT, "b").unwrap().is_none());
        assert!(kept.get(ROOT, "c").unwrap().is_none());
        assert!(
            kept.get(ROOT, "d").unwrap().is_some(),
            "concurrent work stays"
        );
    }

    #[test]
    fn rollback_returns_the_earlier_state() {
        let mut doc = Automerge::new();
        put(&mut doc, "a", 1);
        let before = doc.get_heads();
        put(&mut doc, "b", 2);
        let back = rollback(&doc, &before).unwrap();
        assert_eq!(back.get_heads(), before);
        assert!(rollback(&doc, &[]).unwrap().get_heads().is_empty());
    }
}
