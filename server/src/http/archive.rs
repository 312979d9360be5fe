//! `/api/archive/export.zip`: the archive for a period (S002 5.4) — the
//! archived records received in it as CSV and XLSX, and every attachment
//! they reference — for head office and supervisors. The zip is written to
//! a file off the async workers and streamed, so a large period does not
//! sit in memory; the export is audited.

use std::io::Write;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use closeloop_shared::access::Principal;
use closeloop_shared::api::RecordQuery;
use closeloop_shared::audit::AuditAction;
use zip::write::SimpleFileOptions;

use super::auth::CurrentUser;
use super::export::FileKind;
use super::records::summaries;
use crate::error::{AppError, AppQuery};
use crate::state::AppState;
use crate::storage::AuditNote;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/archive/export.zip", get(export_zip))
}

/// The file name an attachment gets in the zip.
fn entry_name(sha256: &str, media_type: &str) -> String {
    let ext = match media_type {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/heic" => "heic",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "application/pdf" => "pdf",
        _ => "bin",
    };
    format!("attachments/{sha256}.{ext}")
}

async fn export_zip(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<RecordQuery>,
) -> Result<Response, AppError> {
    if !user.sees_customer_files() {
        return Err(AppError::Forbidden);
    }
    let period = RecordQuery {
        archived: Some(true),
        ..RecordQuery::period(q.from, q.to)
    };
    let records = rows(&state, &user, &period).await?;
    let keys: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let attachments = state.storage.attachments_of(&keys).await?;
    let note = AuditNote {
        actor: &user.username,
        action: AuditAction::RecordsExported,
        subject: Some("archive"),
        detail: Some(format!(
            "archive zip: {} records, {} attachments, received {:?}..{:?}",
            records.len(),
            attachments.len(),
            q.from,
            q.to
        )),
    };
    state.storage.audit(note, state.now_ms()).await?;

    let blobs = state.blobs.clone();
    let tmp = blobs.scratch();
    let name = crate::random::hex::<16>().map_err(|e| AppError::Internal(e.to_string()))?;
    let path = tmp.join(format!("archive-{name}.zip"));
    let written = path.clone();
    let file = tokio::task::spawn_blocking(move || -> Result<std::fs::File, String> {
        std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        let out = std::fs::File::create(&written).map_err(|e| e.to_string())?;
        let mut zip = zip::ZipWriter::new(out);
        let options = SimpleFileOptions::default();
        for kind in [FileKind::Csv, FileKind::Xlsx] {
            zip.start_file(kind.file_name(), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(&kind.bytes(&records)?)
                .map_err(|e| e.to_string())?;
        }
        for (sha256, media_type) in &attachments {
            // Photos and videos are compressed already.
            let stored = options.compression_method(zip::CompressionMethod::Stored);
            zip.start_file(entry_name(sha256, media_type), stored)
                .map_err(|e| e.to_string())?;
            blobs.copy_blocking(sha256, &mut zip)?;
        }
        let out = zip.finish().map_err(|e| e.to_string())?;
        out.sync_all().map_err(|e| e.to_string())?;
        std::fs::File::open(&written).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| AppError::Internal(format!("archive export task: {e}")))?;
    // Open, the file streams on after its name is gone.
    let _ = std::fs::remove_file(&path);
    let file = file.map_err(|e| AppError::Internal(format!("archive export: {e}")))?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"closeloop-archive.zip\"".to_string(),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Records one archive zip may hold; more needs a narrower period.
const MAX_ARCHIVE_ROWS: i64 = 100_000;

/// The caller's archived records of the period, at most [`MAX_ARCHIVE_ROWS`].
async fn rows(
    state: &AppState,
    user: &Principal,
    q: &RecordQuery,
) -> Result<Vec<closeloop_shared::api::RecordSummary>, AppError> {
    let rows = summaries(
        &state.storage,
        &state.sla.get(),
        state.now_ms(),
        user,
        q,
        MAX_ARCHIVE_ROWS + 1,
        0,
    )
    .await?;
    if rows.len() as i64 > MAX_ARCHIVE_ROWS {
        return Err(AppError::BadRequest(format!(
            "more than {MAX_ARCHIVE_ROWS} records match; narrow the period"
        )));
    }
    Ok(rows)
}
