//! Keeping the read model whole: rebuilding it from the documents, new due
//! moments after a policy change, and a stable dump for comparing.

use closeloop_shared::record::FeedbackRecord;
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::sync::DocumentId;
use sqlx::any::AnyRow;
use sqlx::{Any, Column, Row, Transaction};

use super::{Projected, TABLES, write_many};
use crate::storage::{Storage, StorageError, sql};

impl Storage {
    /// Recreates every projection row from the stored documents. Documents
    /// that are not readable records are skipped and counted.
    pub async fn rebuild_projection(
        &self,
        sla: &SlaConfig,
    ) -> Result<(usize, usize), StorageError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM documents ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        let mut tx = self.pool.begin().await?;
        for (table, _) in TABLES {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        let (mut projected, mut skipped) = (0, 0);
        let mut ready: Vec<(DocumentId, FeedbackRecord)> = Vec::new();
        for key in ids {
            let Ok(id) = key.parse::<DocumentId>() else {
                skipped += 1;
                continue;
            };
            let record = self.load(&id).await?.and_then(|stored| {
                let doc =
                    closeloop_shared::sync::load_document(stored.chunks.iter().map(Vec::as_slice))
                        .ok()?;
                FeedbackRecord::from_doc(&doc).ok()
            });
            match record {
                Some(r) => ready.push((id, r)),
                None => skipped += 1,
            }
            if ready.len() == sql::ROWS_PER_STATEMENT {
                projected += ready.len();
                self.project_fresh(&mut tx, &std::mem::take(&mut ready), sla)
                    .await?;
            }
        }
        projected += ready.len();
        self.project_fresh(&mut tx, &ready, sla).await?;
        tx.commit().await?;
        Ok((projected, skipped))
    }

    /// Writes every row of records whose rows are not known (`before` is
    /// none: any left are replaced).
    pub(super) async fn project_fresh(
        &self,
        tx: &mut Transaction<'_, Any>,
        records: &[(DocumentId, FeedbackRecord)],
        sla: &SlaConfig,
    ) -> Result<(), StorageError> {
        let items: Vec<Projected> = records
            .iter()
            .map(|(id, after)| Projected {
                id,
                before: None,
                after,
            })
            .collect();
        write_many(tx, self.backend, &items, sla).await
    }

    /// Recomputes every record's due moments with the `current` settings
    /// (after an admin changed the policy or calendar): from the projected clock facts, so
    /// no document is read. In batches, each its own transaction, so the
    /// relay's commits interleave; returns how many records it updated.
    pub async fn reclock(
        &self,
        current: impl Fn() -> std::sync::Arc<SlaConfig>,
    ) -> Result<usize, StorageError> {
        const BATCH: i64 = 500;
        let mut after = String::new();
        let mut updated = 0;
        loop {
            let rows = sqlx::query(
                "SELECT document_id, priority, received_at, first_response_at, resolved_at, pauses
                 FROM records WHERE document_id > $1 ORDER BY document_id LIMIT $2",
            )
            .bind(&after)
            .bind(BATCH)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else {
                return Ok(updated);
            };
            after = last.try_get("document_id")?;
            let sla = current();
            let mut tx = self.pool.begin().await?;
            for row in &rows {
                let id: String = row.try_get("document_id")?;
                let clock = crate::storage::read_model::sla_columns(row)?;
                let due = sla.due_times(clock.priority, &clock.facts);
                // Only if its facts are still those read: a row the relay
                // rewrote meanwhile already has the new settings' clocks.
                sqlx::query(
                    "UPDATE records SET first_response_due_at = $2, resolution_due_at = $3,
                        clock_due_at = $4, clock_near_at = $5
                     WHERE document_id = $1 AND priority IS NOT DISTINCT FROM $6
                        AND first_response_at IS NOT DISTINCT FROM $7
                        AND resolved_at IS NOT DISTINCT FROM $8 AND pauses = $9",
                )
                .bind(&id)
                .bind(due.first_response_ms)
                .bind(due.resolution_ms)
                .bind(due.running.map(|c| c.due_at_ms))
                .bind(due.running.map(|c| c.near_at_ms))
                .bind(row.try_get::<Option<String>, _>("priority")?)
                .bind(clock.facts.first_response_at_ms)
                .bind(clock.facts.resolved_at_ms)
                .bind(row.try_get::<String, _>("pauses")?)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            updated += rows.len();
        }
    }

    /// Every projection row as text, in a stable order: for comparing a
    /// live-maintained read model with a rebuilt one.
    pub async fn projection_dump(&self) -> Result<Vec<String>, StorageError> {
        let mut out = Vec::new();
        for (table, order) in TABLES {
            let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY {order}"))
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                out.push(format!("{table}:{}", row_text(row)));
            }
        }
        Ok(out)
    }
}

/// A row as `name=value` pairs; integers bare, text quoted as in SQL, NULL as NULL.
fn row_text(row: &AnyRow) -> String {
    let cells: Vec<String> = row
        .columns()
        .iter()
        .map(|c| {
            let i = c.ordinal();
            let value = match row.try_get::<Option<i64>, _>(i) {
                Ok(Some(n)) => n.to_string(),
                Ok(None) => "NULL".to_string(),
                Err(_) => match row.try_get::<Option<String>, _>(i) {
                    Ok(Some(t)) => format!("'{}'", t.replace('\'', "''")),
                    Ok(None) => "NULL".to_string(),
                    Err(e) => format!("<{e}>"),
                },
            };
            format!("{}={value}", c.name())
        })
        .collect();
    cells.join(",")
}
