//! The dashboard's figures (S001 §7, S002 §4, S004 §3–4) for one period and
//! filter: volumes over time, timeliness, SLA compliance per priority,
//! first-contact resolution against repeat complaints, CSAT and NPS against
//! the 90 % target, problem classes, overdue now.
//!
//! [`pure::dashboard`] computes them from whole records; the server computes
//! the same [`Dashboard`] with SQL aggregates, and a property test holds the
//! two equal. The folding of per-day rows into buckets lives here, once.

mod months;
pub mod pure;
mod series;

pub use months::{LocalMonth, ranges_between, whole_months};
pub use series::{CountedBy, DayFigures, DayScores, DayTotals, SeriesBuilder, add_csat, add_nps};

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::api::RecordQuery;
use crate::calendar::WorkingCalendar;
use crate::sla::Priority;
use crate::stats::{Compliance, DurationStats};
use crate::survey::score::{Csat, Nps};

/// Milliseconds in a calendar day.
pub const DAY_MS: i64 = 86_400_000;
/// How far back an earlier complaint makes a complaint a repeat (S004 §3).
pub const REPEAT_WINDOW_MS: i64 = 30 * DAY_MS;
/// The longest period one dashboard covers: ten years of days.
pub const MAX_PERIOD_DAYS: i64 = 3_660;

/// Which records and answers a dashboard measures. Records count by their
/// received time in `[from_ms, to_ms)`, answers by their answered time.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DashboardFilter {
    pub from_ms: i64,
    pub to_ms: i64,
    pub department: Option<String>,
    pub channel: Option<String>,
    pub feedback_type: Option<String>,
}

/// Why a filter cannot be measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("the period must end after it starts")]
    Empty,
    #[error("the period must be at most {MAX_PERIOD_DAYS} days")]
    TooLong,
    #[error("a filter value is longer than {MAX_FACET_CHARS} characters")]
    Value,
    #[error("the period must lie between 1970 and 3000")]
    Range,
}

/// The latest moment a period may reach: 3000-01-01 UTC.
pub const MAX_PERIOD_MS: i64 = 32_503_680_000_000;

/// The longest department, channel or type a filter names.
pub const MAX_FACET_CHARS: usize = 100;

impl FilterError {
    /// The stable code the app translates.
    pub fn code(self) -> &'static str {
        match self {
            FilterError::Empty => "period_empty",
            FilterError::TooLong => "period_too_long",
            FilterError::Value => "filter_value_too_long",
            FilterError::Range => "period_out_of_range",
        }
    }
}

impl DashboardFilter {
    pub fn validate(&self) -> Result<(), FilterError> {
        // Kept far from the integer limits, so day and window arithmetic
        // cannot overflow.
        if self.from_ms < 0 || self.to_ms > MAX_PERIOD_MS {
            return Err(FilterError::Range);
        }
        if self.to_ms <= self.from_ms {
            return Err(FilterError::Empty);
        }
        if (self.to_ms - self.from_ms) / DAY_MS > MAX_PERIOD_DAYS {
            return Err(FilterError::TooLong);
        }
        let facets = [&self.department, &self.channel, &self.feedback_type];
        if facets.iter().any(|v| {
            v.as_ref()
                .is_some_and(|v| v.chars().count() > MAX_FACET_CHARS)
        }) {
            return Err(FilterError::Value);
        }
        Ok(())
    }

    /// The inbox list behind a figure: this filter's facets and period,
    /// narrowed by `more` (a chart's bar or a tile's condition).
    pub fn drill(&self, more: impl FnOnce(&mut RecordQuery)) -> RecordQuery {
        let mut q = RecordQuery {
            department: self.department.clone(),
            channel: self.channel.clone(),
            feedback_type: self.feedback_type.clone(),
            from: Some(self.from_ms),
            to: Some(self.to_ms),
            ..RecordQuery::default()
        };
        more(&mut q);
        q
    }

    /// Whether a record with these facets passes the department, channel
    /// and type filters (not the period).
    pub fn admits(&self, f: &Facets<'_>) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        same(&self.department, f.department)
            && same(&self.channel, Some(f.channel))
            && same(&self.feedback_type, f.feedback_type)
    }
}

/// What the filters look at of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facets<'a> {
    pub department: Option<&'a str>,
    pub channel: &'a str,
    pub feedback_type: Option<&'a str>,
}

/// How long one point of a time series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    /// Monday to Sunday.
    Week,
    Month,
}

impl Granularity {
    /// Days for up to six weeks, weeks up to half a year, months beyond:
    /// between about 6 and 60 points on a chart.
    pub fn for_period(from_ms: i64, to_ms: i64) -> Self {
        match (to_ms - from_ms) / DAY_MS {
            ..=45 => Granularity::Day,
            46..=190 => Granularity::Week,
            _ => Granularity::Month,
        }
    }

    /// The first day of the bucket a local day falls in.
    pub fn bucket_start(self, day: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => day,
            Granularity::Week => {
                day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
            }
            Granularity::Month => day.with_day(1).unwrap_or(day),
        }
    }
}

