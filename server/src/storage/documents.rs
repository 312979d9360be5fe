//! Documents as Automerge chunks: loading (one document or a batch), the
//! group-committed append with its projection rows, and the change feed.

use std::collections::HashMap;

use automerge::ActorId;
use closeloop_shared::access::Visibility;
use closeloop_shared::api::DocumentChange;
use closeloop_shared::record::FeedbackRecord;
use closeloop_shared::relay::ChangeAuthor;
pub use closeloop_shared::relay::{ChunkWrite, RecordUpdate, StoredDocument};
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::sync::DocumentId;
use sqlx::Row;

use super::projection::Projected;
use super::{Backend, Storage, StorageError, projection, sql, visibility};

/// Key of the PostgreSQL advisory lock that orders change-feed positions
/// across relays sharing one database.
const FEED_LOCK: i64 = 0x636c_6f73_656c_6f6f;

/// The PostgreSQL channel announcing stored changes as `relay:document`.
pub const CHANGES_CHANNEL: &str = "closeloop_changes";
/// The payload's second half when an admin saved settings (never a document id).
pub const SETTINGS_NOTICE: &str = "settings";
/// The payload's second half when someone was notified.
pub const NOTIFIED_NOTICE: &str = "notified";

impl Storage {
    /// Tells relays sharing this database (PostgreSQL) that `what` (a
    /// document id or [`SETTINGS_NOTICE`]) changed, delivered when `tx`
    /// commits; nothing on SQLite, which no other relay shares.
    pub(super) async fn announce(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        what: &str,
    ) -> Result<(), StorageError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS n")
                .bind(CHANGES_CHANNEL)
                .bind(format!("{}:{what}", self.instance))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
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
        q.in_list(keys.iter().map(String::as_str));
        for row in q.fetch_all(&self.pool).await? {
            let key: String = row.try_get("id")?;
            if let Ok(id) = key.parse::<DocumentId>() {
                let stored = StoredDocument {
                    team: row.try_get("team")?,
                    owner: row.try_get("owner")?,
                    ..StoredDocument::default()
                };
                found.insert(id, stored);
            }
        }
        let mut q = self.sql("SELECT id, document_id, data FROM chunks WHERE document_id IN (");
        q.in_list(keys.iter().map(String::as_str));
        q.push(" ORDER BY document_id, id");
        for row in q.fetch_all(&self.pool).await? {
            let key: String = row.try_get("document_id")?;
            let Ok(id) = key.parse::<DocumentId>() else {
                continue;
            };
            if let Some(stored) = found.get_mut(&id) {
                stored.chunks.push(row.try_get("data")?);
                stored.chunk_ids.push(row.try_get("id")?);
            }
        }
        // Erased documents: refused, with nothing to load.
        let mut q = self.sql("SELECT document_id FROM tombstones WHERE document_id IN (");
        q.in_list(keys.iter().map(String::as_str));
        for row in q.fetch_all(&self.pool).await? {
            let key: String = row.try_get("document_id")?;
            if let Ok(id) = key.parse::<DocumentId>() {
                found.insert(
                    id,
                    StoredDocument {
                        erased: true,
                        ..StoredDocument::default()
                    },
                );
            }
        }
        // Whose each actor is (the relay lets one user write under an actor).
        let mut q = self.sql(
            "SELECT document_id, actor, MIN(user_id) AS user_id FROM change_log \
             WHERE user_id IS NOT NULL AND document_id IN (",
        );
        q.in_list(keys.iter().map(String::as_str));
        q.push(" GROUP BY document_id, actor");
        for row in q.fetch_all(&self.pool).await? {
            let key: String = row.try_get("document_id")?;
            let actor: String = row.try_get("actor")?;
            let (Ok(id), Ok(actor)) = (key.parse::<DocumentId>(), actor.parse::<ActorId>()) else {
                continue;
            };
            if let Some(stored) = found.get_mut(&id) {
                stored.actors.push((actor, row.try_get("user_id")?));
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
        record: Option<&FeedbackRecord>,
        sla: &SlaConfig,
    ) -> Result<(), StorageError> {
        let write = ChunkWrite {
            id: *id,
            chunk: chunk.to_vec(),
            team: team.map(str::to_string),
            changes: Vec::new(),
            author: None,
        };
        let records: Vec<RecordUpdate> = record
            .map(|r| RecordUpdate {
                id: *id,
                before: None,
                after: std::sync::Arc::new(r.clone()),
            })
            .into_iter()
            .collect();
        self.append_batch(std::slice::from_ref(&write), &records, now_ms, sla)
            .await
            .map(drop)
    }

    /// Appends chunks (in order) and moves their documents to the head of
    /// the change feed, and brings the projection rows of `records` up to
    /// date (only what differs from `before`), all in
    /// one transaction: one commit (one fsync) for a whole burst of changes.
    /// A document's team is recorded only when the document is new.
    pub async fn append_batch(
        &self,
        writes: &[ChunkWrite],
        records: &[RecordUpdate],
        now_ms: i64,
        sla: &SlaConfig,
    ) -> Result<Vec<i64>, StorageError> {
        if writes.is_empty() && records.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_in_feed_order().await?;
        // A change that reached a relay as its document was being erased
        // elsewhere must not bring the old history back.
        let keys: Vec<String> = writes.iter().map(|w| w.id.to_string()).collect();
        if !keys.is_empty() {
            let mut q = self.sql("SELECT document_id FROM tombstones WHERE document_id IN (");
            q.in_list(keys.iter().map(String::as_str));
            let (text, args) = q.into_parts()?;
            if let Some(row) = sqlx::query_with(&text, args)
                .fetch_optional(&mut *tx)
                .await?
            {
                let key: String = row.try_get("document_id")?;
                return Err(StorageError::Erased(key));
            }
        }
        // One multi-row statement per table for the whole batch: each
        // statement is a round trip to the database's thread.
        let mut chunk_ids = Vec::with_capacity(writes.len());
        // Groups depend only on the length: the same cut for both.
        for (group, keys) in sql::groups(writes).zip(sql::groups(&keys)) {
            let mut q = self.sql("INSERT INTO chunks (document_id, data) VALUES ");
            for (w, key) in group.iter().zip(keys) {
                q.row(|r| {
                    r.value(key.as_str()).value(w.chunk.as_slice());
                });
            }
            q.push(" RETURNING id");
            let (text, args) = q.into_parts()?;
            let mut ids: Vec<i64> = sqlx::query_scalar_with(&text, args)
                .fetch_all(&mut *tx)
                .await?;
            // Both databases number the rows of one INSERT in the order
            // given; RETURNING's order is not promised, so sort.
            ids.sort_unstable();
            if ids.len() != group.len() {
                return Err(StorageError::Corrupt(format!(
                    "{} chunks stored, {} ids returned",
                    group.len(),
                    ids.len()
                )));
            }
            chunk_ids.extend(ids);
        }
        // Each document once, at its last chunk; its team from its first
        // write (a stored document keeps the team it was created with).
        let mut documents: Vec<(&str, i64, Option<&str>)> = Vec::new();
        for ((w, key), seq) in writes.iter().zip(&keys).zip(&chunk_ids) {
            match documents.iter_mut().find(|(k, ..)| *k == key.as_str()) {
                Some(d) => d.1 = *seq,
                None => documents.push((key.as_str(), *seq, w.team.as_deref())),
            }
        }
        sql::insert_rows(
            &mut tx,
            self.backend,
            "INSERT INTO documents (id, seq, created_at, updated_at, team) VALUES ",
            " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
            &documents,
            |r, (key, seq, team)| {
                r.value(*key)
                    .value(*seq)
                    .value(now_ms)
                    .value(now_ms)
                    .value(*team);
            },
        )
        .await?;
        // Who delivered each change, append-only: "who changed what when"
        // (S002 §6) from the server's own knowledge.
        let delivered: Vec<(&str, String, String, &ChangeAuthor)> = writes
            .iter()
            .zip(&keys)
            .filter_map(|(w, key)| Some((w, key, w.author.as_ref()?)))
            .flat_map(|(w, key, author)| {
                w.changes.iter().map(move |(hash, actor)| {
                    (
                        key.as_str(),
                        hash.to_string(),
                        actor.to_hex_string(),
                        author,
                    )
                })
            })
            .collect();
        sql::insert_rows(
            &mut tx,
            self.backend,
            "INSERT INTO change_log (document_id, change_hash, actor, user_id, username, session, stored_at) VALUES ",
            " ON CONFLICT DO NOTHING",
            &delivered,
            |r, (key, hash, actor, author)| {
                r.value(*key)
                    .value(hash.as_str())
                    .value(actor.as_str())
                    .value(author.user_id)
                    .value(author.username.as_str())
                    .value(author.session.as_deref())
                    .value(now_ms);
            },
        )
        .await?;
        // The read model changes in the same transaction as the documents.
        let projected: Vec<Projected> = records
            .iter()
            .map(|u| Projected {
                id: &u.id,
                before: u.before.as_deref(),
                after: &u.after,
            })
            .collect();
        projection::write_many(&mut tx, self.backend, &projected, sla).await?;
        let touched: Vec<&str> = documents.iter().map(|(k, ..)| *k).collect();
        for key in touched {
            self.announce(&mut tx, key).await?;
        }
        tx.commit().await?;
        Ok(chunk_ids)
    }

    /// A transaction that reads before it writes (SQLite: holding the write
    /// lock from the start; see [`take_write_lock`]).
    pub(super) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'_, sqlx::Any>, StorageError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Sqlite {
            take_write_lock(&mut tx).await?;
        }
        Ok(tx)
    }

    /// A transaction that writes chunks. On PostgreSQL it holds the feed
    /// lock, so positions (chunk ids and feed sequence) are allocated and
    /// become visible in commit order: a reader that saw position n+1 never
    /// misses n committed a moment later.
    pub(super) async fn begin_in_feed_order(
        &self,
    ) -> Result<sqlx::Transaction<'_, sqlx::Any>, StorageError> {
        let mut tx = self.chunk_writer.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(FEED_LOCK)
                .execute(&mut *tx)
                .await?;
        } else {
            take_write_lock(&mut tx).await?;
        }
        Ok(tx)
    }

    /// Replaces a document's chunks `first..=last` with one full save:
    /// the save goes into the first chunk's row (keeping its place in the
    /// write order), the others are deleted. Chunks written after the read
    /// that produced the save have higher ids and are untouched (positions
    /// are allocated under the feed lock, in commit order).
    pub async fn compact(
        &self,
        id: &DocumentId,
        first: i64,
        last: i64,
        save: &[u8],
    ) -> Result<(), StorageError> {
        let key = id.to_string();
        let mut tx = self.begin_in_feed_order().await?;
        sqlx::query("UPDATE chunks SET data = $1 WHERE id = $2 AND document_id = $3")
            .bind(save)
            .bind(first)
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM chunks WHERE document_id = $1 AND id > $2 AND id <= $3")
            .bind(&key)
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Documents changed after feed position `after` that `visible`
    /// admits, oldest change first.
    pub async fn changed_after(
        &self,
        after: i64,
        limit: i64,
        visible: Visibility<'_>,
    ) -> Result<Vec<DocumentChange>, StorageError> {
        let mut q = self.sql(
            "SELECT d.id, d.seq FROM documents d LEFT JOIN records r ON r.document_id = d.id \
             WHERE d.seq > ",
        );
        q.bind(after);
        visibility::restrict(&mut q, visible, "d.team", "r.owner");
        q.push(" ORDER BY d.seq LIMIT ").bind(limit);
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(DocumentChange {
                    id: r.try_get("id")?,
                    seq: r.try_get("seq")?,
                })
            })
            .collect()
    }
}

/// SQLite: takes the write lock now, waiting for other writers under the
/// busy timeout. A transaction that reads first and writes later cannot
/// wait: if another connection committed in between, its first write fails
/// at once with "database is locked". A write statement that changes
/// nothing takes the lock without changing anything.
async fn take_write_lock(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<(), StorageError> {
    sqlx::query("UPDATE documents SET seq = seq WHERE 1 = 0")
        .execute(&mut **tx)
        .await?;
    Ok(())
}
