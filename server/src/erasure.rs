//! Erasing a customer (a PIPL/GDPR request, S002 §8): the contact store
//! destroys the customer's key, and every record that carried their contact
//! reference is re-created without its history — a redacted copy under a new
//! id, the old document deleted from storage and its id refused by every
//! relay — so statistics survive and nothing personal does.

use automerge::ActorId;
use closeloop_shared::record::{FeedbackRecord, redacted_copy};
use closeloop_shared::retention::AtRetentionEnd;
use closeloop_shared::sync::DocumentId;

use crate::error::AppError;
use crate::state::AppState;
use crate::storage::Replacement;
use crate::sync::RelayInput;

/// Attempts to re-create a record that keeps taking changes meanwhile.
const ATTEMPTS: usize = 5;

/// What an erasure did.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Erasure {
    /// The contact's key and details were destroyed now (false if that was
    /// done before: a retried request finishes the records).
    pub contact_erased: bool,
    /// Each record re-created: (old id, new id).
    pub records: Vec<(String, String)>,
}

/// Erases the customer behind `contact_ref`: every contact of theirs (the
/// same phone or email, given on other visits) and every record in their
/// customer file (by those contacts, or confirmed by head office).
pub(crate) async fn erase_customer(
    state: &AppState,
    contact_ref: &str,
    by: &str,
) -> Result<Erasure, AppError> {
    let mut contacts = state.storage.same_customer_contacts(contact_ref).await?;
    if !contacts.iter().any(|c| c == contact_ref) {
        contacts.push(contact_ref.to_string());
    }
    let mut olds: Vec<DocumentId> = Vec::new();
    for contact in &contacts {
        for id in state.storage.records_with_contact(contact).await? {
            for (key, _) in state.storage.file_members(&id).await? {
                olds.extend(key.parse::<DocumentId>().ok());
            }
        }
    }
    olds.sort_unstable();
    olds.dedup();
    let mut contact_erased = false;
    for contact in &contacts {
        let now = state.now_ms();
        contact_erased |= state.storage.erase_contact(contact, by, now).await?;
    }
    let mut records = Vec::new();
    for old in olds {
        if let Some(new) = recreate(state, &old).await? {
            records.push((old.to_string(), new.to_string()));
        }
    }
    state.storage.scrub().await?;
    tracing::info!(
        contact_erased,
        records = records.len(),
        "erased a customer's personal data"
    );
    Ok(Erasure {
        contact_erased,
        records,
    })
}

/// Re-creates one record as a redacted copy under a new id; `None` if it
/// is no longer stored.
pub(crate) async fn recreate(
    state: &AppState,
    old: &DocumentId,
) -> Result<Option<DocumentId>, AppError> {
    Ok(match remove(state, old, AtRetentionEnd::Anonymise).await? {
        Removed::Replaced(new) => Some(new),
        Removed::Deleted | Removed::Gone => None,
    })
}

/// What [`remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removed {
    /// It was not stored (any more).
    Gone,
    Deleted,
    /// Re-created redacted under this id.
    Replaced(DocumentId),
}

/// Takes a record out of storage with its history: anonymised (re-created
/// redacted under a new id) or deleted.
pub(crate) async fn remove(
    state: &AppState,
    old: &DocumentId,
    how: AtRetentionEnd,
) -> Result<Removed, AppError> {
    let damaged = |e: String| AppError::Internal(format!("erasing {old}: {e}"));
    for _ in 0..ATTEMPTS {
        let Some(stored) = state.storage.load(old).await? else {
            return Ok(Removed::Gone);
        };
        let Some(&last_chunk) = stored.chunk_ids.last().filter(|_| !stored.erased) else {
            return Ok(Removed::Gone);
        };
        let now = state.now_ms();
        let copy = match how {
            AtRetentionEnd::Delete => None,
            AtRetentionEnd::Anonymise => {
                let doc =
                    closeloop_shared::sync::load_document(stored.chunks.iter().map(Vec::as_slice))
                        .map_err(|e| damaged(e.to_string()))?;
                let actor = crate::random::bytes::<16>().map_err(|e| damaged(e.to_string()))?;
                let copy = redacted_copy(&doc, ActorId::from(actor.as_slice()), now)
                    .map_err(|e| damaged(e.to_string()))?;
                let record = FeedbackRecord::from_doc(&copy).map_err(|e| damaged(e.to_string()))?;
                let id = DocumentId::from_bytes(
                    crate::random::bytes::<16>().map_err(|e| damaged(e.to_string()))?,
                );
                Some((id, copy.save(), record))
            }
        };
        let replacement = copy
            .as_ref()
            .map(|(id, save, record)| Replacement { id, save, record });
        let attached = state.storage.attachments_of(&[old.to_string()]).await?;
        let replaced = state
            .storage
            .replace_document(old, last_chunk, replacement, now, &state.sla.get())
            .await?;
        if replaced {
            // The copy keeps no attachments: photos and documents go with
            // the history, unless another record shows them too.
            let hashes: Vec<String> = attached.into_iter().map(|(sha256, _)| sha256).collect();
            let forgotten = state.storage.forget_blobs(&hashes).await?;
            state.blobs.discard(&forgotten).await;
            // This relay drops it now; others hear of it from the database.
            state
                .relay
                .send(RelayInput::Erased { document_id: *old })
                .await;
            return Ok(copy.map_or(Removed::Deleted, |c| Removed::Replaced(c.0)));
        }
    }
    Err(AppError::Busy(1))
}
