//! Read-model queries: the record list, one record with its history and
//! log, counts and statistics samples, as typed rows. Every query applies
//! the caller's [`Visibility`] through [`super::visibility::restrict`].

use std::collections::BTreeMap;

use closeloop_shared::access::Visibility;
use closeloop_shared::api::{ChangeItem, DueFilter, HistoryItem, LogItem, RecordQuery};
use closeloop_shared::sla::{Priority, SlaFacts};
use closeloop_shared::sync::DocumentId;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Sql, Storage, StorageError, visibility};

/// A record's SLA clock facts as projected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaColumns {
    /// `None` when the record has no (known) priority: no clock runs.
    pub priority: Option<Priority>,
    pub facts: SlaFacts,
}

/// One projected record, as lists and exports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    pub id: String,
    pub channel: String,
    pub customer: String,
    pub description: String,
    pub feedback_type: Option<String>,
    pub nature: Option<String>,
    /// The stored priority key (kept even when this build does not know it).
    pub priority: Option<String>,
    pub status: String,
    pub owner: Option<String>,
    pub department: Option<String>,
    pub conflicts: i64,
    pub workflow_issues: i64,
    pub sla: SlaColumns,
    pub archived_at: Option<i64>,
}

/// What the statistics need of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsSample {
    pub sla: SlaColumns,
    pub customer: String,
    pub nature: Option<String>,
    pub feedback_type: Option<String>,
    pub complaint_kind: Option<String>,
    /// Reassigned or reopened at least once (not a first-contact resolution).
    pub detoured: bool,
}

/// The orders a list may be sorted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOrder {
    ReceivedAsc,
    ReceivedDesc,
    PriorityAsc,
    PriorityDesc,
    StatusAsc,
    StatusDesc,
    DueAsc,
    DueDesc,
}

impl RecordOrder {
    /// The order a `sort` parameter names (newest first without one);
    /// `None` for anything else.
    pub fn from_param(sort: Option<&str>) -> Option<Self> {
        Some(match sort.unwrap_or("-received_at") {
            "received_at" => RecordOrder::ReceivedAsc,
            "-received_at" => RecordOrder::ReceivedDesc,
            "priority" => RecordOrder::PriorityAsc,
            "-priority" => RecordOrder::PriorityDesc,
            "status" => RecordOrder::StatusAsc,
            "-status" => RecordOrder::StatusDesc,
            "due" => RecordOrder::DueAsc,
            "-due" => RecordOrder::DueDesc,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            RecordOrder::ReceivedAsc => "r.received_at ASC",
            RecordOrder::ReceivedDesc => "r.received_at DESC",
            RecordOrder::PriorityAsc => "r.priority IS NULL, r.priority ASC, r.received_at DESC",
            RecordOrder::PriorityDesc => "r.priority IS NULL, r.priority DESC, r.received_at DESC",
            RecordOrder::StatusAsc => "r.status ASC, r.received_at DESC",
            RecordOrder::StatusDesc => "r.status DESC, r.received_at DESC",
            // What falls due next: the running clock's due moment.
            RecordOrder::DueAsc => "r.clock_due_at IS NULL, r.clock_due_at ASC, r.received_at DESC",
            RecordOrder::DueDesc => {
                "r.clock_due_at IS NULL, r.clock_due_at DESC, r.received_at DESC"
            }
        }
    }
}

/// A column the statistics count records by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountBy {
    Status,
    Channel,
    FeedbackType,
    Department,
}

impl CountBy {
    fn column(self) -> &'static str {
        match self {
            CountBy::Status => "r.status",
            CountBy::Channel => "r.channel",
            CountBy::FeedbackType => "r.feedback_type",
            CountBy::Department => "r.department",
        }
    }
}

/// Candidates compared for likely duplicates at most (one customer's
/// records within two weeks; more would be a data problem, not feedback).
const MAX_DUPLICATE_CANDIDATES: i64 = 200;

const ROW_COLUMNS: &str = "r.document_id, r.received_at, r.channel, r.customer, r.description, \
     r.feedback_type, r.nature, r.priority, r.status, r.owner, r.department, r.conflicts, \
     r.workflow_issues, r.first_response_at, r.resolved_at, r.pauses, r.archived_at";

