//! What the relay holds in memory: documents load from storage in batches
//! before the messages that name them, and leave when over budget, idle or
//! unfollowed, keeping their followers' sync states.

use closeloop_shared::sync::{self, DocumentId};

use super::{Metrics, Relay, RelayInput, Scope};
use crate::storage::StoredDocument;

impl Relay {
    /// Evicts what [`super::Residency`] says is over budget or idle, followed or
    /// not: followers keep their sync state and the document reloads from
    /// storage on the next message about it.
    pub(super) fn evict_overdue(&mut self) {
        for id in self.residency.overdue(std::time::Instant::now()) {
            self.evict(&id);
        }
        Metrics::set(
            &self.metrics.documents_in_memory,
            self.hub.document_count() as u64,
        );
    }

    /// Drops a document from memory, or marks it to go once its pending
    /// changes are committed (their projection is written from memory).
    pub(super) fn evict(&mut self, id: &DocumentId) {
        if self.pending.iter().any(|w| w.id == *id) {
            // Its projection is written from memory at the commit.
            self.evict_later.push(*id);
            return;
        }
        self.scopes.remove(id);
        self.residency.forget(id);
        // It is in storage now: a later message in this batch must load it.
        self.absent.remove(id);
        if self.hub.has_document(id) {
            self.hub.evict(id);
            Metrics::add(&self.metrics.documents_evicted, 1);
        }
    }

    /// Loads every stored document the batch's messages name that is not in
    /// memory, with one query for all of them instead of one per message.
    pub(super) async fn prefetch(&mut self, batch: &[RelayInput]) {
        let mut ids: Vec<DocumentId> = batch
            .iter()
            .filter_map(|input| match input {
                RelayInput::Frame { message: Ok(m), .. } => m.document_id(),
                _ => None,
            })
            .filter(|id| !self.hub.has_document(id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let loaded = self.storage.load_many(&ids).await;
        Metrics::add(
            &self.metrics.storage_load_micros,
            started.elapsed().as_micros() as u64,
        );
        // On failure each message tries again alone and reports the error.
        let Ok(mut found) = loaded else { return };
        for id in ids {
            match found.remove(&id) {
                // A damaged one is left for its message to report.
                Some(stored) => {
                    let _ = self.install(id, stored).await;
                }
                None => {
                    self.absent.insert(id);
                }
            }
        }
    }

    /// Brings a stored document into memory before a message about it is handled.
    pub(super) async fn ensure_loaded(&mut self, id: DocumentId) -> Result<(), String> {
        // A dormant document was stored before it left, whatever the batch saw.
        let known_absent = self.absent.contains(&id) && !self.hub.is_followed(&id);
        if self.hub.has_document(&id) || known_absent {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let loaded = self.storage.load(&id).await;
        Metrics::add(
            &self.metrics.storage_load_micros,
            started.elapsed().as_micros() as u64,
        );
        match loaded {
            Ok(None) => Ok(()),
            Ok(Some(stored)) => self.install(id, stored).await,
            Err(e) => {
                tracing::error!(%id, error = %e, "loading a document failed");
                Err("storage unavailable, try again".into())
            }
        }
    }

    /// Puts a document read from storage into memory.
    async fn install(&mut self, id: DocumentId, stored: StoredDocument) -> Result<(), String> {
        let doc = match sync::load_document(stored.chunks.iter().map(Vec::as_slice)) {
            Ok(doc) => doc,
            Err(e) => {
                tracing::error!(%id, error = %e, "stored document does not load");
                return Err("stored document is damaged".into());
            }
        };
        Metrics::add(&self.metrics.documents_loaded, 1);
        self.residency.touch(id, std::time::Instant::now());
        self.scopes.insert(
            id,
            Scope {
                team: stored.team,
                owner: stored.owner,
            },
        );
        // Followers of an evicted document get what it gained meanwhile
        // (from another relay).
        let fx = self.hub.add_document(id, doc);
        self.execute(fx).await;
        Ok(())
    }

    /// Brings a document in memory up to date with what another relay
    /// stored, and forwards the news to this relay's peers.
    pub(super) async fn absorb_stored(&mut self, id: DocumentId) {
        if !self.hub.has_document(&id) {
            if self.hub.is_followed(&id) {
                // Evicted but followed: loading it offers the news.
                if let Err(reason) = self.ensure_loaded(id).await {
                    tracing::warn!(%id, %reason, "reloading a followed document failed");
                }
            }
            return; // otherwise it loads fresh when someone asks for it
        }
        let stored = match self.storage.load(&id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(%id, error = %e, "reading a change stored elsewhere failed");
                return;
            }
        };
        match self.hub.absorb(id, stored.chunks.iter().map(Vec::as_slice)) {
            Ok(fx) => {
                self.scopes.entry(id).or_insert(Scope {
                    team: stored.team,
                    owner: None,
                });
                self.set_owner(id, stored.owner);
                self.execute(fx).await;
            }
            Err(e) => tracing::error!(%id, error = %e, "a change stored elsewhere does not load"),
        }
    }
}
