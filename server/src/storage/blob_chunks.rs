//! Attachments' bytes in the database, for relays sharing PostgreSQL: a
//! blob is stored as pieces keyed by their offset, and a resumable upload
//! keeps its pieces here until complete, so any relay serves a download
//! and any relay takes the next piece. Only [`crate::blob_store`] calls
//! this; the SQLite default keeps files on disk instead.

use tokio::io::AsyncReadExt;

use super::{Storage, StorageError};
use crate::storage::BlobFacts;

/// What a piece appended to an upload found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored; the upload now holds this many bytes.
    Held(u64),
    /// Not stored: the upload holds this many bytes, not the piece's offset.
    Elsewhere(u64),
}

fn size(n: u64) -> Result<i64, StorageError> {
    i64::try_from(n).map_err(|_| StorageError::Io(format!("a blob of {n} bytes")))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

impl Storage {
    /// Lists `facts` and stores the content `from` reads as its bytes, a
    /// piece at a time, in one transaction, unless its bytes are stored
    /// already (the same content uploaded before, or at the same moment
    /// through another relay: the facts row is locked meanwhile).
    pub async fn keep_blob_pieces(
        &self,
        facts: &BlobFacts<'_>,
        from: &mut (impl tokio::io::AsyncRead + Unpin),
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        super::blobs::insert_blob(&mut *tx, facts, now_ms).await?;
        if self.lock_unfilled(&mut tx, facts.sha256).await? {
            store_pieces(&mut tx, facts.sha256, from).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores the bytes of a blob listed without them.
    pub async fn fill_blob_pieces(
        &self,
        sha256: &str,
        from: &mut (impl tokio::io::AsyncRead + Unpin),
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        if self.lock_unfilled(&mut tx, sha256).await? {
            store_pieces(&mut tx, sha256, from).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The piece of a stored blob that begins at `start`.
    pub async fn blob_piece(
        &self,
        sha256: &str,
        start: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT bytes FROM blob_chunks WHERE sha256 = $1 AND start = $2")
                .bind(sha256)
                .bind(size(start)?)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// How many pieces of a blob the database holds.
    pub async fn blob_piece_count(&self, sha256: &str) -> Result<i64, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM blob_chunks WHERE sha256 = $1")
                .bind(sha256)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Bytes of `upload` held so far (0 for none).
    pub async fn upload_held(&self, upload: &str) -> Result<u64, StorageError> {
        let held: Option<i64> = sqlx::query_scalar("SELECT held FROM uploads WHERE upload = $1")
            .bind(upload)
            .fetch_optional(&self.pool)
            .await?;
        Ok(held.map_or(0, count))
    }

    /// Appends a piece at `offset` if that is what the upload holds; the
    /// upload's row is locked meanwhile, so two relays taking pieces of one
    /// upload at once store one and refuse the other.
    pub async fn append_upload_piece(
        &self,
        upload: &str,
        uploader: &str,
        offset: u64,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<Appended, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO uploads (upload, uploader, held, touched_at) VALUES ($1, $2, 0, $3) \
             ON CONFLICT (upload) DO NOTHING",
        )
        .bind(upload)
        .bind(uploader)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let held: i64 =
            sqlx::query_scalar(&self.locking("SELECT held FROM uploads WHERE upload = $1"))
                .bind(upload)
                .fetch_one(&mut *tx)
                .await?;
        if count(held) != offset {
            return Ok(Appended::Elsewhere(count(held)));
        }
        let now_held = held + size(bytes.len() as u64)?;
        sqlx::query("INSERT INTO upload_pieces (upload, start, bytes) VALUES ($1, $2, $3)")
            .bind(upload)
            .bind(held)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE uploads SET held = $2, touched_at = $3 WHERE upload = $1")
            .bind(upload)
            .bind(now_held)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Appended::Held(count(now_held)))
    }

    /// The uploads `uploader` has begun and not finished.
    pub async fn unfinished_uploads(&self, uploader: &str) -> Result<usize, StorageError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM uploads WHERE uploader = $1")
            .bind(uploader)
            .fetch_one(&self.pool)
            .await?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// The piece of an unfinished upload that begins at `start`.
    pub async fn upload_piece(
        &self,
        upload: &str,
        start: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT bytes FROM upload_pieces WHERE upload = $1 AND start = $2")
                .bind(upload)
                .bind(size(start)?)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Makes a complete upload a stored blob: its pieces become the blob's
    /// (unless its bytes are stored already) and the upload is gone.
    pub async fn finish_upload(
        &self,
        upload: &str,
        facts: &BlobFacts<'_>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        super::blobs::insert_blob(&mut *tx, facts, now_ms).await?;
        if self.lock_unfilled(&mut tx, facts.sha256).await? {
            sqlx::query(
                "INSERT INTO blob_chunks (sha256, start, bytes) \
                 SELECT $1, start, bytes FROM upload_pieces WHERE upload = $2",
            )
            .bind(facts.sha256)
            .bind(upload)
            .execute(&mut *tx)
            .await?;
        }
        drop_upload_rows(&mut tx, upload).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Throws an upload away (its content did not match its hash).
    pub async fn drop_upload(&self, upload: &str) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        drop_upload_rows(&mut tx, upload).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes uploads untouched since `before_ms`; how many went.
    pub async fn sweep_uploads(&self, before_ms: i64) -> Result<usize, StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM upload_pieces WHERE upload IN \
             (SELECT upload FROM uploads WHERE touched_at < $1)",
        )
        .bind(before_ms)
        .execute(&mut *tx)
        .await?;
        let gone = sqlx::query("DELETE FROM uploads WHERE touched_at < $1")
            .bind(before_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(usize::try_from(gone).unwrap_or(usize::MAX))
    }

    /// Blobs no record refers to that were uploaded before `before_ms`:
    /// attached to nothing in all that time, or left by an erased record.
    pub async fn unreferenced_blobs(
        &self,
        before_ms: i64,
        limit: i64,
    ) -> Result<Vec<String>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT sha256 FROM blobs b WHERE created_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM record_attachments a WHERE a.sha256 = b.sha256) \
             ORDER BY created_at LIMIT $2",
        )
        .bind(before_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Forgets blobs, facts and database-kept bytes, unless a record refers
    /// to one again by now; the hashes forgotten (their files go next).
    pub async fn forget_blobs(&self, hashes: &[String]) -> Result<Vec<String>, StorageError> {
        let mut gone = Vec::new();
        for sha256 in hashes {
            let mut tx = self.pool.begin().await?;
            let removed = sqlx::query(
                "DELETE FROM blobs WHERE sha256 = $1 AND NOT EXISTS \
                 (SELECT 1 FROM record_attachments a WHERE a.sha256 = $1)",
            )
            .bind(sha256)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if removed > 0 {
                sqlx::query("DELETE FROM blob_chunks WHERE sha256 = $1")
                    .bind(sha256)
                    .execute(&mut *tx)
                    .await?;
                gone.push(sha256.clone());
            }
            tx.commit().await?;
        }
        Ok(gone)
    }

    /// Blobs listed without bytes in the database (uploaded to a relay's
    /// own disk before attachments were shared), for moving them in.
    pub async fn blobs_without_pieces(&self) -> Result<Vec<String>, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT sha256 FROM blobs b WHERE NOT EXISTS \
             (SELECT 1 FROM blob_chunks c WHERE c.sha256 = b.sha256)",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Locks a listed blob's row; whether its bytes still need storing
    /// (false too if it is not listed). Whoever listed it first has
    /// committed by now (a concurrent insert waits for them).
    async fn lock_unfilled(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        sha256: &str,
    ) -> Result<bool, StorageError> {
        let listed = sqlx::query(&self.locking("SELECT sha256 FROM blobs WHERE sha256 = $1"))
            .bind(sha256)
            .fetch_optional(&mut **tx)
            .await?;
        if listed.is_none() {
            return Ok(false);
        }
        let stored: Option<i64> =
            sqlx::query_scalar("SELECT start FROM blob_chunks WHERE sha256 = $1 AND start = 0")
                .bind(sha256)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(stored.is_none())
    }
}

async fn drop_upload_rows(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    upload: &str,
) -> Result<(), StorageError> {
    for table in ["upload_pieces", "uploads"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE upload = $1"))
            .bind(upload)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Bytes per piece of a blob kept in the database.
const PIECE_BYTES: u64 = 1024 * 1024;

/// Stores what `from` reads as the blob's pieces.
async fn store_pieces(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    sha256: &str,
    from: &mut (impl tokio::io::AsyncRead + Unpin),
) -> Result<(), StorageError> {
    let mut start = 0u64;
    loop {
        let mut piece = Vec::new();
        let n = from
            .take(PIECE_BYTES)
            .read_to_end(&mut piece)
            .await
            .map_err(|e| StorageError::Io(format!("reading an attachment: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        sqlx::query("INSERT INTO blob_chunks (sha256, start, bytes) VALUES ($1, $2, $3)")
            .bind(sha256)
            .bind(size(start)?)
            .bind(piece)
            .execute(&mut **tx)
            .await?;
        start += n as u64;
    }
}