impl Storage {
    /// Records matching `q` that `visible` admits, in `order`, skipping
    /// `offset`, at most `limit`.
    pub async fn records(
        &self,
        q: &RecordQuery,
        visible: Visibility<'_>,
        order: RecordOrder,
        limit: i64,
        offset: i64,
        now_ms: i64,
    ) -> Result<Vec<RecordRow>, StorageError> {
        let mut list = self.sql(format!("SELECT {ROW_COLUMNS}"));
        filter(&mut list, q, visible, now_ms);
        list.push(format!(" ORDER BY {}, r.document_id LIMIT ", order.sql()))
            .bind(limit)
            .push(" OFFSET ")
            .bind(offset);
        list.fetch_all(&self.pool)
            .await?
            .iter()
            .map(record_row)
            .collect()
    }

    /// The next page of an export: visible records matching `q`, newest
    /// first, after `after` (the last page's last `(received_at, id)`).
    /// Keyset paging keeps every page as cheap as the first, however deep
    /// into a million records.
    pub async fn records_after(
        &self,
        q: &RecordQuery,
        visible: Visibility<'_>,
        after: Option<&(i64, String)>,
        limit: i64,
        now_ms: i64,
    ) -> Result<Vec<RecordRow>, StorageError> {
        let mut page = self.sql(format!("SELECT {ROW_COLUMNS}"));
        filter(&mut page, q, visible, now_ms);
        if let Some((received, id)) = after {
            // The first bound alone lets the index scan start at the last
            // row instead of skipping every page before it.
            page.push(" AND r.received_at <= ")
                .bind(*received)
                .push(" AND (r.received_at < ")
                .bind(*received)
                .push(" OR (r.received_at = ")
                .bind(*received)
                .push(" AND r.document_id > ")
                .bind(id.as_str())
                .push("))");
        }
        page.push(" ORDER BY r.received_at DESC, r.document_id LIMIT ")
            .bind(limit);
        page.fetch_all(&self.pool)
            .await?
            .iter()
            .map(record_row)
            .collect()
    }

