//! Schema migrations, embedded in the binary and applied in order at start-up.

use sqlx::SqlitePool;

use super::StorageError;

/// `(version, sql)`; append only, never edit a shipped migration.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE documents (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX documents_by_seq ON documents (seq);
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        document_id TEXT NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX chunks_by_document ON chunks (document_id, id);",
    ),
    (
        2,
        "CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        team TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        token_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL
    );
    ALTER TABLE documents ADD COLUMN team TEXT;
    CREATE INDEX documents_by_team ON documents (team, seq);",
    ),
    (
        3,
        "CREATE TABLE records (
        document_id TEXT PRIMARY KEY,
        schema_version INTEGER NOT NULL,
        received_at INTEGER NOT NULL,
        channel TEXT NOT NULL,
        source TEXT NOT NULL,
        customer TEXT NOT NULL,
        description TEXT NOT NULL,
        feedback_type TEXT,
        nature TEXT,
        urgency TEXT,
        impact TEXT,
        priority TEXT,
        status TEXT NOT NULL,
        owner TEXT,
        department TEXT,
        assigned_at INTEGER,
        first_response_at INTEGER,
        resolved_at INTEGER,
        closed_at INTEGER,
        escalation INTEGER NOT NULL,
        reopen_count INTEGER NOT NULL,
        conflicts INTEGER NOT NULL,
        workflow_issues INTEGER NOT NULL
    );
    CREATE INDEX records_by_status ON records (status, received_at);
    CREATE INDEX records_by_owner ON records (owner);
    CREATE TABLE record_history (
        document_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        at INTEGER NOT NULL,
        from_status TEXT NOT NULL,
        note TEXT,
        PRIMARY KEY (document_id, position)
    );
    CREATE TABLE record_log (
        document_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (document_id, position)
    );",
    ),
    (
        4,
        "CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        uploaded_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );",
    ),
    (
        5,
        "ALTER TABLE records ADD COLUMN pauses TEXT NOT NULL DEFAULT '[]';",
    ),
];

/// Applies every migration not yet recorded in `schema_migrations`.
pub(super) async fn run(pool: &SqlitePool) -> Result<(), StorageError> {
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
        .execute(pool)
        .await?;
    for (version, sql) in MIGRATIONS {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = ?1")
                .bind(version)
                .fetch_optional(pool)
                .await?;
        if done.is_some() {
            continue;
        }
        let migrate = |source| StorageError::Migrate {
            version: *version,
            source,
        };
        let mut tx = pool.begin().await.map_err(migrate)?;
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(migrate)?;
        sqlx::query("INSERT INTO schema_migrations (version) VALUES (?1)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(migrate)?;
        tx.commit().await.map_err(migrate)?;
    }
    Ok(())
}
