//! Which documents the relay keeps in memory: the most recently used ones,
//! up to a budget, and none that has been idle longer than a timeout. Memory
//! then follows what is in use, not how many records exist or how many
//! tablets follow them. Time is milliseconds on a monotonic clock the IO
//! edge supplies, so the rules run the same in a simulation.

use std::collections::{BTreeMap, HashMap};

use crate::sync::DocumentId;

/// How long a document must have been quiet before the budget may evict
/// it: a document in the middle of a sync exchange stays, so the budget is
/// a soft limit under a burst of activity.
pub const QUIET_MS: u64 = 2_000;

/// Least-recently-used order of the documents in memory; every operation
/// costs O(log n) in the documents tracked, never a scan.
pub struct Residency {
    budget: usize,
    idle_ms: u64,
    tick: u64,
    /// Use order: oldest first.
    order: BTreeMap<u64, DocumentId>,
    last_use: HashMap<DocumentId, (u64, u64)>,
}

impl Residency {
    /// At most `budget` documents (at least one), none idle past `idle_ms`.
    pub fn new(budget: usize, idle_ms: u64) -> Self {
        Self {
            budget: budget.max(1),
            idle_ms,
            tick: 0,
            order: BTreeMap::new(),
            last_use: HashMap::new(),
        }
    }

    /// The document was just used.
    pub fn touch(&mut self, id: DocumentId, now_ms: u64) {
        self.tick += 1;
        if let Some((old, _)) = self.last_use.insert(id, (self.tick, now_ms)) {
            self.order.remove(&old);
        }
        self.order.insert(self.tick, id);
    }

    /// The document left memory for another reason.
    pub fn forget(&mut self, id: &DocumentId) {
        if let Some((tick, _)) = self.last_use.remove(id) {
            self.order.remove(&tick);
        }
    }

    /// Removes and returns the documents to evict now, least recently used
    /// first: those over the budget and those idle too long.
    pub fn overdue(&mut self, now_ms: u64) -> Vec<DocumentId> {
        let mut out = Vec::new();
        while let Some((&tick, &id)) = self.order.first_key_value() {
            let used_at = self.last_use.get(&id).map_or(now_ms, |(_, at)| *at);
            let quiet_for = now_ms.saturating_sub(used_at);
            let over_budget = self.order.len() > self.budget && quiet_for >= QUIET_MS;
            if !over_budget && quiet_for < self.idle_ms {
                break;
            }
            self.order.remove(&tick);
            self.last_use.remove(&id);
            out.push(id);
        }
        out
    }

    /// How many documents are tracked.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no document is tracked.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> DocumentId {
        DocumentId::from_bytes([n; 16])
    }

    #[test]
    fn over_budget_evicts_the_least_recently_used() {
        let mut r = Residency::new(2, 60_000);
        r.touch(id(1), 0);
        r.touch(id(2), 0);
        r.touch(id(1), 0); // 2 is now the oldest
        r.touch(id(3), 0);
        assert!(r.overdue(0).is_empty(), "all still active");
        assert_eq!(r.overdue(QUIET_MS), vec![id(2)]);
        assert_eq!(r.len(), 2);
        assert!(r.overdue(QUIET_MS).is_empty());
    }

    #[test]
    fn idle_documents_leave_and_used_ones_stay() {
        let mut r = Residency::new(10, 30_000);
        r.touch(id(1), 0);
        r.touch(id(2), 20_000);
        assert!(r.overdue(29_000).is_empty());
        assert_eq!(r.overdue(31_000), vec![id(1)]);
        assert_eq!(r.overdue(51_000), vec![id(2)]);
        assert!(r.is_empty());
    }

    #[test]
    fn forgotten_documents_are_not_returned() {
        let mut r = Residency::new(1, 30_000);
        r.touch(id(1), 0);
        r.touch(id(2), 0);
        r.forget(&id(1));
        assert!(r.overdue(QUIET_MS).is_empty());
        r.forget(&id(9)); // unknown: nothing happens
        assert_eq!(r.len(), 1);
    }
}
