//! Durable document storage: Automerge chunks per document in SQL, on
//! SQLite (embedded, the default) or PostgreSQL (shared by several relays).
//!
//! Every write returns an error the caller must handle: a failed write is
//! never reported as saved (the relay closes the sender's connection and
//! drops the document from memory, so the client resends later).

pub mod migrations;
mod passwords;
mod projection;
mod sql;
mod users;

pub(crate) use projection::sla_policy;
pub use sql::Backend;
pub(crate) use sql::Sql;
pub use users::{SESSION_DAYS, UserError};

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use closeloop_shared::sync::DocumentId;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor, Row};

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

/// One chunk to store: a document's new changes, and the team a new document belongs to.
#[derive(Debug, Clone)]
pub struct ChunkWrite {
    pub id: DocumentId,
    pub chunk: Vec<u8>,
    pub team: Option<String>,
}

/// One document's change in the change feed head office polls.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DocumentChange {
    /// Text form of the document id.
    pub id: String,
    /// Position in the feed; strictly increasing across all documents.
    pub seq: i64,
}

/// Key of the PostgreSQL advisory lock that orders change-feed positions
/// across relays sharing one database.
const FEED_LOCK: i64 = 0x636c_6f73_656c_6f6f;

/// Documents as Automerge chunks (full saves and incremental changes).
#[derive(Clone)]
pub struct Storage {
    pool: AnyPool,
    backend: Backend,
    /// The PostgreSQL URL, for the change-notification listener.
    url: Option<String>,
    /// Tags this process's change notifications, so it skips its own.
    instance: std::sync::Arc<str>,
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
                    pool,
                    backend: Backend::Postgres,
                    url: Some(url.to_string()),
                    instance: instance_tag(),
                }
            }
            Some(other) => return Err(StorageError::Scheme(redact(other))),
        };
        if migrations::run(&storage).await? {
            let (projected, skipped) = storage.rebuild_projection().await?;
            tracing::info!(
                projected,
                skipped,
                "rebuilt the projection for the new schema"
            );
        }
        Ok(storage)
    }

    /// WAL with `synchronous=FULL`: a committed write survives power loss.
    async fn open_sqlite(data_dir: &Path) -> Result<Self, StorageError> {
        let path = std::path::absolute(data_dir.join("closeloop.sqlite3"))
            .map_err(|e| StorageError::Io(e.to_string()))?;
        let url = format!("sqlite://{}?mode=rwc", url_path(&path.to_string_lossy()));
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                         PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                    )
                    .await
                    .map(|_| ())
                })
            })
            .connect(&url)
            .await
            .map_err(|source| StorageError::Open {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Storage {
            pool,
            backend: Backend::Sqlite,
            url: None,
            instance: instance_tag(),
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

    /// Every chunk of a document in write order, or `None` if it is unknown.
    pub async fn load(&self, id: &DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        Ok(self.load_many(std::slice::from_ref(id)).await?.remove(id))
    }

    /// Several documents in two queries, whatever their number: the relay
    /// loads what a whole batch of messages names at once. Documents not
    /// stored are simply missing from the map.
    pub async fn load_many(
        &self,
        ids: &[DocumentId],
    ) -> Result<HashMap<DocumentId, StoredDocument>, StorageError> {
        let mut found = HashMap::new();
        if ids.is_empty() {
            return Ok(found);
        }
        let keys: Vec<String> = ids.iter().map(DocumentId::to_string).collect();
        let mut q = self.sql(
            "SELECT d.id, d.team, r.owner FROM documents d \
             LEFT JOIN records r ON r.document_id = d.id WHERE d.id IN (",
        );
        in_list(&mut q, &keys);
        for row in q.fetch_all(&self.pool).await? {
            let key: String = row.try_get("id")?;
            if let Ok(id) = key.parse::<DocumentId>() {
                let stored = StoredDocument {
                    chunks: Vec::new(),
                    team: row.try_get("team")?,
                    owner: row.try_get("owner")?,
                };
                found.insert(id, stored);
            }
        }
        let mut q = self.sql("SELECT document_id, data FROM chunks WHERE document_id IN (");
        in_list(&mut q, &keys);
        q.push(" ORDER BY document_id, id");
        for row in q.fetch_all(&self.pool).await? {
            let key: String = row.try_get("document_id")?;
            let Ok(id) = key.parse::<DocumentId>() else {
                continue;
            };
            if let Some(stored) = found.get_mut(&id) {
                stored.chunks.push(row.try_get("data")?);
            }
        }
        Ok(found)
    }

    /// Appends a chunk and moves the document to the head of the change feed,
    /// in one transaction (see [`Storage::append_batch`]).
    pub async fn append(
        &self,
        id: &DocumentId,
        chunk: &[u8],
        now_ms: i64,
        team: Option<&str>,
        record: Option<&closeloop_shared::record::FeedbackRecord>,
    ) -> Result<(), StorageError> {
        let write = ChunkWrite {
            id: *id,
            chunk: chunk.to_vec(),
            team: team.map(str::to_string),
        };
        let records: Vec<_> = record.map(|r| (*id, r.clone())).into_iter().collect();
        self.append_batch(std::slice::from_ref(&write), &records, now_ms)
            .await
    }

    /// Appends chunks (in order) and moves their documents to the head of
    /// the change feed, and replaces the projection rows of `records`, all in
    /// one transaction: one commit (one fsync) for a whole burst of changes.
    /// A document's team is recorded only when the document is new.
    pub async fn append_batch(
        &self,
        writes: &[ChunkWrite],
        records: &[(DocumentId, closeloop_shared::record::FeedbackRecord)],
        now_ms: i64,
    ) -> Result<(), StorageError> {
        if writes.is_empty() && records.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Feed positions must become visible in order, or a reader that
            // saw position n+1 would skip n committed a moment later.
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(FEED_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        let mut touched: Vec<String> = Vec::new();
        for w in writes {
            let key = w.id.to_string();
            let seq: i64 = sqlx::query_scalar(
                "INSERT INTO chunks (document_id, data) VALUES ($1, $2) RETURNING id",
            )
            .bind(&key)
            .bind(&w.chunk)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO documents (id, seq, created_at, updated_at, team) VALUES ($1, $2, $3, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
            )
            .bind(&key)
            .bind(seq)
            .bind(now_ms)
            .bind(w.team.as_deref())
            .execute(&mut *tx)
            .await?;
            if !touched.contains(&key) {
                touched.push(key);
            }
        }
        // The read model changes in the same transaction as the documents.
        for (id, r) in records {
            projection::write(&mut tx, id, r).await?;
        }
        if self.backend == Backend::Postgres {
            // Delivered at commit, to relays sharing this database.
            for key in &touched {
                sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS n")
                    .bind(CHANGES_CHANNEL)
                    .bind(format!("{}:{key}", self.instance))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
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
             WHERE d.seq > $1 AND ($3 IS NULL OR d.team = $3 OR r.owner = $4) ORDER BY d.seq LIMIT $2",
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
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool, waiting for in-flight writes.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The PostgreSQL channel announcing stored changes as `relay:document`.
pub(crate) const CHANGES_CHANNEL: &str = "closeloop_changes";

fn instance_tag() -> std::sync::Arc<str> {
    let mut bytes = [0u8; 8];
    // Only needs to differ between processes; getrandom does not fail on
    // the systems a relay runs on.
    let _ = getrandom::fill(&mut bytes);
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into()
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

/// Binds `values` as `$a, $b, …)` after an open `IN (`.
fn in_list<'a>(q: &mut Sql<'a>, values: &'a [String]) {
    for (n, v) in values.iter().enumerate() {
        if n > 0 {
            q.push(", ");
        }
        q.bind(v.as_str());
    }
    q.push(")");
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
