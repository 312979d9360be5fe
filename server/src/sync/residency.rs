//! Which documents the relay keeps in memory: the most recently used ones,
//! up to a budget, and none that has been idle longer than a timeout. Memory
//! then follows what is in use, not how many records exist or how many
//! tablets follow them.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use closeloop_shared::sync::DocumentId;

/// How long a document must have been quiet before the budget may evict
/// it: a document in the middle of a sync exchange stays, so the budget is
/// a soft limit under a burst of activity.
const QUIET: Duration = Duration::from_secs(2);

/// Least-recently-used order of the documents in memory; every operation
/// costs O(log n) in the documents tracked, never a scan.
pub(crate) struct Residency {
    budget: usize,
    idle: Duration,
    tick: u64,
    /// Use order: oldest first.
    order: BTreeMap<u64, DocumentId>,
    last_use: HashMap<DocumentId, (u64, Instant)>,
}

impl Residency {
    /// At most `budget` documents (at least one), none idle past `idle`.
    pub(crate) fn new(budget: usize, idle: Duration) -> Self {
        Self {
            budget: budget.max(1),
            idle,
            tick: 0,
            order: BTreeMap::new(),
            last_use: HashMap::new(),
        }
    }

    /// The document was just used.
    pub(crate) fn touch(&mut self, id: DocumentId, now: Instant) {
        self.tick += 1;
        if let Some((old, _)) = self.last_use.insert(id, (self.tick, now)) {
            self.order.remove(&old);
        }
        self.order.insert(self.tick, id);
    }

    /// The document left memory for another reason.
    pub(crate) fn forget(&mut self, id: &DocumentId) {
        if let Some((tick, _)) = self.last_use.remove(id) {
            self.order.remove(&tick);
        }
    }

    /// Removes and returns the documents to evict now, least recently used
    /// first: those over the budget and those idle too long.
    pub(crate) fn overdue(&mut self, now: Instant) -> Vec<DocumentId> {
        let mut out = Vec::new();
        while let Some((&tick, &id)) = self.order.first_key_value() {
            let idle_since = self.last_use.get(&id).map(|(_, at)| *at).unwrap_or(now);
            let quiet_for = now.saturating_duration_since(idle_since);
            let over_budget = self.order.len() > self.budget && quiet_for >= QUIET;
            if !over_budget && quiet_for < self.idle {
                break;
            }
            self.order.remove(&tick);
            self.last_use.remove(&id);
            out.push(id);
        }
        out
    }

    /// How many documents are tracked.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.order.len()
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
        let t0 = Instant::now();
        let mut r = Residency::new(2, Duration::from_secs(60));
        r.touch(id(1), t0);
        r.touch(id(2), t0);
        r.touch(id(1), t0); // 2 is now the oldest
        r.touch(id(3), t0);
        assert!(r.overdue(t0).is_empty(), "all still active");
        let later = t0 + QUIET;
        assert_eq!(r.overdue(later), vec![id(2)]);
        assert_eq!(r.len(), 2);
        assert!(r.overdue(later).is_empty());
    }

    #[test]
    fn idle_documents_leave_and_used_ones_stay() {
        let t0 = Instant::now();
        let mut r = Residency::new(10, Duration::from_secs(30));
        r.touch(id(1), t0);
        r.touch(id(2), t0 + Duration::from_secs(20));
        assert!(r.overdue(t0 + Duration::from_secs(29)).is_empty());
        assert_eq!(r.overdue(t0 + Duration::from_secs(31)), vec![id(1)]);
        assert_eq!(r.overdue(t0 + Duration::from_secs(51)), vec![id(2)]);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn forgotten_documents_are_not_returned() {
        let t0 = Instant::now();
        let mut r = Residency::new(1, Duration::from_secs(30));
        r.touch(id(1), t0);
        r.touch(id(2), t0);
        r.forget(&id(1));
        assert!(r.overdue(t0 + QUIET).is_empty());
        r.forget(&id(9)); // unknown: nothing happens
        assert_eq!(r.len(), 1);
    }
}
