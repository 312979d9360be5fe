//! Where attachments' bytes live. Alone on SQLite, a relay keeps them as
//! files named by hash under `<data dir>/blobs/`; relays sharing
//! PostgreSQL keep them in the database, so a photo uploaded through one
//! relay downloads through any other, and a resumable upload goes on
//! through whichever relay the balancer picks. Uploads arrive in a local
//! scratch file (hashed as they stream) either way and move in only once
//! complete, so nothing half-received is ever served.

use std::io::Write;
use std::path::{Path, PathBuf};

use axum::body::Body;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::storage::{Appended, BlobFacts, Storage, StorageError};

/// The attachments' bytes, on disk or in the shared database.
#[derive(Clone)]
pub(crate) struct BlobStore {
    storage: Storage,
    /// Files named by hash, or, when `in_database`, only this relay's
    /// scratch space for uploads still arriving.
    dir: PathBuf,
    /// Bytes are pieces in the database relays share.
    in_database: bool,
}

/// One user's upload of one content: resumable uploads are the uploader's
/// own (another user uploading the same content starts their own).
pub(crate) struct Upload {
    pub sha256: String,
    /// The uploader's tag (a hash of the name: any name makes a safe key).
    pub uploader: String,
}

impl Upload {
    /// The upload's name: its content and its uploader.
    pub(crate) fn key(&self) -> String {
        format!("{}-{}", self.sha256, self.uploader)
    }
}

fn io(what: &str, e: std::io::Error) -> StorageError {
    StorageError::Io(format!("attachment storage, {what}: {e}"))
}

impl BlobStore {
    /// In the database when it is shared with other relays, else on disk.
    pub(crate) fn new(storage: &Storage, data_dir: &Path) -> Self {
        BlobStore {
            storage: storage.clone(),
            dir: data_dir.join("blobs"),
            in_database: storage.shared_url().is_some(),
        }
    }

    /// This relay's directory for files being received or assembled.
    pub(crate) fn scratch(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Moves a completely received, hashed file in and lists it.
    pub(crate) async fn keep(
        &self,
        file: &Path,
        facts: &BlobFacts<'_>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        if !self.in_database {
            tokio::fs::rename(file, self.dir.join(facts.sha256))
                .await
                .map_err(|e| io("keeping an upload", e))?;
            return self.storage.record_blob(facts, now_ms).await;
        }
        let kept = match tokio::fs::File::open(file).await {
            Ok(mut from) => {
                self.storage
                    .keep_blob_pieces(facts, &mut from, now_ms)
                    .await
            }
            Err(e) => Err(io("reading an upload", e)),
        };
        let _ = tokio::fs::remove_file(file).await;
        kept
    }

    /// The blob's bytes as a response body; `None` if they are not stored.
    pub(crate) async fn body(&self, sha256: &str) -> Result<Option<Body>, StorageError> {
        if !self.in_database {
            return Ok(tokio::fs::File::open(self.dir.join(sha256))
                .await
                .ok()
                .map(|file| Body::from_stream(tokio_util::io::ReaderStream::new(file))));
        }
        let Some(first) = self.storage.blob_piece(sha256, 0).await? else {
            return Ok(None);
        };
        // Piece by piece, one query each: no connection is held while a
        // slow client reads.
        let next = first.len() as u64;
        let state = (self.storage.clone(), sha256.to_string(), Some(first), next);
        let pieces =
            futures_util::stream::try_unfold(state, |(storage, sha256, ready, next)| async move {
                if let Some(piece) = ready {
                    return Ok(Some((piece, (storage, sha256, None, next))));
                }
                match storage.blob_piece(&sha256, next).await? {
                    Some(piece) => {
                        let after = next + piece.len() as u64;
                        Ok(Some((piece, (storage, sha256, None, after))))
                    }
                    None => Ok::<_, StorageError>(None),
                }
            });
        Ok(Some(Body::from_stream(pieces)))
    }

    /// Copies the blob into `out`, from a blocking thread (the archive zip
    /// is written on one).
    pub(crate) fn copy_blocking(&self, sha256: &str, out: &mut dyn Write) -> Result<(), String> {
        if !self.in_database {
            let mut file = std::fs::File::open(self.dir.join(sha256)).map_err(|e| e.to_string())?;
            std::io::copy(&mut file, out).map_err(|e| e.to_string())?;
            return Ok(());
        }
        let runtime = tokio::runtime::Handle::current();
        let mut next = 0;
        while let Some(piece) = runtime
            .block_on(self.storage.blob_piece(sha256, next))
            .map_err(|e| e.to_string())?
        {
            out.write_all(&piece).map_err(|e| e.to_string())?;
            next += piece.len() as u64;
        }
        if next == 0 {
            return Err(format!("attachment {sha256} has no stored bytes"));
        }
        Ok(())
    }

