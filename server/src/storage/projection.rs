//! The read model: SQL rows derived from each record document, written in
//! the same transaction as the change that produced them, and rebuildable
//! from the documents at any time with identical results.

use closeloop_shared::analytics::pure::detoured;
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
    ("record_replies", "document_id, position"),
    ("record_attachments", "document_id, sha256"),
];

/// Brings a record's rows (record, history, log, reply, attachment
/// references) from `before` to `after` inside `tx`. With `before` — the
/// record as last projected — only what differs is written: one more log
/// entry costs one row, however long the log. Without it every row is
/// replaced. History and log rows are upserted by position, so a `before`
/// that is stale (another relay wrote in between) never breaks a key; the
/// relay forgets `before` when another relay stores a change.
pub(super) async fn write(
    tx: &mut Transaction<'_, Any>,
    id: &DocumentId,
    before: Option<&FeedbackRecord>,
    after: &FeedbackRecord,
    sla: &SlaConfig,
) -> Result<(), StorageError> {
    let key = id.to_string();
    if before.is_none() {
        for (table, _) in TABLES {
            sqlx::query(&format!("DELETE FROM {table} WHERE document_id = $1"))
                .bind(&key)
                .execute(&mut **tx)
                .await?;
        }
    }
    record_row(tx, &key, after, sla).await?;
    let attachments = |r: &FeedbackRecord| {
        let mut blobs: Vec<String> = r.attachments.iter().map(|a| a.sha256.clone()).collect();
        blobs.sort_unstable();
        blobs.dedup();
        blobs
    };
    let blobs = attachments(after);
    if before.map(attachments).as_ref() != Some(&blobs) {
        if before.is_some() {
            sqlx::query("DELETE FROM record_attachments WHERE document_id = $1")
                .bind(&key)
                .execute(&mut **tx)
                .await?;
        }
        for sha256 in &blobs {
            sqlx::query("INSERT INTO record_attachments (document_id, sha256) VALUES ($1, $2)")
                .bind(&key)
                .bind(sha256)
                .execute(&mut **tx)
                .await?;
        }
    }
    if before.map(|b| &b.replies) != Some(&after.replies) {
        // A handful per record at most: replaced whole (an answer changes
        // an earlier row).
        if before.is_some() {
            sqlx::query("DELETE FROM record_replies WHERE document_id = $1")
                .bind(&key)
                .execute(&mut **tx)
                .await?;
        }
        for (i, reply) in after.replies.iter().enumerate() {
            sqlx::query(
                "INSERT INTO record_replies (document_id, position, channel, content, at, actor, customer_answer)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&key)
            .bind(i as i64)
            .bind(&reply.channel)
            .bind(&reply.content)
            .bind(reply.at_ms)
            .bind(&reply.by)
            .bind(reply.customer_answer.map(|a| a.key()))
            .execute(&mut **tx)
            .await?;
        }
    }
    let old_history = before.map_or(&[][..], |b| &b.history);
    for (i, h) in changed(old_history, &after.history) {
        sqlx::query(
            "INSERT INTO record_history (document_id, position, action, actor, at, from_status, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (document_id, position) DO UPDATE SET action = excluded.action,
                actor = excluded.actor, at = excluded.at, from_status = excluded.from_status,
                note = excluded.note",
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
    let old_log = before.map_or(&[][..], |b| &b.log);
    for (i, l) in changed(old_log, &after.log) {
        sqlx::query(
            "INSERT INTO record_log (document_id, position, at, actor, text, kind) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (document_id, position) DO UPDATE SET at = excluded.at,
                actor = excluded.actor, text = excluded.text, kind = excluded.kind",
        )
        .bind(&key)
        .bind(i as i64)
        .bind(l.at_ms)
        .bind(&l.by)
        .bind(&l.text)
        .bind(l.kind.key())
        .execute(&mut **tx)
        .await?;
    }
    for (table, old, new) in [
        ("record_history", old_history.len(), after.history.len()),
        ("record_log", old_log.len(), after.log.len()),
    ] {
        if old > new {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE document_id = $1 AND position >= $2"
            ))
            .bind(&key)
            .bind(new as i64)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// The entries of `new` that differ from `old` at their position, with
/// their positions (an append yields just the new entries).
fn changed<'a, T: PartialEq>(old: &[T], new: &'a [T]) -> impl Iterator<Item = (usize, &'a T)> {
    new.iter()
        .enumerate()
        .filter(move |(i, item)| old.get(*i) != Some(*item))
}

/// Deletes every read-model row of a record (it left storage).
pub(super) async fn delete(tx: &mut Transaction<'_, Any>, key: &str) -> Result<(), StorageError> {
    for (table, _) in TABLES {
        sqlx::query(&format!("DELETE FROM {table} WHERE document_id = $1"))
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Inserts or updates the record's own row.
async fn record_row(
    tx: &mut Transaction<'_, Any>,
    key: &str,
    r: &FeedbackRecord,
    sla: &SlaConfig,
) -> Result<(), StorageError> {
    let w = &r.workflow;
    let due = sla.due_times(r.priority, &r.sla_facts());
    let pauses = serde_json::to_string(&w.pauses)
        .map_err(|e| StorageError::Corrupt(format!("pauses of {key}: {e}")))?;
    sqlx::query(
        "INSERT INTO records (document_id, schema_version, received_at, channel, source, customer, description,
            feedback_type, nature, urgency, impact, priority, status, owner, department, assigned_at,
            first_response_at, resolved_at, closed_at, escalation, reopen_count, conflicts, workflow_issues, pauses,
            complaint_kind, first_response_due_at, resolution_due_at, clock_due_at, clock_near_at, order_number, contact_ref, archived_at,
            problem_class, detoured)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34)
         ON CONFLICT (document_id) DO UPDATE SET schema_version = excluded.schema_version,
            received_at = excluded.received_at, channel = excluded.channel, source = excluded.source,
            customer = excluded.customer, description = excluded.description,
            feedback_type = excluded.feedback_type, nature = excluded.nature, urgency = excluded.urgency,
            impact = excluded.impact, priority = excluded.priority, status = excluded.status,
            owner = excluded.owner, department = excluded.department, assigned_at = excluded.assigned_at,
            first_response_at = excluded.first_response_at, resolved_at = excluded.resolved_at,
            closed_at = excluded.closed_at, escalation = excluded.escalation,
            reopen_count = excluded.reopen_count, conflicts = excluded.conflicts,
            workflow_issues = excluded.workflow_issues, pauses = excluded.pauses,
            complaint_kind = excluded.complaint_kind, first_response_due_at = excluded.first_response_due_at,
            resolution_due_at = excluded.resolution_due_at, clock_due_at = excluded.clock_due_at,
            clock_near_at = excluded.clock_near_at, order_number = excluded.order_number,
            contact_ref = excluded.contact_ref, archived_at = excluded.archived_at,
            problem_class = excluded.problem_class, detoured = excluded.detoured",
    )
    .bind(key)
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
    .bind(pauses)
    .bind(&r.complaint_kind)
    .bind(due.first_response_ms)
    .bind(due.resolution_ms)
    .bind(due.running.map(|c| c.due_at_ms))
    .bind(due.running.map(|c| c.near_at_ms))
    .bind(&r.order_number)
    .bind(&r.contact_ref)
    .bind(r.archived_at_ms)
    .bind(r.root_cause.as_ref().map(|c| c.class.as_str()))
    .bind(i64::from(detoured(r)))
    .execute(&mut **tx)
    .await?;
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
                    write(&mut tx, &id, None, &r, sla).await?;
                    projected += 1;
                }
                None => skipped += 1,
            }
        }
        tx.commit().await?;
        Ok((projected, skipped))
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
                let clock = super::read_model::sla_columns(row)?;
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
