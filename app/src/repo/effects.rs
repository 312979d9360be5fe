//! Running the sync hub's effects in order: a chunk made durable before
//! anything that depends on it is sent, sync frames to the socket, and
//! what the relay refused kept for its author.

use std::rc::Rc;

use automerge::Change;
use closeloop_shared::sync::{DocumentId, Effect};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{Inner, RefusedEdit, SyncStatus};
use crate::session::Session;
use crate::store::{COMPACT_AFTER, StoreError};

impl Inner {
    /// Stores a chunk with the document's list entry; `local`: the user's
    /// own edit, not yet acknowledged, shown in the list at once. Every
    /// [`COMPACT_AFTER`] chunks (counted here, so a save costs one
    /// transaction) the document may be compacted.
    pub(super) async fn persist(
        this: &Rc<Inner>,
        id: DocumentId,
        chunk: &[u8],
        local: bool,
    ) -> Result<(), StoreError> {
        let seq = this.next_seq();
        let entry = this.entry_of(&id);
        let json = entry.as_ref().map(|(_, json)| json.as_str());
        this.store.append(&id, chunk, seq, json, local).await?;
        if local {
            this.note_pending(id);
        }
        if let Some((entry, _)) = entry {
            Inner::note_entry(this, id, entry, local);
        }
        let appended = {
            let mut counts = this.appended.borrow_mut();
            let n = counts.entry(id).or_default();
            *n += 1;
            *n
        };
        if appended < COMPACT_AFTER {
            return Ok(());
        }
        this.appended.borrow_mut().remove(&id);
        let doc = this.hub.borrow().document(&id).cloned();
        if let Some(doc) = doc {
            this.store
                .compact_if_needed(&id, &doc, this.next_seq())
                .await?;
        }
        Ok(())
    }

    /// Chunk keys must be unique and increasing across reloads: time-based.
    fn next_seq(&self) -> u64 {
        let now = (js_sys::Date::now() as u64) << 12;
        let next = now.max(self.seq.get() + 1);
        self.seq.set(next);
        next
    }

    /// Queues effects and runs them one at a time, in order, so a sync
    /// reply never overtakes the local write it depends on.
    pub(crate) fn enqueue(this: &Rc<Inner>, effects: Vec<Effect>) {
        if effects.is_empty() {
            return;
        }
        this.queue.borrow_mut().extend(effects);
        if this.draining.replace(true) {
            return;
        }
        let this = this.clone();
        spawn_local(async move {
            loop {
                let next = this.queue.borrow_mut().pop_front();
                let Some(effect) = next else { break };
                this.run(effect).await;
            }
            this.draining.set(false);
        });
    }

    async fn run(self: &Rc<Self>, effect: Effect) {
        match effect {
            Effect::Send { conn, frame } => {
                if let Some(s) = self.socket.borrow().as_ref().filter(|s| s.conn == conn) {
                    s.send(&frame);
                }
            }
            Effect::Close { conn, reason } => {
                leptos::logging::warn!("sync connection closed: {reason}");
                if let Some(s) = self.socket.borrow().as_ref().filter(|s| s.conn == conn) {
                    s.close();
                }
            }
            Effect::Persist {
                document_id, chunk, ..
            } => {
                if let Err(e) = Inner::persist(self, document_id, &chunk, false).await {
                    self.problem.set(Some(e.to_string()));
                }
            }
            Effect::Changed { .. } => self.version.update(|v| *v += 1),
            Effect::PeerReady { .. } => {
                self.status.set(SyncStatus::Online);
                self.note_in_step();
                Inner::upload_contacts(self);
                Inner::upload_files(self);
                Inner::read_tombstones(self);
                // Rights may have changed while offline: refresh who we are.
                let this = self.clone();
                spawn_local(async move {
                    if let Some(now) = Inner::check_session(&this).await
                        && now != Session::Unknown
                    {
                        this.session.set(now);
                    }
                });
            }
            // The relay no longer offers a document: it may have been erased.
            Effect::Unavailable { .. } => Inner::read_tombstones(self),
            Effect::Dropped {
                document_id,
                save,
                removed,
                code,
                reason,
            } => {
                let edit = RefusedEdit {
                    code,
                    reason,
                    at_ms: js_sys::Date::now() as i64,
                    edits: removed
                        .into_iter()
                        .filter_map(|bytes| Change::from_bytes(bytes).ok())
                        .map(|c| c.message().unwrap_or_default().to_string())
                        .collect(),
                };
                let json = serde_json::to_string(&edit).unwrap_or_default();
                let seq = self.next_seq();
                if let Err(e) = self
                    .store
                    .replace_refused(&document_id, &save, &json, seq)
                    .await
                {
                    self.problem.set(Some(e.to_string()));
                }
                if let Some((entry, json)) = self.entry_of(&document_id) {
                    if let Err(e) = self.store.put_list_entry(&document_id, &json).await {
                        self.problem.set(Some(e.to_string()));
                    }
                    Inner::note_entry(self, document_id, entry, true);
                }
                self.refused
                    .update(|m| m.entry(document_id).or_default().push(edit));
                self.version.update(|v| *v += 1);
            }
            Effect::Refused { .. } => {}
        }
    }
}
