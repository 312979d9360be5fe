//! `/api/records`: head office's list and detail views, answered from the
//! SQL projection (fast, paginated), with the same team rule as sync.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use closeloop_shared::sync::DocumentId;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::startup::AppState;
use crate::storage::Sql;

/// Largest page a list call returns.
const MAX_PER_PAGE: i64 = 200;

/// The routes, mounted under `/api`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/records", get(records_list))
        .route("/records/{id}", get(records_get))
}

/// Filters, sort and page of a list call; every field optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    status: Option<String>,
    priority: Option<String>,
    channel: Option<String>,
    feedback_type: Option<String>,
    department: Option<String>,
    owner: Option<String>,
    /// Received at or after (ms since the epoch).
    from: Option<i64>,
    /// Received before (ms since the epoch).
    to: Option<i64>,
    /// Substring of the description.
    q: Option<String>,
    /// Only records past an SLA due time (`true`) or not (`false`).
    overdue: Option<bool>,
    /// `received_at` (default, newest first), `priority`, or `status`; `-` prefix flips the order.
    sort: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

impl ListQuery {
    /// Only a received-time period, for the statistics.
    pub(crate) fn period(from: Option<i64>, to: Option<i64>) -> Self {
        ListQuery {
            from,
            to,
            ..ListQuery::default()
        }
    }
}

/// One row of the list.
#[derive(serde::Serialize)]
pub(crate) struct RecordSummary {
    pub(crate) id: String,
    pub(crate) received_at: i64,
    pub(crate) channel: String,
    pub(crate) customer: String,
    pub(crate) description: String,
    pub(crate) feedback_type: Option<String>,
    pub(crate) priority: Option<String>,
    pub(crate) status: String,
    pub(crate) owner: Option<String>,
    pub(crate) department: Option<String>,
    pub(crate) conflicts: i64,
    pub(crate) workflow_issues: i64,
    /// The clock that matters now (first response until answered, then
    /// resolution): `on_track`, `near_due`, `overdue`, `paused`, `met`, `breached`.
    pub(crate) sla_state: Option<String>,
    /// When that clock is due (ms since the epoch).
    pub(crate) due_at: Option<i64>,
    /// Whether any SLA clock is past due and not done.
    pub(crate) overdue: bool,
}

#[derive(serde::Serialize)]
pub(crate) struct Page {
    records: Vec<RecordSummary>,
    total: i64,
    page: i64,
    per_page: i64,
}

const SUMMARY_COLUMNS: &str = "r.document_id, r.received_at, r.channel, r.customer, r.description, r.feedback_type, \
     r.priority, r.status, r.owner, r.department, r.conflicts, r.workflow_issues, r.first_response_at, \
     r.resolved_at, r.pauses";

/// A projected row's priority and SLA clock facts (needs the `priority`,
/// `received_at`, `first_response_at`, `resolved_at` and `pauses` columns);
/// `None` without a known priority, when no clock runs.
pub(crate) fn sla_facts(
    row: &AnyRow,
) -> Result<
    Option<(
        closeloop_shared::sla::Priority,
        closeloop_shared::sla::SlaFacts,
    )>,
    sqlx::Error,
> {
    use closeloop_shared::sla::{Priority, SlaFacts};
    let Some(priority) = row
        .try_get::<Option<String>, _>("priority")?
        .as_deref()
        .and_then(Priority::from_key)
    else {
        return Ok(None);
    };
    Ok(Some((
        priority,
        SlaFacts {
            received_at_ms: row.try_get("received_at")?,
            first_response_at_ms: row.try_get("first_response_at")?,
            resolved_at_ms: row.try_get("resolved_at")?,
            pauses: serde_json::from_str(&row.try_get::<String, _>("pauses")?).unwrap_or_default(),
        },
    )))
}

