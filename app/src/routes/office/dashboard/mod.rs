//! Head office's dashboard (`/office/dashboard`; S001 §7, S002 §4, S004
//! §3–4): key figures first, then charts; every figure opens the inbox list
//! behind it. The figures come from `GET /api/dashboard`.

mod charts;
mod figures;
mod reports;

use std::sync::Arc;

use closeloop_shared::analytics::{Bucket, DAY_MS, Dashboard};
use closeloop_shared::taxonomy::{Taxonomy, TermList};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::choices;
use crate::i18n::{Lang, channel_label, lang, t, term_label};
use crate::local_time;
use crate::repo::Repo;
use crate::session;
use charts::{Lines, Series, StackedColumns};

/// Periods offered, in days back from the end of today.
const PERIODS: [i64; 5] = [7, 28, 84, 182, 365];
/// Values a stacked chart shows by name; the rest add up as "other".
const STACKS: usize = 7;

#[derive(Debug, Clone, PartialEq)]
enum Loaded {
    Loading,
    Failed(&'static str),
    Ready(Box<Dashboard>),
}

/// The end of today, local time.
fn end_of_today() -> i64 {
    let today = local_time::day(js_sys::Date::now() as i64);
    local_time::parse(&today).map_or(js_sys::Date::now() as i64, |m| m + DAY_MS)
}

/// `/api/dashboard?…` for the chosen period and filters.
fn api_path(from: i64, to: i64, department: &str, channel: &str, kind: &str) -> String {
    let mut path = format!("/api/dashboard?from={from}&to={to}");
    for (k, v) in [
        ("department", department),
        ("channel", channel),
        ("type", kind),
    ] {
        if !v.is_empty() {
            path.push_str(&format!("&{k}={}", js_sys::encode_uri_component(v)));
        }
    }
    path
}

/// A dimension's value as people read it.
fn label(l: Lang, taxonomy: &Taxonomy, by: &str, key: &str) -> String {
    if key == "-" {
        return crate::i18n::tr(l, "dash.unset").into();
    }
    match by {
        "channel" => channel_label(l, taxonomy, key).unwrap_or_else(|| key.into()),
        "department" => term_label(l, taxonomy, TermList::Department, key),
        "nature" => term_label(l, taxonomy, TermList::Nature, key),
        "class" => term_label(l, taxonomy, TermList::ProblemClass, key),
        _ => term_label(l, taxonomy, TermList::FeedbackType, key),
    }
}

/// The inbox link for a list query.
pub(super) fn inbox(q: &closeloop_shared::api::RecordQuery) -> String {
    format!("/office?{}", q.to_query_string())
}

/// Sets the record-list field a dimension filters on.
fn narrow(q: &mut closeloop_shared::api::RecordQuery, by: &str, key: &str) {
    let v = Some(key.to_string());
    match by {
        "channel" => q.channel = v,
        "department" => q.department = v,
        "nature" => q.nature = v,
        "class" => q.problem_class = v,
        _ => q.feedback_type = v,
    }
}

/// The counts a dimension gives per bucket.
fn by_dimension<'a>(b: &'a Bucket, by: &str) -> &'a std::collections::BTreeMap<String, u64> {
    match by {
        "channel" => &b.received.by_channel,
        "department" => &b.received.by_department,
        "nature" => &b.received.by_nature,
        _ => &b.received.by_type,
    }
}

