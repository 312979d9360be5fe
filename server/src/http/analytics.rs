//! `GET /api/dashboard`: head office's figures for a period and filter
//! (S001 §7, S002 §4, S004 §3–4), from the read model's aggregates.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use closeloop_shared::analytics::{DAY_MS, Dashboard, DashboardFilter, day_number};

use super::auth::{CurrentUser, head_office};
use crate::error::{AppError, AppJson, AppQuery};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard))
}

/// Days a dashboard covers when the caller names no period: twelve weeks.
const DEFAULT_DAYS: i64 = 84;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    from: Option<i64>,
    to: Option<i64>,
    department: Option<String>,
    channel: Option<String>,
    #[serde(rename = "type")]
    feedback_type: Option<String>,
}

async fn dashboard(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(p): AppQuery<Params>,
) -> Result<AppJson<Dashboard>, AppError> {
    head_office(&user)?;
    let sla = state.sla.get();
    let now = state.now_ms();
    // Without a period: up to the end of today, local time.
    let offset = i64::from(sla.calendar.utc_offset_minutes) * 60_000;
    let end_of_today = (day_number(now, &sla.calendar) + 1) * DAY_MS - offset;
    let to = p.to.unwrap_or(end_of_today);
    let filter = DashboardFilter {
        from_ms: p.from.unwrap_or(to.saturating_sub(DEFAULT_DAYS * DAY_MS)),
        to_ms: to,
        department: p.department.filter(|v| !v.is_empty()),
        channel: p.channel.filter(|v| !v.is_empty()),
        feedback_type: p.feedback_type.filter(|v| !v.is_empty()),
    };
    filter.validate().map_err(|e| AppError::Invalid {
        code: e.code(),
        message: e.to_string(),
    })?;
    Ok(AppJson(state.storage.dashboard(&filter, &sla, now).await?))
}
