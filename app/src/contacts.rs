//! Customer contact details on this device (S002 §8): never in a record's
//! document, which every replica copies and nothing can erase. A capture
//! with contact details writes only a fresh reference into the record and
//! keeps the details in the contact outbox in IndexedDB, sealed with
//! AES-GCM under a non-extractable key this device made (so the plaintext
//! is never stored in the browser); the uploader opens and sends each to
//! `POST /api/contacts` when online, and deletes it once the server has it.

use std::rc::Rc;

use automerge::Automerge;
use closeloop_shared::FeedbackDraft;
use closeloop_shared::api::ErrorBody;
use closeloop_shared::contact::{ConsentPurpose, ContactDetails, NewContact, contact_ref};
use closeloop_shared::record::RecordError;
use closeloop_shared::sync::DocumentId;
use js_sys::{Array, Object, Reflect, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, AesKeyGenParams, CryptoKey, SubtleCrypto};

use crate::repo::{Inner, Repo, SaveError};
use crate::session;
use crate::store::{LocalStore, StoreError};

/// What an outbox entry says in the clear: nothing about the customer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Meta {
    contact_ref: String,
    consents: Vec<ConsentPurpose>,
    captured_at_ms: i64,
    /// Who captured it: sent only in their session, since the server
    /// records the uploader as the one who took the details down.
    by: String,
    /// Why the server refused it; the sealed details are deleted then and
    /// only this notice stays, until the user dismisses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failed: Option<String>,
}

/// Contact details the server refused, deleted from this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedContact {
    pub contact_ref: String,
    /// `contact_exists`, a `ContactError::code()`, or `contact_unreadable`.
    pub code: String,
}

/// The outbox as the pages show it.
#[derive(Debug, Clone, Copy)]
pub struct ContactQueue {
    /// Entries waiting to be sent.
    pub waiting: RwSignal<usize>,
    pub failed: RwSignal<Vec<FailedContact>>,
}

impl ContactQueue {
    pub(crate) fn new() -> Self {
        ContactQueue {
            waiting: RwSignal::new(0),
            failed: RwSignal::new(Vec::new()),
        }
    }
}

/// Why `POST /api/contacts` did not keep the details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostError {
    /// The server could not be reached, or answered something unexpected
    /// (worth trying again later).
    Unreachable,
    /// Refused for good: `contact_exists` or a `ContactError::code()`.
    Refused(String),
    /// Not signed in (401) or not allowed (403): try again after sign-in.
    NotSignedIn,
}

/// Sends one contact to the server; `Ok` once it holds it (201, or 200
/// for a retry of an upload it already has).
pub async fn post(contact: &NewContact) -> Result<(), PostError> {
    let body = serde_json::to_string(contact).map_err(|_| PostError::Unreachable)?;
    match session::call("POST", "/api/contacts", Some(body)).await {
        Ok((200 | 201, _)) => Ok(()),
        Ok((400 | 409, body)) => Err(PostError::Refused(
            serde_json::from_str::<ErrorBody>(&body)
                .map(|e| e.code)
                .unwrap_or_else(|_| "contact_refused".into()),
        )),
        Ok((401 | 403, _)) => Err(PostError::NotSignedIn),
        _ => Err(PostError::Unreachable),
    }
}

/// A fresh contact reference (128 random bits).
pub fn fresh_ref() -> String {
    let mut b = [0u8; 16];
    // crypto.getRandomValues does not fail for 16 bytes; were it to, a
    // predictable reference must not be made up.
    getrandom::fill(&mut b).expect("the browser's random source");
    contact_ref(b)
}

impl Repo {
    /// Saves a new record, and with `contact` its details in the sealed
    /// outbox (the record holds only their reference); returns once both
    /// are durable on this device, then starts an upload.
    pub async fn capture_with_contact(
        &self,
        mut draft: FeedbackDraft,
        contact: Option<(ContactDetails, Vec<ConsentPurpose>)>,
        then: impl FnOnce(&mut Automerge, &str, i64) -> Result<(), RecordError>,
    ) -> Result<DocumentId, SaveError> {
        let Some((details, consents)) = contact else {
            return self.capture_then(draft, then).await;
        };
        // Checked first, so no contact is kept for a record never saved.
        draft
            .validate(&self.taxonomy_untracked())
            .map_err(SaveError::Invalid)?;
        let by = session::cached_user()
            .ok_or(SaveError::NotSignedIn)?
            .username;
        let meta = Meta {
            contact_ref: fresh_ref(),
            consents,
            captured_at_ms: js_sys::Date::now() as i64,
            by,
            failed: None,
        };
        let inner: &Rc<Inner> = &self.inner;
        seal_and_keep(&inner.store, &meta, &details)
            .await
            .map_err(SaveError::Storage)?;
        draft.contact_ref = Some(meta.contact_ref.clone());
        match self.capture_then(draft, then).await {
            Ok(id) => {
                Inner::upload_contacts(inner);
                Ok(id)
            }
            Err(e) => {
                // Nothing may point at it: it must not wait here forever.
                let _ = inner.store.delete_contact(&meta.contact_ref).await;
                Inner::count_contacts(inner).await;
                Err(e)
            }
        }
    }

