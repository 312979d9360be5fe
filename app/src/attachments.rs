//! Attachments on this device (S003 §1: photos, video and screenshots
//! taken in the field, mostly offline). A chosen file is hashed (SHA-256,
//! Web Crypto) and kept as a blob in IndexedDB before any record refers
//! to it, so nothing waits on the network and nothing is lost when the
//! tab closes. The uploader sends each waiting file in resumable pieces
//! (`/api/attachments/{sha256}/upload`) and counts it as synced only when
//! the server's hash of what it stored equals the file's.

use std::rc::Rc;

use closeloop_shared::api::{ErrorBody, StoredBlob, UploadProgress};
use closeloop_shared::record::{Attachment, UPLOAD_CHUNK_BYTES};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File};

use crate::i18n::{Lang, tr};
use crate::repo::{Inner, Repo};
use crate::upload::refusal;

/// What the device knows of a kept file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct FileMeta {
    media_type: String,
    size: u64,
    name: String,
    state: FileState,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum FileState {
    /// Not on the server yet.
    Waiting,
    /// The server holds it, its hash checked.
    Sent,
    /// The server refused it for good (the code says why).
    Refused(String),
}

/// The files waiting, as the pages show them.
#[derive(Debug, Clone, Copy)]
pub struct FileQueue {
    pub waiting: RwSignal<usize>,
    /// Bytes of the waiting files sent so far, and their total.
    pub progress: RwSignal<(u64, u64)>,
    /// Files the server refused: (name, code).
    pub refused: RwSignal<Vec<(String, String)>>,
}

impl FileQueue {
    pub(crate) fn new() -> Self {
        FileQueue {
            waiting: RwSignal::new(0),
            progress: RwSignal::new((0, 0)),
            refused: RwSignal::new(Vec::new()),
        }
    }
}

/// Why one upload stopped.
enum SendError {
    /// Offline, busy or signed out: try again later.
    Later,
    /// Refused for good, with the server's code.
    Refused(String),
}

impl Repo {
    /// Keeps a chosen file on this device (checked against the limits,
    /// hashed, stored durably) and starts its upload; the attachment a
    /// record may now refer to, or why not, in the user's language.
    pub async fn keep_file(&self, l: Lang, file: &File) -> Result<Attachment, String> {
        if let Some(why) = refusal(l, file) {
            return Err(why);
        }
        let failed = |_| format!("{} {}", tr(l, "upload.keep_failed"), file.name());
        let sha256 = sha256_of(file).await.map_err(failed)?;
        let attachment = Attachment {
            sha256,
            media_type: file.type_(),
            size: file.size() as u64,
            name: file.name().chars().take(200).collect(),
        };
        let inner: &Rc<Inner> = &self.inner;
        // A file kept before (the same photo twice) keeps its state.
        let known = inner.store.file(&attachment.sha256).await.ok().flatten();
        if known.is_none() {
            let meta = FileMeta {
                media_type: attachment.media_type.clone(),
                size: attachment.size,
                name: attachment.name.clone(),
                state: FileState::Waiting,
            };
            let json = serde_json::to_string(&meta).map_err(|_| failed(()))?;
            inner
                .store
                .keep_file(&attachment.sha256, file, &json)
                .await
                .map_err(|e| format!("{} {}", failed(()), e))?;
        }
        Inner::count_files(inner).await;
        Inner::upload_files(inner);
        Ok(attachment)
    }

    /// A page address for a file kept on this device (revoke it with
    /// `Url::revoke_object_url` when the page is done), else `None`.
    pub async fn local_file_url(&self, sha256: &str) -> Option<String> {
        let stored = self.inner.store.file(sha256).await.ok().flatten()?;
        web_sys::Url::create_object_url_with_blob(&stored.blob).ok()
    }

    /// Sends waiting files now (if not already sending).
    pub fn upload_files(&self) {
        Inner::upload_files(&self.inner);
    }
}

impl Inner {
    /// Re-reads the counts for the pages.
    pub(crate) async fn count_files(this: &Rc<Inner>) {
        match this.store.files().await {
            Ok(list) => {
                let metas: Vec<FileMeta> = list
                    .iter()
                    .filter_map(|(_, json)| serde_json::from_str(json).ok())
                    .collect();
                let waiting: Vec<&FileMeta> = metas
                    .iter()
                    .filter(|m| m.state == FileState::Waiting)
                    .collect();
                this.files.waiting.set(waiting.len());
                let total = waiting.iter().map(|m| m.size).sum();
                this.files.progress.update(|p| *p = (p.0.min(total), total));
                this.files.refused.set(
                    metas
                        .iter()
                        .filter_map(|m| match &m.state {
                            FileState::Refused(code) => Some((m.name.clone(), code.clone())),
                            _ => None,
                        })
                        .collect(),
                );
            }
            Err(e) => this.problem.set(Some(e.to_string())),
        }
    }

    /// Deletes this device's copies of files the server holds (an erased
    /// record's); a file still waiting to be sent stays, since another
    /// record of this device may be waiting for it too.
    pub(crate) async fn forget_sent_files(this: &Rc<Inner>, shas: &[String]) {
        for sha in shas {
            let sent = this
                .store
                .file(sha)
                .await
                .ok()
                .flatten()
                .and_then(|f| serde_json::from_str::<FileMeta>(&f.meta_json).ok())
                .is_some_and(|m| m.state == FileState::Sent);
            if sent && let Err(e) = this.store.forget_file(sha).await {
                this.problem.set(Some(e.to_string()));
            }
        }
        Inner::count_files(this).await;
    }