    /// Visible records of `customer` or with `order_number` received
    /// within `window_ms` of `at_ms`: the candidates for likely duplicates
    /// (the text is compared by the caller), nearest in time first.
    pub async fn same_customer_or_order(
        &self,
        customer: &str,
        order_number: Option<&str>,
        at_ms: i64,
        window_ms: i64,
        visible: Visibility<'_>,
    ) -> Result<Vec<(RecordRow, Option<String>)>, StorageError> {
        let mut q = self.sql(format!("SELECT {ROW_COLUMNS}, r.order_number"));
        let all = RecordQuery::default();
        filter(&mut q, &all, visible, 0);
        q.push(" AND r.received_at >= ")
            .bind(at_ms.saturating_sub(window_ms))
            .push(" AND r.received_at <= ")
            .bind(at_ms.saturating_add(window_ms))
            .push(" AND (r.customer = ")
            .bind(customer);
        if let Some(order) = order_number {
            q.push(" OR r.order_number = ").bind(order);
        }
        q.push(") ORDER BY r.received_at DESC LIMIT ")
            .bind(MAX_DUPLICATE_CANDIDATES);
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((record_row(r)?, r.try_get("order_number")?)))
            .collect()
    }

    /// How many records match `q` and are visible at `now_ms`.
    pub async fn count_records(
        &self,
        q: &RecordQuery,
        visible: Visibility<'_>,
        now_ms: i64,
    ) -> Result<i64, StorageError> {
        let mut count = self.sql("SELECT COUNT(*)");
        filter(&mut count, q, visible, now_ms);
        Ok(count.fetch_i64(&self.pool).await?)
    }

    /// One record, if it exists and is visible.
    pub async fn record(
        &self,
        id: &DocumentId,
        visible: Visibility<'_>,
    ) -> Result<Option<RecordRow>, StorageError> {
        let key = id.to_string();
        let mut q = self.sql(format!("SELECT {ROW_COLUMNS}"));
        let all = RecordQuery::default();
        // The default query has no clock-dependent filter.
        filter(&mut q, &all, visible, 0);
        q.push(" AND r.document_id = ").bind(key.as_str());
        q.fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(record_row)
            .transpose()
    }

    /// A record's workflow steps in order.
    pub async fn record_history(&self, id: &DocumentId) -> Result<Vec<HistoryItem>, StorageError> {
        sqlx::query(
            "SELECT action, actor, at, from_status, note FROM record_history \
             WHERE document_id = $1 ORDER BY position",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(HistoryItem {
                action: r.try_get("action")?,
                by: r.try_get("actor")?,
                at: r.try_get("at")?,
                from: r.try_get("from_status")?,
                note: r.try_get("note")?,
            })
        })
        .collect()
    }

    /// Open records assigned to `username`, newest first, at most `limit`:
    /// what the relay offers that user's tablet when it connects.
    pub async fn assigned_open(
        &self,
        username: &str,
        limit: usize,
    ) -> Result<Vec<DocumentId>, StorageError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT document_id FROM records WHERE owner = $1 AND status <> 'closed'
             ORDER BY received_at DESC, document_id LIMIT $2",
        )
        .bind(username)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.iter().filter_map(|id| id.parse().ok()).collect())
    }

    /// A record's processing log in order.
    pub async fn record_log(&self, id: &DocumentId) -> Result<Vec<LogItem>, StorageError> {
        sqlx::query(
            "SELECT at, actor, text, kind FROM record_log WHERE document_id = $1 ORDER BY position",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(LogItem {
                at: r.try_get("at")?,
                by: r.try_get("actor")?,
                text: r.try_get("text")?,
                kind: r.try_get("kind")?,
            })
        })
        .collect()
    }

    /// Who delivered each stored change of a record, oldest first.
    pub async fn record_changes(&self, id: &DocumentId) -> Result<Vec<ChangeItem>, StorageError> {
        sqlx::query(
            "SELECT change_hash, username, session, stored_at FROM change_log
             WHERE document_id = $1 ORDER BY stored_at, change_hash",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ChangeItem {
                hash: r.try_get("change_hash")?,
                by: Some(r.try_get("username")?),
                session: r.try_get("session")?,
                stored_at: r.try_get("stored_at")?,
            })
        })
        .collect()
    }

    /// Visible records matching `q`, counted by a column (`-` for none).
    pub async fn record_counts(
        &self,
        by: CountBy,
        q: &RecordQuery,
        visible: Visibility<'_>,
    ) -> Result<BTreeMap<String, i64>, StorageError> {
        let column = by.column();
        let mut qb = self.sql(format!(
            "SELECT COALESCE({column}, '-') AS k, COUNT(*) AS n"
        ));
        filter(&mut qb, q, visible, 0);
        qb.push(format!(" GROUP BY {column}"));
        qb.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("k")?, r.try_get("n")?)))
            .collect()
    }

    /// What the statistics need of every visible record matching `q`.
    pub async fn stats_samples(
        &self,
        q: &RecordQuery,
        visible: Visibility<'_>,
    ) -> Result<Vec<StatsSample>, StorageError> {
        let mut qb = self.sql(
            "SELECT r.document_id, r.received_at, r.first_response_at, r.resolved_at, r.priority, \
             r.pauses, r.customer, r.nature, r.feedback_type, r.complaint_kind, r.detoured",
        );
        filter(&mut qb, q, visible, 0);
        qb.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(StatsSample {
                    sla: sla_columns(r)?,
                    customer: r.try_get("customer")?,
                    nature: r.try_get("nature")?,
                    feedback_type: r.try_get("feedback_type")?,
                    complaint_kind: r.try_get("complaint_kind")?,
                    detoured: r.try_get::<i64, _>("detoured")? != 0,
                })
            })
            .collect()
    }
}

