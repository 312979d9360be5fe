//! Schema migrations, embedded in the binary and applied in order at start-up.
//! One list serves both databases: it is written in SQLite's dialect and
//! [`for_postgres`] maps the few type names that differ.

use sqlx::Acquire;

use super::{Backend, Storage, StorageError};

/// Key of the PostgreSQL advisory lock held while migrating, so relays
/// starting together do not race.
const MIGRATION_LOCK: i64 = 0x636c_6d69_6772_6174;

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
    (
        6,
        // For the repeat-complaint rate.
        "ALTER TABLE records ADD COLUMN complaint_kind TEXT;",
    ),
    (
        7,
        // SLA due moments as stored facts (see `SlaPolicy::due_times`) and
        // the reply each customer was given.
        "ALTER TABLE records ADD COLUMN first_response_due_at INTEGER;
    ALTER TABLE records ADD COLUMN resolution_due_at INTEGER;
    CREATE INDEX records_by_resolution_due ON records (resolution_due_at);
    CREATE TABLE record_replies (
        document_id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        content TEXT NOT NULL,
        at INTEGER NOT NULL,
        customer_answer TEXT
    );",
    ),
    (
        8,
        // Which records reference each attachment: who may download it.
        "CREATE TABLE record_attachments (
        document_id TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (document_id, sha256)
    );
    CREATE INDEX record_attachments_by_blob ON record_attachments (sha256);",
    ),
    (
        9,
        // Deployment settings as JSON under a key (the SLA policy and
        // calendar first), seeded with defaults when missing.
        "CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );",
    ),
    (
        10,
        // Sessions that end: disabled users, idle sessions (last seen,
        // refreshed at most once a minute), sessions purged by user.
        // Existing sessions count as seen when they were created.
        "ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
    UPDATE sessions SET created_at = expires_at - 2592000000,
        last_seen_at = expires_at - 2592000000;
    CREATE INDEX sessions_by_user ON sessions (user_id);
    CREATE INDEX sessions_by_expiry ON sessions (expires_at);",
    ),
    (
        11,
        // Who delivered each stored change, and when: append-only, kept
        // when chunks are compacted.
        "CREATE TABLE change_log (
        document_id TEXT NOT NULL,
        change_hash TEXT NOT NULL,
        actor TEXT NOT NULL,
        user_id INTEGER,
        username TEXT NOT NULL,
        session TEXT,
        stored_at INTEGER NOT NULL,
        PRIMARY KEY (document_id, change_hash)
    );
    CREATE INDEX change_log_actors ON change_log (document_id, actor);",
    ),
    (
        12,
        // The running SLA clock's due and near-due moments, so the inbox
        // filters and sorts by them in storage (`DueTimes::running`).
        "ALTER TABLE records ADD COLUMN clock_due_at INTEGER;
    ALTER TABLE records ADD COLUMN clock_near_at INTEGER;
    CREATE INDEX records_by_clock_due ON records (clock_due_at);
    CREATE INDEX records_by_received ON records (received_at);",
    ),
    (
        13,
        // Likely duplicates are looked up by customer or order number.
        "ALTER TABLE records ADD COLUMN order_number TEXT;
    CREATE INDEX records_by_customer ON records (customer, received_at);
    CREATE INDEX records_by_order_number ON records (order_number);",
    ),
    (
        14,
        // In-app notifications (the bell), per user, marked read per user.
        "CREATE TABLE notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL,
        document_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        read_at INTEGER
    );
    CREATE INDEX notifications_by_user ON notifications (username, id);
    CREATE INDEX record_history_by_action ON record_history (action, document_id);",
    ),
    (
        15,
        // The inbox's orders exactly as `RecordOrder` writes them, so the
        // due-first views and deep pages read an index instead of sorting
        // every record (`cargo xtask bench office`).
        "CREATE INDEX records_by_due_order ON records ((clock_due_at IS NULL), clock_due_at, received_at DESC, document_id);
    CREATE INDEX records_by_newest ON records (received_at DESC, document_id);
    CREATE INDEX records_by_status_newest ON records (status, received_at DESC, document_id);",
    ),
    (
        16,
        // Every reply a record keeps (its thread), not only one; log rows
        // say what kind of entry they are.
        "DROP TABLE record_replies;
    CREATE TABLE record_replies (
        document_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        channel TEXT NOT NULL,
        content TEXT NOT NULL,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        customer_answer TEXT,
        PRIMARY KEY (document_id, position)
    );
    ALTER TABLE record_log ADD COLUMN kind TEXT;",
    ),
    (
        17,
        // The contact store (S002 §8): details sealed under a key of each
        // customer, kept in its own table so erasure deletes the key; keyed
        // hashes to find the same customer; consent per purpose. The audit
        // log (S002 §6), append-only (see `OWN_WORDS`).
        "CREATE TABLE contacts (
        contact_ref TEXT PRIMARY KEY,
        sealed BLOB,
        phone_lookup TEXT,
        email_lookup TEXT,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        captured_at INTEGER NOT NULL,
        erased_at INTEGER,
        erased_by TEXT
    );
    CREATE INDEX contacts_by_phone ON contacts (phone_lookup);
    CREATE INDEX contacts_by_email ON contacts (email_lookup);
    CREATE TABLE contact_keys (
        contact_ref TEXT PRIMARY KEY,
        wrapped BLOB NOT NULL
    );
    CREATE TABLE contact_consents (
        contact_ref TEXT NOT NULL,
        purpose TEXT NOT NULL,
        at INTEGER NOT NULL,
        recorded_by TEXT NOT NULL,
        PRIMARY KEY (contact_ref, purpose)
    );
    ALTER TABLE records ADD COLUMN contact_ref TEXT;
    CREATE INDEX records_by_contact ON records (contact_ref);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        detail TEXT
    );
    CREATE INDEX audit_by_time ON audit_log (at);
    CREATE INDEX audit_by_action ON audit_log (action, id);
    CREATE INDEX audit_by_actor ON audit_log (actor, id);",
    ),
    (
        18,
        // Documents re-created without their history (erasure): the old id
        // is refused for ever and replicas learn which copy replaced it.
        "CREATE TABLE tombstones (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        document_id TEXT NOT NULL UNIQUE,
        replaced_by TEXT,
        at INTEGER NOT NULL
    );",
    ),
    (
        19,
        // Archived records (read-only, S002 5.4), from the document.
        "ALTER TABLE records ADD COLUMN archived_at INTEGER;
    CREATE INDEX records_by_archive ON records (status, archived_at, closed_at);",
    ),
    (
        20,
        // Customer files (S002 5.4): records head office confirmed to be
        // of one customer share a file; important records are marked in it.
        "CREATE TABLE customer_files (
        document_id TEXT PRIMARY KEY,
        file_id TEXT NOT NULL,
        linked_by TEXT NOT NULL,
        linked_at INTEGER NOT NULL
    );
    CREATE INDEX customer_files_by_file ON customer_files (file_id);
    CREATE TABLE customer_marks (
        document_id TEXT PRIMARY KEY,
        note TEXT NOT NULL,
        marked_by TEXT NOT NULL,
        marked_at INTEGER NOT NULL
    );",
    ),
    (
        21,
        // Sessions an administrator ended (revoked, user disabled): kept
        // until they would have expired, so the device that still holds
        // the token is told to wipe its local data, not just to sign in.
        "CREATE TABLE revoked_sessions (
        token_hash BLOB PRIMARY KEY,
        user_id INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );",
    ),
    (
        22,
        // Surveys: every saved version (answers keep theirs), single-use
        // links by the hash of their token, and the answers.
        "CREATE TABLE survey_versions (
        survey TEXT NOT NULL,
        version INTEGER NOT NULL,
        definition TEXT NOT NULL,
        saved_by TEXT NOT NULL,
        saved_at INTEGER NOT NULL,
        PRIMARY KEY (survey, version)
    );
    CREATE TABLE survey_links (
        token_hash BLOB PRIMARY KEY,
        survey TEXT NOT NULL,
        version INTEGER NOT NULL,
        document_id TEXT,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        submission TEXT
    );
    CREATE INDEX survey_links_by_document ON survey_links (document_id);
    CREATE TABLE survey_answers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        survey TEXT NOT NULL,
        version INTEGER NOT NULL,
        document_id TEXT,
        answers TEXT NOT NULL,
        dissatisfied INTEGER NOT NULL,
        answered_at INTEGER NOT NULL,
        followed_up_at INTEGER
    );
    CREATE INDEX survey_answers_by_survey ON survey_answers (survey, answered_at);
    CREATE INDEX survey_answers_by_document ON survey_answers (document_id);",
    ),
    (
        23,
        // Surveys sent on their own: campaigns to a segment, and the audit
        // of every send. `claim` makes one relay send each survey once;
        // `period_slot` (customer and period) keeps a customer to one
        // survey per period; a failed send gives both back for a retry.
        // Links and answers of a campaign keep it, and the customer only
        // when the campaign is not anonymous.
        "CREATE TABLE survey_campaigns (
        id TEXT PRIMARY KEY,
        survey TEXT NOT NULL,
        name TEXT NOT NULL,
        segment TEXT NOT NULL,
        anonymous INTEGER NOT NULL,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        done_at INTEGER
    );
    CREATE TABLE survey_sends (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        survey TEXT NOT NULL,
        document_id TEXT,
        campaign TEXT,
        customer_key TEXT,
        claim TEXT,
        period_slot TEXT,
        channel TEXT,
        recipient TEXT,
        status TEXT NOT NULL,
        detail TEXT
    );
    CREATE UNIQUE INDEX survey_sends_claim ON survey_sends (claim);
    CREATE UNIQUE INDEX survey_sends_period ON survey_sends (period_slot);
    CREATE INDEX survey_sends_by_document ON survey_sends (document_id);
    CREATE INDEX survey_sends_by_campaign ON survey_sends (campaign);
    CREATE INDEX survey_sends_by_time ON survey_sends (at);
    CREATE INDEX record_history_by_action_time ON record_history (action, at);
    ALTER TABLE survey_links ADD COLUMN campaign TEXT;
    ALTER TABLE survey_links ADD COLUMN contact_ref TEXT;
    ALTER TABLE survey_answers ADD COLUMN campaign TEXT;
    ALTER TABLE survey_answers ADD COLUMN contact_ref TEXT;",
    ),
    (
        24,
        // The typical-case library: records head office marked as examples
        // or lessons, with why.
        "CREATE TABLE typical_cases (
        document_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        note TEXT NOT NULL,
        marked_by TEXT NOT NULL,
        marked_at INTEGER NOT NULL
    );
    CREATE INDEX typical_cases_by_time ON typical_cases (marked_at);",
    ),
    (
        25,
        // The dashboard's aggregates: each record's problem class and
        // whether it left its first owner, an index that covers the
        // per-day figures, and each survey answer's CSAT and NPS tallies
        // (filled for earlier answers at start-up).
        "ALTER TABLE records ADD COLUMN problem_class TEXT;
    ALTER TABLE records ADD COLUMN detoured INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX records_for_analytics ON records (received_at, channel, feedback_type, nature,
        department, first_response_at, resolved_at, detoured);
    ALTER TABLE survey_answers ADD COLUMN csat_answered INTEGER;
    ALTER TABLE survey_answers ADD COLUMN csat_satisfied INTEGER;
    ALTER TABLE survey_answers ADD COLUMN csat_total INTEGER;
    ALTER TABLE survey_answers ADD COLUMN nps_promoters INTEGER;
    ALTER TABLE survey_answers ADD COLUMN nps_passives INTEGER;
    ALTER TABLE survey_answers ADD COLUMN nps_detractors INTEGER;
    CREATE INDEX survey_answers_by_time ON survey_answers (answered_at);",
    ),
    (
        26,
        // Improvement actions: what head office decided to change, who
        // owns it by when, and the records behind it.
        "CREATE TABLE improvement_actions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        plan TEXT NOT NULL,
        owner TEXT NOT NULL,
        deadline_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        metric TEXT NOT NULL,
        department TEXT,
        channel TEXT,
        feedback_type TEXT,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        done_at INTEGER
    );
    CREATE INDEX improvement_actions_by_time ON improvement_actions (created_at);
    CREATE TABLE improvement_action_records (
        action_id TEXT NOT NULL,
        document_id TEXT NOT NULL,
        PRIMARY KEY (action_id, document_id)
    );
    CREATE INDEX improvement_action_records_by_document ON improvement_action_records (document_id);",
    ),
    (
        27,
        // Attachments where every relay reads them (used with PostgreSQL;
        // SQLite keeps files beside the database): each blob's bytes in
        // pieces keyed by their offset, and resumable uploads in progress,
        // so a piece may arrive through any relay.
        "CREATE TABLE blob_chunks (
        sha256 TEXT NOT NULL,
        start INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (sha256, start)
    );
    CREATE TABLE uploads (
        upload TEXT PRIMARY KEY,
        uploader TEXT NOT NULL,
        held INTEGER NOT NULL,
        touched_at INTEGER NOT NULL
    );
    CREATE INDEX uploads_by_uploader ON uploads (uploader);
    CREATE TABLE upload_pieces (
        upload TEXT NOT NULL,
        start INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (upload, start)
    );",
    ),
    (
        28,
        // Failed sign-ins per account and per address, counted in the
        // database so every relay sharing it counts the same attempts.
        "CREATE TABLE login_strikes (
        key TEXT PRIMARY KEY,
        window_start INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        lockouts INTEGER NOT NULL,
        locked_until INTEGER NOT NULL
    );",
    ),
    (
        29,
        // Survey answers not yet scored, found at start-up without reading
        // every answer (scored ones hold numbers, never NULL).
        "CREATE INDEX survey_answers_unscored ON survey_answers (id) WHERE csat_answered IS NULL;",
    ),
    (
        30,
        // Requests to the public endpoints per key and window, counted in
        // the database when relays share it, so a limit holds across them.
        "CREATE TABLE request_counts (
        key TEXT PRIMARY KEY,
        window_start INTEGER NOT NULL,
        n INTEGER NOT NULL
    );",
    ),
    (
        31,
        // The dashboard reads indexes only: every column a panel needs is
        // in one index by receipt (priorities, due moments and problem
        // classes were read from the table, 4-7x slower at a million
        // records), complaints with their customer and kind in a partial
        // one, open records by their clock, stopped resolution clocks by
        // receipt, answers with their scores. The plain index by receipt
        // goes: PostgreSQL chose it and read the table for every row
        // (2-3x slower); `records_by_newest` serves its other uses.
        "DROP INDEX records_for_analytics;
    CREATE INDEX records_for_dashboard ON records (received_at, channel, feedback_type, nature,
        department, first_response_at, resolved_at, detoured, priority, first_response_due_at,
        resolution_due_at, problem_class);
    CREATE INDEX records_complaints ON records (received_at, customer, complaint_kind,
        feedback_type, nature, channel, department)
        WHERE nature = 'complaint' OR feedback_type = 'complaint';
    CREATE INDEX records_open_by_clock ON records (clock_due_at, channel, feedback_type, department)
        WHERE status <> 'closed';
    DROP INDEX records_by_resolution_due;
    DROP INDEX records_by_received;
    CREATE INDEX records_resolution_waiting ON records (received_at, priority, channel,
        feedback_type, department) WHERE resolution_due_at IS NULL;
    DROP INDEX survey_answers_by_time;
    CREATE INDEX survey_answers_scored ON survey_answers (answered_at, document_id, csat_answered,
        csat_satisfied, csat_total, nps_promoters, nps_passives, nps_detractors);",
    ),
    (
        32,
        // Survey answers carry their record's department, channel and type
        // (kept current by the projection), so a dashboard filtered by them
        // reads answers by a range of one index: through the record's key,
        // each of a year's 140,000 answers read a table page (CSAT and NPS
        // for one department took 540 ms at a million records).
        // Complaints come in the order repeat complaints are found in (each
        // customer's complaints of one kind by receipt), so the comparison
        // with the one before needs no sort of the period's complaints.
        "ALTER TABLE survey_answers ADD COLUMN department TEXT;
    ALTER TABLE survey_answers ADD COLUMN channel TEXT;
    ALTER TABLE survey_answers ADD COLUMN feedback_type TEXT;
    UPDATE survey_answers SET
        department = (SELECT r.department FROM records r WHERE r.document_id = survey_answers.document_id),
        channel = (SELECT r.channel FROM records r WHERE r.document_id = survey_answers.document_id),
        feedback_type = (SELECT r.feedback_type FROM records r WHERE r.document_id = survey_answers.document_id)
        WHERE document_id IS NOT NULL;
    DROP INDEX survey_answers_scored;
    CREATE INDEX survey_answers_scored ON survey_answers (answered_at, department, channel,
        feedback_type, csat_answered, csat_satisfied, csat_total, nps_promoters, nps_passives,
        nps_detractors);
    DROP INDEX records_complaints;
    CREATE INDEX records_complaint_chains ON records (customer,
        COALESCE(complaint_kind, feedback_type), received_at, complaint_kind, feedback_type,
        nature, department, channel)
        WHERE nature = 'complaint' OR feedback_type = 'complaint';",
    ),
    (
        33,
        // Each local month's dashboard figures summed per facet combination
        // (`storage::analytics::months`): a dashboard over years reads a few
        // thousand sums instead of every record. A record added, changed in
        // a summed figure or removed marks its receipt instant stale (the
        // triggers below), and a month with a stale instant is counted from
        // its records until it is summed again.
        "CREATE TABLE dashboard_stale (received_at INTEGER PRIMARY KEY);
    CREATE TABLE dashboard_months (
        offset_minutes INTEGER NOT NULL,
        month_from INTEGER NOT NULL,
        month_to INTEGER NOT NULL,
        open_due_max INTEGER,
        PRIMARY KEY (offset_minutes, month_from)
    );
    CREATE TABLE dashboard_month_figures (
        offset_minutes INTEGER NOT NULL,
        month_from INTEGER NOT NULL,
        department TEXT,
        channel TEXT NOT NULL,
        feedback_type TEXT,
        nature TEXT,
        priority TEXT,
        n INTEGER NOT NULL,
        fr_n INTEGER NOT NULL,
        fr_ms INTEGER NOT NULL,
        res_n INTEGER NOT NULL,
        res_ms INTEGER NOT NULL,
        first_contact INTEGER NOT NULL,
        fr_met INTEGER NOT NULL,
        fr_breached INTEGER NOT NULL,
        fr_unfinished INTEGER NOT NULL,
        res_met INTEGER NOT NULL,
        res_breached INTEGER NOT NULL,
        res_unfinished INTEGER NOT NULL
    );
    CREATE INDEX dashboard_month_figures_by_month ON dashboard_month_figures (offset_minutes,
        month_from, department, channel, feedback_type);",
    ),
];

