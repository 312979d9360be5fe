//! `/api/contacts…` and `/api/records/{id}/contact`: the contact store
//! (S002 §8). Details arrive here through the authenticated API only — a
//! tablet uploads what it captured offline — and leave only to head office,
//! supervisors and a record's owner, each view written to the audit log
//! before the details are sent.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use closeloop_shared::contact::{ContactDetails, ContactView, NewContact, is_contact_ref};

use super::auth::CurrentUser;
use super::records::{record_id, seen_record};
use crate::error::{AppError, AppJson};
use crate::state::AppState;
use crate::storage::{ContactRow, Stored};
use crate::vault::VaultError;

/// A capture may be uploaded this long after it happened (a tablet offline
/// for weeks), and may claim to be at most a day ahead of the server.
const MAX_CAPTURE_AGE_MS: i64 = 366 * 86_400_000;
const MAX_CAPTURE_AHEAD_MS: i64 = 86_400_000;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/contacts", post(create))
        .route("/contacts/{contact_ref}/erase", post(erase))
        .route("/records/{id}/contact", get(record_contact))
}

impl From<VaultError> for AppError {
    fn from(e: VaultError) -> Self {
        AppError::Internal(format!("contact store: {e}"))
    }
}

async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppJson(new): AppJson<NewContact>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let invalid = |e: closeloop_shared::contact::ContactError| AppError::Invalid {
        code: e.code(),
        message: e.to_string(),
    };
    if !is_contact_ref(&new.contact_ref) {
        return Err(invalid(closeloop_shared::contact::ContactError::BadRef));
    }
    let details = new.details.normalised().map_err(invalid)?;
    let now = state.now_ms();
    if new.captured_at_ms < now - MAX_CAPTURE_AGE_MS
        || new.captured_at_ms > now + MAX_CAPTURE_AHEAD_MS
    {
        return Err(AppError::Invalid {
            code: "contact_bad_time",
            message: "the capture time is not plausible".into(),
        });
    }
    let mut consents = new.consents.clone();
    consents.sort_by_key(|c| c.key());
    consents.dedup();
    let plain = serde_json::to_vec(&details).map_err(|e| AppError::Internal(e.to_string()))?;
    let vault = &state.vault;
    let (key, wrapped_key) = vault.new_customer_key(&new.contact_ref)?;
    let row = ContactRow {
        contact_ref: &new.contact_ref,
        sealed: key.seal(&new.contact_ref, &plain)?,
        wrapped_key,
        phone_lookup: details.phone.as_deref().map(|p| vault.lookup("phone", p)),
        email_lookup: details.email.as_deref().map(|e| vault.lookup("email", e)),
        created_by: &user.username,
        captured_at_ms: new.captured_at_ms,
        consents: &consents,
    };
    let status = match state.storage.add_contact(row, now).await? {
        Stored::New => StatusCode::CREATED,
        Stored::Again => StatusCode::OK,
        Stored::Taken => {
            return Err(AppError::Conflict {
                code: "contact_exists",
                message: "this contact reference is taken; capture the contact again".into(),
            });
        }
    };
    Ok((
        status,
        Json(serde_json::json!({ "contact_ref": new.contact_ref })),
    ))
}

async fn record_contact(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<ContactView>, AppError> {
    let id = record_id(&id)?;
    let record = seen_record(&state, &user, &id).await?;
    if !user.may_see_contact(record.owner.as_deref()) {
        return Err(AppError::Forbidden);
    }
    let key = id.to_string();
    let no_contact = || AppError::Absent {
        code: "no_contact",
        message: "this record has no contact details, or they have not been uploaded yet".into(),
    };
    let contact_ref = state
        .storage
        .record_contact_ref(&key)
        .await?
        .ok_or_else(no_contact)?;
    let stored = state
        .storage
        .contact(&contact_ref)
        .await?
        .ok_or_else(no_contact)?;
    // Written before the details leave: a view that cannot be logged does not happen.
    state
        .storage
        .contact_viewed(&user.username, &contact_ref, &key, state.now_ms())
        .await?;
    let details = match (&stored.sealed, &stored.wrapped_key) {
        (Some(sealed), Some(wrapped)) => {
            let plain = state
                .vault
                .customer_key(&contact_ref, wrapped)?
                .open(&contact_ref, sealed)?;
            Some(
                serde_json::from_slice::<ContactDetails>(&plain)
                    .map_err(|e| AppError::Internal(format!("sealed contact: {e}")))?,
            )
        }
        _ => None,
    };
    Ok(Json(ContactView {
        contact_ref,
        details,
        consents: stored.consents,
        created_at_ms: stored.created_at_ms,
        created_by: stored.created_by,
        erased_at_ms: stored.erased_at_ms,
    }))
}

/// A customer's erasure request: the key and details go at once, and the
/// records that carried them are re-created without personal data.
async fn erase(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(contact_ref): Path<String>,
) -> Result<Json<crate::erasure::Erasure>, AppError> {
    if !user.may_govern_records() {
        return Err(AppError::Forbidden);
    }
    if !is_contact_ref(&contact_ref) {
        return Err(AppError::NotFound);
    }
    if state.storage.contact(&contact_ref).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let done = crate::erasure::erase_customer(&state, &contact_ref, &user.username).await?;
    Ok(Json(done))
}
