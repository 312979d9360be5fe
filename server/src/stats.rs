//! `/api/stats`: volumes and timeliness from the projection (S001 §7,
//! S004 §3), using the shared statistics functions on SQL-selected samples.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use closeloop_shared::stats::{
    ComplaintFact, Compliance, DurationStats, SlaTarget, duration_stats, repeat_complaint_rate_of,
    sla_compliance_of,
};
use sqlx::Row;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::records::{ListQuery, filter};
use crate::startup::AppState;

/// The routes, mounted under `/api`.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/stats", get(stats))
}

/// The period to measure (received time, ms since the epoch); both optional.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Period {
    from: Option<i64>,
    to: Option<i64>,
}

#[derive(serde::Serialize)]
pub(crate) struct Stats {
    total: i64,
    by_status: BTreeMap<String, i64>,
    by_channel: BTreeMap<String, i64>,
    by_type: BTreeMap<String, i64>,
    by_department: BTreeMap<String, i64>,
    first_response: DurationStats,
    resolution: DurationStats,
    /// Resolved without a reassignment or a reopen, over all resolved.
    first_contact_resolution_rate: Option<f64>,
    /// First-response clocks met, breached, overdue, on the default SLA policy.
    first_response_sla: Compliance,
    /// Resolution clocks met, breached, overdue, on the default SLA policy.
    resolution_sla: Compliance,
    /// Complaints by a customer who made one of the same kind in the
    /// preceding 30 days, over all complaints (S004 §3).
    repeat_complaint_rate: Option<f64>,
}

/// How far back a complaint counts as a repeat.
const REPEAT_WINDOW_MS: i64 = 30 * 86_400_000;

async fn stats(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    query: Result<Query<Period>, QueryRejection>,
) -> Result<Json<Stats>, AppError> {
    let Query(p) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let field = crate::auth::field_scope(&user);
    let period = ListQuery::period(p.from, p.to);
    let pool = state.storage.pool();
    let db = |e: sqlx::Error| AppError::Storage(e.into());

    let mut counts = BTreeMap::new();
    for column in ["status", "channel", "feedback_type", "department"] {
        let mut qb = state.storage.sql(format!(
            "SELECT COALESCE(r.{column}, '-') AS k, COUNT(*) AS n"
        ));
        filter(&mut qb, &period, field);
        qb.push(format!(" GROUP BY r.{column}"));
        let rows = qb.fetch_all(pool).await.map_err(db)?;
        let map: BTreeMap<String, i64> = rows
            .iter()
            .map(|r| Ok((r.try_get::<String, _>("k")?, r.try_get::<i64, _>("n")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db)?;
        counts.insert(column, map);
    }
    let mut qb = state.storage.sql(
        "SELECT r.received_at, r.first_response_at, r.resolved_at, r.priority, r.pauses, \
         r.customer, r.nature, r.feedback_type, r.complaint_kind, \
         CASE WHEN EXISTS (SELECT 1 FROM record_history h WHERE h.document_id = r.document_id \
                 AND h.action IN ('reassign', 'reopen')) THEN 1 ELSE 0 END AS detoured",
    );
    filter(&mut qb, &period, field);
    let rows = qb.fetch_all(pool).await.map_err(db)?;
    let (mut first, mut resolved, mut first_contact) = (Vec::new(), Vec::new(), 0usize);
    let (mut clocks, mut complaints) = (Vec::new(), Vec::new());
    for r in &rows {
        let received: i64 = r.try_get("received_at").map_err(db)?;
        let text = |c: &str| r.try_get::<Option<String>, _>(c).map_err(db);
        clocks.extend(crate::records::sla_facts(r).map_err(db)?);
        let feedback_type = text("feedback_type")?;
        if text("nature")?.as_deref() == Some("complaint")
            || feedback_type.as_deref() == Some("complaint")
        {
            complaints.push(ComplaintFact {
                customer: text("customer")?.unwrap_or_default(),
                kind: text("complaint_kind")?.or(feedback_type),
                received_at_ms: received,
            });
        }
        if let Some(t) = r
            .try_get::<Option<i64>, _>("first_response_at")
            .map_err(db)?
        {
            first.push(t - received);
        }
        if let Some(t) = r.try_get::<Option<i64>, _>("resolved_at").map_err(db)? {
            resolved.push(t - received);
            if r.try_get::<i64, _>("detoured").map_err(db)? == 0 {
                first_contact += 1;
            }
        }
    }
    let fcr = (!resolved.is_empty()).then(|| first_contact as f64 / resolved.len() as f64);
    let (policy, calendar) = crate::storage::sla_policy();
    let now = crate::relay::now_ms();
    let compliance = |target| {
        sla_compliance_of(clocks.iter().cloned(), policy, calendar, target, now)
            .map_err(|e| AppError::BadRequest(format!("SLA calendar: {e}")))
    };
    let first_response_sla = compliance(SlaTarget::FirstResponse)?;
    let resolution_sla = compliance(SlaTarget::Resolution)?;
    let mut take = |k: &str| counts.remove(k).unwrap_or_default();
    Ok(Json(Stats {
        total: rows.len() as i64,
        by_status: take("status"),
        by_channel: take("channel"),
        by_type: take("feedback_type"),
        by_department: take("department"),
        first_response: duration_stats(first),
        resolution: duration_stats(resolved),
        first_contact_resolution_rate: fcr,
        first_response_sla,
        resolution_sla,
        repeat_complaint_rate: repeat_complaint_rate_of(complaints, REPEAT_WINDOW_MS),
    }))
}
