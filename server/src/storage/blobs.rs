//! What is known about stored attachments (their bytes live in files named
//! by hash, or in the database when relays share it): type, size, uploader, and who may download them.

use closeloop_shared::access::Visibility;
use sqlx::Row;

use super::{Storage, StorageError, visibility};

/// One stored attachment's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobFacts<'a> {
    pub sha256: &'a str,
    pub media_type: &'a str,
    pub size: u64,
    pub uploaded_by: &'a str,
}

/// Lists a blob; listing the same content again changes nothing.
pub(super) async fn insert_blob<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    blob: &BlobFacts<'_>,
    now_ms: i64,
) -> Result<(), StorageError> {
    let size = i64::try_from(blob.size)
        .map_err(|_| StorageError::Io(format!("blob of {} bytes", blob.size)))?;
    sqlx::query(
        "INSERT INTO blobs (sha256, media_type, size, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(blob.sha256)
    .bind(blob.media_type)
    .bind(size)
    .bind(blob.uploaded_by)
    .bind(now_ms)
    .execute(db)
    .await?;
    Ok(())
}

impl Storage {
    /// Records an uploaded blob; uploading the same content again changes nothing.
    pub async fn record_blob(&self, blob: &BlobFacts<'_>, now_ms: i64) -> Result<(), StorageError> {
        insert_blob(&self.pool, blob, now_ms).await
    }

    /// The stored attachments (hash, media type) the records `keys` reference.
    pub async fn attachments_of(
        &self,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, StorageError> {
        let mut found = Vec::new();
        // In slices, so no statement binds more values than a database takes.
        for part in keys.chunks(500) {
            let mut q = self.sql(
                "SELECT DISTINCT b.sha256, b.media_type FROM record_attachments a \
                 JOIN blobs b ON b.sha256 = a.sha256 WHERE a.document_id IN (",
            );
            q.in_list(part.iter().map(String::as_str));
            for row in q.fetch_all(&self.pool).await? {
                found.push((row.try_get("sha256")?, row.try_get("media_type")?));
            }
        }
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    /// The media type of a blob the user may download: everything for
    /// head office; for field staff what they uploaded or what a record
    /// they may see references. `None` otherwise, as for an unknown hash.
    pub async fn downloadable_blob(
        &self,
        sha256: &str,
        username: &str,
        visible: Visibility<'_>,
    ) -> Result<Option<String>, StorageError> {
        let mut q = self.sql("SELECT media_type FROM blobs b WHERE b.sha256 = ");
        q.bind(sha256);
        if visible != Visibility::Everything {
            q.push(" AND (b.uploaded_by = ").bind(username).push(
                " OR EXISTS (SELECT 1 FROM record_attachments a \
                 JOIN documents d ON d.id = a.document_id \
                 LEFT JOIN records r ON r.document_id = a.document_id \
                 WHERE a.sha256 = b.sha256",
            );
            visibility::restrict(&mut q, visible, "d.team", "r.owner");
            q.push("))");
        }
        match q.fetch_optional(&self.pool).await? {
            Some(row) => Ok(Some(row.try_get("media_type")?)),
            None => Ok(None),
        }
    }
}
