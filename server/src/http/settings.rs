//! Settings admins change while the system runs: the taxonomy records are
//! classified with (read by every signed-in client, tablets cache it for
//! offline use) and the SLA policy and working calendar. A saved change
//! takes effect at once for every request and for the relay's projection;
//! the due moments of stored records are recomputed in the background.

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::taxonomy::Taxonomy;

use super::admin::Admin;
use super::auth::CurrentUser;
use crate::error::{AppError, AppJson};
use crate::state::AppState;
use closeloop_shared::audit::AuditAction;
use closeloop_shared::retention::RetentionPolicy;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/taxonomy", get(taxonomy))
        .route("/sla", get(sla_for_everyone))
        .route("/admin/taxonomy", put(set_taxonomy))
        .route("/admin/sla", get(sla).put(set_sla))
        .route("/admin/retention", get(retention).put(set_retention))
}

async fn taxonomy(State(state): State<AppState>, _: CurrentUser) -> Json<Taxonomy> {
    Json(Taxonomy::clone(&state.taxonomy.get()))
}

async fn set_taxonomy(
    State(state): State<AppState>,
    admin: Admin,
    AppJson(taxonomy): AppJson<Taxonomy>,
) -> Result<Json<Taxonomy>, AppError> {
    taxonomy.validate().map_err(|e| AppError::Invalid {
        code: "bad_taxonomy",
        message: e.to_string(),
    })?;
    state
        .storage
        .set_taxonomy(&taxonomy, state.now_ms())
        .await?;
    state.taxonomy.set(taxonomy.clone());
    admin
        .audit(&state, AuditAction::SettingsChanged, "taxonomy", None)
        .await?;
    Ok(Json(taxonomy))
}

async fn retention(
    State(state): State<AppState>,
    _: Admin,
) -> Result<Json<RetentionPolicy>, AppError> {
    Ok(Json(state.storage.retention(state.now_ms()).await?))
}

/// Saved for every relay (the archive job reads it on each run).
async fn set_retention(
    State(state): State<AppState>,
    admin: Admin,
    AppJson(policy): AppJson<RetentionPolicy>,
) -> Result<Json<RetentionPolicy>, AppError> {
    policy.validate().map_err(|e| AppError::Invalid {
        code: "bad_retention",
        message: e.to_string(),
    })?;
    state.storage.set_retention(&policy, state.now_ms()).await?;
    let detail = serde_json::to_string(&policy).unwrap_or_default();
    admin
        .audit(
            &state,
            AuditAction::SettingsChanged,
            "retention",
            Some(detail),
        )
        .await?;
    Ok(Json(policy))
}

/// The policy and calendar every signed-in device computes due moments
/// with (nothing secret: the targets are the service's promise).
async fn sla_for_everyone(State(state): State<AppState>, _: CurrentUser) -> Json<SlaConfig> {
    Json(SlaConfig::clone(&state.sla.get()))
}

async fn sla(State(state): State<AppState>, _: Admin) -> Json<SlaConfig> {
    Json(SlaConfig::clone(&state.sla.get()))
}

async fn set_sla(
    State(state): State<AppState>,
    admin: Admin,
    AppJson(sla): AppJson<SlaConfig>,
) -> Result<Json<SlaConfig>, AppError> {
    sla.validate().map_err(|e| AppError::Invalid {
        code: "bad_sla",
        message: e.to_string(),
    })?;
    state.storage.set_sla_config(&sla, state.now_ms()).await?;
    state.sla.set(sla.clone());
    admin
        .audit(&state, AuditAction::SettingsChanged, "sla", None)
        .await?;
    // Stored due moments follow; lists read them, so they catch up as the
    // batches commit (seconds for 100,000 records). Each batch uses the
    // settings current then, so a later save is never undone by this run.
    let (storage, live) = (state.storage.clone(), state.sla.clone());
    tokio::spawn(async move {
        match storage.reclock(|| live.get()).await {
            Ok(n) => tracing::info!(
                records = n,
                "due moments recomputed for the new SLA settings"
            ),
            Err(e) => tracing::error!(error = %e, "recomputing due moments failed"),
        }
    });
    Ok(Json(sla))
}
