//! The dashboard's key figures, SLA table and breakdowns: plain HTML, each
//! number a link to the inbox list behind it.

use std::collections::BTreeMap;

use closeloop_shared::analytics::Dashboard;
use closeloop_shared::stats::{Compliance, add_compliance};
use closeloop_shared::survey::score::SATISFIED_TARGET;
use closeloop_shared::taxonomy::Taxonomy;
use leptos::prelude::*;

use super::{inbox, label, narrow};
use crate::i18n::{Lang, t, tr};

/// `3 h 20 m`, or `2 d 5 h` from two days on; `—` without a value (as
/// reports and improvement actions show times).
pub fn span(ms: Option<i64>) -> String {
    closeloop_shared::actions::Metric::ResolutionMedian.show(ms.map(|v| v as f64))
}

fn percent(share: Option<f64>) -> String {
    share.map_or("—".into(), |s| format!("{:.0} %", s * 100.0))
}

/// One key figure: the number, what it is, a detail line, and the list.
fn tile(
    testid: &'static str,
    value: String,
    name: &'static str,
    detail: String,
    href: String,
    below: bool,
) -> impl IntoView + use<> {
    view! {
        <a class="tile" class:below=below href=href data-testid=testid>
            <strong>{value}</strong>
            <span>{move || t(name)}</span>
            <small>{detail}</small>
        </a>
    }
}

/// The key figures, in SCREENS' order: timeliness, SLA, first contact
/// against repeats, satisfaction against its target, overdue now.
pub fn tiles(l: Lang, d: &Dashboard) -> impl IntoView + use<> {
    let all = inbox(&d.filter.drill(|_| {}));
    let (fr, res) = (d.first_response, d.resolution);
    let sla = d.sla.iter().fold(Compliance::default(), |c, p| {
        add_compliance(c, p.resolution)
    });
    let first = d.sla.iter().fold(Compliance::default(), |c, p| {
        add_compliance(c, p.first_response)
    });
    let csat = d.csat.share();
    let mut overdue = d
        .filter
        .drill(|q| q.due = Some(closeloop_shared::api::DueFilter::Overdue));
    (overdue.from, overdue.to) = (None, None);
    let detail = |mean: Option<i64>, p90: Option<i64>| {
        format!("{} {} · P90 {}", tr(l, "dash.mean"), span(mean), span(p90))
    };
    view! {
        <div class="tiles">
            {tile("tile-received", d.total.to_string(), "dash.received", String::new(), all.clone(), false)}
            {tile("tile-first-response", span(fr.median_ms), "dash.first_response_median", detail(fr.mean_ms, fr.p90_ms), all.clone(), false)}
            {tile("tile-resolution", span(res.median_ms), "dash.resolution_median", detail(res.mean_ms, res.p90_ms), all.clone(), false)}
            {tile("tile-sla", percent(sla.rate), "dash.sla_resolution",
                format!("{} {}", tr(l, "dash.sla_first_response"), percent(first.rate)),
                inbox(&d.filter.drill(|q| q.overdue = Some(true))), false)}
            {tile("tile-first-contact", percent(d.first_contact.rate()), "dash.first_contact",
                format!("{} {}", tr(l, "dash.repeat_complaints"), percent(d.repeat_complaints.rate())),
                inbox(&d.filter.drill(|q| q.nature = Some("complaint".into()))), false)}
            {tile("tile-csat", percent(csat), "dash.csat",
                format!("{} {} · NPS {}", tr(l, "dash.target"), percent(Some(SATISFIED_TARGET)),
                    d.nps.score().map_or("—".into(), |s| format!("{s:+.0}"))),
                "/office/surveys".into(), csat.is_some_and(|s| s < SATISFIED_TARGET))}
            {tile("tile-overdue", d.overdue_now.to_string(), "dash.overdue_now", String::new(), inbox(&overdue), d.overdue_now > 0)}
        </div>
    }
}

fn compliance_cell(c: Compliance) -> impl IntoView + use<> {
    view! {
        <td>
            <progress max="1" value=c.rate.unwrap_or(0.0)></progress>
            " " {percent(c.rate)}
            <small>" " {c.met} " / " {c.met + c.breached + c.overdue}</small>
        </td>
    }
}

/// SLA compliance per priority, both clocks.
pub fn sla_table(l: Lang, d: &Dashboard) -> impl IntoView + use<> {
    view! {
        <table class="sla-table" data-testid="dash-sla">
            <caption>{tr(l, "dash.sla_by_priority")}</caption>
            <thead><tr>
                <th scope="col">{tr(l, "dash.priority")}</th>
                <th scope="col">{tr(l, "dash.sla_first_response")}</th>
                <th scope="col">{tr(l, "dash.sla_resolution")}</th>
                <th scope="col">{tr(l, "dash.overdue")}</th>
            </tr></thead>
            <tbody>
                {d.sla.iter().map(|p| {
                    let href = inbox(&d.filter.drill(|q| {
                        q.priority = Some(p.priority.key().into());
                        q.overdue = Some(true);
                    }));
                    view! {
                        <tr>
                            <th scope="row">{p.priority.key()}</th>
                            {compliance_cell(p.first_response)}
                            {compliance_cell(p.resolution)}
                            <td><a href=href>{p.first_response.overdue + p.resolution.overdue}</a></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Counts of one dimension, biggest first, each a link to its list.
pub fn breakdown(
    l: Lang,
    d: &Dashboard,
    taxonomy: &Taxonomy,
    by: &'static str,
    counts: &BTreeMap<String, u64>,
) -> impl IntoView + use<> {
    let mut rows: Vec<(&String, &u64)> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let max = rows.first().map_or(1, |r| *r.1).max(1) as f64;
    let title = tr(l, &format!("dash.by_{by}"));
    view! {
        <section class="breakdown" data-testid=format!("dash-by-{by}")>
            <h3>{title}</h3>
            {rows.is_empty().then(|| view! { <p class="hint">{tr(l, "dash.none")}</p> })}
            <dl class="bars">
                {rows.into_iter().take(10).map(|(key, n)| {
                    let href = inbox(&d.filter.drill(|q| if key != "-" { narrow(q, by, key) }));
                    view! {
                        <dt><a href=href>{label(l, taxonomy, by, key)}</a></dt>
                        <dd><progress max="1" value={*n as f64 / max}></progress> " " {*n}</dd>
                    }
                }).collect_view()}
            </dl>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_in_minutes_hours_or_days() {
        assert_eq!(span(None), "—");
        assert_eq!(span(Some(5 * 60_000)), "5 m");
        assert_eq!(span(Some(200 * 60_000)), "3 h 20 m");
        assert_eq!(span(Some(53 * 3_600_000)), "2 d 5 h");
    }
}
