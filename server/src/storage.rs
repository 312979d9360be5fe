//! Durable document storage: Automerge chunks per document in SQL.
//!
//! Every write returns an error the caller must handle: a failed write is
//! never reported as saved (the relay closes the sender's connection and
//! drops the document from memory, so the client resends later).

mod migrations;
mod projection;
mod users;

pub use users::{SESSION_DAYS, UserError};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use closeloop_shared::sync::DocumentId;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

/// A storage failure, with the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("could not open the database at {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error("database migration {version} failed: {source}")]
    Migrate { version: i64, source: sqlx::Error },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("password or token handling failed: {0}")]
    Crypto(String),
    #[error("file storage failed: {0}")]
    Io(String),
}

/// A stored document: its chunks in write order and the team it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    pub chunks: Vec<Vec<u8>>,
    /// The team of the field user who created it; `None` if created by head office.
    pub team: Option<String>,
    /// Who it is assigned to, from the projection.
    pub owner: Option<String>,
}

/// One document's change in the change feed head office polls.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocumentChange {
    /// Text form of the document id.
    pub id: String,
    /// Position in the feed; strictly increasing across all documents.
    pub seq: i64,
}

/// Documents as Automerge chunks (full saves and incremental changes).
#[derive(Clone)]
pub struct Storage {
    pool: SqlitePool,
}

impl Storage {
    /// Opens (creating if needed) `closeloop.sqlite3` in `data_dir` and migrates it.
    /// WAL with `synchronous=FULL`: a committed write survives power loss.
    pub async fn open(data_dir: &Path) -> Result<Self, StorageError> {
        let path = data_dir.join("closeloop.sqlite3");
        let open_err = |source| StorageError::Open {
            path: path.display().to_string(),
            source,
        };
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(open_err)?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(open_err)?;
        migrations::run(&pool).await?;
        Ok(Self { pool })
    }

    /// Every chunk of a document in write order, or `None` if it is unknown.
    pub async fn load(&self, id: &DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        let key = id.to_string();
        let Some(doc) = sqlx::query(
            "SELECT d.team, r.owner FROM documents d LEFT JOIN records r ON r.document_id = d.id WHERE d.id = ?1",
        )
            .bind(&key)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query("SELECT data FROM chunks WHERE document_id = ?1 ORDER BY id")
            .bind(&key)
            .fetch_all(&self.pool)
            .await?;
        let chunks = rows
            .iter()
            .map(|r| r.try_get::<Vec<u8>, _>("data").map_err(StorageError::from))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(StoredDocument {
            chunks,
            team: doc.try_get("team")?,
            owner: doc.try_get("owner")?,
        }))
    }

    /// Appends a chunk and moves the document to the head of the change feed,
    /// in one transaction. `team` is recorded only when the document is new;
    /// `record` (the document as read after the change) updates the projection.
    /// Returns the document's new feed position.
    pub async fn append(
        &self,
        id: &DocumentId,
        chunk: &[u8],
        now_ms: i64,
        team: Option<&str>,
        record: Option<&closeloop_shared::record::FeedbackRecord>,
    ) -> Result<i64, StorageError> {
        let key = id.to_string();
        let mut tx = self.pool.begin().await?;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO chunks (document_id, data) VALUES (?1, ?2) RETURNING id",
        )
        .bind(&key)
        .bind(chunk)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO documents (id, seq, created_at, updated_at, team) VALUES (?1, ?2, ?3, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
        )
        .bind(&key)
        .bind(seq)
        .bind(now_ms)
        .bind(team)
        .execute(&mut *tx)
        .await?;
        // The read model changes in the same transaction as the document.
        if let Some(r) = record {
            projection::write(&mut tx, id, r).await?;
        }
        tx.commit().await?;
        Ok(seq)
    }

    /// Documents changed after feed position `after`, oldest change first;
    /// with a field user's `(team, username)`, only their team's documents
    /// and those assigned to them.
    pub async fn changed_after(
        &self,
        after: i64,
        limit: i64,
        visible_to: Option<(&str, &str)>,
    ) -> Result<Vec<DocumentChange>, StorageError> {
        let rows = sqlx::query(
            "SELECT d.id, d.seq FROM documents d LEFT JOIN records r ON r.document_id = d.id
             WHERE d.seq > ?1 AND (?3 IS NULL OR d.team = ?3 OR r.owner = ?4) ORDER BY d.seq LIMIT ?2",
        )
        .bind(after)
        .bind(limit)
        .bind(visible_to.map(|v| v.0))
        .bind(visible_to.map(|v| v.1))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DocumentChange {
                    id: r.try_get("id")?,
                    seq: r.try_get("seq")?,
                })
            })
            .collect()
    }

    /// The pool, for read-model queries that live beside their handlers.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool, waiting for in-flight writes.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
