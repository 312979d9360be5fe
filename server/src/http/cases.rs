//! The typical-case library over HTTP: head office, supervisors and admins
//! mark a record they see as an example or a lesson
//! (`PUT`/`DELETE /api/records/{id}/typical-case`), read its mark, and
//! search the library (`GET /api/typical-cases?q=&kind=&from=&to=`).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use closeloop_shared::access::Principal;
use closeloop_shared::cases::{CaseKind, MarkCase, TypicalCase, check_query};

use super::auth::CurrentUser;
use super::records::{record_id, seen_record};
use crate::error::{AppError, AppJson, AppQuery};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/records/{id}/typical-case",
            get(read_mark).put(mark).delete(unmark),
        )
        .route("/typical-cases", get(library))
}

/// The record, if this user works at head office and sees it.
async fn head_office_record(
    state: &AppState,
    user: &Principal,
    id: &str,
) -> Result<String, AppError> {
    if !user.role.sees_everything() {
        return Err(AppError::Forbidden);
    }
    let id = record_id(id)?;
    seen_record(state, user, &id).await?;
    Ok(id.to_string())
}

async fn read_mark(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<AppJson<Option<TypicalCase>>, AppError> {
    let id = head_office_record(&state, &user, &id).await?;
    Ok(AppJson(state.storage.typical_case(&id).await?))
}

async fn mark(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    AppJson(case): AppJson<MarkCase>,
) -> Result<AppJson<Option<TypicalCase>>, AppError> {
    let id = head_office_record(&state, &user, &id).await?;
    let case = case.checked().map_err(|e| AppError::Invalid {
        code: e.code(),
        message: e.to_string(),
    })?;
    state
        .storage
        .mark_case(&id, &case, &user.username, state.now_ms())
        .await?;
    Ok(AppJson(state.storage.typical_case(&id).await?))
}

/// Answers the mark as it is now: none.
async fn unmark(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<AppJson<Option<TypicalCase>>, AppError> {
    let id = head_office_record(&state, &user, &id).await?;
    state.storage.unmark_case(&id).await?;
    Ok(AppJson(None))
}

#[derive(Debug, serde::Deserialize)]
struct LibraryQuery {
    #[serde(default)]
    q: String,
    kind: Option<CaseKind>,
    /// Records received from this moment (ms) …
    from: Option<i64>,
    /// … until before this one.
    to: Option<i64>,
}

async fn library(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<LibraryQuery>,
) -> Result<AppJson<Vec<TypicalCase>>, AppError> {
    if !user.role.sees_everything() {
        return Err(AppError::Forbidden);
    }
    let query = check_query(&q.q).map_err(|e| AppError::Invalid {
        code: e.code(),
        message: e.to_string(),
    })?;
    let cases = state
        .storage
        .typical_cases(
            q.kind,
            &query,
            q.from.unwrap_or(i64::MIN),
            q.to.unwrap_or(i64::MAX),
        )
        .await?;
    Ok(AppJson(cases))
}