/// SLA state of a projected record at `now_ms`, on the default policy and
/// calendar (S003; admin-editable ones are still to come).
fn sla(row: &AnyRow, now_ms: i64) -> Result<(Option<String>, Option<i64>, bool), sqlx::Error> {
    use closeloop_shared::sla::SlaState;
    let (policy, calendar) = crate::storage::sla_policy();
    let Some((priority, facts)) = sla_facts(row)? else {
        return Ok((None, None, false));
    };
    let Ok(status) = policy.evaluate(calendar, priority, &facts, now_ms) else {
        return Ok((None, None, false));
    };
    let current = match (facts.first_response_at_ms, status.first_response) {
        (None, Some(c)) => Some(c),
        _ => status.resolution.or(status.first_response),
    };
    let key = |s: SlaState| match s {
        SlaState::OnTrack => "on_track",
        SlaState::NearDue => "near_due",
        SlaState::Overdue => "overdue",
        SlaState::Paused => "paused",
        SlaState::Met => "met",
        SlaState::Breached => "breached",
    };
    let overdue = [status.first_response, status.resolution]
        .iter()
        .flatten()
        .any(|c| c.state == SlaState::Overdue);
    Ok((
        current.map(|c| key(c.state).to_string()),
        current.map(|c| c.due_at_ms),
        overdue,
    ))
}

fn summary(row: &AnyRow) -> Result<RecordSummary, sqlx::Error> {
    let (sla_state, due_at, overdue) = sla(row, crate::relay::now_ms())?;
    Ok(RecordSummary {
        sla_state,
        due_at,
        overdue,
        id: row.try_get("document_id")?,
        received_at: row.try_get("received_at")?,
        channel: row.try_get("channel")?,
        customer: row.try_get("customer")?,
        description: row.try_get("description")?,
        feedback_type: row.try_get("feedback_type")?,
        priority: row.try_get("priority")?,
        status: row.try_get("status")?,
        owner: row.try_get("owner")?,
        department: row.try_get("department")?,
        conflicts: row.try_get("conflicts")?,
        workflow_issues: row.try_get("workflow_issues")?,
    })
}

/// Appends `FROM … WHERE …` for the filters and the caller's visibility;
/// the statistics use it too, so both count the same records.
pub(crate) fn filter<'a>(qb: &mut Sql<'a>, q: &'a ListQuery, scope: Option<(&'a str, &'a str)>) {
    qb.push(" FROM records r JOIN documents d ON d.id = r.document_id WHERE 1 = 1");
    if let Some((team, username)) = scope {
        qb.push(" AND (d.team = ")
            .bind(team)
            .push(" OR r.owner = ")
            .bind(username)
            .push(")");
    }
    let exact = [
        ("r.status", &q.status),
        ("r.priority", &q.priority),
        ("r.channel", &q.channel),
        ("r.feedback_type", &q.feedback_type),
        ("r.department", &q.department),
        ("r.owner", &q.owner),
    ];
    for (column, value) in exact {
        if let Some(v) = value {
            qb.push(format!(" AND {column} = ")).bind(v.as_str());
        }
    }
    if let Some(from) = q.from {
        qb.push(" AND r.received_at >= ").bind(from);
    }
    if let Some(to) = q.to {
        qb.push(" AND r.received_at < ").bind(to);
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let position = qb.backend().position_fn();
        qb.push(format!(" AND {position}(r.description, "))
            .bind(text)
            .push(") > 0");
    }
}

/// The `ORDER BY` for a `sort` parameter; only known columns are accepted.
fn order_clause(sort: Option<&str>) -> Result<&'static str, AppError> {
    Ok(match sort.unwrap_or("-received_at") {
        "received_at" => "r.received_at ASC",
        "-received_at" => "r.received_at DESC",
        "priority" => "r.priority IS NULL, r.priority ASC, r.received_at DESC",
        "-priority" => "r.priority IS NULL, r.priority DESC, r.received_at DESC",
        "status" => "r.status ASC, r.received_at DESC",
        "-status" => "r.status DESC, r.received_at DESC",
        // What falls due next: the stored resolution due moment.
        "due" => "r.resolution_due_at IS NULL, r.resolution_due_at ASC, r.received_at DESC",
        "-due" => "r.resolution_due_at IS NULL, r.resolution_due_at DESC, r.received_at DESC",
        other => return Err(AppError::BadRequest(format!("cannot sort by `{other}`"))),
    })
}