/// The local day number (days since 1970-01-01 in the calendar's offset)
/// of an instant: what SQL groups by.
pub fn day_number(at_ms: i64, calendar: &WorkingCalendar) -> i64 {
    (at_ms + i64::from(calendar.utc_offset_minutes) * 60_000).div_euclid(DAY_MS)
}

/// The date of a local day number.
pub fn date_of_day(day: i64) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(day)
}

/// A part of a whole, as a share when the whole is not empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Share {
    pub part: u64,
    pub whole: u64,
}

impl Share {
    pub fn rate(&self) -> Option<f64> {
        (self.whole > 0).then(|| self.part as f64 / self.whole as f64)
    }
}

/// Volumes per value of the four dimensions; unset values count as `-`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Volumes {
    pub by_type: BTreeMap<String, u64>,
    pub by_channel: BTreeMap<String, u64>,
    pub by_nature: BTreeMap<String, u64>,
    pub by_department: BTreeMap<String, u64>,
}

/// The value a dimension counts a record under.
pub fn key_of(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}

/// One point of the time series.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Bucket {
    /// `2026-11-02` (day or week) or `2026-11` (month).
    pub label: String,
    /// The bucket's start, local midnight, ms since the epoch.
    pub from_ms: i64,
    pub received: Volumes,
    /// Mean received → first response of the records received in it.
    pub first_response_mean_ms: Option<i64>,
    /// Mean received → resolved of the records received in it.
    pub resolution_mean_ms: Option<i64>,
    /// Scores of the answers given in it.
    pub csat: Csat,
    pub nps: Nps,
}

/// SLA compliance of one priority, both clocks.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrioritySla {
    pub priority: Priority,
    pub first_response: Compliance,
    pub resolution: Compliance,
}

/// Everything the dashboard shows for one filter.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dashboard {
    pub filter: DashboardFilter,
    pub granularity: Granularity,
    /// Records received in the period.
    pub total: u64,
    pub volumes: Volumes,
    pub series: Vec<Bucket>,
    pub first_response: DurationStats,
    pub resolution: DurationStats,
    /// Every priority, most urgent first.
    pub sla: Vec<PrioritySla>,
    /// Resolved records resolved by their first owner without a reopen.
    pub first_contact: Share,
    /// Complaints whose customer complained of the same kind within
    /// [`REPEAT_WINDOW_MS`] before (earlier complaints may precede the period).
    pub repeat_complaints: Share,
    pub csat: Csat,
    pub nps: Nps,
    /// Root-cause problem classes (S001 §5) of the period's records.
    pub problem_classes: BTreeMap<String, u64>,
    /// Records matching the filters whose running clock is past due now,
    /// whenever they were received.
    pub overdue_now: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(); // a Sunday
        assert_eq!(
            Granularity::Week.bucket_start(d),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        assert_eq!(
            Granularity::Month.bucket_start(d),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        assert_eq!(Granularity::Day.bucket_start(d), d);
    }

    #[test]
    fn the_period_length_picks_the_granularity() {
        assert_eq!(Granularity::for_period(0, 30 * DAY_MS), Granularity::Day);
        assert_eq!(Granularity::for_period(0, 92 * DAY_MS), Granularity::Week);
        assert_eq!(Granularity::for_period(0, 365 * DAY_MS), Granularity::Month);
    }

    #[test]
    fn local_days_follow_the_calendar_offset() {
        let cal = WorkingCalendar::default(); // UTC+8
        // 2026-11-28 16:00 UTC is 2026-11-29 00:00 in UTC+8.
        let at = 1_795_881_600_000;
        assert_eq!(
            date_of_day(day_number(at, &cal)),
            NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
        );
        assert_eq!(
            date_of_day(day_number(at - 1, &cal)),
            NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
        );
    }

    #[test]
    fn a_figure_drills_down_to_its_inbox_list() {
        let f = DashboardFilter {
            from_ms: 10,
            to_ms: 20,
            channel: Some("phone".into()),
            ..DashboardFilter::default()
        };
        let q = f.drill(|q| q.nature = Some("complaint".into()));
        assert_eq!(
            q.to_query_string(),
            "channel=phone&nature=complaint&from=10&to=20"
        );
    }

    #[test]
    fn a_period_is_checked() {
        let f = |from_ms, to_ms| DashboardFilter {
            from_ms,
            to_ms,
            ..DashboardFilter::default()
        };
        assert_eq!(f(5, 5).validate(), Err(FilterError::Empty));
        assert_eq!(
            f(0, (MAX_PERIOD_DAYS + 1) * DAY_MS).validate(),
            Err(FilterError::TooLong)
        );
        assert_eq!(f(0, DAY_MS).validate(), Ok(()));
        assert_eq!(
            f(i64::MIN + 1, i64::MIN + DAY_MS).validate(),
            Err(FilterError::Range)
        );
        assert_eq!(
            f(i64::MAX - DAY_MS, i64::MAX).validate(),
            Err(FilterError::Range)
        );
    }
}
