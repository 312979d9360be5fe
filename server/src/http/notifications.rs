//! `/api/notifications`: the signed-in user's bell — latest notifications
//! and the unread count; marking one or all read. Only the user's own
//! notifications are ever read or changed.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use closeloop_shared::api::{NotificationItem, Notifications};

use super::auth::CurrentUser;
use crate::error::{AppError, AppJson};
use crate::state::AppState;

/// Notifications the bell lists at most.
const LISTED: i64 = 50;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list))
        .route("/notifications/read-all", post(read_all))
        .route("/notifications/{id}/read", post(read_one))
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<AppJson<Notifications>, AppError> {
    let (rows, unread) = state.storage.notifications(&user.username, LISTED).await?;
    Ok(AppJson(Notifications {
        unread,
        items: rows
            .into_iter()
            .map(|n| NotificationItem {
                id: n.id,
                record_id: n.document_id,
                kind: n.kind,
                created_at: n.created_at,
                read: n.read,
                customer: n.customer,
                description: n.description,
            })
            .collect(),
    }))
}

async fn read_one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<AppJson<serde_json::Value>, AppError> {
    if !state
        .storage
        .mark_read(&user.username, Some(id), state.now_ms())
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(AppJson(serde_json::json!({ "read": 1 })))
}

async fn read_all(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<AppJson<serde_json::Value>, AppError> {
    state
        .storage
        .mark_read(&user.username, None, state.now_ms())
        .await?;
    Ok(AppJson(serde_json::json!({ "read": "all" })))
}