/// Appends `FROM … WHERE …` for the filters and the caller's visibility,
/// so lists, counts, exports and statistics select the same records.
fn filter<'a>(qb: &mut Sql<'a>, q: &'a RecordQuery, visible: Visibility<'a>, now_ms: i64) {
    // The record's team lives with its document; only field staff's
    // visibility needs it, and head office's lists (every record) are the
    // large ones, so they read the projection alone.
    if matches!(visible, Visibility::Everything) {
        qb.push(" FROM records r WHERE 1 = 1");
    } else {
        qb.push(" FROM records r JOIN documents d ON d.id = r.document_id WHERE 1 = 1");
        visibility::restrict(qb, visible, "d.team", "r.owner");
    }
    let exact = [
        ("r.status", &q.status),
        ("r.priority", &q.priority),
        ("r.channel", &q.channel),
        ("r.feedback_type", &q.feedback_type),
        ("r.department", &q.department),
        ("r.owner", &q.owner),
        ("r.nature", &q.nature),
        ("r.problem_class", &q.problem_class),
    ];
    for (column, value) in exact {
        if let Some(v) = value {
            qb.push(format!(" AND {column} = ")).bind(v.as_str());
        }
    }
    match q.archived {
        Some(true) => {
            qb.push(" AND r.archived_at IS NOT NULL");
        }
        Some(false) => {
            qb.push(" AND r.archived_at IS NULL");
        }
        None => {}
    }
    if q.unassigned == Some(true) {
        qb.push(" AND r.owner IS NULL");
    }
    match q.escalated {
        Some(true) => {
            qb.push(" AND r.escalation > 0");
        }
        Some(false) => {
            qb.push(" AND r.escalation = 0");
        }
        None => {}
    }
    match q.open {
        Some(true) => {
            qb.push(" AND r.status <> 'closed'");
        }
        Some(false) => {
            qb.push(" AND r.status = 'closed'");
        }
        None => {}
    }
    let due = q
        .due
        .or(q.overdue.filter(|o| *o).map(|_| DueFilter::Overdue));
    match due {
        Some(DueFilter::Overdue) => {
            qb.push(" AND r.status <> 'closed' AND r.clock_due_at < ")
                .bind(now_ms);
        }
        Some(DueFilter::Near) => {
            qb.push(" AND r.status <> 'closed' AND r.clock_near_at <= ")
                .bind(now_ms)
                .push(" AND r.clock_due_at >= ")
                .bind(now_ms);
        }
        None => {}
    }
    if q.overdue == Some(false) {
        qb.push(
            " AND NOT (r.status <> 'closed' AND r.clock_due_at IS NOT NULL AND r.clock_due_at < ",
        )
        .bind(now_ms)
        .push(")");
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

fn record_row(r: &AnyRow) -> Result<RecordRow, StorageError> {
    Ok(RecordRow {
        id: r.try_get("document_id")?,
        channel: r.try_get("channel")?,
        customer: r.try_get("customer")?,
        description: r.try_get("description")?,
        feedback_type: r.try_get("feedback_type")?,
        nature: r.try_get("nature")?,
        priority: r.try_get("priority")?,
        status: r.try_get("status")?,
        owner: r.try_get("owner")?,
        department: r.try_get("department")?,
        conflicts: r.try_get("conflicts")?,
        workflow_issues: r.try_get("workflow_issues")?,
        sla: sla_columns(r)?,
        archived_at: r.try_get("archived_at")?,
    })
}

/// The clock facts of a row with `document_id`, `priority`, `received_at`,
/// `first_response_at`, `resolved_at` and `pauses`. Pauses that do not
/// parse are damage and an error, never read as "no pauses".
pub(super) fn sla_columns(r: &AnyRow) -> Result<SlaColumns, StorageError> {
    let pauses: String = r.try_get("pauses")?;
    let pauses = serde_json::from_str(&pauses).map_err(|e| {
        let id: String = r.try_get("document_id").unwrap_or_default();
        StorageError::Corrupt(format!("projected pauses of record {id}: {e}"))
    })?;
    Ok(SlaColumns {
        priority: r
            .try_get::<Option<String>, _>("priority")?
            .as_deref()
            .and_then(Priority::from_key),
        facts: SlaFacts {
            received_at_ms: r.try_get("received_at")?,
            first_response_at_ms: r.try_get("first_response_at")?,
            resolved_at_ms: r.try_get("resolved_at")?,
            pauses,
        },
    })
}
