//! Resumable uploads, for the tablet's attachment outbox: a file goes up in
//! pieces of at most [`UPLOAD_CHUNK_BYTES`], each appended to the partial
//! upload of that user and hash (a file, or rows in the database relays
//! share, so the next piece may go through any relay), so a connection
//! lost mid-upload costs at most one piece. The piece that completes it has the whole content
//! hashed: it must equal the hash it was announced under, or it is thrown
//! away; only then is it stored like any other attachment. A user's
//! partial uploads are theirs alone (another user starts their own), and
//! the record-keeping job removes those left unfinished for a week.

use std::collections::BTreeSet;
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

use super::{accepted_media, created, valid_hash};
use crate::blob_store::Upload;
use crate::error::{AppError, AppQuery};
use crate::http::auth::CurrentUser;
use crate::random::to_hex;
use crate::state::AppState;
use crate::storage::{Appended, BlobFacts};

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
/// piece is still arriving at this relay.
pub(in crate::http) async fn progress(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(sha256): Path<String>,
) -> Result<Json<UploadProgress>, AppError> {
    if !valid_hash(&sha256) {
        return Err(not_a_hash());
    }
    let upload = upload_of(&sha256, &user.username);
    // Only looked at: asking how far an upload got never makes a piece
    // arriving at that moment fail.
    if Claim::is_taken(&upload) {
        return Err(busy());
    }
    Ok(Json(UploadProgress {
        received: state.blobs.held(&upload).await?,
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
    let upload = upload_of(&sha256, &user.username);
    let _claim = Claim::take(&upload)?;
    let store = &state.blobs;
    let held = store.held(&upload).await?;
    if piece.offset != held {
        return Err(elsewhere(held));
    }
    if held == 0 && store.unfinished(&upload.uploader).await? >= MAX_UNFINISHED {
        return Err(AppError::Conflict {
            code: "upload_too_many",
            message: format!("at most {MAX_UNFINISHED} uploads may be unfinished at a time"),
        });
    }
    if piece.size < held {
        return Err(AppError::BadRequest(format!(
            "the server holds {held} bytes of this upload, more than its announced size"
        )));
    }
    let bytes = read_piece(body, piece.size - held).await?;
    let now_held = if bytes.is_empty() {
        held
    } else {
        match store.append(&upload, held, &bytes, state.now_ms()).await? {
            Appended::Held(n) => n,
            Appended::Elsewhere(n) => return Err(elsewhere(n)),
        }
    };
    if now_held < piece.size {
        return Ok(Json(UploadProgress { received: now_held }).into_response());
    }
    if store.upload_hash(&upload).await? != sha256 {
        store.drop_upload(&upload).await?;
        return Err(AppError::Invalid {
            code: "upload_hash_mismatch",
            message: "the content does not match its SHA-256; send it again from the start".into(),
        });
    }
    let facts = BlobFacts {
        sha256: &sha256,
        media_type: &media_type,
        size: piece.size,
        uploaded_by: &user.username,
    };
    store.finish(&upload, &facts, state.now_ms()).await?;
    Ok(created(StoredBlob {
        sha256,
        media_type,
        size: piece.size,
    }))
}

/// A piece's bytes, refused as they stream once larger than
/// [`UPLOAD_CHUNK_BYTES`] or than the `room` left before the announced size.
async fn read_piece(body: Body, room: u64) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("upload interrupted: {e}")))?;
        let got = (bytes.len() + chunk.len()) as u64;
        if got > UPLOAD_CHUNK_BYTES || got > room {
            return Err(AppError::TooLarge(format!(
                "a piece may be at most {} KiB and may not go past the announced size",
                UPLOAD_CHUNK_BYTES >> 10
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn elsewhere(held: u64) -> AppError {
    AppError::Conflict {
        code: "upload_offset",
        message: format!("the server holds {held} bytes of this upload; go on from there"),
    }
}

/// Removes partial uploads untouched since `before_ms`; how many went.
pub(crate) async fn sweep_unfinished(state: &AppState, before_ms: i64) -> usize {
    match state.blobs.sweep_unfinished(before_ms).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "removing unfinished uploads failed");
            0
        }
    }
}

fn not_a_hash() -> AppError {
    AppError::BadRequest("an upload is addressed by the SHA-256 of its content, in hex".into())
}

/// A user's upload of one content (names hashed: any sign-in name makes a
/// safe key).
fn upload_of(sha256: &str, username: &str) -> Upload {
    Upload {
        sha256: sha256.to_string(),
        uploader: to_hex(&Sha256::digest(username.as_bytes())[..8]),
    }
}

/// Uploads taking a piece at this relay now: two pieces of one upload at
/// once would interleave (relays sharing the database are ordered by its
/// row lock as well).
static WRITING: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// One piece at a time per upload, released when dropped.
struct Claim(String);

impl Claim {
    fn take(upload: &Upload) -> Result<Claim, AppError> {
        let key = upload.key();
        let mut writing = WRITING.lock().unwrap_or_else(|p| p.into_inner());
        if !writing.insert(key.clone()) {
            return Err(busy());
        }
        Ok(Claim(key))
    }

    /// Whether a piece of the upload is arriving at this relay now.
    fn is_taken(upload: &Upload) -> bool {
        WRITING
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&upload.key())
    }
}

fn busy() -> AppError {
    AppError::Conflict {
        code: "upload_busy",
        message: "another piece of this upload is arriving; try again".into(),
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