/// Received per bucket, stacked by the chosen dimension: its biggest
/// values by name, the rest as "other".
fn volume_series(l: Lang, d: &Dashboard, taxonomy: &Taxonomy, by: &str) -> Vec<Series> {
    let totals = match by {
        "channel" => &d.volumes.by_channel,
        "department" => &d.volumes.by_department,
        "nature" => &d.volumes.by_nature,
        _ => &d.volumes.by_type,
    };
    let mut keys: Vec<(&String, &u64)> = totals.iter().collect();
    keys.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let named: Vec<String> = keys
        .iter()
        .take(STACKS)
        .map(|(k, _)| (*k).clone())
        .collect();
    let bucket_end = |i: usize| {
        d.series
            .get(i + 1)
            .map_or(d.filter.to_ms, |b| b.from_ms)
            .min(d.filter.to_ms)
    };
    let mut series: Vec<Series> = named
        .iter()
        .map(|key| Series {
            name: label(l, taxonomy, by, key),
            values: d
                .series
                .iter()
                .map(|b| by_dimension(b, by).get(key).map(|n| *n as f64))
                .collect(),
            links: (0..d.series.len())
                .map(|i| {
                    (key != "-").then(|| {
                        let (from, to) = (d.series[i].from_ms.max(d.filter.from_ms), bucket_end(i));
                        inbox(&d.filter.drill(|q| {
                            narrow(q, by, key);
                            (q.from, q.to) = (Some(from), Some(to));
                        }))
                    })
                })
                .collect(),
        })
        .collect();
    if keys.len() > STACKS {
        series.push(Series {
            name: crate::i18n::tr(l, "dash.other").into(),
            values: d
                .series
                .iter()
                .map(|b| {
                    let all = by_dimension(b, by);
                    let rest: u64 = all
                        .iter()
                        .filter(|(k, _)| !named.contains(k))
                        .map(|(_, n)| n)
                        .sum();
                    Some(rest as f64)
                })
                .collect(),
            links: vec![None; d.series.len()],
        });
    }
    series
}

fn count(v: f64) -> String {
    format!("{v:.0}")
}

fn hours(v: f64) -> String {
    format!("{v:.0} h")
}

/// Milliseconds as hours, so the axis ends on a round number of hours.
fn in_hours(ms: i64) -> f64 {
    ms as f64 / 3_600_000.0
}

