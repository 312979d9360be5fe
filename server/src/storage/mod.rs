//! Durable document storage: Automerge chunks per document in SQL, on
//! SQLite (embedded, the default) or PostgreSQL (shared by several relays).
//!
//! Every write returns an error the caller must handle: a failed write is
//! never reported as saved (the relay closes the sender's connection and
//! drops the document from memory, so the client resends later).

mod accounts;
mod actions;
mod analytics;
mod audit;
mod blob_chunks;
mod blobs;
mod cases;
mod contacts;
mod customers;
mod documents;
mod erasure;
mod leases;
mod login_strikes;
pub mod migrations;
mod notifications;
mod passwords;
mod projection;
mod read_model;
mod request_counts;
mod retention;
mod sessions;
mod settings;
mod sql;
mod survey_sends;
mod surveys;
mod users;
mod visibility;

pub use audit::AuditNote;
pub use blob_chunks::Appended;
pub use blobs::BlobFacts;
pub use contacts::{ContactRow, Stored, StoredContact};
pub use documents::{
    CHANGES_CHANNEL, ChunkWrite, NOTIFIED_NOTICE, RecordUpdate, SETTINGS_NOTICE, StoredDocument,
};
pub use erasure::Replacement;
pub use leases::{Job, JobLease};
pub use notifications::{NotificationRow, Overdue};
pub use read_model::{CountBy, RecordOrder, RecordRow, SlaColumns, StatsSample};
pub use sessions::{SESSION_DAYS, SESSION_IDLE_HOURS, SessionRow, session_id};
pub use sql::Backend;
pub(crate) use sql::Sql;
pub use survey_sends::{
    CampaignCustomer, Claimed, DueRecord, NewSend, RETRY_AFTER_MS, SendOutcome, SendingCampaign,
    SurveyContact,
};
pub use surveys::{
    Answered, NewAnswer, PendingFollowUp, ResultRow, SATISFACTION, SeededAnswer, SurveyLink,
};
pub use users::UserError;

use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

/// A storage failure, with the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("could not open the database at {path}: {source}")]
    Open { path: String, source: sqlx::Error },
    #[error(
        "unsupported database `{0}`: use postgres://… or leave it out for SQLite in the data directory"
    )]
    Scheme(String),
    #[error("database migration {version} failed: {source}")]
    Migrate { version: i64, source: sqlx::Error },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("password or token handling failed: {0}")]
    Crypto(String),
    #[error("file storage failed: {0}")]
    Io(String),
    /// A write to a document that was erased (its id is tombstoned).
    #[error("document {0} was erased; its id takes no more changes")]
    Erased(String),
    /// Stored data that does not read back: a bug or outside tampering.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

/// Documents as Automerge chunks (full saves and incremental changes).
#[derive(Clone)]
pub struct Storage {
    pool: AnyPool,
    /// Where chunks are written (`begin_in_feed_order`). On SQLite one
    /// connection of its own: SQLite has one writer at a time anyway, and
    /// the pool hands its connections out in turn, so each of them
    /// prepared every multi-row write statement (megabytes each). On
    /// PostgreSQL the pool itself.
    chunk_writer: AnyPool,
    backend: Backend,
    /// The PostgreSQL URL, for the change-notification listener.
    url: Option<String>,
    /// Tags this process's change notifications, so it skips its own.
    instance: std::sync::Arc<str>,
    /// The connection this relay's job leases live on (PostgreSQL).
    lease_conn: leases::LeaseConnection,
}

