//! The periodic reports (S002 §4 quarterly analysis, S002 6.1 half-yearly
//! evaluation): `GET /api/reports/{period}.html` — a print-ready page — and
//! `GET /api/reports/{period}.xlsx` — the same figures as a workbook with a
//! chart — for `2026-Q3` or `2026-H2`, in Chinese or English (`?lang=en`).
//! Each holds the period's key figures against the period before, its
//! volume and satisfaction over time, SLA per priority, the breakdowns, its
//! typical cases and its improvement actions.

mod html;
mod xlsx;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use closeloop_shared::actions::ImprovementAction;
use closeloop_shared::analytics::{Dashboard, DashboardFilter};
use closeloop_shared::cases::TypicalCase;
use closeloop_shared::reports::{Comparison, ReportKind, ReportPeriod, compare};
use closeloop_shared::taxonomy::Taxonomy;

use super::auth::{CurrentUser, head_office};
use super::export::attachment;
use crate::error::{AppError, AppQuery};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/{file}", get(report))
        .route("/reports/report.css", get(style))
}

/// The print style of the HTML report (the page's policy allows no inline
/// styles).
const STYLE: &str = include_str!("report.css");

async fn style() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        STYLE,
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    lang: Option<String>,
}

/// Everything one report shows.
pub(super) struct Report {
    pub period: ReportPeriod,
    pub en: bool,
    pub bounds: (i64, i64),
    pub now: Dashboard,
    pub comparisons: Vec<Comparison>,
    pub cases: Vec<TypicalCase>,
    pub actions: Vec<ImprovementAction>,
    pub taxonomy: Taxonomy,
    pub generated_at: i64,
    pub utc_offset_minutes: i32,
}

impl Report {
    /// Chinese or English.
    pub fn say<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.en { en } else { zh }
    }

    pub fn title(&self) -> String {
        let kind = match self.period.kind {
            ReportKind::Quarterly => self.say("季度分析报告", "Quarterly analysis report"),
            ReportKind::HalfYearly => self.say("半年度评估报告", "Half-yearly evaluation"),
        };
        format!("{kind} {}", self.period.key())
    }

    /// A local day, `2026-07-01`.
    pub fn day(&self, ms: i64) -> String {
        let offset = i64::from(self.utc_offset_minutes) * 60_000;
        chrono::DateTime::from_timestamp_millis(ms + offset)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }

    /// A dimension's value as people read it.
    pub fn label(&self, by: &str, key: &str) -> String {
        use closeloop_shared::taxonomy::TermList;
        if key == "-" {
            return self.say("未填", "Not set").into();
        }
        let list = match by {
            "channel" => {
                return self
                    .taxonomy
                    .channel(key)
                    .map(|c| {
                        if self.en {
                            c.label.en.clone()
                        } else {
                            c.label.zh.clone()
                        }
                    })
                    .unwrap_or_else(|| key.into());
            }
            "department" => TermList::Department,
            "nature" => TermList::Nature,
            "class" => TermList::ProblemClass,
            _ => TermList::FeedbackType,
        };
        self.taxonomy
            .list(list)
            .iter()
            .find(|t| t.key == key)
            .map(|t| {
                if self.en {
                    t.label.en.clone()
                } else {
                    t.label.zh.clone()
                }
            })
            .unwrap_or_else(|| key.into())
    }
}

async fn report(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(file): Path<String>,
    AppQuery(p): AppQuery<Params>,
) -> Result<Response, AppError> {
    head_office(&user)?;
    let (name, format) = file.rsplit_once('.').unwrap_or((file.as_str(), ""));
    let period = ReportPeriod::parse(name).ok_or_else(|| AppError::Invalid {
        code: "report_bad_period",
        message: "name a period as 2026-Q3 (quarter) or 2026-H2 (half year)".into(),
    })?;
    let en = match p.lang.as_deref() {
        None | Some("zh") => false,
        Some("en") => true,
        Some(_) => return Err(AppError::BadRequest("lang is zh or en".into())),
    };
    if !matches!(format, "html" | "xlsx") {
        return Err(AppError::NotFound);
    }
    let now_ms = state.now_ms();
    let sla = state.sla.get();
    let bounds = period.bounds(&sla.calendar);
    let whole = |(from_ms, to_ms): (i64, i64)| DashboardFilter {
        from_ms,
        to_ms,
        ..DashboardFilter::default()
    };
    let now = state
        .storage
        .dashboard(&whole(bounds), &sla, now_ms)
        .await?;
    let previous = period.previous().bounds(&sla.calendar);
    let before = state
        .storage
        .dashboard(&whole(previous), &sla, now_ms)
        .await?;
    let cases = state
        .storage
        .typical_cases(None, "", bounds.0, bounds.1)
        .await?;
    // Actions opened in the period, done in it, or still open at its end.
    let actions = state
        .storage
        .actions(false, None)
        .await?
        .into_iter()
        .filter(|a| {
            let inside = |t: i64| (bounds.0..bounds.1).contains(&t);
            inside(a.created_at_ms)
                || a.done_at_ms.is_some_and(inside)
                || (a.created_at_ms < bounds.0 && a.status.is_open())
        })
        .collect();
    let report = Report {
        period,
        en,
        bounds,
        comparisons: compare(&now, &before),
        now,
        cases,
        actions,
        taxonomy: (*state.taxonomy.get()).clone(),
        generated_at: now_ms,
        utc_offset_minutes: sla.calendar.utc_offset_minutes,
    };
    let name = format!("closeloop-{}.{format}", period.key());
    if format == "xlsx" {
        let bytes = tokio::task::spawn_blocking(move || xlsx::workbook(&report))
            .await
            .map_err(|e| AppError::Internal(format!("report task: {e}")))?
            .map_err(|e| AppError::Internal(format!("report workbook: {e}")))?;
        let kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        return Ok(attachment(kind, &name, bytes));
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
                ),
            ),
        ],
        html::page(&report),
    )
        .into_response())
}