    /// Sends waiting contacts now (if not already sending).
    pub fn upload_contacts(&self) {
        Inner::upload_contacts(&self.inner);
    }

    /// Forgets the notices of refused contacts.
    pub async fn dismiss_contact_failures(&self) {
        let inner: &Rc<Inner> = &self.inner;
        for f in inner.contacts.failed.get_untracked() {
            if let Err(e) = inner.store.delete_contact(&f.contact_ref).await {
                inner.problem.set(Some(e.to_string()));
            }
        }
        Inner::count_contacts(inner).await;
    }
}

impl Inner {
    /// Re-reads the outbox's counts for the pages.
    pub(crate) async fn count_contacts(this: &Rc<Inner>) {
        match entries(&this.store).await {
            Ok(list) => {
                let failed: Vec<FailedContact> = list
                    .iter()
                    .filter_map(|(m, _)| {
                        m.failed.clone().map(|code| FailedContact {
                            contact_ref: m.contact_ref.clone(),
                            code,
                        })
                    })
                    .collect();
                this.contacts.waiting.set(list.len() - failed.len());
                this.contacts.failed.set(failed);
            }
            Err(e) => this.problem.set(Some(e.to_string())),
        }
    }

    /// Sends every waiting contact of the signed-in user, one at a time;
    /// called after sign-in, when the relay connects and after a capture.
    pub(crate) fn upload_contacts(this: &Rc<Inner>) {
        crate::outbox::kick(
            this,
            |i| &i.contacts_runs,
            |this| async move {
                let held_back = Inner::send_contacts(&this).await;
                Inner::count_contacts(&this).await;
                held_back
            },
        );
    }

    /// Sends what it can; `true` when something was held back for later.
    async fn send_contacts(this: &Rc<Inner>) -> bool {
        let Some(me) = session::cached_user() else {
            return false;
        };
        let list = match entries(&this.store).await {
            Ok(list) => list,
            Err(e) => {
                this.problem.set(Some(e.to_string()));
                return false;
            }
        };
        for (meta, entry) in list {
            if meta.failed.is_some() || meta.by != me.username {
                continue;
            }
            let opened = match open(&this.store, &meta, &entry).await {
                Ok(details) => Ok(NewContact {
                    contact_ref: meta.contact_ref.clone(),
                    details,
                    consents: meta.consents.clone(),
                    captured_at_ms: meta.captured_at_ms,
                }),
                // The key is gone or the entry damaged: it can never be sent.
                Err(_) => Err("contact_unreadable".to_string()),
            };
            let outcome = match &opened {
                Ok(contact) => post(contact).await,
                Err(code) => Err(PostError::Refused(code.clone())),
            };
            let kept = match outcome {
                Ok(()) => this.store.delete_contact(&meta.contact_ref).await,
                Err(PostError::Refused(code)) => {
                    // The details go; a notice without them stays.
                    let notice = Meta {
                        failed: Some(code),
                        ..meta.clone()
                    };
                    match notice_entry(&notice) {
                        Ok(v) => this.store.put_contact(&meta.contact_ref, v).await,
                        Err(e) => Err(e),
                    }
                }
                // Offline, or the session must be renewed: all later too.
                Err(PostError::Unreachable | PostError::NotSignedIn) => return true,
            };
            if let Err(e) = kept {
                this.problem.set(Some(e.to_string()));
            }
        }
        false
    }
}

/// Moves `username`'s outbox entries from the shared database of earlier
/// versions into theirs, with the key that sealed them (only into a
/// database without a key of its own); returns how many entries stay.
pub(crate) async fn move_legacy(
    from: &LocalStore,
    into: &LocalStore,
    username: &str,
) -> Result<usize, StoreError> {
    let list = entries(from).await?;
    let (mine, others): (Vec<_>, Vec<_>) = list.into_iter().partition(|(m, _)| m.by == username);
    if mine.is_empty() {
        return Ok(others.len());
    }
    let (Some(key), None) = (from.contact_key().await?, into.contact_key().await?) else {
        return Ok(others.len() + mine.len());
    };
    into.keep_contact_key(key).await?;
    for (meta, entry) in mine {
        into.put_contact(&meta.contact_ref, entry).await?;
        from.delete_contact(&meta.contact_ref).await?;
    }
    Ok(others.len())
}

