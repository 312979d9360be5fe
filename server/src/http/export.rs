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
use futures_util::StreamExt;
use rust_xlsxwriter::{Format, Workbook};

use super::auth::CurrentUser;
use super::records::summary;
use crate::error::{AppError, AppQuery};
use crate::state::{AppState, Clock, SystemClock};
use crate::storage::{AuditNote, RecordOrder, Storage};
use closeloop_shared::audit::AuditAction;

/// Records read per page of an export.
const EXPORT_PAGE: i64 = 2_000;
/// Data rows on one XLSX sheet (Excel's limit less the heading); more go
/// on the next sheet.
const SHEET_ROWS: u32 = 1_048_575;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/records/export.csv", get(export_csv))
        .route("/records/export.xlsx", get(export_xlsx))
}

/// Column headings, Chinese first as the default UI language.
const HEADINGS: [&str; 11] = [
    "编号 id",
    "接收时间 received (UTC)",
    "渠道 channel",
    "客户 customer",
    "反馈内容 description",
    "类型 type",
    "优先级 priority",
    "状态 status",
    "负责人 owner",
    "部门 department",
    "冲突 conflicts",
];

fn cells(r: &RecordSummary) -> [String; 11] {
    let received = chrono::DateTime::from_timestamp_millis(r.received_at)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default();
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        r.id.clone(),
        received,
        r.channel.clone(),
        r.customer.clone(),
        r.description.clone(),
        opt(&r.feedback_type),
        opt(&r.priority),
        r.status.clone(),
        opt(&r.owner),
        opt(&r.department),
        r.conflicts.to_string(),
    ]
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

