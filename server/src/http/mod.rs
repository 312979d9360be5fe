//! HTTP: one router per resource. Handlers translate requests into storage
//! and domain calls and their results into JSON; no SQL lives here.

mod admin;
pub(crate) mod attachments;
pub(crate) mod auth;
pub(crate) mod export;
mod feed;
pub(crate) mod records;
pub(crate) mod static_files;
mod stats;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Json, Router};

use crate::state::AppState;

/// The API routes, mounted under `/api`.
pub(crate) fn api() -> Router<AppState> {
    Router::new()
        .merge(feed::router())
        .merge(auth::router())
        .merge(records::router())
        .merge(export::router())
        .merge(attachments::router())
        .merge(stats::router())
        .merge(admin::router())
}

/// Liveness for load balancers and `cargo xtask serve`.
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /metrics`, in Prometheus text format.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
