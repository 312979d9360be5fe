//! The read model: SQL rows derived from each record document, written in
//! the same transaction as the change that produced them, and rebuildable
//! from the documents at any time with identical results.

use closeloop_shared::record::FeedbackRecord;
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::sync::DocumentId;
use sqlx::any::AnyRow;
use sqlx::{Any, Column, Row, Transaction};

use super::{Storage, StorageError};

/// The projected tables, each with the order that makes a dump stable.
const TABLES: [(&str, &str); 5] = [
    ("records", "document_id"),
    ("record_history", "document_id, position"),
    ("record_log", "document_id, position"),
    ("record_replies", "document_id"),
    ("record_attachments", "document_id, sha256"),
];

/// Replaces a record's rows (record, history, log, reply, attachment
/// references) inside `tx`.
pub(super) async fn write(
    tx: &mut Transaction<'_, Any>,
    id: &DocumentId,
    r: &FeedbackRecord,
    sla: &SlaConfig,
) -> Result<(), StorageError> {
    let key = id.to_string();
    for (table, _) in TABLES {
        sqlx::query(&format!("DELETE FROM {table} WHERE document_id = $1"))
            .bind(&key)
            .execute(&mut **tx)
            .await?;
    }
    let w = &r.workflow;
    let due = sla.due_times(r.priority, &r.sla_facts());
    sqlx::query(
        "INSERT INTO records (document_id, schema_version, received_at, channel, source, customer, description,
            feedback_type, nature, urgency, impact, priority, status, owner, department, assigned_at,
            first_response_at, resolved_at, closed_at, escalation, reopen_count, conflicts, workflow_issues, pauses,
            complaint_kind, first_response_due_at, resolution_due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)",
    )
    .bind(&key)
    .bind(r.schema_version as i64)
    .bind(r.received_at_ms)
    .bind(&r.channel)
    .bind(&r.source)
    .bind(&r.customer)
    .bind(&r.description)
    .bind(&r.feedback_type)
    .bind(&r.nature)
    .bind(&r.urgency)
    .bind(&r.impact)
    .bind(r.priority.map(|p| p.key()))
    .bind(w.status.key())
    .bind(&r.owner)
    .bind(&r.department)
    .bind(w.assigned_at_ms)
    .bind(w.first_response_at_ms)
    .bind(w.resolved_at_ms)
    .bind(w.closed_at_ms)
    .bind(i64::from(w.escalation))
    .bind(i64::from(w.reopen_count))
    .bind(r.conflicts.len() as i64)
    .bind(r.workflow_issues.len() as i64)
    // Waiting-for-customer intervals, so SLA clocks can be evaluated from the projection.
    .bind(
        serde_json::to_string(&w.pauses)
            .map_err(|e| StorageError::Corrupt(format!("pauses of {key}: {e}")))?,
    )
    .bind(&r.complaint_kind)
    .bind(due.first_response_ms)
    .bind(due.resolution_ms)
    .execute(&mut **tx)
    .await?;
    let mut blobs: Vec<&str> = r.attachments.iter().map(|a| a.sha256.as_str()).collect();
    blobs.sort_unstable();
    blobs.dedup();
    for sha256 in blobs {
        sqlx::query("INSERT INTO record_attachments (document_id, sha256) VALUES ($1, $2)")
            .bind(&key)
            .bind(sha256)
            .execute(&mut **tx)
            .await?;
    }
    if let Some(reply) = &r.reply {
        sqlx::query(
            "INSERT INTO record_replies (document_id, channel, content, at, customer_answer)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key)
        .bind(&reply.channel)
        .bind(&reply.content)
        .bind(reply.at_ms)
        .bind(reply.customer_answer.map(|a| a.key()))
        .execute(&mut **tx)
        .await?;
    }
    for (i, h) in r.history.iter().enumerate() {
        sqlx::query(
            "INSERT INTO record_history (document_id, position, action, actor, at, from_status, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key)
        .bind(i as i64)
        .bind(h.action.key())
        .bind(&h.by)
        .bind(h.at_ms)
        .bind(h.from.key())
        .bind(&h.note)
        .execute(&mut **tx)
        .await?;
    }
    for (i, l) in r.log.iter().enumerate() {
        sqlx::query("INSERT INTO record_log (document_id, position, at, actor, text) VALUES ($1, $2, $3, $4, $5)")
            .bind(&key)
            .bind(i as i64)
            .bind(l.at_ms)
            .bind(&l.by)
            .bind(&l.text)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

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
                Some(r) => {
                    write(&mut tx, &id, &r, sla).await?;
                    projected += 1;
                }
                None => skipped += 1,
            }
        }
        tx.commit().await?;
        Ok((projected, skipped))
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