/// A cell a spreadsheet program would run as a formula (`=`, `+`, `-`,
/// `@`, or a tab or carriage return before one) gets a leading `'`, so
/// customer-typed text opens as text, never as a command.
pub(super) fn inert(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// Excel refuses a cell longer than this many characters.
const XLSX_MAX_CELL_CHARS: usize = 32_767;
/// Ends a cell cut to fit, so the reader sees text is missing.
const CUT_MARKER: &str = "…[truncated]";

/// `cell` cut to what one XLSX cell holds, marked when cut.
fn fits_xlsx(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.chars().count() <= XLSX_MAX_CELL_CHARS {
        return cell.into();
    }
    let keep = XLSX_MAX_CELL_CHARS - CUT_MARKER.chars().count();
    let mut cut: String = cell.chars().take(keep).collect();
    cut.push_str(CUT_MARKER);
    cut.into()
}

/// A table as CSV with a UTF-8 byte-order mark, so spreadsheet programs
/// read the Chinese correctly; every cell made inert.
fn csv_table(headings: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(headings).map_err(|e| e.to_string())?;
    for row in rows {
        w.write_record(row.iter().cloned().map(inert))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// A table as an XLSX workbook with a bold, frozen heading row.
fn xlsx_table(
    sheet_name: &str,
    headings: &[&str],
    rows: &[Vec<String>],
) -> Result<Vec<u8>, String> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let fail = |e: rust_xlsxwriter::XlsxError| e.to_string();
    sheet.set_name(sheet_name).map_err(fail)?;
    let bold = Format::new().set_bold();
    for (c, h) in headings.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(fail)?;
    }
    for (i, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            // A string cell is never run as a formula; only its length matters.
            sheet
                .write_string(i as u32 + 1, c as u16, fits_xlsx(v))
                .map_err(fail)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(fail)?;
    book.save_to_buffer().map_err(fail)
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

/// Record rows as CSV, after the byte-order mark and headings when given
/// (the start of the file); every cell made inert.
fn csv_rows(headings: Option<&[&str]>, records: &[RecordSummary]) -> Result<Vec<u8>, String> {
    let start = if headings.is_some() {
        b"\xEF\xBB\xBF".to_vec()
    } else {
        Vec::new()
    };
    let mut w = csv::Writer::from_writer(start);
    if let Some(h) = headings {
        w.write_record(h).map_err(|e| e.to_string())?;
    }
    for r in records {
        w.write_record(cells(r).map(inert))
            .map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// A records workbook written row by row to temporary files, so memory
/// stays flat however many rows; a new sheet past Excel's row limit.
struct XlsxRows {
    book: Workbook,
    sheets: u16,
    row: u32,
}

impl XlsxRows {
    fn new() -> Result<Self, String> {
        let mut rows = XlsxRows {
            book: Workbook::new(),
            sheets: 0,
            row: 0,
        };
        rows.next_sheet()?;
        Ok(rows)
    }

    fn next_sheet(&mut self) -> Result<(), String> {
        let fail = |e: rust_xlsxwriter::XlsxError| e.to_string();
        self.sheets += 1;
        let name = match self.sheets {
            1 => "反馈 Feedback".to_string(),
            n => format!("反馈 Feedback {n}"),
        };
        let sheet = self
            .book
            .add_worksheet_with_constant_memory()
            .map_err(fail)?;
        sheet.set_name(name).map_err(fail)?;
        sheet.set_freeze_panes(1, 0).map_err(fail)?;
        let bold = Format::new().set_bold();
        for (c, h) in HEADINGS.iter().enumerate() {
            sheet
                .write_string_with_format(0, c as u16, *h, &bold)
                .map_err(fail)?;
        }
        self.row = 0;
        Ok(())
    }

    fn add(&mut self, records: &[RecordSummary]) -> Result<(), String> {
        for r in records {
            if self.row == SHEET_ROWS {
                self.next_sheet()?;
            }
            self.row += 1;
            let sheet = self
                .book
                .worksheet_from_index(usize::from(self.sheets - 1))
                .map_err(|e| e.to_string())?;
            for (c, v) in cells(r).iter().enumerate() {
                sheet
                    .write_string(self.row, c as u16, fits_xlsx(v))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    /// The finished workbook, in an unnamed temporary file, read from the start.
    fn finish(mut self) -> Result<std::fs::File, String> {
        use std::io::Seek;
        let mut file = tempfile::tempfile().map_err(|e| e.to_string())?;
        self.book
            .save_to_writer(&mut file)
            .map_err(|e| e.to_string())?;
        file.rewind().map_err(|e| e.to_string())?;
        Ok(file)
    }
}

/// The two file formats of an export.
#[derive(Debug, Clone, Copy)]
pub(super) enum FileKind {
    Csv,
    Xlsx,
}

impl FileKind {
    pub(super) fn named(name: &str) -> Option<Self> {
        match name {
            "csv" => Some(FileKind::Csv),
            "xlsx" => Some(FileKind::Xlsx),
            _ => None,
        }
    }

    pub(super) fn bytes(self, records: &[RecordSummary]) -> Result<Vec<u8>, String> {
        let rows: Vec<Vec<String>> = records.iter().map(|r| cells(r).to_vec()).collect();
        self.table("反馈 Feedback", &HEADINGS, &rows)
    }

    /// Any table in this format (`sheet` names the XLSX sheet).
    pub(super) fn table(
        self,
        sheet: &str,
        headings: &[&str],
        rows: &[Vec<String>],
    ) -> Result<Vec<u8>, String> {
        match self {
            FileKind::Csv => csv_table(headings, rows),
            FileKind::Xlsx => xlsx_table(sheet, headings, rows),
        }
    }

    pub(super) fn content_type(self) -> &'static str {
        match self {
            FileKind::Csv => "text/csv; charset=utf-8",
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub(super) fn file_name(self) -> &'static str {
        match self {
            FileKind::Csv => "closeloop-records.csv",
            FileKind::Xlsx => "closeloop-records.xlsx",
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_open_as_text() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(inert(bad.into()), format!("'{bad}"));
        }
        assert_eq!(inert("收银台排队".into()), "收银台排队");
        assert_eq!(inert("a=b".into()), "a=b");
    }

    #[test]
    fn an_over_long_cell_is_cut_to_excels_limit_with_a_marker() {
        let long = "长".repeat(40_000);
        let cut = fits_xlsx(&long);
        assert_eq!(cut.chars().count(), XLSX_MAX_CELL_CHARS);
        assert!(cut.ends_with(CUT_MARKER));
        assert_eq!(fits_xlsx("short"), "short");
    }
}
