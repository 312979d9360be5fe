//! The attachment store: each file kept on this device as a `Blob` under
//! the SHA-256 of its content, with what the uploader knows of it (see
//! `crate::attachments`). The blob stays after the upload, so the tablet
//! shows its own photos offline.

use indexed_db_futures::prelude::*;
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use super::{ATTACHMENTS, LocalStore, StoreError};

/// One stored file: its blob and its state, as JSON.
pub struct StoredFile {
    pub blob: web_sys::Blob,
    pub meta_json: String,
}

impl LocalStore {
    /// Keeps a file (or replaces its state), durably.
    pub async fn keep_file(
        &self,
        sha256: &str,
        blob: &web_sys::Blob,
        meta_json: &str,
    ) -> Result<(), StoreError> {
        let entry = Object::new();
        let set = |k: &str, v: &JsValue| {
            Reflect::set(&entry, &k.into(), v)
                .map_err(|_| StoreError("cannot build a stored file".into()))
        };
        set("blob", blob)?;
        set("meta", &JsValue::from_str(meta_json))?;
        self.put_one(ATTACHMENTS, sha256.to_string(), entry.into())
            .await
    }

    /// One stored file, if this device has it.
    pub async fn file(&self, sha256: &str) -> Result<Option<StoredFile>, StoreError> {
        let tx = self.db.transaction(ATTACHMENTS).build()?;
        let entry: Option<JsValue> = tx
            .object_store(ATTACHMENTS)?
            .get::<JsValue, _, _>(sha256.to_string())
            .await?;
        Ok(entry.and_then(|e| stored_file(&e)))
    }

    /// Every stored file's hash and state (the blobs are not read).
    pub async fn files(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .keyed_values(ATTACHMENTS)
            .await?
            .into_iter()
            .filter_map(|(k, v)| Some((k, stored_file(&v)?.meta_json)))
            .collect())
    }

    /// Forgets a file (an erased record's, once the server holds it).
    pub async fn forget_file(&self, sha256: &str) -> Result<(), StoreError> {
        self.delete_one(ATTACHMENTS, sha256.to_string()).await
    }
}

fn stored_file(entry: &JsValue) -> Option<StoredFile> {
    use wasm_bindgen::JsCast;
    let blob = Reflect::get(entry, &"blob".into())
        .ok()?
        .dyn_into::<web_sys::Blob>()
        .ok()?;
    let meta_json = Reflect::get(entry, &"meta".into()).ok()?.as_string()?;
    Some(StoredFile { blob, meta_json })
}
