//! Documents in IndexedDB: each document's chunks (full saves and
//! incremental changes) under keys `"<id>/<seq>"`, read back with a key
//! range on the id, so opening one record costs only that record's keys.

use automerge::Automerge;
use closeloop_shared::sync::{self, DocumentId};
use indexed_db_futures::KeyRange;
use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use wasm_bindgen::JsValue;

mod attachments;
mod contacts;

pub use attachments::StoredFile;

const CHUNKS: &str = "chunks";
const DOCS: &str = "docs";
/// Edits the relay did not accept, kept for their author (JSON per edit).
const REFUSED: &str = "refused";
/// The device's own keys (the contact key: a non-extractable CryptoKey).
const KEYS: &str = "keys";
/// Contact details waiting to reach the server, sealed (see `contacts`).
const CONTACTS: &str = "contact_outbox";
/// Documents with local edits the relay has not acknowledged yet (id → true).
const PENDING: &str = "pending";
/// Attachment files by content hash (see `attachments`).
const ATTACHMENTS: &str = "attachments";
/// What the record list shows of each document (id → `ListEntry` JSON),
/// written with every chunk, so the list opens without the documents.
const ENTRIES: &str = "list_entries";
/// Incremental chunks a document may collect before it is rewritten as one save.
pub(crate) const COMPACT_AFTER: usize = 32;

/// A failed IndexedDB operation; never reported to the user as "saved".
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<indexed_db_futures::error::Error> for StoreError {
    fn from(e: indexed_db_futures::error::Error) -> Self {
        StoreError(format!("local storage: {e}"))
    }
}

/// The browser's durable copy of every document this device holds.
pub struct LocalStore {
    db: Database,
}

