//! The report as a workbook: key figures against the period before, the
//! series with a column chart of volume, SLA per priority, breakdowns,
//! typical cases and improvement actions, one sheet each.

use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

use super::Report;

fn heading(sheet: &mut Worksheet, row: u32, cells: &[&str]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (c, h) in cells.iter().enumerate() {
        sheet.write_string_with_format(row, c as u16, *h, &bold)?;
    }
    Ok(())
}

/// Text from outside (notes, titles) is written as text, never a formula.
fn text(sheet: &mut Worksheet, row: u32, col: u16, s: &str) -> Result<(), XlsxError> {
    sheet.write_string(row, col, s)?;
    Ok(())
}

pub(super) fn workbook(r: &Report) -> Result<Vec<u8>, XlsxError> {
    let d = &r.now;
    let mut book = Workbook::new();

    let sheet = book
        .add_worksheet()
        .set_name(r.say("关键指标", "Key figures"))?;
    text(sheet, 0, 0, &r.title())?;
    text(
        sheet,
        1,
        0,
        &format!("{} – {}", r.day(r.bounds.0), r.day(r.bounds.1 - 1)),
    )?;
    heading(
        sheet,
        3,
        &[
            "",
            r.say("本期", "This period"),
            r.say("上期", "Period before"),
        ],
    )?;
    for (i, c) in r.comparisons.iter().enumerate() {
        let row = 4 + i as u32;
        text(sheet, row, 0, c.metric.name(r.en))?;
        text(sheet, row, 1, &c.metric.show(c.now))?;
        text(sheet, row, 2, &c.metric.show(c.before))?;
    }
    sheet.set_column_width(0, 28)?;

    let sheet = book.add_worksheet().set_name(r.say("趋势", "Over time"))?;
    heading(
        sheet,
        0,
        &[
            r.say("期间", "Period"),
            r.say("反馈量", "Received"),
            r.say("满意度", "Satisfied"),
            r.say("平均解决小时", "Mean resolution hours"),
        ],
    )?;
    for (i, b) in d.series.iter().enumerate() {
        let row = 1 + i as u32;
        text(sheet, row, 0, &b.label)?;
        sheet.write_number(row, 1, b.received.by_type.values().sum::<u64>() as f64)?;
        if let Some(s) = b.csat.share() {
            sheet.write_number(row, 2, s)?;
        }
        if let Some(ms) = b.resolution_mean_ms {
            sheet.write_number(row, 3, ms as f64 / 3_600_000.0)?;
        }
    }
    if !d.series.is_empty() {
        let last = d.series.len() as u32;
        let name = r.say("趋势", "Over time");
        let mut chart = Chart::new(ChartType::Column);
        chart
            .add_series()
            .set_categories((name, 1, 0, last, 0))
            .set_values((name, 1, 1, last, 1))
            .set_name(r.say("反馈量", "Received"));
        chart.title().set_name(r.say("反馈量", "Feedback received"));
        sheet.insert_chart(1, 5, &chart)?;
    }

    let sheet = book.add_worksheet().set_name("SLA")?;
    heading(
        sheet,
        0,
        &[
            r.say("优先级", "Priority"),
            r.say("响应达标", "First response met"),
            r.say("响应已判定", "First response decided"),
            r.say("解决达标", "Resolution met"),
            r.say("解决已判定", "Resolution decided"),
        ],
    )?;
    for (i, p) in d.sla.iter().enumerate() {
        let row = 1 + i as u32;
        text(sheet, row, 0, p.priority.key())?;
        for (k, c) in [p.first_response, p.resolution].into_iter().enumerate() {
            sheet.write_number(row, 1 + 2 * k as u16, c.met as f64)?;
            sheet.write_number(
                row,
                2 + 2 * k as u16,
                (c.met + c.breached + c.overdue) as f64,
            )?;
        }
    }

    let sheet = book.add_worksheet().set_name(r.say("分布", "Breakdowns"))?;
    let groups = [
        ("type", r.say("类型", "Type"), &d.volumes.by_type),
        ("channel", r.say("渠道", "Channel"), &d.volumes.by_channel),
        (
            "department",
            r.say("部门", "Department"),
            &d.volumes.by_department,
        ),
        (
            "class",
            r.say("问题分类", "Problem class"),
            &d.problem_classes,
        ),
    ];
    for (g, (by, name, counts)) in groups.into_iter().enumerate() {
        let col = 3 * g as u16;
        sheet.write_string_with_format(0, col, name, &Format::new().set_bold())?;
        for (i, (k, n)) in counts.iter().enumerate() {
            text(sheet, 1 + i as u32, col, &r.label(by, k))?;
            sheet.write_number(1 + i as u32, col + 1, *n as f64)?;
        }
    }

    let sheet = book
        .add_worksheet()
        .set_name(r.say("典型案例", "Typical cases"))?;
    heading(
        sheet,
        0,
        &[
            r.say("类别", "Kind"),
            r.say("为什么典型", "Why typical"),
            r.say("反馈内容", "Feedback"),
            r.say("接收日期", "Received"),
        ],
    )?;
    for (i, c) in r.cases.iter().enumerate() {
        let row = 1 + i as u32;
        let kind = match c.kind {
            closeloop_shared::cases::CaseKind::Example => r.say("示范", "Example"),
            closeloop_shared::cases::CaseKind::Lesson => r.say("教训", "Lesson"),
        };
        text(sheet, row, 0, kind)?;
        text(sheet, row, 1, &c.note)?;
        text(sheet, row, 2, &c.description)?;
        text(sheet, row, 3, &r.day(c.received_at))?;
    }

    let sheet = book
        .add_worksheet()
        .set_name(r.say("改进措施", "Actions"))?;
    heading(
        sheet,
        0,
        &[
            r.say("措施", "Action"),
            r.say("负责人", "Owner"),
            r.say("截止", "Deadline"),
            r.say("状态", "Status"),
            r.say("衡量指标", "Figure"),
        ],
    )?;
    for (i, a) in r.actions.iter().enumerate() {
        let row = 1 + i as u32;
        text(sheet, row, 0, &a.title)?;
        text(sheet, row, 1, &a.owner)?;
        text(sheet, row, 2, &r.day(a.deadline_ms))?;
        text(sheet, row, 3, a.status.key())?;
        text(sheet, row, 4, a.metric.name(r.en))?;
    }
    book.save_to_buffer()
}
