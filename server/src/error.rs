//! The one error type handlers return; it renders as `{code, message}` JSON.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything an API call can fail with. Internal details are logged, not sent.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is wrong; the message tells the caller what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// The body is of a kind we do not accept.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// The body is over a limit.
    #[error("{0}")]
    TooLarge(String),
    /// Not signed in, or the session has expired.
    #[error("sign in first")]
    Unauthorized,
    /// No such thing (or the caller may not know it exists).
    #[error("not found")]
    NotFound,
    /// Storage failed; the caller may retry.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", "not found".to_string()),
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
