//! `/api/attachments`: photos, screenshots, video and PDFs, stored by the
//! SHA-256 of their content ([`crate::blob_store`]: on disk, or in the
//! database relays share). Uploads stream to a
//! temporary file while hashing, so memory stays flat and a half-received
//! upload never appears under a real name. A record refers to a blob by hash.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use closeloop_shared::api::StoredBlob;
use closeloop_shared::record::{ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::auth::CurrentUser;
use crate::error::AppError;
use crate::random::to_hex;
use crate::state::AppState;
use crate::storage::BlobFacts;

/// How long a browser may cache a blob: its content never changes under its hash.
const ONE_YEAR_SECONDS: u64 = 365 * 86_400;

mod resume;

pub(crate) use resume::{UNFINISHED_KEPT_MS, sweep_unfinished};

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/attachments", post(upload))
        .route("/attachments/{sha256}", get(download))
        .route(
            "/attachments/{sha256}/upload",
            get(resume::progress).put(resume::append),
        )
}

/// The upload's media type, if it is one attachments may have.
fn accepted_media(headers: &HeaderMap) -> Result<String, AppError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !ATTACHMENT_TYPES.contains(&media_type.as_str()) {
        return Err(AppError::UnsupportedMedia(format!(
            "`{media_type}` is not accepted; send one of {}",
            ATTACHMENT_TYPES.join(", ")
        )));
    }
    Ok(media_type)
}

fn valid_hash(s: &str) -> bool {
    s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

async fn upload(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let media_type = accepted_media(&headers)?;
    let scratch = state.blobs.scratch();
    tokio::fs::create_dir_all(&scratch).await.map_err(io)?;
    // A fixed name would let two uploads write one file.
    let nonce = crate::random::hex::<8>()
        .map_err(|e| AppError::Internal(format!("no random source for an upload: {e}")))?;
    let tmp = scratch.join(nonce);
    let mut file = tokio::fs::File::create(&tmp).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    let outcome: Result<(), AppError> = async {
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| AppError::BadRequest(format!("upload interrupted: {e}")))?;
            size += chunk.len() as u64;
            if size > MAX_ATTACHMENT_BYTES {
                return Err(AppError::TooLarge(format!(
                    "attachments may be at most {} MiB",
                    MAX_ATTACHMENT_BYTES >> 20
                )));
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(io)?;
        }
        if size == 0 {
            return Err(AppError::BadRequest("the upload is empty".into()));
        }
        file.sync_all().await.map_err(io)
    }
    .await;
    drop(file);
    if let Err(e) = outcome {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    let sha256 = to_hex(&hasher.finalize());
    let facts = BlobFacts {
        sha256: &sha256,
        media_type: &media_type,
        size,
        uploaded_by: &user.username,
    };
    state.blobs.keep(&tmp, &facts, state.now_ms()).await?;
    Ok(created(StoredBlob {
        sha256,
        media_type,
        size,
    }))
}

/// `201 Created` with what was stored.
fn created(blob: StoredBlob) -> Response {
    (StatusCode::CREATED, Json(blob)).into_response()
}

async fn download(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(sha256): Path<String>,
) -> Result<Response, AppError> {
    if !valid_hash(&sha256) {
        return Err(AppError::NotFound);
    }
    // Field staff get what they uploaded or what a record they may see
    // references; anything else is "not found", so nothing leaks.
    let media_type = state
        .storage
        .downloadable_blob(&sha256, &user.username, user.visibility())
        .await?
        .ok_or(AppError::NotFound)?;
    let body = state.blobs.body(&sha256).await?.ok_or(AppError::NotFound)?;
    // Uploaded content is the uploader's, not ours: images may show in
    // place, anything else (a PDF, a video) downloads, and none of it may
    // run script with our origin's rights.
    let disposition = if media_type.starts_with("image/") {
        format!("inline; filename=\"{sha256}\"")
    } else {
        format!("attachment; filename=\"{sha256}\"")
    };
    Ok((
        [
            (header::CONTENT_TYPE, media_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
            // Content never changes under a hash.
            (
                header::CACHE_CONTROL,
                format!("private, max-age={ONE_YEAR_SECONDS}, immutable"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        body,
    )
        .into_response())
}

fn io(e: std::io::Error) -> AppError {
    AppError::Storage(crate::storage::StorageError::Io(format!(
        "attachment storage: {e}"
    )))
}
