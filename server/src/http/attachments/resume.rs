//! Resumable uploads, for the tablet's attachment outbox: a file goes up in
//! pieces of at most [`UPLOAD_CHUNK_BYTES`], each appended to a partial
//! file of that user and hash, so a connection lost mid-upload costs at
//! most one piece. The piece that completes it has the whole content
//! hashed: it must equal the hash it was announced under, or it is thrown
//! away; only then is it stored like any other attachment. A user's
//! partial files are theirs alone (another user starts their own), and
//! the record-keeping job removes those left unfinished for a week.

use std::collections::BTreeSet;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Mutex;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use closeloop_shared::api::{StoredBlob, UploadProgress};
use closeloop_shared::record::{MAX_ATTACHMENT_BYTES, UPLOAD_CHUNK_BYTES};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{accepted_media, blob_dir, created, io, valid_hash};
use crate::error::{AppError, AppQuery};
use crate::http::auth::CurrentUser;
use crate::random::to_hex;
use crate::state::AppState;
use crate::storage::BlobFacts;

/// Unfinished uploads one user may have at a time.
const MAX_UNFINISHED: usize = 64;
/// Partial files untouched this long are removed.
pub(crate) const UNFINISHED_KEPT_MS: i64 = 7 * 86_400_000;

/// Where a piece goes: `offset` must be what the server holds so far,
/// `size` is the whole file's.
#[derive(Debug, serde::Deserialize)]
pub(in crate::http) struct Piece {
    offset: u64,
    size: u64,
}

/// `GET /api/attachments/{sha256}/upload`: how much of the caller's
/// upload of this content the server holds (0 for none); "busy" while a
/// piece is still arriving (or being dropped after a lost connection).
pub(in crate::http) async fn progress(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(sha256): Path<String>,
) -> Result<Json<UploadProgress>, AppError> {
    if !valid_hash(&sha256) {
        return Err(not_a_hash());
    }
    let path = partial_path(&state, &sha256, &user.username);
    let _claim = Claim::take(&path)?;
    Ok(Json(UploadProgress {
        received: held(&path).await,
    }))
}

/// `PUT /api/attachments/{sha256}/upload?offset=&size=`: appends one
/// piece; 200 with the progress, or 201 with the stored blob once the
/// last piece arrived and the content matched its hash.
pub(in crate::http) async fn append(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(sha256): Path<String>,
    AppQuery(piece): AppQuery<Piece>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    if !valid_hash(&sha256) {
        return Err(not_a_hash());
    }
    let media_type = accepted_media(&headers)?;
    if piece.size == 0 || piece.size > MAX_ATTACHMENT_BYTES {
        return Err(AppError::TooLarge(format!(
            "attachments may be at most {} MiB",
            MAX_ATTACHMENT_BYTES >> 20
        )));
    }
    let path = partial_path(&state, &sha256, &user.username);
    let _claim = Claim::take(&path)?;
    let dir = path.parent().map(FsPath::to_path_buf).unwrap_or_default();
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    let held = held(&path).await;
    if piece.offset != held {
        return Err(AppError::Conflict {
            code: "upload_offset",
            message: format!("the server holds {held} bytes of this upload; go on from there"),
        });
    }
    if held == 0 && unfinished(&dir, &user_tag(&user.username)).await >= MAX_UNFINISHED {
        return Err(AppError::Conflict {
            code: "upload_too_many",
            message: format!("at most {MAX_UNFINISHED} uploads may be unfinished at a time"),
        });
    }
    let now_held = match write_piece(&path, held, piece.size, body).await {
        Ok(n) => n,
        Err(e) => {
            // Back to what was there: the next try starts at a known offset.
            if let Ok(f) = tokio::fs::OpenOptions::new().write(true).open(&path).await {
                let _ = f.set_len(held).await;
            }
            return Err(e);
        }
    };
    if now_held < piece.size {
        return Ok(Json(UploadProgress { received: now_held }).into_response());
    }
    if hash_of(&path).await? != sha256 {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(AppError::Invalid {
            code: "upload_hash_mismatch",
            message: "the content does not match its SHA-256; send it again from the start".into(),
        });
    }
    tokio::fs::rename(&path, blob_dir(&state).join(&sha256))
        .await
        .map_err(io)?;
    let facts = BlobFacts {
        sha256: &sha256,
        media_type: &media_type,
        size: piece.size,
        uploaded_by: &user.username,
    };
    state.storage.record_blob(&facts, state.now_ms()).await?;
    Ok(created(StoredBlob {
        sha256,
        media_type,
        size: piece.size,
    }))
}

/// Appends the body at `held`; the bytes held afterwards. A piece larger
/// than [`UPLOAD_CHUNK_BYTES`] or going past `size` is refused as it
/// streams, before it is written.
async fn write_piece(path: &FsPath, held: u64, size: u64, body: Body) -> Result<u64, AppError> {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .map_err(io)?;
    let mut got: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("upload interrupted: {e}")))?;
        got += chunk.len() as u64;
        if got > UPLOAD_CHUNK_BYTES || held + got > size {
            return Err(AppError::TooLarge(format!(
                "a piece may be at most {} KiB and may not go past the announced size",
                UPLOAD_CHUNK_BYTES >> 10
            )));
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.sync_all().await.map_err(io)?;
    Ok(held + got)
}

/// Removes partial files untouched since `before_ms`; how many went.
pub(crate) async fn sweep_unfinished(state: &AppState, before_ms: i64) -> usize {
    let Ok(mut entries) = tokio::fs::read_dir(blob_dir(state).join("partial")).await else {
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

fn not_a_hash() -> AppError {
    AppError::BadRequest("an upload is addressed by the SHA-256 of its content, in hex".into())
}

/// A user's partial upload of one content (names hashed: any sign-in name
/// makes a safe file name).
fn partial_path(state: &AppState, sha256: &str, username: &str) -> PathBuf {
    blob_dir(state)
        .join("partial")
        .join(format!("{sha256}-{}", user_tag(username)))
}

fn user_tag(username: &str) -> String {
    to_hex(&Sha256::digest(username.as_bytes())[..8])
}

/// Bytes of a partial file (0 if there is none).
async fn held(path: &FsPath) -> u64 {
    tokio::fs::metadata(path).await.map_or(0, |m| m.len())
}

/// The user's unfinished uploads in `dir`.
async fn unfinished(dir: &FsPath, tag: &str) -> usize {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return 0;
    };
    let mut n = 0;
    while let Ok(Some(e)) = entries.next_entry().await {
        if e.file_name().to_string_lossy().ends_with(tag) {
            n += 1;
        }
    }
    n
}

async fn hash_of(path: &FsPath) -> Result<String, AppError> {
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(to_hex(&hasher.finalize()))
}

/// Partial files being written now: two pieces of one upload at once
/// would interleave.
static WRITING: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// One piece at a time per partial file, released when dropped.
struct Claim(PathBuf);

impl Claim {
    fn take(path: &FsPath) -> Result<Claim, AppError> {
        let mut writing = WRITING.lock().unwrap_or_else(|p| p.into_inner());
        if !writing.insert(path.to_path_buf()) {
            return Err(AppError::Conflict {
                code: "upload_busy",
                message: "another piece of this upload is arriving; try again".into(),
            });
        }
        Ok(Claim(path.to_path_buf()))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        WRITING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.0);
    }
}