    /// Removes the files of blobs storage has forgotten (in the database
    /// their pieces went with their row).
    pub(crate) async fn discard(&self, hashes: &[String]) {
        if !self.in_database {
            for sha256 in hashes {
                if let Err(e) = tokio::fs::remove_file(self.dir.join(sha256)).await
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(sha256, error = %e, "removing an attachment's file failed");
                }
            }
        }
    }

    /// Moves blobs a relay kept on its own disk before attachments were
    /// shared into the database; how many moved.
    pub(crate) async fn move_in_local_files(&self) -> Result<usize, StorageError> {
        if !self.in_database {
            return Ok(0);
        }
        let mut moved = 0;
        for sha256 in self.storage.blobs_without_pieces().await? {
            let path = self.dir.join(&sha256);
            if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
                continue;
            }
            let mut from = tokio::fs::File::open(&path)
                .await
                .map_err(|e| io("moving a file in", e))?;
            self.storage.fill_blob_pieces(&sha256, &mut from).await?;
            moved += 1;
        }
        Ok(moved)
    }

    /// Bytes of `upload` held so far.
    pub(crate) async fn held(&self, upload: &Upload) -> Result<u64, StorageError> {
        if self.in_database {
            return self.storage.upload_held(&upload.key()).await;
        }
        Ok(tokio::fs::metadata(self.partial(upload))
            .await
            .map_or(0, |m| m.len()))
    }

    /// Appends `bytes` at `offset`, if that is what is held. On disk the
    /// caller holds the upload's claim; in the database a row lock orders
    /// relays.
    pub(crate) async fn append(
        &self,
        upload: &Upload,
        offset: u64,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<Appended, StorageError> {
        if self.in_database {
            return self
                .storage
                .append_upload_piece(&upload.key(), &upload.uploader, offset, bytes, now_ms)
                .await;
        }
        let path = self.partial(upload);
        let held = self.held(upload).await?;
        if held != offset {
            return Ok(Appended::Elsewhere(held));
        }
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| io("a partial upload", e))?;
        }
        let written = async {
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .await?;
            file.write_all(bytes).await?;
            file.sync_all().await
        }
        .await;
        if let Err(e) = written {
            // Back to what was there: the next try starts at a known offset.
            if let Ok(f) = tokio::fs::OpenOptions::new().write(true).open(&path).await {
                let _ = f.set_len(held).await;
            }
            return Err(io("a partial upload", e));
        }
        Ok(Appended::Held(held + bytes.len() as u64))
    }

    /// How many uploads `uploader` has unfinished.
    pub(crate) async fn unfinished(&self, uploader: &str) -> Result<usize, StorageError> {
        if self.in_database {
            return self.storage.unfinished_uploads(uploader).await;
        }
        let Ok(mut entries) = tokio::fs::read_dir(self.dir.join("partial")).await else {
            return Ok(0);
        };
        let mut n = 0;
        while let Ok(Some(e)) = entries.next_entry().await {
            if e.file_name().to_string_lossy().ends_with(uploader) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The SHA-256 (hex) of everything `upload` holds.
    pub(crate) async fn upload_hash(&self, upload: &Upload) -> Result<String, StorageError> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        if self.in_database {
            let key = upload.key();
            let mut next = 0;
            while let Some(piece) = self.storage.upload_piece(&key, next).await? {
                hasher.update(&piece);
                next += piece.len() as u64;
            }
        } else {
            let mut file = tokio::fs::File::open(self.partial(upload))
                .await
                .map_err(|e| io("reading an upload", e))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file
                    .read(&mut buf)
                    .await
                    .map_err(|e| io("reading an upload", e))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        }
        Ok(crate::random::to_hex(&hasher.finalize()))
    }

    /// Makes a complete upload (its hash checked) a stored, listed blob.
    pub(crate) async fn finish(
        &self,
        upload: &Upload,
        facts: &BlobFacts<'_>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        if self.in_database {
            return self
                .storage
                .finish_upload(&upload.key(), facts, now_ms)
                .await;
        }
        self.keep(&self.partial(upload), facts, now_ms).await
    }

    /// Throws an upload away.
    pub(crate) async fn drop_upload(&self, upload: &Upload) -> Result<(), StorageError> {
        if self.in_database {
            return self.storage.drop_upload(&upload.key()).await;
        }
        let _ = tokio::fs::remove_file(self.partial(upload)).await;
        Ok(())
    }

    /// Removes uploads untouched since `before_ms`; how many went.
    pub(crate) async fn sweep_unfinished(&self, before_ms: i64) -> Result<usize, StorageError> {
        if self.in_database {
            return self.storage.sweep_uploads(before_ms).await;
        }
        Ok(sweep_files(&self.dir.join("partial"), before_ms).await)
    }

    /// A user's partial upload on this relay's disk.
    fn partial(&self, upload: &Upload) -> PathBuf {
        self.dir.join("partial").join(upload.key())
    }
}

/// Removes files in `dir` untouched since `before_ms`; how many went.
async fn sweep_files(dir: &Path, before_ms: i64) -> usize {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return 0;
    };
    let mut removed = 0;
    while let Ok(Some(entry)) = entries.next_entry().await {
        let touched_ms = entry
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        if touched_ms < before_ms && tokio::fs::remove_file(entry.path()).await.is_ok() {
            removed += 1;
        }
    }
    removed
}
