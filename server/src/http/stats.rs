//! `/api/stats`: volumes and timeliness from the read model (S001 §7,
//! S004 §3), using the shared statistics functions on the selected samples.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use closeloop_shared::api::{RecordQuery, Stats};
use closeloop_shared::stats::{
    ComplaintFact, SlaTarget, duration_stats, is_complaint, repeat_complaint_rate_of,
    sla_compliance_of,
};

use super::auth::CurrentUser;
use crate::error::{AppError, AppJson, AppQuery};
use crate::state::AppState;
use crate::storage::CountBy;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/stats", get(stats))
}

/// The period to measure (received time, ms since the epoch); both optional.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Period {
    from: Option<i64>,
    to: Option<i64>,
}

/// How far back a complaint counts as a repeat (S004 §3).
const REPEAT_WINDOW_MS: i64 = 30 * 86_400_000;

async fn stats(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(p): AppQuery<Period>,
) -> Result<AppJson<Stats>, AppError> {
    let visible = user.visibility();
    let period = RecordQuery::period(p.from, p.to);
    let storage = &state.storage;
    let count = |by| storage.record_counts(by, &period, visible);
    let (by_status, by_channel, by_type, by_department) = (
        count(CountBy::Status).await?,
        count(CountBy::Channel).await?,
        count(CountBy::FeedbackType).await?,
        count(CountBy::Department).await?,
    );
    let samples = storage.stats_samples(&period, visible).await?;
    let (mut first, mut resolved, mut first_contact) = (Vec::new(), Vec::new(), 0usize);
    let (mut clocks, mut complaints) = (Vec::new(), Vec::new());
    for s in &samples {
        let facts = &s.sla.facts;
        let received = facts.received_at_ms;
        if let Some(priority) = s.sla.priority {
            clocks.push((priority, facts.clone()));
        }
        if is_complaint(s.nature.as_deref(), s.feedback_type.as_deref()) {
            complaints.push(ComplaintFact {
                customer: s.customer.clone(),
                kind: s.complaint_kind.clone().or_else(|| s.feedback_type.clone()),
                received_at_ms: received,
            });
        }
        if let Some(t) = facts.first_response_at_ms {
            first.push(t - received);
        }
        if let Some(t) = facts.resolved_at_ms {
            resolved.push(t - received);
            if !s.detoured {
                first_contact += 1;
            }
        }
    }
    let fcr = (!resolved.is_empty()).then(|| first_contact as f64 / resolved.len() as f64);
    let sla = state.sla.get();
    let (policy, calendar) = (&sla.policy, &sla.calendar);
    let now = state.now_ms();
    let compliance = |target| {
        sla_compliance_of(clocks.iter().cloned(), policy, calendar, target, now)
            .map_err(|e| AppError::Internal(format!("SLA calendar: {e}")))
    };
    Ok(AppJson(Stats {
        total: samples.len() as i64,
        by_status,
        by_channel,
        by_type,
        by_department,
        first_response: duration_stats(first),
        resolution: duration_stats(resolved),
        first_contact_resolution_rate: fcr,
        first_response_sla: compliance(SlaTarget::FirstResponse)?,
        resolution_sla: compliance(SlaTarget::Resolution)?,
        repeat_complaint_rate: repeat_complaint_rate_of(complaints, REPEAT_WINDOW_MS),
    }))
}
