//! Re-creating a record without its history (erasure, the end of
//! retention): the redacted copy is stored under a new id and the old
//! document leaves storage entirely — chunks, who-wrote-what, read-model
//! rows — in one transaction, leaving a tombstone that refuses the old id
//! for ever and tells replicas which copy replaced it.

use closeloop_shared::api::Tombstone;
use closeloop_shared::record::{FeedbackRecord, REDACTED};
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::sync::DocumentId;
use sqlx::Row;

use super::{Storage, StorageError, projection};

/// The copy that takes an erased document's place.
pub struct Replacement<'a> {
    pub id: &'a DocumentId,
    /// One full save of `record`.
    pub save: &'a [u8],
    pub record: &'a FeedbackRecord,
}

/// Tables whose rows belong to a document and go with it.
const DOCUMENT_ROWS: [(&str, &str); 3] = [
    ("chunks", "document_id"),
    ("change_log", "document_id"),
    ("documents", "id"),
];

impl Storage {
    /// Records that carry this contact reference.
    pub async fn records_with_contact(
        &self,
        contact_ref: &str,
    ) -> Result<Vec<DocumentId>, StorageError> {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT document_id FROM records WHERE contact_ref = $1 ORDER BY document_id",
        )
        .bind(contact_ref)
        .fetch_all(&self.pool)
        .await?;
        Ok(keys.iter().filter_map(|k| k.parse().ok()).collect())
    }

    /// Replaces document `old`, read up to chunk `last_chunk`, by `new`
    /// (or by nothing: deleted): the new document keeps the old one's team
    /// and place in notifications; everything stored of the old one is
    /// deleted and its id tombstoned. False, with nothing changed, if `old`
    /// is gone or took another change since it was read.
    pub async fn replace_document(
        &self,
        old: &DocumentId,
        last_chunk: i64,
        new: Option<Replacement<'_>>,
        now_ms: i64,
        sla: &SlaConfig,
    ) -> Result<bool, StorageError> {
        let old_key = old.to_string();
        let new_key = new.as_ref().map(|n| n.id.to_string());
        let mut tx = self.begin_in_feed_order().await?;
        let Some(row) = sqlx::query("SELECT team FROM documents WHERE id = $1")
            .bind(&old_key)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(false);
        };
        let team: Option<String> = row.try_get("team")?;
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(id) FROM chunks WHERE document_id = $1")
                .bind(&old_key)
                .fetch_one(&mut *tx)
                .await?;
        if newest != Some(last_chunk) {
            return Ok(false);
        }
        projection::delete(&mut tx, self.backend, &[old_key.as_str()]).await?;
        // Its answers stay, about a record that is gone.
        projection::refresh_answer_facets(&mut tx, self.backend, &[old_key.as_str()]).await?;
        for (table, column) in DOCUMENT_ROWS {
            sqlx::query(&format!("DELETE FROM {table} WHERE {column} = $1"))
                .bind(&old_key)
                .execute(&mut *tx)
                .await?;
        }
        // What refers to the record follows it to its copy (a mark's note,
        // typed by head office, may name the customer: it is redacted; an
        // improvement action keeps the records behind it).
        for table in [
            "notifications",
            "customer_files",
            "customer_marks",
            "improvement_action_records",
        ] {
            let sql = match new_key {
                Some(_) => format!("UPDATE {table} SET document_id = $2 WHERE document_id = $1"),
                None => format!("DELETE FROM {table} WHERE document_id = $1"),
            };
            let mut q = sqlx::query(&sql).bind(&old_key);
            if let Some(key) = &new_key {
                q = q.bind(key);
            }
            q.execute(&mut *tx).await?;
        }
        if let Some(key) = &new_key {
            sqlx::query("UPDATE customer_marks SET note = $1 WHERE document_id = $2")
                .bind(REDACTED)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("INSERT INTO tombstones (document_id, replaced_by, at) VALUES ($1, $2, $3)")
            .bind(&old_key)
            .bind(&new_key)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        self.announce(&mut tx, &old_key).await?;
        if let (Some(new), Some(new_key)) = (new, new_key) {
            let seq: i64 = sqlx::query_scalar(
                "INSERT INTO chunks (document_id, data) VALUES ($1, $2) RETURNING id",
            )
            .bind(&new_key)
            .bind(new.save)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO documents (id, seq, created_at, updated_at, team) VALUES ($1, $2, $3, $3, $4)",
            )
            .bind(&new_key)
            .bind(seq)
            .bind(now_ms)
            .bind(team.as_deref())
            .execute(&mut *tx)
            .await?;
            let fresh = projection::Projected {
                id: new.id,
                before: None,
                after: new.record,
            };
            projection::write_many(&mut tx, self.backend, &[fresh], sla).await?;
            self.announce(&mut tx, &new_key).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Leaves no copy of deleted rows in the database's files. SQLite
    /// zeroes deleted content (`secure_delete`), but its write-ahead log
    /// still holds the pages as they were until a checkpoint: this one
    /// copies the log into the database and truncates it. PostgreSQL keeps
    /// dead rows until `VACUUM` reuses their space (see docs/deployment.md).
    pub async fn scrub(&self) -> Result<(), StorageError> {
        if self.backend == super::Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Tombstones after position `after`, oldest first.
    pub async fn tombstones_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Tombstone>, StorageError> {
        sqlx::query(
            "SELECT seq, document_id, replaced_by FROM tombstones WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Tombstone {
                seq: r.try_get("seq")?,
                document_id: r.try_get("document_id")?,
                replaced_by: r.try_get("replaced_by")?,
            })
        })
        .collect()
    }
}
