//! The JSON API. Handlers only translate HTTP to storage and domain calls.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::startup::AppState;
use crate::storage::DocumentChange;

/// Largest page of the change feed one call returns.
const MAX_PAGE: i64 = 1000;

/// The API routes, mounted under `/api`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/documents", get(documents_changed))
        .merge(crate::auth::router())
        .merge(crate::records::router())
        .merge(crate::export::router())
        .merge(crate::attachments::router())
        .merge(crate::stats::router())
}

#[derive(serde::Deserialize)]
pub(crate) struct FeedQuery {
    #[serde(default)]
    after: i64,
    limit: Option<i64>,
}

#[derive(serde::Serialize)]
pub(crate) struct Feed {
    documents: Vec<DocumentChange>,
    /// Pass as `after` to get only what changed since this page.
    next: i64,
}

/// The change feed: which documents changed after a position, so head office
/// can request just those over sync.
async fn documents_changed(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Json<Feed>, AppError> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(500);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    if q.after < 0 {
        return Err(AppError::BadRequest("after must not be negative".into()));
    }
    // Field staff see their team's records and those assigned to them (S002 §8).
    let documents = state
        .storage
        .changed_after(q.after, limit, crate::auth::field_scope(&user))
        .await?;
    let next = documents.last().map_or(q.after, |d| d.seq);
    Ok(Json(Feed { documents, next }))
}

/// Liveness for load balancers and `cargo xtask serve`.
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}
