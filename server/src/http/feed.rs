//! `/api/documents`: the change feed, which documents changed after a
//! position, so head office can request just those over sync; and
//! `/api/tombstones`, the documents erased (re-created without their
//! history), so every replica deletes its copy.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use closeloop_shared::api::{Feed, Tombstones};

use super::auth::CurrentUser;
use crate::error::{AppError, AppJson, AppQuery};
use crate::state::AppState;

/// Largest page of the change feed one call returns.
const MAX_PAGE: i64 = 1000;
/// The page size without a `limit`.
const DEFAULT_PAGE: i64 = 500;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/documents", get(documents_changed))
        .route("/tombstones", get(tombstones))
}

#[derive(serde::Deserialize)]
struct FeedQuery {
    #[serde(default)]
    after: i64,
    limit: Option<i64>,
}

/// Ids and their replacements say nothing personal: every signed-in user
/// reads them (access to a replacement is checked when it is synced).
async fn tombstones(
    State(state): State<AppState>,
    _: CurrentUser,
    AppQuery(q): AppQuery<FeedQuery>,
) -> Result<AppJson<Tombstones>, AppError> {
    let limit = page_size(&q)?;
    let tombstones = state.storage.tombstones_after(q.after, limit).await?;
    let next = tombstones.last().map_or(q.after, |t| t.seq);
    Ok(AppJson(Tombstones { tombstones, next }))
}

fn page_size(q: &FeedQuery) -> Result<i64, AppError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    if q.after < 0 {
        return Err(AppError::BadRequest("after must not be negative".into()));
    }
    Ok(limit)
}

/// Field staff see their team's records and those assigned to them (S002 §8).
async fn documents_changed(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<FeedQuery>,
) -> Result<AppJson<Feed>, AppError> {
    let limit = page_size(&q)?;
    let documents = state
        .storage
        .changed_after(q.after, limit, user.visibility())
        .await?;
    let next = documents.last().map_or(q.after, |d| d.seq);
    Ok(AppJson(Feed { documents, next }))
}