    /// Sends every waiting file, one at a time; called at start, when the
    /// relay connects and after a file is kept.
    pub(crate) fn upload_files(this: &Rc<Inner>) {
        crate::outbox::kick(
            this,
            |i| &i.file_runs,
            |this| async move {
                let held_back = Inner::send_files(&this).await;
                Inner::count_files(&this).await;
                held_back
            },
        );
    }

    /// Sends what it can; `true` when something was held back for later.
    async fn send_files(this: &Rc<Inner>) -> bool {
        let list = match this.store.files().await {
            Ok(list) => list,
            Err(e) => {
                this.problem.set(Some(e.to_string()));
                return false;
            }
        };
        let mut done_bytes = 0;
        let mut held_back = false;
        for (sha256, json) in list {
            let Ok(meta) = serde_json::from_str::<FileMeta>(&json) else {
                continue;
            };
            if meta.state != FileState::Waiting {
                continue;
            }
            let Ok(Some(stored)) = this.store.file(&sha256).await else {
                continue;
            };
            let state = match send_file(this, &sha256, &meta, &stored.blob, done_bytes).await {
                Ok(()) => FileState::Sent,
                Err(SendError::Refused(code)) => FileState::Refused(code),
                // One file held back (a piece lost on the way) does not
                // hold back the others.
                Err(SendError::Later) => {
                    held_back = true;
                    continue;
                }
            };
            done_bytes += meta.size;
            let json = match serde_json::to_string(&FileMeta { state, ..meta }) {
                Ok(j) => j,
                Err(_) => continue,
            };
            if let Err(e) = this.store.keep_file(&sha256, &stored.blob, &json).await {
                this.problem.set(Some(e.to_string()));
            }
        }
        held_back
    }
}

/// Uploads one file from where the server's copy ends.
async fn send_file(
    this: &Rc<Inner>,
    sha256: &str,
    meta: &FileMeta,
    blob: &Blob,
    done_before: u64,
) -> Result<(), SendError> {
    let path = format!("/api/attachments/{sha256}/upload");
    let mut offset = match request("GET", &path, None, "").await? {
        (200, body) => progress(&body)?,
        (code, body) => return Err(refused(code, &body)),
    };
    // Each offset is tried once: a server that keeps moving it is left for later.
    let mut tries = 0;
    loop {
        tries += 1;
        if tries > 2 + meta.size / UPLOAD_CHUNK_BYTES * 2 {
            return Err(SendError::Later);
        }
        this.files
            .progress
            .update(|p| p.0 = done_before + offset.min(meta.size));
        let end = (offset + UPLOAD_CHUNK_BYTES).min(meta.size);
        let piece = blob
            .slice_with_f64_and_f64(offset as f64, end as f64)
            .map_err(|_| SendError::Later)?;
        let url = format!("{path}?offset={offset}&size={}", meta.size);
        match request("PUT", &url, Some(&piece), &meta.media_type).await? {
            (200, body) => offset = progress(&body)?,
            (201, body) => {
                // Counted as synced only when the server's hash is this file's.
                let stored: StoredBlob =
                    serde_json::from_str(&body).map_err(|_| SendError::Later)?;
                return if stored.sha256 == sha256 && stored.size == meta.size {
                    Ok(())
                } else {
                    Err(SendError::Refused("upload_hash_mismatch".into()))
                };
            }
            (409, body) if code_of(&body) == "upload_offset" => {
                offset = match request("GET", &path, None, "").await? {
                    (200, body) => progress(&body)?,
                    _ => return Err(SendError::Later),
                };
            }
            (code, body) => return Err(refused(code, &body)),
        }
    }
}

fn progress(body: &str) -> Result<u64, SendError> {
    serde_json::from_str::<UploadProgress>(body)
        .map(|p| p.received)
        .map_err(|_| SendError::Later)
}

fn code_of(body: &str) -> String {
    serde_json::from_str::<ErrorBody>(body)
        .map(|e| e.code)
        .unwrap_or_default()
}

/// Client errors are for good (the file can never be stored as it is);
/// anything else (signed out, busy, a server fault) is worth a later try.
fn refused(status: u16, body: &str) -> SendError {
    match status {
        400 | 413 | 415 => SendError::Refused(code_of(body)),
        _ => SendError::Later,
    }
}

/// One request with an optional binary body; (status, text), or `Later`
/// when the server could not be reached.
async fn request(
    method: &str,
    path: &str,
    body: Option<&Blob>,
    media_type: &str,
) -> Result<(u16, String), SendError> {
    let body: Option<&wasm_bindgen::JsValue> = body.map(AsRef::as_ref);
    crate::session::send(method, path, body, media_type)
        .await
        .map_err(|()| SendError::Later)
}

/// The SHA-256 of a file's content, as lowercase hex.
async fn sha256_of(file: &File) -> Result<String, ()> {
    let buffer = JsFuture::from(file.array_buffer()).await.map_err(|_| ())?;
    let subtle = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .ok_or(())?
        .subtle();
    let digest = subtle
        .digest_with_str_and_buffer_source("SHA-256", &buffer.unchecked_into())
        .map_err(|_| ())?;
    let bytes = js_sys::Uint8Array::new(&JsFuture::from(digest).await.map_err(|_| ())?).to_vec();
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
