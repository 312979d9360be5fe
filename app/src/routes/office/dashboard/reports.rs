//! One click to the periodic reports (S002 §4, 6.1): a quarter or half
//! year, in Chinese or English, as a print-ready page or a workbook.

use closeloop_shared::reports::{ReportKind, ReportPeriod};
use leptos::prelude::*;

use crate::i18n::{Lang, lang, t};

/// The current period of `kind` and the ones before it, newest first, by
/// the device's calendar.
fn recent(kind: ReportKind, count: usize) -> Vec<ReportPeriod> {
    let now = js_sys::Date::new_0();
    let months = if kind == ReportKind::Quarterly { 3 } else { 6 };
    let mut p = ReportPeriod {
        kind,
        year: now.get_full_year() as i32,
        part: now.get_month() / months + 1,
    };
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(p);
        p = p.previous();
    }
    out
}

#[component]
pub fn ReportLinks() -> impl IntoView {
    let kind = RwSignal::new(ReportKind::Quarterly);
    let period = RwSignal::new(String::new());
    let chosen = move || {
        let p = period.get();
        if p.is_empty() {
            recent(kind.get(), 1)[0].key()
        } else {
            p
        }
    };
    let language = move || if lang().get() == Lang::En { "en" } else { "zh" };
    view! {
        <div class="report-links" data-testid="report-links">
            <span>{move || t("report.title")}</span>
            <select data-testid="report-kind" aria-label=move || t("report.kind") on:change=move |e| {
                kind.set(if event_target_value(&e) == "half_yearly" { ReportKind::HalfYearly } else { ReportKind::Quarterly });
                period.set(String::new());
            }>
                <option value="quarterly">{move || t("report.quarterly")}</option>
                <option value="half_yearly">{move || t("report.half_yearly")}</option>
            </select>
            <select data-testid="report-period" aria-label=move || t("report.period") on:change=move |e| period.set(event_target_value(&e))>
                {move || recent(kind.get(), 8).into_iter().map(|p| {
                    let key = p.key();
                    view! { <option value=key.clone() selected=move || chosen() == key>{key.clone()}</option> }
                }).collect_view()}
            </select>
            <a class="button secondary" target="_blank" data-testid="report-html"
                href=move || format!("/api/reports/{}.html?lang={}", chosen(), language())>{move || t("report.open")}</a>
            <a class="button secondary" download data-testid="report-xlsx"
                href=move || format!("/api/reports/{}.xlsx?lang={}", chosen(), language())>"XLSX"</a>
        </div>
    }
}
