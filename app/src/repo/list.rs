//! The record list's data at scale: each document's list entry is read
//! from IndexedDB at start (one read for all of them), so the first screen
//! shows thousands of records without loading a single document; the
//! documents follow in the background, a batch at a time between frames,
//! and only then does the device sync. Every stored chunk rewrites its
//! document's entry in the same transaction.

use std::collections::HashMap;
use std::rc::Rc;

use closeloop_shared::FeedbackRecord;
use closeloop_shared::record::ListEntry;
use closeloop_shared::sync::DocumentId;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::Inner;
use crate::store::{LocalStore, StoreError};

/// Documents loaded between two yields to the page.
const BATCH: usize = 64;

/// The entries stored on this device.
pub(crate) async fn stored_entries(
    store: &LocalStore,
) -> Result<HashMap<DocumentId, ListEntry>, StoreError> {
    Ok(store
        .list_entries()
        .await?
        .into_iter()
        .filter_map(|(id, json)| Some((id, serde_json::from_str(&json).ok()?)))
        .collect())
}

impl Inner {
    /// A document's list entry as it is in memory now, and as JSON.
    pub(crate) fn entry_of(&self, id: &DocumentId) -> Option<(ListEntry, String)> {
        let hub = self.hub.borrow();
        let record = FeedbackRecord::from_doc(hub.document(id)?).ok()?;
        let entry = ListEntry::of(&record);
        let json = serde_json::to_string(&entry).ok()?;
        Some((entry, json))
    }

    /// Shows a changed entry: at once for a local save (`now`), else with
    /// the others of the same moment, so a pull of thousands of documents
    /// redraws the list a few times, not thousands.
    pub(crate) fn note_entry(this: &Rc<Inner>, id: DocumentId, entry: ListEntry, now: bool) {
        this.changed_entries.borrow_mut().push((id, entry));
        if now {
            this.flush_entries();
        } else if !this.entries_flush_due.replace(true) {
            let weak = Rc::downgrade(this);
            let flush = wasm_bindgen::closure::Closure::once_into_js(move || {
                if let Some(this) = weak.upgrade() {
                    this.flush_entries();
                }
            });
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    flush.unchecked_ref(),
                    100,
                );
            }
        }
    }

    pub(crate) fn flush_entries(&self) {
        self.entries_flush_due.set(false);
        let changed = std::mem::take(&mut *self.changed_entries.borrow_mut());
        if changed.is_empty() {
            return;
        }
        self.entries.update(|m| m.extend(changed));
    }

    /// Loads every stored document into memory, those with unsent edits
    /// first, yielding to the page between batches; writes the entry of
    /// any document stored without one.
    pub(crate) async fn load_documents(this: &Rc<Inner>) {
        let ids = match this.store.document_ids().await {
            Ok(ids) => ids,
            Err(e) => {
                this.problem.set(Some(e.to_string()));
                return;
            }
        };
        let (mut first, rest): (Vec<DocumentId>, Vec<DocumentId>) = {
            let pending = this.pending.borrow();
            ids.into_iter().partition(|id| pending.contains(id))
        };
        first.extend(rest);
        for batch in first.chunks(BATCH) {
            for id in batch {
                match this.store.load(id).await {
                    Ok(Some(doc)) => {
                        let effects = this.hub.borrow_mut().add_document(*id, doc);
                        Inner::enqueue(this, effects);
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        leptos::logging::warn!("skipping a damaged local document: {e}");
                        continue;
                    }
                }
                let known = this.entries.with_untracked(|m| m.contains_key(id));
                if !known && let Some((entry, json)) = this.entry_of(id) {
                    if let Err(e) = this.store.put_list_entry(id, &json).await {
                        this.problem.set(Some(e.to_string()));
                    }
                    Inner::note_entry(this, *id, entry, false);
                }
            }
            next_frame().await;
        }
        this.flush_entries();
        this.loaded.set(true);
        this.version.update(|v| *v += 1);
    }
}

/// Resolves after the page had a chance to draw and handle input.
async fn next_frame() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
