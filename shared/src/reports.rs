//! The periodic reports (S002 §4 quarterly analysis, S002 6.1 half-yearly
//! evaluation): which period a report covers, the one before it that it is
//! compared with, and the key figures both show.

use chrono::{Datelike, NaiveDate};

use crate::actions::Metric;
use crate::analytics::{DAY_MS, Dashboard};
use crate::calendar::WorkingCalendar;

/// Quarterly analysis or half-yearly evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Quarterly,
    HalfYearly,
}

impl ReportKind {
    fn months(self) -> u32 {
        match self {
            ReportKind::Quarterly => 3,
            ReportKind::HalfYearly => 6,
        }
    }
}

/// A quarter (`2026-Q3`) or a half year (`2026-H2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReportPeriod {
    pub kind: ReportKind,
    pub year: i32,
    /// 1–4 for quarters, 1–2 for halves.
    pub part: u32,
}

impl ReportPeriod {
    /// `2026-Q3` or `2026-H2`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let (year, part) = s.split_once('-')?;
        let year: i32 = year.parse().ok().filter(|y| (2000..=2100).contains(y))?;
        let (kind, n) = match part.split_at_checked(1)? {
            ("Q", n) => (ReportKind::Quarterly, n),
            ("H", n) => (ReportKind::HalfYearly, n),
            _ => return None,
        };
        let part: u32 = n.parse().ok()?;
        (1..=12 / kind.months())
            .contains(&part)
            .then_some(ReportPeriod { kind, year, part })
    }

    pub fn key(&self) -> String {
        let letter = match self.kind {
            ReportKind::Quarterly => 'Q',
            ReportKind::HalfYearly => 'H',
        };
        format!("{}-{letter}{}", self.year, self.part)
    }

    /// The period of `kind` an instant falls in, local time.
    pub fn containing(kind: ReportKind, at_ms: i64, calendar: &WorkingCalendar) -> Self {
        let d = calendar.local_date(at_ms);
        ReportPeriod {
            kind,
            year: d.year(),
            part: d.month0() / kind.months() + 1,
        }
    }

    /// The period just before.
    pub fn previous(&self) -> Self {
        match self.part {
            1 => ReportPeriod {
                year: self.year - 1,
                part: 12 / self.kind.months(),
                ..*self
            },
            n => ReportPeriod {
                part: n - 1,
                ..*self
            },
        }
    }

    fn first_day(&self) -> NaiveDate {
        let month = (self.part - 1) * self.kind.months() + 1;
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or_default()
    }

    /// `[from, to)` in ms: local midnight of its first day to that of the next period's.
    pub fn bounds(&self, calendar: &WorkingCalendar) -> (i64, i64) {
        let next = match self.part * self.kind.months() {
            12 => NaiveDate::from_ymd_opt(self.year + 1, 1, 1),
            m => NaiveDate::from_ymd_opt(self.year, m + 1, 1),
        }
        .unwrap_or_default();
        let offset = i64::from(calendar.utc_offset_minutes) * 60_000;
        let ms = |d: NaiveDate| (d - NaiveDate::default()).num_days() * DAY_MS - offset;
        (ms(self.first_day()), ms(next))
    }
}

/// The figures a report compares with the period before, in this order.
pub const REPORT_METRICS: [Metric; 7] = Metric::ALL;

/// A report's key figure: this period and the one before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub metric: Metric,
    pub now: Option<f64>,
    pub before: Option<f64>,
}

/// Every key figure of `now` against `before`.
pub fn compare(now: &Dashboard, before: &Dashboard) -> Vec<Comparison> {
    REPORT_METRICS
        .into_iter()
        .map(|metric| Comparison {
            metric,
            now: metric.of(now),
            before: metric.of(before),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_read_and_written_back() {
        for key in ["2026-Q1", "2026-Q4", "2025-H1", "2026-H2"] {
            assert_eq!(
                ReportPeriod::parse(key).map(|p| p.key()),
                Some(key.to_string())
            );
        }
        for bad in [
            "2026-Q5", "2026-H3", "2026-Q0", "26-Q1", "2026Q1", "2026-X1", "2026-Q", "",
        ] {
            assert_eq!(ReportPeriod::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_previous_period_crosses_the_year() {
        let p = |s| ReportPeriod::parse(s).unwrap();
        assert_eq!(p("2026-Q1").previous(), p("2025-Q4"));
        assert_eq!(p("2026-Q3").previous(), p("2026-Q2"));
        assert_eq!(p("2026-H1").previous(), p("2025-H2"));
    }

    #[test]
    fn bounds_are_local_midnights() {
        let cal = WorkingCalendar::default(); // UTC+8
        let (from, to) = ReportPeriod::parse("2026-Q4").unwrap().bounds(&cal);
        // 2026-10-01 00:00 and 2027-01-01 00:00 in UTC+8.
        assert_eq!(from, 1_790_784_000_000);
        assert_eq!(to, 1_798_732_800_000);
        assert_eq!(
            ReportPeriod::containing(ReportKind::Quarterly, from, &cal).key(),
            "2026-Q4"
        );
        assert_eq!(
            ReportPeriod::containing(ReportKind::Quarterly, from - 1, &cal).key(),
            "2026-Q3"
        );
        let (h_from, h_to) = ReportPeriod::parse("2026-H2").unwrap().bounds(&cal);
        assert_eq!(h_to, to);
        assert_eq!((h_to - h_from) / DAY_MS, 184);
    }
}
