//! `/api/records/export.csv` and `.xlsx`: the filtered list for analysis in
//! a spreadsheet (S002 §7), with the same filters and visibility as the list.
//! Both read the records a page at a time, newest first, and never hold
//! them all: CSV is streamed as it is written; XLSX is written row by row
//! to a temporary file (the workbook's constant-memory mode) and then
//! streamed. `X-Total-Count` tells the page how many rows to expect.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use closeloop_shared::access::Principal;
use closeloop_shared::api::{RecordQuery, RecordSummary};
use closeloop_shared::audit::AuditAction;
use futures_util::StreamExt;

mod files;

pub(super) use files::{FileKind, inert};
use files::{HEADINGS, XlsxRows, csv_rows};

use super::auth::CurrentUser;
use super::records::summary;
use crate::error::{AppError, AppQuery};
use crate::state::{AppState, Clock, SystemClock};
use crate::storage::{AuditNote, RecordOrder, Storage};

/// Records read per page of an export.
const EXPORT_PAGE: i64 = 2_000;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/records/export.csv", get(export_csv))
        .route("/records/export.xlsx", get(export_xlsx))
}

/// The caller's filtered records a page at a time, newest first, with
/// their SLA clocks at the moment the export began.
pub(super) struct Pages {
    storage: Storage,
    sla: std::sync::Arc<closeloop_shared::sla::SlaConfig>,
    now_ms: i64,
    user: Principal,
    q: RecordQuery,
    after: Option<(i64, String)>,
    done: bool,
}

impl Pages {
    pub(super) fn new(state: &AppState, user: &Principal, q: &RecordQuery) -> Self {
        Pages {
            storage: state.storage.clone(),
            sla: state.sla.get(),
            now_ms: state.now_ms(),
            user: user.clone(),
            q: q.clone(),
            after: None,
            done: false,
        }
    }

    /// The next page; `None` after the last.
    pub(super) async fn next(&mut self) -> Result<Option<Vec<RecordSummary>>, AppError> {
        if self.done {
            return Ok(None);
        }
        let rows = self
            .storage
            .records_after(
                &self.q,
                self.user.visibility(),
                self.after.as_ref(),
                EXPORT_PAGE,
                self.now_ms,
            )
            .await;
        let rows = rows.inspect_err(|_| self.done = true)?;
        self.done = rows.len() < EXPORT_PAGE as usize;
        self.after = rows
            .last()
            .map(|r| (r.sla.facts.received_at_ms, r.id.clone()));
        Ok((!rows.is_empty()).then(|| {
            rows.into_iter()
                .map(|r| summary(r, &self.sla, self.now_ms))
                .collect()
        }))
    }
}

pub(super) fn attachment(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Every record, for `closeloop-server export`, written to `out` a page at
/// a time; returns how many.
pub async fn export_records(
    storage: &Storage,
    format: &str,
    out: &mut (dyn std::io::Write + Send),
) -> Result<usize, String> {
    let kind = FileKind::named(format)
        .ok_or_else(|| format!("unknown export format `{format}`: use csv or xlsx"))?;
    let now = SystemClock.now_ms();
    let sla = storage
        .sla_config(now)
        .await
        .map_err(|e| format!("reading the SLA settings: {e}"))?;
    let mut pages = Pages {
        storage: storage.clone(),
        sla: std::sync::Arc::new(sla),
        now_ms: now,
        user: Principal {
            user_id: 0,
            username: "export".into(),
            role: closeloop_shared::access::Role::Admin,
            team: None,
        },
        q: RecordQuery::default(),
        after: None,
        done: false,
    };
    let read = |e: AppError| format!("reading the records: {e}");
    let mut count = 0;
    match kind {
        FileKind::Csv => {
            out.write_all(&csv_rows(Some(&HEADINGS), &[])?)
                .map_err(|e| e.to_string())?;
            while let Some(page) = pages.next().await.map_err(read)? {
                count += page.len();
                out.write_all(&csv_rows(None, &page)?)
                    .map_err(|e| e.to_string())?;
            }
        }
        FileKind::Xlsx => {
            let mut book = XlsxRows::new()?;
            while let Some(page) = pages.next().await.map_err(read)? {
                count += page.len();
                book.add(&page)?;
            }
            let mut file = book.finish()?;
            std::io::copy(&mut file, out).map_err(|e| e.to_string())?;
        }
    }
    Ok(count)
}

/// The caller's filtered records as a file, streamed: CSV as its pages
/// are written, XLSX once its temporary file is complete.
async fn export(
    state: &AppState,
    user: &Principal,
    q: &RecordQuery,
    kind: FileKind,
) -> Result<Response, AppError> {
    RecordOrder::from_param(q.sort.as_deref()).ok_or_else(|| {
        AppError::BadRequest(format!(
            "cannot sort by `{}`",
            q.sort.as_deref().unwrap_or_default()
        ))
    })?;
    let now = state.now_ms();
    let total = state
        .storage
        .count_records(q, user.visibility(), now)
        .await?;
    let note = AuditNote {
        actor: &user.username,
        action: AuditAction::RecordsExported,
        subject: None,
        detail: Some(format!(
            "{total} rows as {}; filter {}",
            kind.file_name(),
            serde_json::to_string(q).unwrap_or_default()
        )),
    };
    state.storage.audit(note, now).await?;
    let mut pages = Pages::new(state, user, q);
    let (body, length) = match kind {
        FileKind::Csv => {
            let heading = futures_util::stream::once(async {
                csv_rows(Some(&HEADINGS), &[]).map_err(std::io::Error::other)
            });
            let rest = futures_util::stream::unfold(pages, |mut pages| async move {
                let chunk = match pages.next().await {
                    Ok(Some(page)) => csv_rows(None, &page).map_err(std::io::Error::other),
                    Ok(None) => return None,
                    Err(e) => Err(std::io::Error::other(e.to_string())),
                };
                Some((chunk, pages))
            });
            (Body::from_stream(heading.chain(rest)), None)
        }
        FileKind::Xlsx => {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<RecordSummary>>(2);
            let writer = tokio::task::spawn_blocking(move || {
                let mut book = XlsxRows::new()?;
                while let Some(page) = rx.blocking_recv() {
                    book.add(&page)?;
                }
                book.finish()
            });
            while let Some(page) = pages.next().await? {
                if tx.send(page).await.is_err() {
                    break;
                }
            }
            drop(tx);
            let file = writer
                .await
                .map_err(|e| AppError::Internal(format!("export task: {e}")))?
                .map_err(|e| AppError::Internal(format!("export: {e}")))?;
            let length = file.metadata().map(|m| m.len()).ok();
            let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
            (Body::from_stream(stream), length)
        }
    };
    let mut response = attachment(kind.content_type(), kind.file_name(), Vec::new());
    *response.body_mut() = body;
    let headers = response.headers_mut();
    headers.insert("x-total-count", header::HeaderValue::from(total));
    if let Some(n) = length {
        headers.insert(header::CONTENT_LENGTH, header::HeaderValue::from(n));
    }
    Ok(response)
}

async fn export_csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<RecordQuery>,
) -> Result<Response, AppError> {
    export(&state, &user, &q, FileKind::Csv).await
}

async fn export_xlsx(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<RecordQuery>,
) -> Result<Response, AppError> {
    export(&state, &user, &q, FileKind::Xlsx).await
}