fn js_err(what: &str) -> impl Fn(JsValue) -> StoreError + '_ {
    move |e| StoreError(format!("{what}: {e:?}"))
}

fn subtle() -> Result<SubtleCrypto, StoreError> {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.subtle())
        .ok_or_else(|| StoreError("this browser offers no Web Crypto".into()))
}

/// The device's contact key, made on first use: AES-GCM 256, not
/// extractable, used only to seal and open outbox entries.
async fn key(store: &LocalStore) -> Result<CryptoKey, StoreError> {
    let stored = match store.contact_key().await? {
        Some(k) => k,
        None => {
            let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
            let made = subtle()?
                .generate_key_with_object(&AesKeyGenParams::new("AES-GCM", 256), false, &usages)
                .map_err(js_err("cannot make the contact key"))?;
            let fresh = JsFuture::from(made)
                .await
                .map_err(js_err("cannot make the contact key"))?;
            store.keep_contact_key(fresh).await?
        }
    };
    stored
        .dyn_into::<CryptoKey>()
        .map_err(|_| StoreError("the stored contact key is not a key".into()))
}

/// AES-GCM parameters: the IV, and the reference as additional data, so
/// a sealed entry cannot be passed off under another reference.
fn gcm(iv: &Uint8Array, contact_ref: &str) -> AesGcmParams {
    let params = AesGcmParams::new_with_u8_array("AES-GCM", iv);
    params.set_additional_data_u8_array(&Uint8Array::from(contact_ref.as_bytes()));
    params
}

/// Seals `details` and stores the entry: `{meta, iv, ciphertext}`.
async fn seal_and_keep(
    store: &LocalStore,
    meta: &Meta,
    details: &ContactDetails,
) -> Result<(), StoreError> {
    let key = key(store).await?;
    let mut iv = [0u8; 12];
    getrandom::fill(&mut iv).map_err(|e| StoreError(format!("no random source: {e}")))?;
    let iv = Uint8Array::from(&iv[..]);
    let plain = serde_json::to_vec(details).map_err(|e| StoreError(e.to_string()))?;
    let sealing = subtle()?
        .encrypt_with_object_and_buffer_source(
            &gcm(&iv, &meta.contact_ref),
            &key,
            &Uint8Array::from(plain.as_slice()),
        )
        .map_err(js_err("cannot seal the contact"))?;
    let ciphertext = JsFuture::from(sealing)
        .await
        .map_err(js_err("cannot seal the contact"))?;
    let entry = notice_entry(meta)?;
    set(&entry, "iv", &iv)?;
    set(&entry, "ciphertext", &ciphertext)?;
    store.put_contact(&meta.contact_ref, entry).await
}

/// An entry holding only `meta`.
fn notice_entry(meta: &Meta) -> Result<JsValue, StoreError> {
    let json = serde_json::to_string(meta).map_err(|e| StoreError(e.to_string()))?;
    let entry: JsValue = Object::new().into();
    set(&entry, "meta", &JsValue::from_str(&json))?;
    Ok(entry)
}

fn set(entry: &JsValue, field: &str, value: &JsValue) -> Result<(), StoreError> {
    Reflect::set(entry, &field.into(), value)
        .map(|_| ())
        .map_err(js_err("cannot build the contact entry"))
}

/// Every outbox entry with its clear part read.
async fn entries(store: &LocalStore) -> Result<Vec<(Meta, JsValue)>, StoreError> {
    Ok(store
        .contacts()
        .await?
        .into_iter()
        .filter_map(|entry| {
            let json = Reflect::get(&entry, &"meta".into()).ok()?.as_string()?;
            Some((serde_json::from_str(&json).ok()?, entry))
        })
        .collect())
}

/// Opens a sealed entry.
async fn open(
    store: &LocalStore,
    meta: &Meta,
    entry: &JsValue,
) -> Result<ContactDetails, StoreError> {
    let key = key(store).await?;
    let iv: Uint8Array = Reflect::get(entry, &"iv".into())
        .ok()
        .and_then(|v| v.dyn_into().ok())
        .ok_or_else(|| StoreError("the contact entry has no IV".into()))?;
    let sealed: Object = Reflect::get(entry, &"ciphertext".into())
        .ok()
        .and_then(|v| v.dyn_into().ok())
        .ok_or_else(|| StoreError("the contact entry has no ciphertext".into()))?;
    let opening = subtle()?
        .decrypt_with_object_and_buffer_source(&gcm(&iv, &meta.contact_ref), &key, &sealed)
        .map_err(js_err("cannot open the contact"))?;
    let plain = JsFuture::from(opening)
        .await
        .map_err(js_err("cannot open the contact"))?;
    serde_json::from_slice(&Uint8Array::new(&plain).to_vec())
        .map_err(|e| StoreError(format!("the opened contact is damaged: {e}")))
}