impl LocalStore {
    /// Opens (and on first use creates) the named database.
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let db = Database::open(name)
            .with_version(5u8)
            .with_on_upgrade_needed(|event, db| {
                if event.old_version() < 1.0 {
                    db.create_object_store(CHUNKS).build()?;
                    db.create_object_store(DOCS).build()?;
                }
                if event.old_version() < 2.0 {
                    db.create_object_store(REFUSED).build()?;
                }
                // Only new stores: the documents and refused edits stay as they are.
                if event.old_version() < 3.0 {
                    db.create_object_store(KEYS).build()?;
                    db.create_object_store(CONTACTS).build()?;
                }
                if event.old_version() < 4.0 {
                    db.create_object_store(PENDING).build()?;
                }
                if event.old_version() < 5.0 {
                    db.create_object_store(ATTACHMENTS).build()?;
                    db.create_object_store(ENTRIES).build()?;
                }
                Ok(())
            })
            .await
            .map_err(|e| StoreError(format!("cannot open local storage: {e:?}")))?;
        Ok(Self { db })
    }

    /// Opens the database of earlier versions if this device has one
    /// (never creating it, never changing its version).
    pub async fn open_legacy(name: &str) -> Result<Option<Self>, StoreError> {
        let db = Database::open(name)
            .await
            .map_err(|e| StoreError(format!("cannot open local storage: {e:?}")))?;
        if !db.object_store_names().any(|n| n == DOCS) {
            // Opening it just made it (empty): gone again.
            if let Ok(deleting) = db.delete() {
                let _ = deleting.await;
            }
            return Ok(None);
        }
        Ok(Some(Self { db }))
    }

    /// Appends one chunk durably, with the document's list entry as it is
    /// now (if it reads as a record) and, for a local edit, its mark as not
    /// yet acknowledged (`pending`): one transaction, returning only once
    /// it committed.
    pub async fn append(
        &self,
        id: &DocumentId,
        chunk: &[u8],
        seq: u64,
        entry: Option<&str>,
        pending: bool,
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction([CHUNKS, DOCS, ENTRIES, PENDING])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let chunks = tx.object_store(CHUNKS)?;
        let bytes: JsValue = js_sys::Uint8Array::from(chunk).into();
        chunks.put(bytes).with_key(chunk_key(id, seq)).await?;
        tx.object_store(DOCS)?
            .put(JsValue::TRUE)
            .with_key(id.to_string())
            .await?;
        if let Some(json) = entry {
            tx.object_store(ENTRIES)?
                .put(JsValue::from_str(json))
                .with_key(id.to_string())
                .await?;
        }
        if pending {
            tx.object_store(PENDING)?
                .put(JsValue::TRUE)
                .with_key(id.to_string())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every list entry on this device: (document, JSON).
    pub async fn list_entries(&self) -> Result<Vec<(DocumentId, String)>, StoreError> {
        Ok(self
            .keyed_values(ENTRIES)
            .await?
            .into_iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_string()?)))
            .collect())
    }

    /// Writes one document's list entry (for documents stored before
    /// entries were kept, and after a refused edit was taken out).
    pub async fn put_list_entry(&self, id: &DocumentId, json: &str) -> Result<(), StoreError> {
        self.put_one(ENTRIES, id.to_string(), JsValue::from_str(json))
            .await
    }

    /// Rebuilds a document from its chunks; `None` if this device has none.
    pub async fn load(&self, id: &DocumentId) -> Result<Option<Automerge>, StoreError> {
        let chunks = self.chunks(id).await?;
        if chunks.is_empty() {
            return Ok(None);
        }
        let doc = sync::load_document(chunks.iter().map(Vec::as_slice))
            .map_err(|e| StoreError(format!("stored document {id} is damaged: {e}")))?;
        Ok(Some(doc))
    }

    /// Ids of every document stored on this device.
    pub async fn document_ids(&self) -> Result<Vec<DocumentId>, StoreError> {
        self.ids_in(DOCS).await
    }

    /// The document ids an object store is keyed by.
    async fn ids_in(&self, store: &str) -> Result<Vec<DocumentId>, StoreError> {
        let tx = self.db.transaction(store).build()?;
        let keys: Vec<String> = tx
            .object_store(store)?
            .get_all_keys()
            .await?
            .collect::<Result<_, _>>()?;
        Ok(keys.iter().filter_map(|k| k.parse().ok()).collect())
    }

    /// Rewrites a document with many chunks as one full save, in one transaction.
    pub async fn compact_if_needed(
        &self,
        id: &DocumentId,
        doc: &Automerge,
        seq: u64,
    ) -> Result<bool, StoreError> {
        let tx = self
            .db
            .transaction(CHUNKS)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(CHUNKS)?;
        let count = store.count().with_query::<String, _>(range(id)).await?;
        if (count as usize) < COMPACT_AFTER {
            return Ok(false);
        }
        store.delete::<String, _>(range(id)).await?;
        let bytes: JsValue = js_sys::Uint8Array::from(doc.save().as_slice()).into();
        store.put(bytes).with_key(chunk_key(id, seq)).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces a document's chunks with one full save and keeps an edit
    /// the relay refused, in one transaction: the copy without the edit and
    /// the record of it are durable together.
    pub async fn replace_refused(
        &self,
        id: &DocumentId,
        save: &[u8],
        refused_json: &str,
        seq: u64,
    ) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction([CHUNKS, REFUSED])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let chunks = tx.object_store(CHUNKS)?;
        chunks.delete::<String, _>(range(id)).await?;
        let bytes: JsValue = js_sys::Uint8Array::from(save).into();
        chunks.put(bytes).with_key(chunk_key(id, seq)).await?;
        tx.object_store(REFUSED)?
            .put(JsValue::from_str(refused_json))
            .with_key(chunk_key(id, seq))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every refused edit kept on this device: (document, JSON).
    pub async fn refused(&self) -> Result<Vec<(DocumentId, String)>, StoreError> {
        Ok(self
            .keyed_values(REFUSED)
            .await?
            .into_iter()
            .filter_map(|(k, v)| Some((k.split('/').next()?.parse().ok()?, v.as_string()?)))
            .collect())
    }

    /// Writes one value under `key` in its own transaction.
    async fn put_one(&self, store: &str, key: String, value: JsValue) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(store)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        tx.object_store(store)?.put(value).with_key(key).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes the value under `key` in its own transaction.
    async fn delete_one(&self, store: &str, key: String) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction(store)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        tx.object_store(store)?.delete::<String, _>(key).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every key of an object store with its value, in one transaction.
    async fn keyed_values(&self, name: &str) -> Result<Vec<(String, JsValue)>, StoreError> {
        let tx = self.db.transaction(name).build()?;
        let store = tx.object_store(name)?;
        let keys: Vec<String> = store.get_all_keys().await?.collect::<Result<_, _>>()?;
        let values: Vec<JsValue> = store.get_all().await?.collect::<Result<_, _>>()?;
        Ok(keys.into_iter().zip(values).collect())
    }

    /// Notes that a document has local edits the relay has not acknowledged.
    pub async fn mark_pending(&self, id: &DocumentId) -> Result<(), StoreError> {
        self.put_one(PENDING, id.to_string(), JsValue::TRUE).await
    }

    /// The relay acknowledged everything this device has of a document.
    pub async fn clear_pending(&self, id: &DocumentId) -> Result<(), StoreError> {
        self.delete_one(PENDING, id.to_string()).await
    }

    /// Documents with edits not yet acknowledged by the relay.
    pub async fn pending(&self) -> Result<Vec<DocumentId>, StoreError> {
        self.ids_in(PENDING).await
    }

    /// Deletes everything this device holds of a document (an erased
    /// record), in one transaction.
    pub async fn forget(&self, id: &DocumentId) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction([CHUNKS, DOCS, REFUSED, PENDING, ENTRIES])
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        tx.object_store(CHUNKS)?
            .delete::<String, _>(range(id))
            .await?;
        tx.object_store(REFUSED)?
            .delete::<String, _>(range(id))
            .await?;
        tx.object_store(DOCS)?
            .delete::<String, _>(id.to_string())
            .await?;
        tx.object_store(PENDING)?
            .delete::<String, _>(id.to_string())
            .await?;
        tx.object_store(ENTRIES)?
            .delete::<String, _>(id.to_string())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Closes the connection (before the database is deleted); every
    /// later operation on this store fails.
    pub fn close(&self) {
        self.db.clone().close();
    }

    async fn chunks(&self, id: &DocumentId) -> Result<Vec<Vec<u8>>, StoreError> {
        let tx = self.db.transaction(CHUNKS).build()?;
        let values: Vec<JsValue> = tx
            .object_store(CHUNKS)?
            .get_all()
            .with_query::<String, _>(range(id))
            .await?
            .collect::<Result<_, _>>()?;
        Ok(values
            .into_iter()
            .map(|v| js_sys::Uint8Array::new(&v).to_vec())
            .collect())
    }
}

/// Keys sort by id, then by sequence (fixed-width hex).
fn chunk_key(id: &DocumentId, seq: u64) -> String {
    format!("{id}/{seq:016x}")
}

/// Every key of one document: `"<id>/"` up to, not including, `"<id>0"`
/// (`'0'` is the character after `'/'`).
fn range(id: &DocumentId) -> KeyRange<String> {
    KeyRange::Bound(format!("{id}/"), false, format!("{id}0"), true)
}