impl Storage {
    /// Opens (creating if needed) `closeloop.sqlite3` in `data_dir` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Self, StorageError> {
        Self::connect(None, data_dir).await
    }

    /// Opens `database` (a `postgres://` URL) or, without one, SQLite in
    /// `data_dir`, and brings the schema up to date.
    pub async fn connect(database: Option<&str>, data_dir: &Path) -> Result<Self, StorageError> {
        sqlx::any::install_default_drivers();
        let storage = match database {
            None => Self::open_sqlite(data_dir).await?,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let pool = AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(|source| StorageError::Open {
                        path: redact(url),
                        source,
                    })?;
                Storage {
                    chunk_writer: pool.clone(),
                    pool,
                    backend: Backend::Postgres,
                    url: Some(url.to_string()),
                    instance: instance_tag()?,
                    lease_conn: Default::default(),
                }
            }
            Some(other) => return Err(StorageError::Scheme(redact(other))),
        };
        if migrations::run(&storage).await? {
            let sla = storage.sla_config(0).await?;
            let (projected, skipped) = storage.rebuild_projection(&sla).await?;
            tracing::info!(
                projected,
                skipped,
                "rebuilt the projection for the new schema"
            );
        }
        let scored = storage.score_unscored_answers().await?;
        if scored > 0 {
            tracing::info!(scored, "kept the scores of earlier survey answers");
        }
        Ok(storage)
    }

    /// WAL with `synchronous=FULL`: a committed write survives power loss.
    async fn open_sqlite(data_dir: &Path) -> Result<Self, StorageError> {
        let path = std::path::absolute(data_dir.join("closeloop.sqlite3"))
            .map_err(|e| StorageError::Io(e.to_string()))?;
        let url = format!("sqlite://{}?mode=rwc", url_path(&path.to_string_lossy()));
        let open = |connections: u32| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                             PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                             PRAGMA secure_delete = ON; PRAGMA cache_size = -1024;",
                        )
                        .await
                        .map(|_| ())
                    })
                })
                .connect(&url)
        };
        let failed = |source| StorageError::Open {
            path: path.display().to_string(),
            source,
        };
        let pool = open(4).await.map_err(failed)?;
        let chunk_writer = open(1).await.map_err(failed)?;
        Ok(Storage {
            pool,
            chunk_writer,
            backend: Backend::Sqlite,
            url: None,
            instance: instance_tag()?,
            lease_conn: Default::default(),
        })
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, StorageError> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The PostgreSQL URL, when storage is shared with other relays.
    pub(crate) fn shared_url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// This process's tag in change notifications.
    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    /// A statement for this storage's dialect.
    pub(crate) fn sql<'a>(&self, text: impl Into<String>) -> Sql<'a> {
        Sql::new(self.backend, text)
    }

    /// `select` locking the rows it reads until the transaction ends, where
    /// the database has row locks (PostgreSQL; SQLite writes one at a time).
    pub(super) fn locking(&self, select: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("{select} FOR UPDATE"),
            Backend::Sqlite => select.to_string(),
        }
    }

    /// Keeps the query planner's statistics current, so the dashboard's
    /// queries keep choosing their covering indexes as the tables grow.
    /// SQLite analyses only tables whose statistics are missing or stale,
    /// from a bounded sample (a full analysis of a million records would
    /// hold the write lock for seconds); PostgreSQL's autovacuum does this.
    pub async fn refresh_statistics(&self) -> Result<(), StorageError> {
        if self.backend == Backend::Sqlite {
            sqlx::raw_sql("PRAGMA analysis_limit = 1000; PRAGMA optimize;")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Closes the pool, waiting for in-flight writes.
    pub async fn close(&self) {
        self.chunk_writer.close().await;
        self.pool.close().await;
    }
}

/// Tags this process's change notifications. It must differ between relays
/// (equal tags would make two relays ignore each other), so there is no
/// fallback value: without the system's random source the server does not start.
fn instance_tag() -> Result<std::sync::Arc<str>, StorageError> {
    crate::random::hex::<8>()
        .map(Into::into)
        .map_err(|e| StorageError::Crypto(format!("no random source for the relay tag: {e}")))
}

/// A URL without its password, for error messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Percent-encodes a file path for a `sqlite://` URL.
fn url_path(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db:5432/closeloop"),
            "postgres://app:***@db:5432/closeloop"
        );
        assert_eq!(super::redact("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn odd_paths_survive_the_url() {
        assert_eq!(super::url_path("/tmp/a b?c"), "/tmp/a%20b%3Fc");
    }
}
