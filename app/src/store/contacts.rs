//! The contact outbox's storage: sealed entries keyed by their contact
//! reference (see `crate::contacts`), and the key that seals them, a
//! non-extractable `CryptoKey` kept as the object itself (IndexedDB clones
//! it; its bytes are never readable by script).

use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::TransactionMode;
use wasm_bindgen::JsValue;

use super::{CONTACTS, KEYS, LocalStore, StoreError};

/// Where the contact key is kept in [`KEYS`].
const CONTACT_KEY: &str = "contacts";

impl LocalStore {
    /// The contact key, if this device has made one.
    pub async fn contact_key(&self) -> Result<Option<JsValue>, StoreError> {
        let tx = self.db.transaction(KEYS).build()?;
        let key: Option<JsValue> = tx
            .object_store(KEYS)?
            .get::<JsValue, _, _>(CONTACT_KEY.to_string())
            .await?;
        Ok(key)
    }

    /// Keeps `fresh` as the contact key unless one is already stored, in
    /// one transaction, so two first captures never seal under two keys;
    /// the key kept is returned.
    pub async fn keep_contact_key(&self, fresh: JsValue) -> Result<JsValue, StoreError> {
        let tx = self
            .db
            .transaction(KEYS)
            .with_mode(TransactionMode::Readwrite)
            .build()?;
        let store = tx.object_store(KEYS)?;
        let stored: Option<JsValue> = store.get::<JsValue, _, _>(CONTACT_KEY.to_string()).await?;
        if let Some(key) = stored {
            return Ok(key);
        }
        store
            .put(fresh.clone())
            .with_key(CONTACT_KEY.to_string())
            .await?;
        tx.commit().await?;
        Ok(fresh)
    }

    /// Writes an outbox entry (new, or replacing the one with its reference).
    pub async fn put_contact(&self, contact_ref: &str, entry: JsValue) -> Result<(), StoreError> {
        self.put_one(CONTACTS, contact_ref.to_string(), entry).await
    }

    /// Every outbox entry, in reference order.
    pub async fn contacts(&self) -> Result<Vec<JsValue>, StoreError> {
        let tx = self.db.transaction(CONTACTS).build()?;
        let values: Vec<JsValue> = tx
            .object_store(CONTACTS)?
            .get_all()
            .await?
            .collect::<Result<_, _>>()?;
        Ok(values)
    }

    /// Removes an outbox entry.
    pub async fn delete_contact(&self, contact_ref: &str) -> Result<(), StoreError> {
        self.delete_one(CONTACTS, contact_ref.to_string()).await
    }
}
