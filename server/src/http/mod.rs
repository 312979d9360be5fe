//! HTTP: one router per resource. Handlers translate requests into storage
//! and domain calls and their results into JSON; no SQL lives here.

mod actions;
mod admin;
mod analytics;
mod archive;
pub(crate) mod attachments;
mod audit;
pub(crate) mod auth;
mod cases;
mod contacts;
mod customers;
mod events;
pub(crate) mod export;
mod feed;
mod notifications;
mod public_feedback;
pub(crate) mod public_pages;
pub(crate) mod records;
mod reports;
mod settings;
pub(crate) mod static_files;
mod stats;
mod survey_design;
mod survey_results;
mod surveys;
pub(crate) mod web_edge;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::{Json, Router};
use sha2::{Digest, Sha256};

use crate::error::AppError;
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
        .merge(analytics::router())
        .merge(actions::router())
        .merge(reports::router())
        .merge(admin::router())
        .merge(settings::router())
        .merge(events::router())
        .merge(notifications::router())
        .merge(contacts::router())
        .merge(customers::router())
        .merge(archive::router())
        .merge(audit::router())
        .merge(surveys::router())
        .merge(cases::router())
        .merge(survey_design::router())
        .merge(survey_results::router())
        .merge(public_feedback::router())
}

/// Liveness for load balancers and `cargo xtask serve`.
pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /metrics`, in Prometheus text format, for `Authorization: Bearer
/// <--metrics-token>` only (refused when no token is configured): load and
/// connection counts are not for everyone.
pub(crate) async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let allowed = match (&state.edge.metrics_token, given) {
        // Compared as digests, so timing says nothing about the token.
        (Some(token), Some(given)) => Sha256::digest(token) == Sha256::digest(given),
        _ => false,
    };
    if !allowed {
        return Err(AppError::Unauthorized);
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    ))
}
