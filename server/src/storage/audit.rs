//! The audit log's rows (S002 §6): appended, never changed (a trigger
//! refuses updates), read newest first with filters, and deleted only by
//! its own retention run.

use closeloop_shared::audit::{AuditAction, AuditEntry, AuditPage, AuditQuery, MAX_AUDIT_PAGE};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Storage, StorageError};

/// An entry to append.
#[derive(Debug, Clone)]
pub struct AuditNote<'a> {
    pub actor: &'a str,
    pub action: AuditAction,
    pub subject: Option<&'a str>,
    pub detail: Option<String>,
}

/// Longest actor, subject or detail kept (input may be a hostile username).
const MAX_FIELD_CHARS: usize = 300;

fn cut(s: &str) -> String {
    s.chars().take(MAX_FIELD_CHARS).collect()
}

impl Storage {
    /// Appends an entry.
    pub async fn audit(&self, note: AuditNote<'_>, now_ms: i64) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        audit_in(&mut tx, note, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Entries matching `q`, newest first.
    pub async fn audit_page(&self, q: &AuditQuery) -> Result<AuditPage, StorageError> {
        let limit = q.limit.unwrap_or(100).clamp(1, MAX_AUDIT_PAGE);
        let mut sql =
            self.sql("SELECT id, at, actor, action, subject, detail FROM audit_log WHERE 1 = 1");
        if let Some(action) = q.action {
            sql.push(" AND action = ").bind(action.key());
        }
        if let Some(actor) = q.actor.as_deref().filter(|a| !a.is_empty()) {
            sql.push(" AND actor = ").bind(cut(actor));
        }
        if let Some(subject) = q.subject.as_deref().filter(|s| !s.is_empty()) {
            sql.push(" AND subject = ").bind(cut(subject));
        }
        if let Some(from) = q.from_ms {
            sql.push(" AND at >= ").bind(from);
        }
        if let Some(to) = q.to_ms {
            sql.push(" AND at < ").bind(to);
        }
        if let Some(before) = q.before_id {
            sql.push(" AND id < ").bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .bind(i64::from(limit) + 1);
        let rows = sql.fetch_all(&self.pool).await?;
        let mut entries = rows.iter().map(entry).collect::<Result<Vec<_>, _>>()?;
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        Ok(AuditPage {
            next_before_id: more.then(|| entries.last().map(|e| e.id)).flatten(),
            entries,
        })
    }

    /// Deletes entries older than `before_ms` (the log's own retention);
    /// how many went.
    pub async fn purge_audit(&self, before_ms: i64) -> Result<u64, StorageError> {
        Ok(sqlx::query("DELETE FROM audit_log WHERE at < $1")
            .bind(before_ms)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}

/// Appends an entry inside a caller's transaction, so the entry and what it
/// records commit together.
pub(crate) async fn audit_in(
    tx: &mut Transaction<'_, Any>,
    note: AuditNote<'_>,
    now_ms: i64,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now_ms)
    .bind(cut(note.actor))
    .bind(note.action.key())
    .bind(note.subject.map(cut))
    .bind(note.detail.as_deref().map(cut))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn entry(row: &AnyRow) -> Result<AuditEntry, StorageError> {
    let action: String = row.try_get("action")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at_ms: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: AuditAction::from_key(&action)
            .ok_or_else(|| StorageError::Corrupt(format!("audit action {action}")))?,
        subject: row.try_get("subject")?,
        detail: row.try_get("detail")?,
    })
}
