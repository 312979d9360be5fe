//! What the relay holds in memory: documents read from storage come in
//! (or their news is absorbed), and between batches documents leave that
//! nobody follows, that are over budget or idle, unless changes in them are
//! waiting for a missing dependency.

use std::sync::Arc;

use super::{RelayCore, Scope, StoredDocument, Task};
use crate::record::FeedbackRecord;
use crate::sync::DocumentId;

/// The stored chunks of a document in memory: ids `first..=last`, `count`
/// of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChunkSpan {
    first: i64,
    last: i64,
    count: usize,
}

impl ChunkSpan {
    pub(super) fn one(id: i64) -> Self {
        ChunkSpan {
            first: id,
            last: id,
            count: 1,
        }
    }

    pub(super) fn add(&mut self, id: i64) {
        self.last = self.last.max(id);
        self.count += 1;
    }
}

/// How long a document holding changes that wait for a dependency stays in
/// memory past its budget; after that it leaves and its followers resync.
pub const QUEUE_GRACE_MS: u64 = 30_000;

/// A document loaded from more chunks than this is compacted into one.
pub const COMPACT_AFTER_CHUNKS: usize = 64;

impl RelayCore {
    /// A document read from storage: installed if not in memory, or its
    /// news absorbed (stored by another relay) if it is.
    ///
    /// False for a stored document that does not load: its messages are
    /// refused, never allowed to start a new document over it.
    pub(super) fn take_stored(
        &mut self,
        id: DocumentId,
        stored: StoredDocument,
        out: &mut Vec<Task>,
    ) -> bool {
        if stored.erased {
            self.erase(id, out);
            return true;
        }
        self.actors
            .entry(id)
            .or_default()
            .extend(stored.actors.iter().cloned());
        if self.hub.has_document(&id) {
            match self.hub.absorb(id, stored.chunks.iter().map(Vec::as_slice)) {
                Ok(fx) => {
                    // Another relay wrote this record's rows from its copy,
                    // and chunks this relay does not know of.
                    self.projected.remove(&id);
                    self.spans.remove(&id);
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
        if let (Some(&first), Some(&last)) = (stored.chunk_ids.first(), stored.chunk_ids.last()) {
            let mut span = ChunkSpan {
                first,
                last,
                count: stored.chunk_ids.len(),
            };
            if span.count > COMPACT_AFTER_CHUNKS {
                // Loading read every chunk ever written; next time it reads one.
                out.push(Task::Compact {
                    id,
                    first,
                    last,
                    save: doc.save(),
                });
                self.counters.documents_compacted += 1;
                span = ChunkSpan::one(first);
            }
            self.spans.insert(id, span);
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
    /// Returns the compactions of documents that left.
    pub(super) fn finish(&mut self) -> Vec<Task> {
        let mut out = Vec::new();
        for id in std::mem::take(&mut self.orphans) {
            if !self.hub.is_followed(&id) {
                out.extend(self.evict(&id));
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
            out.extend(self.evict(&id));
        }
        self.waiting.expire(self.now_ms);
        out
    }

    /// Drops a document from memory between batches, when nothing in it is
    /// unsaved: followers keep their sync states and it reloads from
    /// storage. Where this relay knows every stored chunk of it (storage is
    /// not shared), a document stored in several chunks is compacted as it
    /// leaves, so the next load reads one save instead of replaying each.
    pub(super) fn evict(&mut self, id: &DocumentId) -> Option<Task> {
        let compact = match (self.spans.get(id), self.hub.document(id)) {
            (Some(span), Some(doc)) if span.count > 1 && !self.shared_storage => {
                self.counters.documents_compacted += 1;
                Some(Task::Compact {
                    id: *id,
                    first: span.first,
                    last: span.last,
                    save: doc.save(),
                })
            }
            _ => None,
        };
        self.drop_unsaved(id);
        compact
    }

    /// Drops a document from memory, saved or not (after a failed commit,
    /// when its connections are closed as well).
    pub(super) fn drop_unsaved(&mut self, id: &DocumentId) {
        self.spans.remove(id);
        self.residency.forget(id);
        self.queued_since.remove(id);
        self.projected.remove(id);
        self.scopes.remove(id);
        self.actors.remove(id);
        if self.hub.has_document(id) {
            self.hub.evict(id);
            self.counters.documents_evicted += 1;
        }
    }
}
