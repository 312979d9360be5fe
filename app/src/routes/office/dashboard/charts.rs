//! Small SVG charts for the dashboard: stacked columns and lines, drawn with
//! attributes only (the page's policy allows no inline styles), in the
//! Okabe–Ito palette that colour-blind readers tell apart, each with its
//! numbers as a table for screen readers and for print.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::i18n::t;

/// Okabe–Ito: eight colours that stay distinct under the common colour
/// vision deficiencies.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
];

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

/// One named line or stack of a chart, a value per label (`None`: no data).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
    /// Where clicking a value leads (the inbox list behind it), per label.
    pub links: Vec<Option<String>>,
}

/// A round upper bound for the axis: 1, 2 or 5 times a power of ten.
pub fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * power)
}

fn plot_x(i: usize, n: usize) -> f64 {
    let step = (WIDTH - LEFT - RIGHT) / n.max(1) as f64;
    LEFT + step * i as f64
}

fn plot_y(v: f64, max: f64) -> f64 {
    TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - (v / max).clamp(0.0, 1.0))
}

/// A bucket's label as the axis shows it: `11-23` for a day or week (the
/// table keeps the year), `2026-11` for a month.
fn short(label: &str) -> String {
    match label.len() {
        10 => label[5..].to_string(),
        _ => label.to_string(),
    }
}

/// Gridlines at 0, ½ and the top, labelled by `fmt`, and every n-th label
/// under the columns so that they do not overlap.
fn axes(labels: &[String], max: f64, fmt: fn(f64) -> String) -> impl IntoView + use<> {
    let every = labels.len().div_ceil(8).max(1);
    let n = labels.len();
    let step = (WIDTH - LEFT - RIGHT) / n.max(1) as f64;
    view! {
        <g class="axis">
            {[0.0, 0.5, 1.0].into_iter().map(|f| {
                let y = plot_y(max * f, max);
                view! {
                    <line x1=LEFT x2={WIDTH - RIGHT} y1=y y2=y class="grid" />
                    <text x={LEFT - 4.0} y={y + 4.0} text-anchor="end">{fmt(max * f)}</text>
                }
            }).collect_view()}
            {labels.iter().enumerate().filter(|(i, _)| i % every == 0).map(|(i, l)| {
                let x = plot_x(i, n) + step / 2.0;
                view! { <text x=x y={HEIGHT - 8.0} text-anchor="middle">{short(l)}</text> }
            }).collect_view()}
        </g>
    }
}

/// The chart's numbers as a table, folded away unless asked for.
fn table(labels: &[String], series: &[Series], fmt: fn(f64) -> String) -> impl IntoView + use<> {
    view! {
        <details class="chart-table">
            <summary>{move || t("dash.as_table")}</summary>
            <table>
                <thead><tr>
                    <th scope="col">{move || t("dash.period")}</th>
                    {series.iter().map(|s| view! { <th scope="col">{s.name.clone()}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {labels.iter().enumerate().map(|(i, l)| view! {
                        <tr>
                            <th scope="row">{l.clone()}</th>
                            {series.iter().map(|s| {
                                let text = s.values.get(i).copied().flatten().map_or("—".into(), fmt);
                                match s.links.get(i).cloned().flatten() {
                                    Some(href) => view! { <td><a href=href>{text}</a></td> }.into_any(),
                                    None => view! { <td>{text}</td> }.into_any(),
                                }
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </details>
    }
}

fn legend(series: &[Series]) -> impl IntoView + use<> {
    view! {
        <ul class="legend">
            {series.iter().enumerate().map(|(i, s)| view! {
                <li><svg viewBox="0 0 10 10" class="swatch" aria-hidden="true">
                    <rect width="10" height="10" fill=PALETTE[i % PALETTE.len()] />
                </svg>{s.name.clone()}</li>
            }).collect_view()}
        </ul>
    }
}

/// Columns per label, the series stacked; a segment opens its list.
#[component]
pub fn StackedColumns(
    title: String,
    labels: Vec<String>,
    series: Vec<Series>,
    fmt: fn(f64) -> String,
) -> impl IntoView {
    let n = labels.len();
    let totals: Vec<f64> = (0..n)
        .map(|i| {
            series
                .iter()
                .filter_map(|s| s.values.get(i).copied().flatten())
                .sum()
        })
        .collect();
    let max = nice_max(totals.iter().copied().fold(0.0, f64::max));
    let step = (WIDTH - LEFT - RIGHT) / n.max(1) as f64;
    let navigate = use_navigate();
    let mut rects = Vec::new();
    for (i, name) in labels.iter().enumerate() {
        let mut base = 0.0;
        for (k, s) in series.iter().enumerate() {
            let Some(v) = s.values.get(i).copied().flatten().filter(|v| *v > 0.0) else {
                continue;
            };
            let (y0, y1) = (plot_y(base, max), plot_y(base + v, max));
            base += v;
            let href = s.links.get(i).cloned().flatten();
            let go = navigate.clone();
            let tip = format!("{name} · {}: {}", s.name, fmt(v));
            rects.push(view! {
                <rect x={plot_x(i, n) + step * 0.15} y=y1 width={step * 0.7} height={(y0 - y1).max(0.5)}
                    fill=PALETTE[k % PALETTE.len()] class:link=href.is_some()
                    on:click=move |_| if let Some(h) = &href { go(h, Default::default()) }>
                    <title>{tip}</title>
                </rect>
            });
        }
    }
    view! {
        <figure class="chart">
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title>
                {axes(&labels, max, fmt)}
                {rects}
            </svg>
            {legend(&series)}
            {table(&labels, &series, fmt)}
        </figure>
    }
}

/// Lines over the labels, with an optional dashed target line.
#[component]
pub fn Lines(
    title: String,
    labels: Vec<String>,
    series: Vec<Series>,
    fmt: fn(f64) -> String,
    #[prop(optional)] max: Option<f64>,
    #[prop(optional)] target: Option<f64>,
) -> impl IntoView {
    let n = labels.len();
    let step = (WIDTH - LEFT - RIGHT) / n.max(1) as f64;
    let highest = series
        .iter()
        .flat_map(|s| s.values.iter().copied().flatten())
        .chain(target)
        .fold(0.0, f64::max);
    let max = max.unwrap_or_else(|| nice_max(highest));
    let lines = series
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let colour = PALETTE[k % PALETTE.len()];
            let points: Vec<(f64, f64)> = s
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (plot_x(i, n) + step / 2.0, plot_y(v, max))))
                .collect();
            let path = points
                .iter()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect::<Vec<_>>()
                .join(" ");
            view! {
                <polyline points=path fill="none" stroke=colour stroke-width="2" />
                {points.into_iter().map(|(x, y)| view! { <circle cx=x cy=y r="3" fill=colour /> }).collect_view()}
            }
        })
        .collect_view();
    let target = target.map(|v| {
        let y = plot_y(v, max);
        view! { <line x1=LEFT x2={WIDTH - RIGHT} y1=y y2=y class="target" stroke-dasharray="6 4" /> }
    });
    view! {
        <figure class="chart">
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title>
                {axes(&labels, max, fmt)}
                {target}
                {lines}
            </svg>
            {legend(&series)}
            {table(&labels, &series, fmt)}
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(12.0), 20.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(nice_max(0.93), 1.0);
        assert_eq!(nice_max(5.0), 5.0);
    }

    #[test]
    fn axis_labels_drop_the_year_of_a_day() {
        assert_eq!(short("2026-11-23"), "11-23");
        assert_eq!(short("2026-11"), "2026-11");
    }
}
