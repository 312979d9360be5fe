//! Customer files (顾客档案, S002 5.4): which records belong to one
//! customer — those whose contacts share a phone number or email (matched
//! by keyed hash, never plaintext) and those head office confirmed — and
//! which of them are marked important.

use closeloop_shared::api::{FileLink, ReplyItem};
use closeloop_shared::sync::DocumentId;
use sqlx::Row;

use super::{Storage, StorageError};

/// Records one file shows at most.
pub const MAX_FILE_RECORDS: i64 = 200;
/// Same-nickname records offered to confirm, at most.
const MAX_CANDIDATES: i64 = 20;

impl Storage {
    /// The records in the same customer's file as `id` (itself included),
    /// with how each is linked.
    pub async fn file_members(
        &self,
        id: &DocumentId,
    ) -> Result<Vec<(String, FileLink)>, StorageError> {
        let key = id.to_string();
        let rows = sqlx::query(
            "WITH me AS (SELECT contact_ref FROM records WHERE document_id = $1),
             lk AS (SELECT phone_lookup, email_lookup FROM contacts
                    WHERE contact_ref = (SELECT contact_ref FROM me)),
             refs AS (SELECT contact_ref FROM contacts
                      WHERE (phone_lookup IS NOT NULL AND phone_lookup = (SELECT phone_lookup FROM lk))
                         OR (email_lookup IS NOT NULL AND email_lookup = (SELECT email_lookup FROM lk))
                      UNION SELECT contact_ref FROM me WHERE contact_ref IS NOT NULL),
             by_contact AS (SELECT document_id FROM records
                            WHERE contact_ref IN (SELECT contact_ref FROM refs)),
             files AS (SELECT file_id FROM customer_files
                       WHERE document_id = $1 OR document_id IN (SELECT document_id FROM by_contact))
             SELECT document_id, 'contact' AS link FROM by_contact
             UNION SELECT f.document_id, 'confirmed' AS link FROM customer_files f
                   JOIN records r ON r.document_id = f.document_id
                   WHERE f.file_id IN (SELECT file_id FROM files)
             LIMIT $2",
        )
        .bind(&key)
        .bind(MAX_FILE_RECORDS)
        .fetch_all(&self.pool)
        .await?;
        let mut members: Vec<(String, FileLink)> = vec![(key.clone(), FileLink::This)];
        for row in rows {
            let doc: String = row.try_get("document_id")?;
            let link: String = row.try_get("link")?;
            let link = if link == "contact" {
                FileLink::Contact
            } else {
                FileLink::Confirmed
            };
            match members.iter_mut().find(|(d, _)| *d == doc) {
                // A contact match says more than a confirmation.
                Some((_, l)) if *l == FileLink::Confirmed => *l = link,
                Some(_) => {}
                None => members.push((doc, link)),
            }
        }
        Ok(members)
    }

    /// Records with exactly this nickname, not among `members`, newest first.
    pub async fn same_nickname(
        &self,
        nickname: &str,
        members: &[String],
    ) -> Result<Vec<String>, StorageError> {
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT document_id FROM records WHERE customer = $1 ORDER BY received_at DESC LIMIT $2",
        )
        .bind(nickname)
        .bind(MAX_CANDIDATES + members.len() as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(keys
            .into_iter()
            .filter(|k| !members.contains(k))
            .take(MAX_CANDIDATES as usize)
            .collect())
    }

    /// Every reply a record's customer was given, oldest first.
    pub async fn record_replies(&self, key: &str) -> Result<Vec<ReplyItem>, StorageError> {
        sqlx::query(
            "SELECT at, channel, content, customer_answer FROM record_replies
             WHERE document_id = $1 ORDER BY position",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(ReplyItem {
                at: r.try_get("at")?,
                channel: r.try_get("channel")?,
                content: r.try_get("content")?,
                customer_answer: r.try_get("customer_answer")?,
            })
        })
        .collect()
    }

    /// Why a record is marked important in its customer's file, if it is.
    pub async fn important_mark(&self, key: &str) -> Result<Option<String>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT note FROM customer_marks WHERE document_id = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Marks (`Some(note)`) or unmarks a record as important.
    pub async fn mark_important(
        &self,
        key: &str,
        note: Option<&str>,
        by: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        match note {
            Some(note) => sqlx::query(
                "INSERT INTO customer_marks (document_id, note, marked_by, marked_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (document_id) DO UPDATE SET note = excluded.note,
                    marked_by = excluded.marked_by, marked_at = excluded.marked_at",
            )
            .bind(key)
            .bind(note)
            .bind(by)
            .bind(now_ms),
            None => sqlx::query("DELETE FROM customer_marks WHERE document_id = $1").bind(key),
        }
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts two records in one customer's file: a file either already is
    /// in, merging two files if both are.
    pub async fn link_customer(
        &self,
        a: &str,
        b: &str,
        by: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.begin_write().await?;
        let file_of = |key: String| {
            sqlx::query_scalar::<_, String>(
                "SELECT file_id FROM customer_files WHERE document_id = $1",
            )
            .bind(key)
        };
        let fa = file_of(a.to_string()).fetch_optional(&mut *tx).await?;
        let fb = file_of(b.to_string()).fetch_optional(&mut *tx).await?;
        let file = match (&fa, &fb) {
            (Some(f), _) | (None, Some(f)) => f.clone(),
            (None, None) => format!("file-{a}"),
        };
        if let (Some(fa), Some(fb)) = (&fa, &fb)
            && fa != fb
        {
            sqlx::query("UPDATE customer_files SET file_id = $1 WHERE file_id = $2")
                .bind(fa)
                .bind(fb)
                .execute(&mut *tx)
                .await?;
        }
        for key in [a, b] {
            sqlx::query(
                "INSERT INTO customer_files (document_id, file_id, linked_by, linked_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (document_id) DO NOTHING",
            )
            .bind(key)
            .bind(&file)
            .bind(by)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
