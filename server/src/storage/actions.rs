//! Improvement actions and the records they link (see
//! `closeloop_shared::actions`).

use closeloop_shared::actions::{ActionChange, ActionStatus, ImprovementAction, Metric, NewAction};
use sqlx::Row;

use super::{Storage, StorageError};

/// Actions listed at most, newest first.
pub const MAX_ACTIONS_LISTED: i64 = 500;

const SELECT: &str = "SELECT id, title, plan, owner, deadline_at, status, metric, department,
        channel, feedback_type, created_by, created_at, done_at
     FROM improvement_actions";

fn action(r: &sqlx::any::AnyRow) -> Result<ImprovementAction, StorageError> {
    let (status, metric): (String, String) = (r.try_get("status")?, r.try_get("metric")?);
    Ok(ImprovementAction {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        plan: r.try_get("plan")?,
        owner: r.try_get("owner")?,
        deadline_ms: r.try_get("deadline_at")?,
        status: ActionStatus::from_key(&status)
            .ok_or_else(|| StorageError::Corrupt(format!("action status {status}")))?,
        metric: Metric::from_key(&metric)
            .ok_or_else(|| StorageError::Corrupt(format!("action metric {metric}")))?,
        department: r.try_get("department")?,
        channel: r.try_get("channel")?,
        feedback_type: r.try_get("feedback_type")?,
        records: Vec::new(),
        created_by: r.try_get("created_by")?,
        created_at_ms: r.try_get("created_at")?,
        done_at_ms: r.try_get("done_at")?,
    })
}

impl Storage {
    /// Stores a checked new action with its records.
    pub async fn create_action(
        &self,
        id: &str,
        a: &NewAction,
        by: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO improvement_actions (id, title, plan, owner, deadline_at, status, metric,
                department, channel, feedback_type, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(id)
        .bind(&a.title)
        .bind(&a.plan)
        .bind(&a.owner)
        .bind(a.deadline_ms)
        .bind(ActionStatus::Open.key())
        .bind(a.metric.key())
        .bind(&a.department)
        .bind(&a.channel)
        .bind(&a.feedback_type)
        .bind(by)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        for record in &a.records {
            sqlx::query(
                "INSERT INTO improvement_action_records (action_id, document_id) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(record)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Applies a checked change; whether the action exists. Done (or
    /// dropped) keeps the moment it was first set, which the effect is
    /// measured from; reopening clears it.
    pub async fn change_action(
        &self,
        id: &str,
        c: &ActionChange,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let status = c.status.map(ActionStatus::key);
        let finished = c.status.map(|s| !s.is_open());
        let changed = sqlx::query(
            "UPDATE improvement_actions SET
                status = COALESCE($2, status),
                owner = COALESCE($3, owner),
                deadline_at = COALESCE($4, deadline_at),
                plan = COALESCE($5, plan),
                done_at = CASE WHEN $6 IS NULL THEN done_at
                               WHEN $6 = 1 THEN COALESCE(done_at, $7)
                               ELSE NULL END,
                updated_at = $7
             WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(&c.owner)
        .bind(c.deadline_ms)
        .bind(&c.plan)
        .bind(finished.map(i64::from))
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(changed.rows_affected() > 0)
    }

    /// One action with its records.
    pub async fn action(&self, id: &str) -> Result<Option<ImprovementAction>, StorageError> {
        let row = sqlx::query(&format!("{SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let mut found: Vec<ImprovementAction> =
            row.as_ref().map(action).transpose()?.into_iter().collect();
        self.with_records(&mut found).await?;
        Ok(found.pop())
    }

    /// Fills in each action's records, in one query.
    async fn with_records(&self, actions: &mut [ImprovementAction]) -> Result<(), StorageError> {
        if actions.is_empty() {
            return Ok(());
        }
        let mut q = self.sql(
            "SELECT action_id, document_id FROM improvement_action_records WHERE action_id IN (",
        );
        q.in_list(actions.iter().map(|a| a.id.clone()))
            .push(" ORDER BY action_id, document_id");
        for row in q.fetch_all(&self.pool).await? {
            let id: String = row.try_get("action_id")?;
            if let Some(a) = actions.iter_mut().find(|a| a.id == id) {
                a.records.push(row.try_get("document_id")?);
            }
        }
        Ok(())
    }

    /// Actions with their records, newest first: only those still to be
    /// done when `open`; only those linking `record` when given.
    pub async fn actions(
        &self,
        open: bool,
        record: Option<&str>,
    ) -> Result<Vec<ImprovementAction>, StorageError> {
        let mut q = self.sql(format!("{SELECT} WHERE 1 = 1"));
        if open {
            q.push(" AND status IN ('open', 'in_progress')");
        }
        if let Some(r) = record {
            q.push(
                " AND id IN (SELECT action_id FROM improvement_action_records WHERE document_id = ",
            )
            .bind(r)
            .push(")");
        }
        q.push(" ORDER BY created_at DESC, id LIMIT ")
            .bind(MAX_ACTIONS_LISTED);
        let mut list = q
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(action)
            .collect::<Result<Vec<_>, _>>()?;
        self.with_records(&mut list).await?;
        Ok(list)
    }
}
