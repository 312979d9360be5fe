//! The report as a print-ready HTML page: tables for every figure and two
//! SVG charts drawn with attributes (the page's policy allows no inline
//! styles), in the Okabe–Ito colours the dashboard uses.

use std::collections::BTreeMap;
use std::fmt::Write;

use closeloop_shared::actions::Metric;

use super::Report;

/// Text made safe inside HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const BLUE: &str = "#0072B2";
const VERMILLION: &str = "#D55E00";

/// Columns (or a line when `line`) over labelled values, 0 to `max`.
fn chart(
    title: &str,
    points: &[(String, Option<f64>)],
    max: f64,
    line: bool,
    target: Option<f64>,
) -> String {
    let (w, h, left, bottom) = (640.0, 200.0, 40.0, 24.0);
    let n = points.len().max(1) as f64;
    let step = (w - left) / n;
    let y = |v: f64| 8.0 + (h - 8.0 - bottom) * (1.0 - (v / max).clamp(0.0, 1.0));
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" role="img" aria-label="{}"><line x1="{left}" x2="{w}" y1="{}" y2="{}" stroke="grey"/>"#,
        esc(title),
        y(0.0),
        y(0.0)
    );
    let every = points.len().div_ceil(8).max(1);
    let mut path = Vec::new();
    for (i, (label, v)) in points.iter().enumerate() {
        let x = left + step * i as f64;
        if let Some(v) = v {
            if line {
                path.push(format!("{:.1},{:.1}", x + step / 2.0, y(*v)));
            } else {
                let _ = write!(
                    svg,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{BLUE}"/>"#,
                    x + step * 0.15,
                    y(*v),
                    step * 0.7,
                    (y(0.0) - y(*v)).max(0.5)
                );
            }
        }
        if i % every == 0 {
            let short = if label.len() == 10 {
                &label[5..]
            } else {
                label.as_str()
            };
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
                x + step / 2.0,
                h - 8.0,
                esc(short)
            );
        }
    }
    if line {
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{BLUE}" stroke-width="2"/>"#,
            path.join(" ")
        );
    }
    if let Some(t) = target {
        let _ = write!(
            svg,
            r#"<line x1="{left}" x2="{w}" y1="{:.1}" y2="{:.1}" stroke="{VERMILLION}" stroke-dasharray="6 4"/>"#,
            y(t),
            y(t)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Opens a section: its heading, and a table (of `class`) with these
/// column heads; the caller writes the rows and closes it.
fn table_section(o: &mut String, title: &str, class: &str, heads: &[&str]) {
    let _ = write!(
        o,
        "<section><h2>{}</h2><table class=\"{class}\"><thead><tr>",
        esc(title)
    );
    for h in heads {
        let _ = write!(o, "<th>{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
}

fn counts_table(r: &Report, by: &str, title: &str, counts: &BTreeMap<String, u64>) -> String {
    let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut out = format!(
        "<table class=\"counts\"><caption>{}</caption><tbody>",
        esc(title)
    );
    for (k, n) in rows {
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{n}</td></tr>",
            esc(&r.label(by, k))
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// The whole page.
pub(super) fn page(r: &Report) -> String {
    let d = &r.now;
    let mut o = String::new();
    let _ = write!(
        o,
        r#"<!doctype html><html lang="{}"><head><meta charset="utf-8"><title>{}</title><link rel="stylesheet" href="/api/reports/report.css"></head><body><header><h1>{}</h1><p>{} – {} · {} {}</p></header>"#,
        r.say("zh-CN", "en"),
        esc(&r.title()),
        esc(&r.title()),
        r.day(r.bounds.0),
        r.day(r.bounds.1 - 1),
        r.say("生成于", "Generated"),
        r.day(r.generated_at),
    );
    // Key figures against the period before.
    table_section(
        &mut o,
        r.say("关键指标", "Key figures"),
        "figures",
        &[
            "",
            r.say("本期", "This period"),
            r.say("上期", "Period before"),
            r.say("变化", "Change"),
        ],
    );
    for c in &r.comparisons {
        let change = match (c.now, c.before) {
            (Some(a), Some(b)) if a != b => {
                let better = if c.metric.lower_is_better() {
                    a < b
                } else {
                    a > b
                };
                if better {
                    r.say("改善", "better")
                } else {
                    r.say("变差", "worse")
                }
            }
            (Some(_), Some(_)) => r.say("持平", "same"),
            _ => "—",
        };
        let _ = write!(
            o,
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{change}</td></tr>",
            c.metric.name(r.en),
            c.metric.show(c.now),
            c.metric.show(c.before)
        );
    }
    let _ = write!(
        o,
        "<tr><th>NPS</th><td>{}</td><td></td><td></td></tr></tbody></table></section>",
        d.nps.score().map_or("—".into(), |s| format!("{s:+.0}"))
    );
    // Over time.
    let volume: Vec<(String, Option<f64>)> = d
        .series
        .iter()
        .map(|b| {
            (
                b.label.clone(),
                Some(b.received.by_type.values().sum::<u64>() as f64),
            )
        })
        .collect();
    let top = volume.iter().filter_map(|v| v.1).fold(1.0, f64::max);
    let csat: Vec<(String, Option<f64>)> = d
        .series
        .iter()
        .map(|b| (b.label.clone(), b.csat.share()))
        .collect();
    let _ = write!(
        o,
        "<section class=\"charts\"><figure><figcaption>{}</figcaption>{}</figure><figure><figcaption>{}</figcaption>{}</figure>",
        r.say("反馈量", "Feedback received"),
        chart(
            r.say("反馈量", "Feedback received"),
            &volume,
            top * 1.1,
            false,
            None
        ),
        r.say("满意度（目标 90 %）", "Satisfied (target 90 %)"),
        chart(
            r.say("满意度", "Satisfied"),
            &csat,
            1.0,
            true,
            Some(closeloop_shared::survey::score::SATISFIED_TARGET)
        ),
    );
    let _ = write!(
        o,
        "<table class=\"series\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        r.say("期间", "Period"),
        r.say("反馈量", "Received"),
        Metric::Csat.name(r.en),
        r.say("平均解决时间", "Mean resolution"),
    );
    for (b, (_, n)) in d.series.iter().zip(&volume) {
        let _ = write!(
            o,
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&b.label),
            n.unwrap_or(0.0),
            Metric::Csat.show(b.csat.share()),
            Metric::ResolutionMedian.show(b.resolution_mean_ms.map(|v| v as f64)),
        );
    }
    o.push_str("</tbody></table></section>");
    // SLA per priority.
    table_section(
        &mut o,
        r.say("各优先级 SLA 达标", "SLA met by priority"),
        "sla",
        &[
            "",
            r.say("响应", "First response"),
            r.say("解决", "Resolution"),
        ],
    );
    for p in &d.sla {
        let cell = |c: closeloop_shared::stats::Compliance| {
            format!(
                "{} ({} / {})",
                Metric::Csat.show(c.rate),
                c.met,
                c.met + c.breached + c.overdue
            )
        };
        let _ = write!(
            o,
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            p.priority.key(),
            cell(p.first_response),
            cell(p.resolution)
        );
    }
    o.push_str("</tbody></table></section>");
    // Breakdowns.
    let _ = write!(
        o,
        "<section class=\"breakdowns\"><h2>{}</h2>",
        r.say("分布", "Breakdowns")
    );
    o.push_str(&counts_table(
        r,
        "type",
        r.say("按类型", "By type"),
        &d.volumes.by_type,
    ));
    o.push_str(&counts_table(
        r,
        "channel",
        r.say("按渠道", "By channel"),
        &d.volumes.by_channel,
    ));
    o.push_str(&counts_table(
        r,
        "department",
        r.say("按部门", "By department"),
        &d.volumes.by_department,
    ));
    o.push_str(&counts_table(
        r,
        "class",
        r.say("问题分类（根因）", "Problem classes"),
        &d.problem_classes,
    ));
    o.push_str("</section>");
    // Typical cases.
    let _ = write!(
        o,
        "<section><h2>{}</h2>",
        r.say("典型案例", "Typical cases")
    );
    if r.cases.is_empty() {
        let _ = write!(
            o,
            "<p>{}</p>",
            r.say(
                "本期没有标记典型案例。",
                "No typical cases were marked for this period."
            )
        );
    }
    o.push_str("<ul class=\"cases\">");
    for c in &r.cases {
        let kind = match c.kind {
            closeloop_shared::cases::CaseKind::Example => r.say("示范", "Example"),
            closeloop_shared::cases::CaseKind::Lesson => r.say("教训", "Lesson"),
        };
        let _ = write!(
            o,
            "<li><strong>{kind}</strong> {} <br><small>{} · {}</small></li>",
            esc(&c.note),
            esc(&c.description.chars().take(160).collect::<String>()),
            r.day(c.received_at)
        );
    }
    o.push_str("</ul></section>");
    // Improvement actions.
    table_section(
        &mut o,
        r.say("改进措施", "Improvement actions"),
        "actions",
        &[
            r.say("措施", "Action"),
            r.say("负责人", "Owner"),
            r.say("截止", "Deadline"),
            r.say("状态", "Status"),
            r.say("衡量指标", "Figure"),
        ],
    );
    for a in &r.actions {
        let status = match a.status {
            closeloop_shared::actions::ActionStatus::Open => r.say("待开始", "Open"),
            closeloop_shared::actions::ActionStatus::InProgress => r.say("进行中", "In progress"),
            closeloop_shared::actions::ActionStatus::Done => r.say("已完成", "Done"),
            closeloop_shared::actions::ActionStatus::Dropped => r.say("已放弃", "Dropped"),
        };
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{status}</td><td>{}</td></tr>",
            esc(&a.title),
            esc(&a.owner),
            r.day(a.deadline_ms),
            a.metric.name(r.en)
        );
    }
    o.push_str("</tbody></table></section></body></html>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_open_markup() {
        assert_eq!(esc("<b a=\"x\">&"), "&lt;b a=&quot;x&quot;&gt;&amp;");
    }
}
