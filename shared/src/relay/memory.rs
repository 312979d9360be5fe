//! What the relay holds in memory: documents read from storage come in
//! (or their news is absorbed), and between batches documents leave that
//! nobody follows, that are over budget or idle, unless changes in them are
//! waiting for a missing dependency.

use std::sync::Arc;

use super::{RelayCore, Scope, StoredDocument, Task};
use crate::record::FeedbackRecord;
use crate::sync::DocumentId;

/// How long a document holding changes that wait for a dependency stays in
/// memory past its budget; after that it leaves and its followers resync.
pub const QUEUE_GRACE_MS: u64 = 30_000;

/// A document loaded from more chunks than this is compacted into one.
pub const COMPACT_AFTER_CHUNKS: usize = 64;

impl RelayCore {
    /// A document read from storage: installed if not in memory, or its
    /// news absorbed (stored by another relay) if it is.
    /// False for a stored document that does not load: its messages are
    /// refused, never allowed to start a new document over it.
    pub(super) fn take_stored(
        &mut self,
        id: DocumentId,
        stored: StoredDocument,
        out: &mut Vec<Task>,
    ) -> bool {
        if self.hub.has_document(&id) {
            match self.hub.absorb(id, stored.chunks.iter().map(Vec::as_slice)) {
                Ok(fx) => {
                    // Another relay wrote this record's rows from its copy.
                    self.projected.remove(&id);
                    self.scopes.entry(id).or_insert(Scope {
                        team: stored.team,
                        owner: None,
                    });
                    self.set_owner(id, stored.owner);
                    self.emit(fx, out);
                }
                Err(_) => self.counters.damaged_documents += 1,
            }
            return true;
        }
        let Ok(doc) = crate::sync::load_document(stored.chunks.iter().map(Vec::as_slice)) else {
            self.counters.damaged_documents += 1;
            return false;
        };
        self.counters.documents_loaded += 1;
        if let (true, Some(&first), Some(&last)) = (
            stored.chunks.len() > COMPACT_AFTER_CHUNKS,
            stored.chunk_ids.first(),
            stored.chunk_ids.last(),
        ) {
            // Loading read every chunk ever written; next time it reads one.
            out.push(Task::Compact {
                id,
                first,
                last,
                save: doc.save(),
            });
            self.counters.documents_compacted += 1;
        }
        if !self.shared_storage
            && let Ok(r) = FeedbackRecord::from_doc(&doc)
        {
            // Its rows were written with its last change, from this document.
            self.projected.insert(id, Arc::new(r));
        }
        self.residency.touch(id, self.now_ms);
        self.scopes.insert(
            id,
            Scope {
                team: stored.team,
                owner: stored.owner,
            },
        );
        // Followers kept while it was out of memory may have lost access
        // since (reassigned by another relay): check before offering.
        self.withdraw_followers(id);
        let fx = self.hub.add_document(id, doc);
        self.emit(fx, out);
        out.extend(self.deliver_waiting(id));
        true
    }

    /// Between batches: unfollowed documents and those over budget or idle
    /// leave memory (followers keep their sync states), expired requests go.
    pub(super) fn finish(&mut self) {
        for id in std::mem::take(&mut self.orphans) {
            if !self.hub.is_followed(&id) {
                self.evict(&id);
            }
        }
        for id in self.residency.overdue(self.now_ms) {
            // Changes waiting for a dependency would leave with the document
            // and the peer would have to resend everything: keep it while
            // the missing change is on its way, within a grace period.
            if self.hub.has_queued_changes(&id) {
                let since = *self.queued_since.entry(id).or_insert(self.now_ms);
                if self.now_ms.saturating_sub(since) < QUEUE_GRACE_MS {
                    self.residency.touch(id, self.now_ms);
                    continue;
                }
            }
            self.evict(&id);
        }
        self.waiting.expire(self.now_ms);
    }

    /// Drops a document from memory. Between batches nothing in memory is
    /// unsaved, so followers keep their sync states and it reloads from
    /// storage; after a failed commit its connections are closed as well.
    pub(super) fn evict(&mut self, id: &DocumentId) {
        self.residency.forget(id);
        self.queued_since.remove(id);
        self.projected.remove(id);
        self.scopes.remove(id);
        if self.hub.has_document(id) {
            self.hub.evict(id);
            self.counters.documents_evicted += 1;
        }
    }
}