fn percent(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let repo = expect_context::<Repo>();
    let days = RwSignal::new(84i64);
    let custom = RwSignal::new((None::<i64>, None::<i64>));
    let department = RwSignal::new(String::new());
    let channel = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let stack_by = RwSignal::new("type".to_string());
    let loaded = RwSignal::new(Loaded::Loading);
    Effect::new(move |_| {
        let (from, to) = match (days.get(), custom.get()) {
            (0, (Some(f), Some(t))) if t > f => (f, t),
            _ => {
                let to = end_of_today();
                (to - days.get().max(1) * DAY_MS, to)
            }
        };
        let path = api_path(from, to, &department.get(), &channel.get(), &kind.get());
        loaded.set(Loaded::Loading);
        spawn_local(async move {
            loaded.set(match session::call("GET", &path, None).await {
                Ok((200, body)) => serde_json::from_str(&body)
                    .map_or(Loaded::Failed("dash.unavailable"), |d| {
                        Loaded::Ready(Box::new(d))
                    }),
                Ok((401 | 403, _)) => Loaded::Failed("dash.forbidden"),
                Ok(_) => Loaded::Failed("dash.unavailable"),
                Err(()) => Loaded::Failed("dash.offline"),
            });
        });
    });
    let taxonomy = repo.taxonomy();
    let departments = choices::terms(taxonomy.list(TermList::Department));
    let channels = choices::channels(&taxonomy.channels);
    let kinds = choices::terms(taxonomy.list(TermList::FeedbackType));
    let select = |testid: &'static str,
                  key: &'static str,
                  signal: RwSignal<String>,
                  options: Vec<choices::Choice>| {
        view! {
            <label class="filter">
                <span>{move || t(key)}</span>
                <select data-testid=testid on:change=move |e| signal.set(event_target_value(&e))>
                    <option value="">{move || t("dash.all")}</option>
                    {options.into_iter().map(choices::option).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <section class="card dashboard" data-testid="dashboard">
            <div class="inbox-head">
                <h2>{move || t("dash.title")}</h2>
                <a class="button secondary" data-testid="dash-start-action" href=move || {
                    let mut path = "/office/actions?new=1".to_string();
                    for (k, v) in [("department", department.get()), ("channel", channel.get()), ("type", kind.get())] {
                        if !v.is_empty() {
                            path.push_str(&format!("&{k}={}", js_sys::encode_uri_component(&v)));
                        }
                    }
                    path
                }>{move || t("action.start")}</a>
            </div>
            <reports::ReportLinks />
            <div class="filters" role="search">
                <label class="filter">
                    <span>{move || t("dash.period")}</span>
                    <select data-testid="dash-period" on:change=move |e| {
                        days.set(event_target_value(&e).parse().unwrap_or(84));
                    }>
                        {PERIODS.map(|d| view! {
                            <option value=d.to_string() selected=move || days.get() == d>
                                {move || t(&format!("dash.last_{d}"))}
                            </option>
                        })}
                        <option value="0">{move || t("dash.custom")}</option>
                    </select>
                </label>
                {move || (days.get() == 0).then(|| view! {
                    <label class="filter">
                        <span>{move || t("dash.from")}</span>
                        <input type="date" data-testid="dash-from" on:change=move |e| {
                            let v = local_time::parse(&event_target_value(&e));
                            custom.update(|c| c.0 = v);
                        } />
                    </label>
                    <label class="filter">
                        <span>{move || t("dash.to")}</span>
                        <input type="date" data-testid="dash-to" on:change=move |e| {
                            let v = local_time::parse(&event_target_value(&e)).map(|m| m + DAY_MS);
                            custom.update(|c| c.1 = v);
                        } />
                    </label>
                })}
                {select("dash-department", "dash.department", department, departments)}
                {select("dash-channel", "dash.channel", channel, channels)}
                {select("dash-type", "dash.type", kind, kinds)}
            </div>
            {move || match loaded.get() {
                Loaded::Loading => view! { <p class="loading" aria-live="polite">{move || t("dash.loading")}</p> }.into_any(),
                Loaded::Failed(k) => view! { <p class="problem" role="alert">{move || t(k)}</p> }.into_any(),
                Loaded::Ready(d) => view! { <Figures d=*d taxonomy=taxonomy.clone() stack_by /> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn Figures(d: Dashboard, taxonomy: Arc<Taxonomy>, stack_by: RwSignal<String>) -> impl IntoView {
    let l = lang().get_untracked();
    let labels: Vec<String> = d.series.iter().map(|b| b.label.clone()).collect();
    let d = Arc::new(d);
    let volume = {
        let (d, taxonomy, labels) = (d.clone(), taxonomy.clone(), labels.clone());
        move || {
            let by = stack_by.get();
            let series = volume_series(l, &d, &taxonomy, &by);
            view! { <StackedColumns title=crate::i18n::tr(l, "dash.volume").to_string() labels=labels.clone() series fmt=count /> }
        }
    };
    let line = |key: &str, values: Vec<Option<f64>>| Series {
        name: crate::i18n::tr(l, key).into(),
        values,
        links: Vec::new(),
    };
    let timeliness = vec![
        line(
            "dash.first_response",
            d.series
                .iter()
                .map(|b| b.first_response_mean_ms.map(in_hours))
                .collect(),
        ),
        line(
            "dash.resolution",
            d.series
                .iter()
                .map(|b| b.resolution_mean_ms.map(in_hours))
                .collect(),
        ),
    ];
    let satisfaction = vec![line(
        "dash.csat",
        d.series.iter().map(|b| b.csat.share()).collect(),
    )];
    view! {
        {figures::tiles(l, &d)}
        <div class="charts">
            <div class="chart-box">
                <label class="inline">
                    <span>{move || t("dash.stack_by")}</span>
                    <select data-testid="dash-stack-by" on:change=move |e| stack_by.set(event_target_value(&e))>
                        {["type", "channel", "nature", "department"].map(|k| view! {
                            <option value=k selected=move || stack_by.get() == k>{move || t(&format!("dash.{k}"))}</option>
                        })}
                    </select>
                </label>
                {volume}
            </div>
            <Lines title=crate::i18n::tr(l, "dash.timeliness_trend").to_string() labels=labels.clone() series=timeliness fmt=hours />
            <Lines title=crate::i18n::tr(l, "dash.csat_trend").to_string() labels series=satisfaction fmt=percent max=1.0 target=closeloop_shared::survey::score::SATISFIED_TARGET />
        </div>
        {figures::sla_table(l, &d)}
        <div class="breakdowns">
            {figures::breakdown(l, &d, &taxonomy, "channel", &d.volumes.by_channel)}
            {figures::breakdown(l, &d, &taxonomy, "department", &d.volumes.by_department)}
            {figures::breakdown(l, &d, &taxonomy, "nature", &d.volumes.by_nature)}
            {figures::breakdown(l, &d, &taxonomy, "class", &d.problem_classes)}
        </div>
    }
}
