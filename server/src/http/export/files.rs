//! The files an export writes: record rows as CSV (UTF-8 with a byte-order
//! mark) or as an XLSX workbook, any table in either format, and the cell
//! rules both keep (formulas made inert, cells cut to Excel's limit).

use closeloop_shared::api::RecordSummary;
use rust_xlsxwriter::{Format, Workbook};

/// Data rows on one XLSX sheet (Excel's limit less the heading); more go
/// on the next sheet.
const SHEET_ROWS: u32 = 1_048_575;

/// Column headings, Chinese first as the default UI language.
pub(super) const HEADINGS: [&str; 11] = [
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

/// A cell a spreadsheet program would run as a formula (`=`, `+`, `-`,
/// `@`, or a tab or carriage return before one) gets a leading `'`, so
/// customer-typed text opens as text, never as a command.
pub(in crate::http) fn inert(cell: String) -> String {
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

/// Record rows as CSV, after the byte-order mark and headings when given
/// (the start of the file); every cell made inert.
pub(super) fn csv_rows(
    headings: Option<&[&str]>,
    records: &[RecordSummary],
) -> Result<Vec<u8>, String> {
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
pub(super) struct XlsxRows {
    book: Workbook,
    sheets: u16,
    row: u32,
}

impl XlsxRows {
    pub(super) fn new() -> Result<Self, String> {
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

    pub(super) fn add(&mut self, records: &[RecordSummary]) -> Result<(), String> {
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
    pub(super) fn finish(mut self) -> Result<std::fs::File, String> {
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
pub(in crate::http) enum FileKind {
    Csv,
    Xlsx,
}

impl FileKind {
    pub(in crate::http) fn named(name: &str) -> Option<Self> {
        match name {
            "csv" => Some(FileKind::Csv),
            "xlsx" => Some(FileKind::Xlsx),
            _ => None,
        }
    }

    pub(in crate::http) fn bytes(self, records: &[RecordSummary]) -> Result<Vec<u8>, String> {
        let rows: Vec<Vec<String>> = records.iter().map(|r| cells(r).to_vec()).collect();
        self.table("反馈 Feedback", &HEADINGS, &rows)
    }

    /// Any table in this format (`sheet` names the XLSX sheet).
    pub(in crate::http) fn table(
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

    pub(in crate::http) fn content_type(self) -> &'static str {
        match self {
            FileKind::Csv => "text/csv; charset=utf-8",
            FileKind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub(in crate::http) fn file_name(self) -> &'static str {
        match self {
            FileKind::Csv => "closeloop-records.csv",
            FileKind::Xlsx => "closeloop-records.xlsx",
        }
    }
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
