//! `/api/records`: head office's list and detail views, answered from the
//! read model (fast, paginated), with the same access rule as sync.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use closeloop_shared::access::Principal;
use closeloop_shared::api::{
    ChangeItem, RecordDetail, RecordPage, RecordQuery, RecordSummary, SimilarQuery, SimilarRecords,
};
use closeloop_shared::duplicates;
use closeloop_shared::record::{MAX_DESCRIPTION_CHARS, MAX_NICKNAME_CHARS, MAX_ORDER_NUMBER_CHARS};
use closeloop_shared::sla::{SlaConfig, SlaState};
use closeloop_shared::sync::DocumentId;

use super::auth::CurrentUser;
use crate::error::{AppError, AppJson, AppQuery};
use crate::state::AppState;
use crate::storage::{RecordOrder, RecordRow, Storage};

/// Largest page a list call returns.
const MAX_PER_PAGE: i64 = 200;
/// Likely duplicates offered at most.
const MAX_SIMILAR: usize = 5;
/// The page size without a `per_page`.
const DEFAULT_PER_PAGE: i64 = 50;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/records", get(records_list))
        .route("/records/similar", get(records_similar))
        .route("/records/{id}", get(records_get))
        .route("/records/{id}/changes", get(record_changes))
}

/// A row as the list shows it, with its SLA clock evaluated at `now_ms`.
pub(crate) fn summary(row: RecordRow, sla: &SlaConfig, now_ms: i64) -> RecordSummary {
    let evaluated = row.sla.priority.and_then(|p| {
        sla.policy
            .evaluate(&sla.calendar, p, &row.sla.facts, now_ms)
            .ok()
    });
    let (sla_state, due_at, remaining_ms, overdue) = match evaluated {
        None => (None, None, None, false),
        Some(status) => {
            // The clock that matters now: first response until answered.
            let current = match (row.sla.facts.first_response_at_ms, status.first_response) {
                (None, Some(c)) => Some(c),
                _ => status.resolution.or(status.first_response),
            };
            let overdue = [status.first_response, status.resolution]
                .iter()
                .flatten()
                .any(|c| c.state == SlaState::Overdue);
            (
                current.map(|c| c.state),
                current.map(|c| c.due_at_ms),
                current.map(|c| c.remaining_ms),
                overdue,
            )
        }
    };
    RecordSummary {
        id: row.id,
        received_at: row.sla.facts.received_at_ms,
        channel: row.channel,
        customer: row.customer,
        description: row.description,
        feedback_type: row.feedback_type,
        priority: row.priority,
        status: row.status,
        owner: row.owner,
        department: row.department,
        conflicts: row.conflicts,
        workflow_issues: row.workflow_issues,
        archived_at: row.archived_at,
        sla_state,
        due_at,
        remaining_ms,
        overdue,
        nature: row.nature,
    }
}

/// Records matching `q` that `user` may see, sorted, skipping `offset`, at
/// most `limit`, with their SLA clocks at `now_ms`.
pub(crate) async fn summaries(
    storage: &Storage,
    sla: &SlaConfig,
    now_ms: i64,
    user: &Principal,
    q: &RecordQuery,
    limit: i64,
    offset: i64,
) -> Result<Vec<RecordSummary>, AppError> {
    let order = RecordOrder::from_param(q.sort.as_deref()).ok_or_else(|| {
        AppError::BadRequest(format!(
            "cannot sort by `{}`",
            q.sort.as_deref().unwrap_or_default()
        ))
    })?;
    let rows = storage
        .records(q, user.visibility(), order, limit, offset, now_ms)
        .await?;
    Ok(rows.into_iter().map(|r| summary(r, sla, now_ms)).collect())
}

/// Likely duplicates of a registration about to be saved (S002 5.1).
async fn records_similar(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<SimilarQuery>,
) -> Result<AppJson<SimilarRecords>, AppError> {
    if q.customer.chars().count() > MAX_NICKNAME_CHARS
        || q.text.chars().count() > MAX_DESCRIPTION_CHARS
        || q.order_number
            .as_ref()
            .is_some_and(|o| o.chars().count() > MAX_ORDER_NUMBER_CHARS)
    {
        return Err(AppError::BadRequest(
            "customer, order number or text is longer than a record allows".into(),
        ));
    }
    let customer = q.customer.trim();
    let order = q
        .order_number
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    if customer.is_empty() && order.is_none() {
        return Ok(AppJson(SimilarRecords {
            records: Vec::new(),
        }));
    }
    let candidates = state
        .storage
        .same_customer_or_order(
            customer,
            order,
            q.received_at,
            duplicates::WINDOW_MS,
            user.visibility(),
        )
        .await?;
    let new = duplicates::Reception {
        customer,
        order_number: order,
        description: &q.text,
        received_at_ms: q.received_at,
    };
    let now = state.now_ms();
    let found = duplicates::most_likely(
        &new,
        candidates.iter().map(|(row, order_number)| {
            let seen = duplicates::Reception {
                customer: &row.customer,
                order_number: order_number.as_deref(),
                description: &row.description,
                received_at_ms: row.sla.facts.received_at_ms,
            };
            (seen, row)
        }),
        MAX_SIMILAR,
    );
    Ok(AppJson(SimilarRecords {
        records: found
            .into_iter()
            .map(|row| summary(row.clone(), &state.sla.get(), now))
            .collect(),
    }))
}

async fn records_list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<RecordQuery>,
) -> Result<AppJson<RecordPage>, AppError> {
    let per_page = q.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(AppError::BadRequest(format!(
            "per_page must be between 1 and {MAX_PER_PAGE}"
        )));
    }
    let page = q.page.unwrap_or(1);
    if page < 1 {
        return Err(AppError::BadRequest("page starts at 1".into()));
    }
    let offset = (page - 1).saturating_mul(per_page);
    let now = state.now_ms();
    let total = state
        .storage
        .count_records(&q, user.visibility(), now)
        .await?;
    let records = summaries(
        &state.storage,
        &state.sla.get(),
        now,
        &user,
        &q,
        per_page,
        offset,
    )
    .await?;
    Ok(AppJson(RecordPage {
        records,
        total,
        page,
        per_page,
    }))
}

/// A record id from a path; a malformed one answers like a record the
/// caller may not see.
pub(super) fn record_id(id: &str) -> Result<DocumentId, AppError> {
    id.parse().map_err(|_| AppError::NotFound)
}

/// The record, if `user` sees it; one they do not see answers "not
/// found", as an unknown one does.
pub(super) async fn seen_record(
    state: &AppState,
    user: &Principal,
    id: &DocumentId,
) -> Result<RecordRow, AppError> {
    state
        .storage
        .record(id, user.visibility())
        .await?
        .ok_or(AppError::NotFound)
}

async fn records_get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<AppJson<RecordDetail>, AppError> {
    let id = record_id(&id)?;
    let row = seen_record(&state, &user, &id).await?;
    Ok(AppJson(RecordDetail {
        summary: summary(row, &state.sla.get(), state.now_ms()),
        history: state.storage.record_history(&id).await?,
        log: state.storage.record_log(&id).await?,
    }))
}

/// Who delivered each change of a record: for head office, supervisors and
/// admins, who judge the work by it (S002 §6).
async fn record_changes(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<AppJson<Vec<ChangeItem>>, AppError> {
    let id = record_id(&id)?;
    if !user.role.sees_everything() {
        return Err(AppError::Forbidden);
    }
    seen_record(&state, &user, &id).await?;
    Ok(AppJson(state.storage.record_changes(&id).await?))
}
