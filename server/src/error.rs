//! The one error type handlers return; it renders as `{code, message}` JSON.
//! [`AppQuery`] and [`AppJson`] reject bad input with it, so no handler
//! maps extractor rejections itself.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// Everything an API call can fail with. Internal details are logged, not sent.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is wrong; the message tells the caller what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// The body is of a kind we do not accept.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// Input a rule refused, with a stable code the app translates.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// The body is over a limit.
    #[error("{0}")]
    TooLarge(String),
    /// Not signed in, or the session has expired.
    #[error("sign in first")]
    Unauthorized,
    /// The session was ended by an administrator (revoked, or the user
    /// disabled): the device should wipe the user's local data.
    #[error("the session was revoked")]
    SessionRevoked,
    /// Signed in, but the role may not do this.
    #[error("your role may not do this")]
    Forbidden,
    /// No such thing (or the caller may not know it exists).
    #[error("not found")]
    NotFound,
    /// A specific thing is missing, with a code the app translates.
    #[error("{message}")]
    Absent { code: &'static str, message: String },
    /// The request clashes with what is stored.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// It existed and is no more (a used or expired survey link).
    #[error("{message}")]
    Gone { code: &'static str, message: String },
    /// A browser request from another site where the session would ride along.
    #[error("cross-site request refused")]
    CrossSite,
    /// Too many failed sign-ins; try again after this many seconds.
    #[error("too many failed sign-ins")]
    TooManyRequests(u64),
    /// Too many requests from this address or to this link; seconds to wait.
    #[error("too many requests")]
    RateLimited(u64),
    /// The user holds the most connections allowed (sync and push).
    #[error("too many open connections")]
    TooManyConnections,
    /// The server is at capacity for this work; try again shortly.
    #[error("busy")]
    Busy(u64),
    /// Storage failed; the caller may retry.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// A fault of ours (not the caller's): logged once, answered 500.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            AppError::Invalid { code, message } => {
                (StatusCode::BAD_REQUEST, *code, message.clone())
            }
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", "not found".to_string()),
            AppError::Absent { code, message } => (StatusCode::NOT_FOUND, *code, message.clone()),
            AppError::Conflict { code, message } => (StatusCode::CONFLICT, *code, message.clone()),
            AppError::Gone { code, message } => (StatusCode::GONE, *code, message.clone()),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "your role may not do this".to_string(),
            ),
            AppError::UnsupportedMedia(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                m.clone(),
            ),
            AppError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m.clone()),
            AppError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "sign in first (wrong username or password, or the session expired)".to_string(),
            ),
            AppError::SessionRevoked => (
                StatusCode::UNAUTHORIZED,
                "session_revoked",
                "an administrator ended this session; sign in again".to_string(),
            ),
            AppError::CrossSite => (
                StatusCode::FORBIDDEN,
                "cross_site",
                "requests from another site are refused".to_string(),
            ),
            AppError::TooManyConnections => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connections",
                "too many open connections for this user; close a tab and try again".to_string(),
            ),
            AppError::TooManyRequests(secs) => {
                return limited(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "too many failed sign-ins; wait before trying again",
                    *secs,
                );
            }
            AppError::RateLimited(secs) => {
                return limited(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    "too many requests; wait a moment and try again",
                    *secs,
                );
            }
            AppError::Busy(secs) => {
                return limited(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the server is busy signing others in; try again in a moment",
                    *secs,
                );
            }
            AppError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on the server; it has been logged".to_string(),
                )
            }
            AppError::Storage(e) => {
                tracing::error!(error = %e, "storage error");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "storage is unavailable, try again".to_string(),
                )
            }
        };
        let body = serde_json::json!({ "code": code, "message": message });
        (status, axum::Json(body)).into_response()
    }
}

/// An answer that tells the caller when to come back (`Retry-After`).
fn limited(status: StatusCode, code: &str, message: &str, secs: u64) -> Response {
    let body = serde_json::json!({ "code": code, "message": message });
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(axum::http::header::RETRY_AFTER, secs.max(1).into());
    resp
}

/// Query parameters, or a 400 naming what is wrong with them.
pub struct AppQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for AppQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| AppQuery(value))
            .map_err(|e| AppError::BadRequest(e.body_text()))
    }
}

/// A JSON body in (a 400 or 415 naming what is wrong), or JSON out.
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(JsonRejection::MissingJsonContentType(e)) => {
                Err(AppError::UnsupportedMedia(e.body_text()))
            }
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::TooLarge(e.body_text()))
            }
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

impl<T: serde::Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
