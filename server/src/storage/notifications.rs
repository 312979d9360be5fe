//! In-app notifications (the bell): what the system tells a user about a
//! record, newest first, each marked read by that user. Also the query the
//! escalation job runs on: open records past due and not yet escalated.

use closeloop_shared::access::Role;
use sqlx::Row;

use super::documents::NOTIFIED_NOTICE;
use super::{Storage, StorageError};

/// One notification as storage has it, with what the bell shows of its
/// record (`None` when the record is no longer projected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    pub id: i64,
    pub document_id: String,
    pub kind: String,
    pub created_at: i64,
    pub read: bool,
    pub customer: Option<String>,
    pub description: Option<String>,
}

/// An open record the escalation job should escalate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    pub document_id: String,
    pub owner: Option<String>,
    pub due_at: i64,
}

impl Storage {
    /// Tells each of `usernames` (duplicates once) about a record.
    pub async fn notify(
        &self,
        usernames: &[String],
        document_id: &str,
        kind: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut names: Vec<&String> = usernames.iter().collect();
        names.sort();
        names.dedup();
        let mut tx = self.pool.begin().await?;
        for name in names {
            sqlx::query(
                "INSERT INTO notifications (username, document_id, kind, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(name.as_str())
            .bind(document_id)
            .bind(kind)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        // Other relays' open pages hear of it at commit.
        self.announce(&mut tx, NOTIFIED_NOTICE).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user's latest notifications (at most `limit`) and how many are unread.
    pub async fn notifications(
        &self,
        username: &str,
        limit: i64,
    ) -> Result<(Vec<NotificationRow>, i64), StorageError> {
        let rows = sqlx::query(
            "SELECT n.id, n.document_id, n.kind, n.created_at, n.read_at, r.customer, r.description
             FROM notifications n LEFT JOIN records r ON r.document_id = n.document_id
             WHERE n.username = $1 ORDER BY n.id DESC LIMIT $2",
        )
        .bind(username)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(NotificationRow {
                id: r.try_get("id")?,
                document_id: r.try_get("document_id")?,
                kind: r.try_get("kind")?,
                created_at: r.try_get("created_at")?,
                read: r.try_get::<Option<i64>, _>("read_at")?.is_some(),
                customer: r.try_get("customer")?,
                description: r.try_get("description")?,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
        let unread: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE username = $1 AND read_at IS NULL",
        )
        .bind(username)
        .fetch_one(&self.pool)
        .await?;
        Ok((rows, unread))
    }

    /// Marks one of the user's notifications read (`None`: all of them);
    /// false when there was no such unread notification of theirs.
    pub async fn mark_read(
        &self,
        username: &str,
        id: Option<i64>,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let done = match id {
            Some(id) => {
                sqlx::query(
                    "UPDATE notifications SET read_at = $1 WHERE username = $2 AND id = $3 AND read_at IS NULL",
                )
                .bind(now_ms)
                .bind(username)
                .bind(id)
                .execute(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "UPDATE notifications SET read_at = $1 WHERE username = $2 AND read_at IS NULL",
                )
                .bind(now_ms)
                .bind(username)
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected() > 0)
    }

    /// Usernames of the enabled accounts with `role`.
    pub async fn usernames_with_role(&self, role: Role) -> Result<Vec<String>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT username FROM users WHERE role = $1 AND disabled = 0 ORDER BY username",
        )
        .bind(role.key())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Open records whose running SLA clock is past due at `now_ms` and
    /// that have no escalation step since that due moment, oldest due first.
    pub async fn due_for_escalation(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<Overdue>, StorageError> {
        sqlx::query(
            "SELECT r.document_id, r.owner, r.clock_due_at FROM records r
             WHERE r.status <> 'closed' AND r.clock_due_at < $1
               AND NOT EXISTS (SELECT 1 FROM record_history h WHERE h.document_id = r.document_id
                               AND h.action = 'escalate' AND h.at >= r.clock_due_at)
             ORDER BY r.clock_due_at LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Overdue {
                document_id: r.try_get("document_id")?,
                owner: r.try_get("owner")?,
                due_at: r.try_get("clock_due_at")?,
            })
        })
        .collect()
    }
}