/// Statements a migration needs in each dialect's own words, run after its
/// common part: (version, SQLite, PostgreSQL).
const OWN_WORDS: &[(i64, &str, &str)] = &[
    (
        17,
        // Audit entries cannot be changed once written, by the server or
        // anyone with database access short of dropping the trigger.
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
     BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
     $body$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $body$;
     CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();",
    ),
    (
        33,
        // Whatever writes the read model (the projection, a rebuild,
        // erasure, retention), a month's sums go stale with it. One instant
        // is one key, so concurrent writers of different records take no
        // common lock. (SQLite applies an outer statement's conflict
        // policy to its triggers' statements, so no `OR IGNORE` there.) On
        // PostgreSQL an instant already marked is locked, not skipped
        // (`DO UPDATE … WHERE false` locks and writes nothing): summing a
        // month skips the marks a writer in flight holds, so that writer's
        // change is never lost between the mark and the sum.
        "CREATE TRIGGER records_dashboard_added AFTER INSERT ON records
     BEGIN INSERT INTO dashboard_stale (received_at) SELECT NEW.received_at
       WHERE NOT EXISTS (SELECT 1 FROM dashboard_stale WHERE received_at = NEW.received_at); END;
     CREATE TRIGGER records_dashboard_removed AFTER DELETE ON records
     BEGIN INSERT INTO dashboard_stale (received_at) SELECT OLD.received_at
       WHERE NOT EXISTS (SELECT 1 FROM dashboard_stale WHERE received_at = OLD.received_at); END;
     CREATE TRIGGER records_dashboard_changed AFTER UPDATE ON records
     WHEN OLD.received_at IS NOT NEW.received_at OR OLD.department IS NOT NEW.department
       OR OLD.channel IS NOT NEW.channel OR OLD.feedback_type IS NOT NEW.feedback_type
       OR OLD.nature IS NOT NEW.nature OR OLD.priority IS NOT NEW.priority
       OR OLD.first_response_at IS NOT NEW.first_response_at
       OR OLD.resolved_at IS NOT NEW.resolved_at OR OLD.detoured IS NOT NEW.detoured
       OR OLD.first_response_due_at IS NOT NEW.first_response_due_at
       OR OLD.resolution_due_at IS NOT NEW.resolution_due_at
     BEGIN
       INSERT INTO dashboard_stale (received_at) SELECT OLD.received_at
       WHERE NOT EXISTS (SELECT 1 FROM dashboard_stale WHERE received_at = OLD.received_at);
       INSERT INTO dashboard_stale (received_at) SELECT NEW.received_at
       WHERE NOT EXISTS (SELECT 1 FROM dashboard_stale WHERE received_at = NEW.received_at);
     END;",
        "CREATE FUNCTION records_dashboard_stale() RETURNS trigger LANGUAGE plpgsql AS
     $body$ BEGIN
       IF TG_OP <> 'INSERT' THEN
         INSERT INTO dashboard_stale (received_at) VALUES (OLD.received_at)
           ON CONFLICT (received_at) DO UPDATE SET received_at = EXCLUDED.received_at WHERE false;
       END IF;
       IF TG_OP <> 'DELETE' THEN
         INSERT INTO dashboard_stale (received_at) VALUES (NEW.received_at)
           ON CONFLICT (received_at) DO UPDATE SET received_at = EXCLUDED.received_at WHERE false;
       END IF;
       RETURN NULL;
     END $body$;
     CREATE TRIGGER records_dashboard_added_or_removed AFTER INSERT OR DELETE ON records
     FOR EACH ROW EXECUTE FUNCTION records_dashboard_stale();
     CREATE TRIGGER records_dashboard_changed AFTER UPDATE ON records FOR EACH ROW
     WHEN (OLD.received_at IS DISTINCT FROM NEW.received_at
       OR OLD.department IS DISTINCT FROM NEW.department
       OR OLD.channel IS DISTINCT FROM NEW.channel
       OR OLD.feedback_type IS DISTINCT FROM NEW.feedback_type
       OR OLD.nature IS DISTINCT FROM NEW.nature OR OLD.priority IS DISTINCT FROM NEW.priority
       OR OLD.first_response_at IS DISTINCT FROM NEW.first_response_at
       OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at
       OR OLD.detoured IS DISTINCT FROM NEW.detoured
       OR OLD.first_response_due_at IS DISTINCT FROM NEW.first_response_due_at
       OR OLD.resolution_due_at IS DISTINCT FROM NEW.resolution_due_at)
     EXECUTE FUNCTION records_dashboard_stale();",
    ),
];

