//! The inbox's filter bar: each control narrows the query and goes back to
//! the first page. Choices come from the taxonomy and the workflow, labelled
//! in the user's language.

use closeloop_shared::api::{DueFilter, RecordQuery};
use closeloop_shared::sla::Priority;
use closeloop_shared::workflow::Status;
use leptos::prelude::*;

use crate::components::choices::{self, Choice, terms};
use crate::i18n::{Lang, status_label, t};
use crate::local_time;
use crate::repo::Repo;

/// A select's options: `(value, zh, en)`.
type Options = Vec<Choice>;

/// The filter controls bound to `query`.
#[component]
pub fn Filters(query: RwSignal<RecordQuery>) -> impl IntoView {
    let taxonomy = expect_context::<Repo>().taxonomy();
    let statuses: Options = Status::ALL
        .iter()
        .map(|s| {
            (
                s.key().to_string(),
                status_label(Lang::Zh, s.key()).to_string(),
                status_label(Lang::En, s.key()).to_string(),
            )
        })
        .collect();
    let priorities: Options = [Priority::P0, Priority::P1, Priority::P2, Priority::P3]
        .iter()
        .map(|p| {
            (
                p.key().to_string(),
                p.key().to_string(),
                p.key().to_string(),
            )
        })
        .collect();
    let channels = choices::channels(&taxonomy.channels);
    let due: Options = vec![
        ("overdue".into(), "已超时".into(), "Overdue".into()),
        ("near".into(), "即将到期".into(), "Near due".into()),
    ];
    // Sets one filter from a control's value ("" clears it), first page.
    let set = move |apply: fn(&mut RecordQuery, Option<String>)| {
        move |value: String| {
            query.update(|q| {
                apply(q, Some(value).filter(|v| !v.is_empty()));
                q.page = None;
            })
        }
    };
    let day = |q: &RecordQuery, end: bool| {
        let ms = if end { q.to.map(|t| t - 1) } else { q.from };
        ms.map(local_time::day).unwrap_or_default()
    };
    view! {
        <div class="filters" role="search">
            <Select id="f-status" label="inbox.f.status" options=statuses
                value=Signal::derive(move || query.with(|q| q.status.clone()))
                on_change=set(|q, v| q.status = v) />
            <Select id="f-priority" label="inbox.f.priority" options=priorities
                value=Signal::derive(move || query.with(|q| q.priority.clone()))
                on_change=set(|q, v| q.priority = v) />
            <Select id="f-channel" label="inbox.f.channel" options=channels
                value=Signal::derive(move || query.with(|q| q.channel.clone()))
                on_change=set(|q, v| q.channel = v) />
            <Select id="f-type" label="inbox.f.type" options=terms(&taxonomy.feedback_types)
                value=Signal::derive(move || query.with(|q| q.feedback_type.clone()))
                on_change=set(|q, v| q.feedback_type = v) />
            <Select id="f-nature" label="inbox.f.nature" options=terms(&taxonomy.natures)
                value=Signal::derive(move || query.with(|q| q.nature.clone()))
                on_change=set(|q, v| q.nature = v) />
            <Select id="f-class" label="inbox.f.class" options=terms(&taxonomy.problem_classes)
                value=Signal::derive(move || query.with(|q| q.problem_class.clone()))
                on_change=set(|q, v| q.problem_class = v) />
            <Select id="f-due" label="inbox.f.due" options=due
                value=Signal::derive(move || query.with(|q| q.due.map(|d| match d {
                    DueFilter::Overdue => "overdue".to_string(),
                    DueFilter::Near => "near".to_string(),
                })))
                on_change=set(|q, v| q.due = match v.as_deref() {
                    Some("overdue") => Some(DueFilter::Overdue),
                    Some("near") => Some(DueFilter::Near),
                    _ => None,
                }) />
            <Text id="f-department" label="inbox.f.department" kind="text"
                value=Signal::derive(move || query.with(|q| q.department.clone().unwrap_or_default()))
                on_change=set(|q, v| q.department = v) />
            <Text id="f-owner" label="inbox.f.owner" kind="text"
                value=Signal::derive(move || query.with(|q| q.owner.clone().unwrap_or_default()))
                on_change=set(|q, v| q.owner = v) />
            <Text id="f-from" label="inbox.f.from" kind="date"
                value=Signal::derive(move || query.with(|q| day(q, false)))
                on_change=set(|q, v| q.from = v.and_then(|d| local_time::parse(&d))) />
            <Text id="f-to" label="inbox.f.to" kind="date"
                value=Signal::derive(move || query.with(|q| day(q, true)))
                on_change=set(|q, v| q.to = v.and_then(|d| local_time::parse(&d)).map(|m| m + DAY_MS)) />
            <Text id="f-text" label="inbox.f.text" kind="search"
                value=Signal::derive(move || query.with(|q| q.q.clone().unwrap_or_default()))
                on_change=set(|q, v| q.q = v) />
            <label class="filter">
                <span>{move || t("inbox.f.sort")}</span>
                <select id="f-sort"
                    prop:value=move || query.with(|q| q.sort.clone().unwrap_or_default())
                    on:change=move |ev| set(|q, v| q.sort = v)(event_target_value(&ev))>
                    <option value="">{move || t("inbox.sort.newest")}</option>
                    <option value="due">{move || t("inbox.sort.due")}</option>
                    <option value="priority">{move || t("inbox.sort.priority")}</option>
                </select>
            </label>
        </div>
    }
}

const DAY_MS: i64 = 86_400_000;

#[component]
fn Select(
    id: &'static str,
    label: &'static str,
    options: Options,
    value: Signal<Option<String>>,
    on_change: impl Fn(String) + 'static,
) -> impl IntoView {
    view! {
        <label class="filter">
            <span>{move || t(label)}</span>
            <select id=id prop:value=move || value.get().unwrap_or_default()
                on:change=move |ev| on_change(event_target_value(&ev))>
                <option value="">{move || t("inbox.f.any")}</option>
                {options.into_iter().map(choices::option).collect_view()}
            </select>
        </label>
    }
}

#[component]
fn Text(
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    value: Signal<String>,
    on_change: impl Fn(String) + 'static,
) -> impl IntoView {
    view! {
        <label class="filter">
            <span>{move || t(label)}</span>
            <input id=id type=kind prop:value=move || value.get()
                on:change=move |ev| on_change(event_target_value(&ev)) />
        </label>
    }
}
