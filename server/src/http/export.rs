//! `/api/records/export.csv` and `.xlsx`: the filtered list for analysis in
//! a spreadsheet (S002 §7), with the same filters and visibility as the list.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use closeloop_shared::access::Principal;
use closeloop_shared::api::{RecordQuery, RecordSummary};
use rust_xlsxwriter::{Format, Workbook};

use super::auth::CurrentUser;
use super::records::summaries;
use crate::error::{AppError, AppQuery};
use crate::state::{AppState, Clock, SystemClock};
use crate::storage::{AuditNote, Storage};
use closeloop_shared::audit::AuditAction;

/// Rows one export may hold; more needs a narrower filter.
const MAX_EXPORT_ROWS: i64 = 100_000;

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

pub(super) async fn rows(
    state: &AppState,
    user: &Principal,
    q: &RecordQuery,
) -> Result<Vec<RecordSummary>, AppError> {
    let now = state.now_ms();
    let rows = summaries(
        &state.storage,
        &state.sla.get(),
        now,
        user,
        q,
        MAX_EXPORT_ROWS + 1,
        0,
    )
    .await?;
    if rows.len() as i64 > MAX_EXPORT_ROWS {
        return Err(AppError::BadRequest(format!(
            "more than {MAX_EXPORT_ROWS} records match; narrow the filter"
        )));
    }
    Ok(rows)
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

/// Every record, for `closeloop-server export`: `(file bytes, record count)`.
pub async fn export_records(storage: &Storage, format: &str) -> Result<(Vec<u8>, usize), String> {
    let everyone = Principal {
        user_id: 0,
        username: "export".into(),
        role: closeloop_shared::access::Role::Admin,
        team: None,
    };
    let now = SystemClock.now_ms();
    let sla = storage
        .sla_config(now)
        .await
        .map_err(|e| format!("reading the SLA settings: {e}"))?;
    let all = RecordQuery::default();
    let records = summaries(storage, &sla, now, &everyone, &all, i64::MAX, 0)
        .await
        .map_err(|e| format!("reading the records: {e}"))?;
    let kind = FileKind::named(format)
        .ok_or_else(|| format!("unknown export format `{format}`: use csv or xlsx"))?;
    Ok((kind.bytes(&records)?, records.len()))
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

/// The caller's filtered records as a file, built off the async workers
/// (100,000 rows take a while).
async fn export(
    state: &AppState,
    user: &Principal,
    q: &RecordQuery,
    kind: FileKind,
) -> Result<Response, AppError> {
    let records = rows(state, user, q).await?;
    let note = AuditNote {
        actor: &user.username,
        action: AuditAction::RecordsExported,
        subject: None,
        detail: Some(format!(
            "{} rows as {}; filter {}",
            records.len(),
            kind.file_name(),
            serde_json::to_string(q).unwrap_or_default()
        )),
    };
    state.storage.audit(note, state.now_ms()).await?;
    let body = tokio::task::spawn_blocking(move || kind.bytes(&records))
        .await
        .map_err(|e| AppError::Internal(format!("export task: {e}")))?
        .map_err(|e| AppError::Internal(format!("export: {e}")))?;
    Ok(attachment(kind.content_type(), kind.file_name(), body))
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
