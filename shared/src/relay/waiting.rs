//! Requests for documents that did not exist yet. automerge-repo peers ask
//! for a document they learned of elsewhere, sometimes a moment before its
//! creator's first sync reaches the relay; they are answered "unavailable"
//! and, if it arrives while they are connected, get it then. Bounded per
//! connection and in time, so unknown ids cannot pile up.

use std::collections::{HashMap, HashSet};

use crate::sync::{ConnectionId, DocumentId};

/// How long a request for a missing document is remembered.
pub const WAIT_MS: u64 = 60_000;
/// Missing documents one connection may wait for at once; older requests
/// make room for newer ones.
pub const MAX_WAITING_PER_CONNECTION: usize = 64;

#[derive(Default)]
pub(super) struct Waiting {
    /// Who asked for each document, and when.
    by_document: HashMap<DocumentId, HashMap<ConnectionId, u64>>,
    /// What each connection waits for, oldest first.
    by_connection: HashMap<ConnectionId, Vec<DocumentId>>,
}

impl Waiting {
    pub(super) fn add(&mut self, id: DocumentId, conn: ConnectionId, now_ms: u64) {
        let mine = self.by_connection.entry(conn).or_default();
        if let Some(at) = mine.iter().position(|d| *d == id) {
            mine.remove(at);
        } else if mine.len() >= MAX_WAITING_PER_CONNECTION {
            let oldest = mine.remove(0);
            Self::remove_one(&mut self.by_document, &oldest, conn);
        }
        mine.push(id);
        self.by_document.entry(id).or_default().insert(conn, now_ms);
    }

    pub(super) fn contains(&self, id: &DocumentId) -> bool {
        self.by_document.contains_key(id)
    }

    pub(super) fn documents(&self) -> impl Iterator<Item = DocumentId> + '_ {
        self.by_document.keys().copied()
    }

    /// The connections still waiting for `id` (in connection order); they
    /// stop waiting.
    pub(super) fn take(&mut self, id: &DocumentId, now_ms: u64) -> Vec<ConnectionId> {
        let Some(askers) = self.by_document.remove(id) else {
            return Vec::new();
        };
        let mut conns: Vec<ConnectionId> = askers
            .into_iter()
            .filter(|(_, at)| now_ms.saturating_sub(*at) < WAIT_MS)
            .map(|(c, _)| c)
            .collect();
        conns.sort_unstable();
        for conn in &conns {
            if let Some(mine) = self.by_connection.get_mut(conn) {
                mine.retain(|d| d != id);
            }
        }
        conns
    }

    pub(super) fn forget_connection(&mut self, conn: ConnectionId) {
        for id in self.by_connection.remove(&conn).unwrap_or_default() {
            Self::remove_one(&mut self.by_document, &id, conn);
        }
    }

    /// Drops requests older than [`WAIT_MS`].
    pub(super) fn expire(&mut self, now_ms: u64) {
        let mut emptied = HashSet::new();
        for (id, askers) in self.by_document.iter_mut() {
            askers.retain(|conn, at| {
                let keep = now_ms.saturating_sub(*at) < WAIT_MS;
                if !keep && let Some(mine) = self.by_connection.get_mut(conn) {
                    mine.retain(|d| d != id);
                }
                keep
            });
            if askers.is_empty() {
                emptied.insert(*id);
            }
        }
        self.by_document.retain(|id, _| !emptied.contains(id));
        self.by_connection.retain(|_, ids| !ids.is_empty());
    }

    fn remove_one(
        by_document: &mut HashMap<DocumentId, HashMap<ConnectionId, u64>>,
        id: &DocumentId,
        conn: ConnectionId,
    ) {
        if let Some(askers) = by_document.get_mut(id) {
            askers.remove(&conn);
            if askers.is_empty() {
                by_document.remove(id);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_document.values().map(HashMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> DocumentId {
        DocumentId::from_bytes([n; 16])
    }

    #[test]
    fn askers_get_the_document_once_and_in_time() {
        let mut w = Waiting::default();
        w.add(id(1), 7, 0);
        w.add(id(1), 3, 10);
        assert_eq!(w.take(&id(1), 100), vec![3, 7]);
        assert!(w.take(&id(1), 100).is_empty(), "delivered once");
        w.add(id(2), 7, 0);
        assert!(w.take(&id(2), WAIT_MS).is_empty(), "too late");
    }

    #[test]
    fn each_connection_waits_for_a_bounded_number_and_leaves_nothing_behind() {
        let mut w = Waiting::default();
        for n in 0..=MAX_WAITING_PER_CONNECTION as u32 {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&n.to_le_bytes());
            w.add(DocumentId::from_bytes(b), 1, u64::from(n));
        }
        assert_eq!(w.len(), MAX_WAITING_PER_CONNECTION);
        assert!(
            !w.contains(&DocumentId::from_bytes([0; 16])),
            "oldest made room"
        );
        w.add(id(9), 2, 0);
        w.forget_connection(1);
        assert_eq!(w.len(), 1);
        w.expire(WAIT_MS);
        assert_eq!(w.len(), 0);
        assert!(w.by_connection.is_empty());
    }
}
