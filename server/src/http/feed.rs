//! `/api/documents`: the change feed, which documents changed after a
//! position, so head office can request just those over sync.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use closeloop_shared::api::Feed;

use super::auth::CurrentUser;
use crate::error::{AppError, AppJson, AppQuery};
use crate::state::AppState;

/// Largest page of the change feed one call returns.
const MAX_PAGE: i64 = 1000;
/// The page size without a `limit`.
const DEFAULT_PAGE: i64 = 500;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/documents", get(documents_changed))
}

#[derive(serde::Deserialize)]
struct FeedQuery {
    #[serde(default)]
    after: i64,
    limit: Option<i64>,
}

/// Field staff see their team's records and those assigned to them (S002 §8).
async fn documents_changed(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<FeedQuery>,
) -> Result<AppJson<Feed>, AppError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::BadRequest(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    if q.after < 0 {
        return Err(AppError::BadRequest("after must not be negative".into()));
    }
    let documents = state
        .storage
        .changed_after(q.after, limit, user.visibility())
        .await?;
    let next = documents.last().map_or(q.after, |d| d.seq);
    Ok(AppJson(Feed { documents, next }))
}
