//! The read model's answers for record-keeping: what is due for the archive
//! and what has reached the end of its retention.

use closeloop_shared::record::REDACTED;
use closeloop_shared::retention::AtRetentionEnd;
use closeloop_shared::sync::DocumentId;
use sqlx::Row;

use super::{Storage, StorageError};

impl Storage {
    /// Closed, not archived records closed before `closed_before`, oldest first.
    pub async fn due_for_archive(
        &self,
        closed_before: i64,
        limit: i64,
    ) -> Result<Vec<DocumentId>, StorageError> {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT document_id FROM records
             WHERE status = 'closed' AND archived_at IS NULL AND closed_at < $1
             ORDER BY closed_at LIMIT $2",
        )
        .bind(closed_before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(keys.iter().filter_map(|k| k.parse().ok()).collect())
    }

    /// Archived records received before `received_before` (with their
    /// contact reference), oldest first; anonymised ones are done already.
    pub async fn due_for_retention_end(
        &self,
        received_before: i64,
        how: AtRetentionEnd,
        limit: i64,
    ) -> Result<Vec<(DocumentId, Option<String>)>, StorageError> {
        let mut q = self.sql(
            "SELECT document_id, contact_ref FROM records
             WHERE archived_at IS NOT NULL AND received_at < ",
        );
        q.bind(received_before);
        if how == AtRetentionEnd::Anonymise {
            q.push(" AND customer <> ").bind(REDACTED);
        }
        q.push(" ORDER BY received_at LIMIT ").bind(limit);
        Ok(q.fetch_all(&self.pool)
            .await?
            .iter()
            .filter_map(|r| {
                let key: String = r.try_get("document_id").ok()?;
                Some((key.parse().ok()?, r.try_get("contact_ref").ok()?))
            })
            .collect())
    }
}
