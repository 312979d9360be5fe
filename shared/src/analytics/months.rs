//! Local calendar months as instants. The server keeps each month's
//! figures summed (a dashboard over years reads a few thousand sums instead
//! of a million records); which instants a month spans depends on the
//! calendar's UTC offset, so the rule lives here, once.

use chrono::{Datelike, NaiveDate};

use super::{DAY_MS, date_of_day, day_number};
use crate::calendar::WorkingCalendar;

/// One local month: `[from_ms, to_ms)` and its first local day number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalMonth {
    pub from_ms: i64,
    pub to_ms: i64,
    pub first_day: i64,
}

fn day_of(date: NaiveDate) -> i64 {
    (date - NaiveDate::default()).num_days()
}

impl LocalMonth {
    /// The month an instant falls in.
    pub fn of(at_ms: i64, calendar: &WorkingCalendar) -> Self {
        let date = date_of_day(day_number(at_ms, calendar));
        Self::starting(date.with_day(1).unwrap_or(date), calendar)
    }

    fn starting(first: NaiveDate, calendar: &WorkingCalendar) -> Self {
        let offset = i64::from(calendar.utc_offset_minutes) * 60_000;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
        let first_day = day_of(first);
        Self {
            from_ms: first_day * DAY_MS - offset,
            to_ms: day_of(next) * DAY_MS - offset,
            first_day,
        }
    }

    /// The month after this one.
    pub fn next(self, calendar: &WorkingCalendar) -> Self {
        Self::of(self.to_ms, calendar)
    }
}

/// The local months wholly inside `[from_ms, to_ms)`, in order.
pub fn whole_months(from_ms: i64, to_ms: i64, calendar: &WorkingCalendar) -> Vec<LocalMonth> {
    let mut month = LocalMonth::of(from_ms, calendar);
    if month.from_ms < from_ms {
        month = month.next(calendar);
    }
    let mut out = Vec::new();
    while month.to_ms <= to_ms && month.from_ms < month.to_ms {
        out.push(month);
        month = month.next(calendar);
    }
    out
}

/// `[from_ms, to_ms)` without the given months (sorted, inside it): the
/// ranges left, in order, adjacent months taken out together.
pub fn ranges_between(from_ms: i64, to_ms: i64, taken: &[LocalMonth]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut at = from_ms;
    for m in taken {
        if m.from_ms > at {
            out.push((at, m.from_ms));
        }
        at = at.max(m.to_ms);
    }
    if at < to_ms {
        out.push((at, to_ms));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beijing() -> WorkingCalendar {
        WorkingCalendar {
            utc_offset_minutes: 480,
            ..WorkingCalendar::default()
        }
    }

    fn at(date: &str, offset_h: i64) -> i64 {
        let d: NaiveDate = date.parse().expect("date");
        day_of(d) * DAY_MS - offset_h * 3_600_000
    }

    #[test]
    fn a_month_starts_at_local_midnight_of_its_first_day() {
        let cal = beijing();
        let m = LocalMonth::of(at("2026-02-14", 8), &cal);
        assert_eq!(m.from_ms, at("2026-02-01", 8));
        assert_eq!(m.to_ms, at("2026-03-01", 8));
        assert_eq!(date_of_day(m.first_day).to_string(), "2026-02-01");
        // The last instant of January in Beijing is still January.
        let jan = LocalMonth::of(at("2026-02-01", 8) - 1, &cal);
        assert_eq!(jan.to_ms, m.from_ms);
    }

    #[test]
    fn only_whole_months_are_taken_and_the_rest_stays() {
        let cal = beijing();
        let (from, to) = (at("2025-11-29", 8), at("2026-11-29", 8));
        let months = whole_months(from, to, &cal);
        assert_eq!(months.len(), 11, "December to October");
        assert_eq!(months[0].from_ms, at("2025-12-01", 8));
        assert_eq!(months[10].to_ms, at("2026-11-01", 8));
        assert!(months.windows(2).all(|w| w[0].to_ms == w[1].from_ms));
        let rest = ranges_between(from, to, &months);
        assert_eq!(
            rest,
            vec![(from, at("2025-12-01", 8)), (at("2026-11-01", 8), to)]
        );
        // A month left out leaves its own range.
        let some = [months[0], months[2]];
        let rest = ranges_between(from, to, &some);
        assert_eq!(rest.len(), 3);
        assert_eq!(rest[1], (months[1].from_ms, months[1].to_ms));
        // A period on month boundaries leaves nothing.
        let exact = whole_months(months[0].from_ms, months[10].to_ms, &cal);
        assert!(ranges_between(months[0].from_ms, months[10].to_ms, &exact).is_empty());
        // Shorter than a month: none.
        assert!(whole_months(from, from + 20 * DAY_MS, &cal).is_empty());
    }
}
