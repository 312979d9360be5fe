//! `/api/records/{id}/customer…`: the customer's file (顾客档案, S002 5.4)
//! for head office and supervisors — every record of the same customer with
//! the replies and answers they were given, records with the same nickname
//! to confirm, and important records marked and kept in the file. Contact
//! details are not part of it (they have their own logged view).

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use closeloop_shared::access::Principal;
use closeloop_shared::api::{CustomerFile, FileEntry, ImportantMark, LinkRecord, RecordSummary};
use closeloop_shared::record::REDACTED;
use closeloop_shared::sync::DocumentId;

use super::auth::CurrentUser;
use super::records::{record_id, seen_record, summary};
use crate::error::{AppError, AppJson};
use crate::state::AppState;

/// Longest note on an important record.
const MAX_NOTE_CHARS: usize = 500;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/records/{id}/customer", get(file))
        .route("/records/{id}/customer/link", post(link))
        .route("/records/{id}/customer/important", put(important))
}

/// A record head office may work with, or 403/404.
async fn reachable(
    state: &AppState,
    user: &Principal,
    id: &str,
) -> Result<(DocumentId, RecordSummary), AppError> {
    if !user.sees_customer_files() {
        return Err(AppError::Forbidden);
    }
    let id = record_id(id)?;
    let row = seen_record(state, user, &id).await?;
    Ok((id, summary(row, &state.sla.get(), state.now_ms())))
}

async fn file(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<AppJson<CustomerFile>, AppError> {
    let (id, this) = reachable(&state, &user, &id).await?;
    let now = state.now_ms();
    let sla = state.sla.get();
    let mut entries = Vec::new();
    for (key, link) in state.storage.file_members(&id).await? {
        let Ok(doc) = key.parse::<DocumentId>() else {
            continue;
        };
        let Some(row) = state.storage.record(&doc, user.visibility()).await? else {
            continue;
        };
        entries.push(FileEntry {
            record: summary(row, &sla, now),
            link,
            replies: state.storage.record_replies(&key).await?,
            important: state.storage.important_mark(&key).await?,
        });
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.record.received_at));
    let members: Vec<String> = entries.iter().map(|e| e.record.id.clone()).collect();
    let mut candidates = Vec::new();
    if this.customer != REDACTED && !this.customer.trim().is_empty() {
        for key in state
            .storage
            .same_nickname(&this.customer, &members)
            .await?
        {
            let Ok(doc) = key.parse::<DocumentId>() else {
                continue;
            };
            if let Some(row) = state.storage.record(&doc, user.visibility()).await? {
                candidates.push(summary(row, &sla, now));
            }
        }
    }
    Ok(AppJson(CustomerFile {
        entries,
        candidates,
    }))
}

/// Head office confirms another record is the same customer's.
async fn link(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    AppJson(body): AppJson<LinkRecord>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (a, _) = reachable(&state, &user, &id).await?;
    let (b, _) = reachable(&state, &user, &body.document_id).await?;
    if a == b {
        return Err(AppError::BadRequest(
            "a record is in its own file already".into(),
        ));
    }
    state
        .storage
        .link_customer(
            &a.to_string(),
            &b.to_string(),
            &user.username,
            state.now_ms(),
        )
        .await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

async fn important(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    AppJson(body): AppJson<ImportantMark>,
) -> Result<Json<serde_json::Value>, AppError> {
    let (id, _) = reachable(&state, &user, &id).await?;
    let note = body.note.as_deref().map(str::trim);
    if note.is_some_and(|n| n.is_empty() || n.chars().count() > MAX_NOTE_CHARS) {
        return Err(AppError::Invalid {
            code: "bad_note",
            message: format!("say why in 1 to {MAX_NOTE_CHARS} characters"),
        });
    }
    state
        .storage
        .mark_important(&id.to_string(), note, &user.username, state.now_ms())
        .await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}