/// Migrations that add projected columns or tables: rows written before
/// them lack the new values, so the projection is rebuilt after applying one.
const REPROJECT_AFTER: &[i64] = &[6, 7, 8, 12, 13, 16, 17, 19, 25];

/// SQLite's column types as PostgreSQL spells them: 64-bit integers,
/// identity keys, byte arrays.
fn for_postgres(sql: &str) -> String {
    sql.replace(
        "INTEGER PRIMARY KEY AUTOINCREMENT",
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    )
    .replace("INTEGER", "BIGINT")
    .replace("BLOB", "BYTEA")
}

/// The newest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies every migration not yet recorded in `schema_migrations`; returns
/// whether one of them needs the projection rebuilt.
pub(super) async fn run(storage: &Storage) -> Result<bool, StorageError> {
    let backend = storage.backend;
    let dialect = |sql: &str| match backend {
        Backend::Sqlite => sql.to_string(),
        Backend::Postgres => for_postgres(sql),
    };
    let mut conn = storage.pool.acquire().await?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_lock($1)) AS l")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    let applied = apply(&mut conn, &dialect, backend).await;
    if backend == Backend::Postgres {
        // Also released when the connection closes, should this fail.
        sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_unlock($1)) AS l")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
    }
    applied
}

async fn apply(
    conn: &mut sqlx::AnyConnection,
    dialect: &dyn Fn(&str) -> String,
    backend: Backend,
) -> Result<bool, StorageError> {
    sqlx::raw_sql(&dialect(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)",
    ))
    .execute(&mut *conn)
    .await?;
    let mut reproject = false;
    for (version, sql) in MIGRATIONS {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *conn)
                .await?;
        if done.is_some() {
            continue;
        }
        let migrate = |source| StorageError::Migrate {
            version: *version,
            source,
        };
        let mut tx = conn.begin().await.map_err(migrate)?;
        sqlx::raw_sql(&dialect(sql))
            .execute(&mut *tx)
            .await
            .map_err(migrate)?;
        for (_, sqlite, postgres) in OWN_WORDS.iter().filter(|a| a.0 == *version) {
            let own = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            sqlx::raw_sql(own)
                .execute(&mut *tx)
                .await
                .map_err(migrate)?;
        }
        sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(migrate)?;
        tx.commit().await.map_err(migrate)?;
        reproject |= REPROJECT_AFTER.contains(version);
    }
    Ok(reproject)
}

#[cfg(test)]
mod tests {
    #[test]
    fn postgres_gets_its_own_type_names() {
        let pg = super::for_postgres(
            "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, b BLOB);",
        );
        assert_eq!(
            pg,
            "CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT NOT NULL, b BYTEA);"
        );
    }
}