/// Records matching `q` that `user` may see, sorted, skipping `offset`, at most `limit`.
pub(crate) async fn fetch_all(
    storage: &crate::storage::Storage,
    user: &closeloop_shared::access::Principal,
    q: &ListQuery,
    limit: i64,
    offset: i64,
) -> Result<Vec<RecordSummary>, AppError> {
    let order = order_clause(q.sort.as_deref())?;
    let mut list = storage.sql(format!("SELECT {SUMMARY_COLUMNS}"));
    filter(&mut list, q, crate::auth::field_scope(user));
    list.push(format!(" ORDER BY {order}, r.document_id LIMIT "))
        .bind(limit)
        .push(" OFFSET ")
        .bind(offset);
    let rows = list.fetch_all(storage.pool()).await.map_err(db)?;
    rows.iter()
        .map(summary)
        .collect::<Result<_, _>>()
        .map_err(db)
}

async fn records_list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Page>, AppError> {
    let Query(q) = query.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let per_page = q.per_page.unwrap_or(50);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(AppError::BadRequest(format!(
            "per_page must be between 1 and {MAX_PER_PAGE}"
        )));
    }
    let page = q.page.unwrap_or(1);
    if page < 1 {
        return Err(AppError::BadRequest("page starts at 1".into()));
    }
    let offset = (page - 1) * per_page;
    if let Some(want) = q.overdue {
        // Overdue depends on the clock, not on a column: evaluate, then page.
        let matching: Vec<RecordSummary> = fetch_all(&state.storage, &user, &q, i64::MAX, 0)
            .await?
            .into_iter()
            .filter(|r| r.overdue == want)
            .collect();
        let total = matching.len() as i64;
        let records = matching
            .into_iter()
            .skip(offset as usize)
            .take(per_page as usize)
            .collect();
        return Ok(Json(Page {
            records,
            total,
            page,
            per_page,
        }));
    }
    let mut count = state.storage.sql("SELECT COUNT(*)");
    filter(&mut count, &q, crate::auth::field_scope(&user));
    let total = count.fetch_i64(state.storage.pool()).await.map_err(db)?;
    let records = fetch_all(&state.storage, &user, &q, per_page, offset).await?;
    Ok(Json(Page {
        records,
        total,
        page,
        per_page,
    }))
}

/// One record with its workflow history and processing log.
#[derive(serde::Serialize)]
pub(crate) struct RecordDetail {
    #[serde(flatten)]
    summary: RecordSummary,
    history: Vec<serde_json::Value>,
    log: Vec<serde_json::Value>,
}

async fn records_get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<RecordDetail>, AppError> {
    // A malformed id and a record the caller may not see answer alike.
    let id: DocumentId = id.parse().map_err(|_| AppError::NotFound)?;
    let key = id.to_string();
    let scope = crate::auth::field_scope(&user);
    let mut qb = state.storage.sql(format!("SELECT {SUMMARY_COLUMNS}"));
    let all = ListQuery::default();
    filter(&mut qb, &all, scope);
    qb.push(" AND r.document_id = ").bind(key.as_str());
    let row = qb
        .fetch_optional(state.storage.pool())
        .await
        .map_err(db)?
        .ok_or(AppError::NotFound)?;
    let pool = state.storage.pool();
    let history = sqlx::query(
        "SELECT action, actor, at, from_status, note FROM record_history WHERE document_id = $1 ORDER BY position",
    )
    .bind(&key)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        Ok(serde_json::json!({
            "action": r.try_get::<String, _>("action")?, "by": r.try_get::<String, _>("actor")?,
            "at": r.try_get::<i64, _>("at")?, "from": r.try_get::<String, _>("from_status")?,
            "note": r.try_get::<Option<String>, _>("note")?,
        }))
    })
    .collect::<Result<_, sqlx::Error>>()
    .map_err(db)?;
    let log = sqlx::query(
        "SELECT at, actor, text FROM record_log WHERE document_id = $1 ORDER BY position",
    )
    .bind(&key)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        Ok(serde_json::json!({
            "at": r.try_get::<i64, _>("at")?, "by": r.try_get::<String, _>("actor")?,
            "text": r.try_get::<String, _>("text")?,
        }))
    })
    .collect::<Result<_, sqlx::Error>>()
    .map_err(db)?;
    Ok(Json(RecordDetail {
        summary: summary(&row).map_err(db)?,
        history,
        log,
    }))
}

fn db(e: sqlx::Error) -> AppError {
    AppError::Storage(e.into())
}
