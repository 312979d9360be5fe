//! The working calendar SLA clocks run on (S003 §2, S002 §5): business hours
//! on working days, where a working day is a weekday that is not a public
//! holiday, or a weekend day declared a make-up workday (调休上班).
//!
//! All instants are UTC milliseconds; the calendar's fixed UTC offset says
//! where its local days begin (mainland China: +08:00, no daylight saving).

use std::collections::BTreeSet;

/// The weekend's days, as the calendar names them.
pub use chrono::Weekday;

/// The days of the week, Monday first (as Chinese calendars show them).
pub const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];
use chrono::{Datelike, NaiveDate};

mod cn2026;

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_DAY: i64 = 86_400_000;
/// A calendar with no working time for this many days in a row is broken.
const MAX_DAYS_SEARCHED: i64 = 3_660;

/// Where and when people work; admins edit it, SLA clocks read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkingCalendar {
    /// Local time = UTC + this many minutes.
    pub utc_offset_minutes: i32,
    /// Business intervals of a working day as local minutes from midnight,
    /// `[start, end)`, sorted and not overlapping (e.g. 9:00–12:00, 13:00–18:00).
    pub business_hours: Vec<(u16, u16)>,
    /// Days off every week unless made a workday.
    pub weekend: Vec<Weekday>,
    /// Public holidays (days off even on a weekday).
    pub holidays: BTreeSet<NaiveDate>,
    /// Make-up workdays: weekend days that are working days (调休).
    pub workdays: BTreeSet<NaiveDate>,
}

/// Why a calendar cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("business hours must be sorted, non-overlapping intervals within one day")]
    BadHours,
    #[error("the calendar has no working time in ten years")]
    NoWorkingTime,
    #[error("the date {0} is both a holiday and a make-up workday")]
    Contradiction(NaiveDate),
    #[error("UTC offset {0} minutes is outside ±14 hours")]
    BadOffset(i32),
}

impl Default for WorkingCalendar {
    /// Mainland China 2026: 9:00–12:00 and 13:00–18:00, Saturday and Sunday
    /// off, the State Council's 2026 holidays and make-up workdays.
    fn default() -> Self {
        WorkingCalendar {
            utc_offset_minutes: 8 * 60,
            business_hours: vec![(9 * 60, 12 * 60), (13 * 60, 18 * 60)],
            weekend: vec![Weekday::Sat, Weekday::Sun],
            holidays: cn2026::HOLIDAYS
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            workdays: cn2026::MAKEUP_WORKDAYS
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
        }
    }
}

/// Business hours as admins write them: `09:00-12:00, 13:00-18:00`.
pub fn parse_hours(text: &str) -> Result<Vec<(u16, u16)>, CalendarError> {
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
    };
    text.split([',', '，', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (a, b) = p.split_once(['-', '–', '~'])?;
            Some((minute(a)?, minute(b)?))
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(CalendarError::BadHours)
}

/// Business hours as [`parse_hours`] reads them.
pub fn format_hours(hours: &[(u16, u16)]) -> String {
    hours
        .iter()
        .map(|(a, b)| format!("{:02}:{:02}-{:02}:{:02}", a / 60, a % 60, b / 60, b % 60))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Dates one per line (or separated by commas), `YYYY-MM-DD`; the first
/// that does not read is the error.
pub fn parse_dates(text: &str) -> Result<BTreeSet<NaiveDate>, String> {
    text.split(['\n', ',', '，', ' '])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| d.to_string()))
        .collect()
}

/// Dates as [`parse_dates`] reads them, one per line.
pub fn format_dates(dates: &BTreeSet<NaiveDate>) -> String {
    dates
        .iter()
        .map(|d| d.format("%Y-%m-%d").to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl WorkingCalendar {
    /// Checks the admin's edits before they are saved.
    pub fn validate(&self) -> Result<(), CalendarError> {
        if self.utc_offset_minutes.abs() > 14 * 60 {
            return Err(CalendarError::BadOffset(self.utc_offset_minutes));
        }
        let mut prev_end = 0u16;
        for &(s, e) in &self.business_hours {
            if s >= e || e > 24 * 60 || s < prev_end {
                return Err(CalendarError::BadHours);
            }
            prev_end = e;
        }
        if let Some(d) = self.holidays.intersection(&self.workdays).next() {
            return Err(CalendarError::Contradiction(*d));
        }
        if self.business_ms_per_day() == 0 {
            return Err(CalendarError::NoWorkingTime);
        }
        Ok(())
    }

    /// Whether people work on this local date at all.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        if self.workdays.contains(&day) {
            return true;
        }
        !self.holidays.contains(&day) && !self.weekend.contains(&day.weekday())
    }

    /// Length of one working day's business hours.
    pub fn business_ms_per_day(&self) -> i64 {
        self.business_hours
            .iter()
            .map(|&(s, e)| i64::from(e.saturating_sub(s)) * MS_PER_MINUTE)
            .sum()
    }

    /// The local date an instant falls on.
    pub fn local_date(&self, at_ms: i64) -> NaiveDate {
        let (day, _) = self.split(at_ms);
        day
    }

    /// The instant `amount_ms` of business time after `start_ms`. Zero gives
    /// the next business moment at or after `start_ms`.
    pub fn add_business(&self, start_ms: i64, amount_ms: i64) -> Result<i64, CalendarError> {
        let (mut day, mut t) = self.split(start_ms);
        let mut left = amount_ms.max(0);
        for _ in 0..MAX_DAYS_SEARCHED {
            if self.is_working_day(day) {
                for (s, e) in self.intervals_ms() {
                    if t >= e {
                        continue;
                    }
                    let from = t.max(s);
                    if left <= e - from {
                        return Ok(self.join(day, from + left));
                    }
                    left -= e - from;
                    t = e;
                }
            }
            day = day.succ_opt().ok_or(CalendarError::NoWorkingTime)?;
            t = 0;
        }
        Err(CalendarError::NoWorkingTime)
    }

    /// Business time within `[from_ms, to_ms)`; zero if `to_ms <= from_ms`.
    pub fn business_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        let (mut day, mut t) = self.split(from_ms);
        let (last_day, last_t) = self.split(to_ms);
        let mut total = 0;
        while day <= last_day {
            let end_t = if day == last_day { last_t } else { MS_PER_DAY };
            if self.is_working_day(day) {
                for (s, e) in self.intervals_ms() {
                    let lo = s.max(t);
                    let hi = e.min(end_t);
                    if hi > lo {
                        total += hi - lo;
                    }
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
            t = 0;
        }
        total
    }

    fn intervals_ms(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.business_hours
            .iter()
            .map(|&(s, e)| (i64::from(s) * MS_PER_MINUTE, i64::from(e) * MS_PER_MINUTE))
    }

    /// Local date and milliseconds since local midnight.
    fn split(&self, at_ms: i64) -> (NaiveDate, i64) {
        let local = at_ms + i64::from(self.utc_offset_minutes) * MS_PER_MINUTE;
        let days = local.div_euclid(MS_PER_DAY);
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let day = epoch
            .checked_add_signed(chrono::Duration::days(days))
            .unwrap_or(epoch);
        (day, local.rem_euclid(MS_PER_DAY))
    }

    fn join(&self, day: NaiveDate, ms_of_day: i64) -> i64 {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let days = (day - epoch).num_days();
        days * MS_PER_DAY + ms_of_day - i64::from(self.utc_offset_minutes) * MS_PER_MINUTE
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn admins_write_hours_and_dates_as_text() {
        use super::*;
        assert_eq!(
            parse_hours("09:00-12:00, 13:00–18:30"),
            Ok(vec![(540, 720), (780, 1110)])
        );
        assert_eq!(
            format_hours(&[(540, 720), (780, 1110)]),
            "09:00-12:00, 13:00-18:30"
        );
        assert_eq!(parse_hours("9-12"), Err(CalendarError::BadHours));
        assert_eq!(parse_hours("09:00-25:00"), Err(CalendarError::BadHours));
        let d = parse_dates("2027-01-01\n2027-02-06, 2027-02-07").unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(format_dates(&d), "2027-01-01\n2027-02-06\n2027-02-07");
        assert_eq!(parse_dates("2027-02-30"), Err("2027-02-30".into()));
    }

    use super::*;
    use chrono::{NaiveDateTime, TimeZone};

    /// Local `YYYY-MM-DD HH:MM` in the calendar's offset, as UTC ms.
    fn at(cal: &WorkingCalendar, s: &str) -> i64 {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        let offset = chrono::FixedOffset::east_opt(cal.utc_offset_minutes * 60).unwrap();
        offset
            .from_local_datetime(&naive)
            .unwrap()
            .timestamp_millis()
    }

    fn show(cal: &WorkingCalendar, ms: i64) -> String {
        let offset = chrono::FixedOffset::east_opt(cal.utc_offset_minutes * 60).unwrap();
        offset
            .timestamp_millis_opt(ms)
            .unwrap()
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    const H: i64 = 3_600_000;

    #[test]
    fn the_2026_calendar_knows_holidays_and_make_up_workdays() {
        let cal = WorkingCalendar::default();
        cal.validate().unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(!cal.is_working_day(d("2026-01-01")), "New Year's Day");
        assert!(
            cal.is_working_day(d("2026-01-04")),
            "Sunday make-up workday"
        );
        assert!(
            !cal.is_working_day(d("2026-02-16")),
            "Spring Festival, a Monday"
        );
        assert!(
            cal.is_working_day(d("2026-02-14")),
            "Saturday make-up workday"
        );
        assert!(cal.is_working_day(d("2026-02-28")));
        assert!(!cal.is_working_day(d("2026-10-07")));
        assert!(
            cal.is_working_day(d("2026-10-10")),
            "Saturday after National Day"
        );
        assert!(
            cal.is_working_day(d("2026-09-20")),
            "Sunday before National Day"
        );
        assert!(!cal.is_working_day(d("2026-11-21")), "an ordinary Saturday");
        assert!(cal.is_working_day(d("2026-11-23")), "an ordinary Monday");
        assert_eq!(cal.holidays.len(), 33);
        assert_eq!(cal.workdays.len(), 6);
    }

    #[test]
    fn adding_business_time_table() {
        let cal = WorkingCalendar::default();
        // (start local, business hours to add, expected local end, why)
        let cases = [
            (
                "2026-11-23 10:00",
                2,
                "2026-11-23 12:00",
                "within the morning",
            ),
            ("2026-11-23 11:00", 2, "2026-11-23 14:00", "skips lunch"),
            (
                "2026-11-23 17:00",
                2,
                "2026-11-24 10:00",
                "crosses the night",
            ),
            (
                "2026-11-23 20:00",
                1,
                "2026-11-24 10:00",
                "starts after hours",
            ),
            (
                "2026-11-23 07:00",
                1,
                "2026-11-23 10:00",
                "starts before hours",
            ),
            (
                "2026-11-20 17:00",
                2,
                "2026-11-23 10:00",
                "Friday to Monday over a weekend",
            ),
            (
                "2026-11-21 10:00",
                1,
                "2026-11-23 10:00",
                "starts on a Saturday",
            ),
            (
                "2026-02-13 17:00",
                2,
                "2026-02-14 10:00",
                "Friday into a make-up Saturday",
            ),
            (
                "2026-02-14 17:00",
                2,
                "2026-02-24 10:00",
                "over the Spring Festival",
            ),
            (
                "2026-09-30 17:30",
                1,
                "2026-10-08 09:30",
                "over National Day",
            ),
            (
                "2026-09-19 10:00",
                1,
                "2026-09-20 10:00",
                "Saturday into a make-up Sunday",
            ),
            (
                "2026-12-31 17:00",
                2,
                "2027-01-01 10:00",
                "year end: 2027 holidays not loaded",
            ),
            ("2026-11-23 10:00", 8, "2026-11-24 10:00", "one working day"),
            (
                "2026-11-23 10:00",
                0,
                "2026-11-23 10:00",
                "zero is now, in hours",
            ),
            (
                "2026-11-23 12:30",
                0,
                "2026-11-23 13:00",
                "zero at lunch is after lunch",
            ),
            (
                "2026-11-23 17:00",
                1,
                "2026-11-23 18:00",
                "ends exactly at closing",
            ),
        ];
        for (start, hours, want, why) in cases {
            let got = cal.add_business(at(&cal, start), hours * H).unwrap();
            assert_eq!(show(&cal, got), want, "{why}");
        }
    }

    #[test]
    fn business_time_between_table() {
        let cal = WorkingCalendar::default();
        let cases = [
            ("2026-11-23 10:00", "2026-11-23 11:00", 1.0),
            ("2026-11-23 11:00", "2026-11-23 14:00", 2.0),
            ("2026-11-20 17:00", "2026-11-23 10:00", 2.0),
            ("2026-02-13 09:00", "2026-02-25 09:00", 8.0 * 3.0),
            ("2026-11-23 12:00", "2026-11-23 13:00", 0.0),
            ("2026-11-23 14:00", "2026-11-23 10:00", 0.0),
        ];
        for (from, to, hours) in cases {
            let got = cal.business_between(at(&cal, from), at(&cal, to));
            assert_eq!(got, (hours * H as f64) as i64, "{from} .. {to}");
        }
    }

    #[test]
    fn the_offset_decides_which_local_day_an_instant_is() {
        // 2026-11-22 23:30 UTC is Monday 07:30 in Beijing but Sunday in London.
        let utc_instant = chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 23, 30, 0)
            .unwrap()
            .timestamp_millis();
        let beijing = WorkingCalendar::default();
        let london = WorkingCalendar {
            utc_offset_minutes: 0,
            ..WorkingCalendar::default()
        };
        let new_york = WorkingCalendar {
            utc_offset_minutes: -5 * 60,
            ..WorkingCalendar::default()
        };
        assert_eq!(
            show(&beijing, beijing.add_business(utc_instant, H).unwrap()),
            "2026-11-23 10:00"
        );
        assert_eq!(
            show(&london, london.add_business(utc_instant, H).unwrap()),
            "2026-11-23 10:00"
        );
        assert_eq!(beijing.local_date(utc_instant).to_string(), "2026-11-23");
        assert_eq!(london.local_date(utc_instant).to_string(), "2026-11-22");
        assert_eq!(new_york.local_date(utc_instant).to_string(), "2026-11-22");
        // Same local answer, eight hours apart in absolute time.
        let b = beijing.add_business(utc_instant, H).unwrap();
        let l = london.add_business(utc_instant, H).unwrap();
        assert_eq!(l - b, 8 * H);
    }

    #[test]
    fn broken_calendars_are_rejected() {
        let no_hours = WorkingCalendar {
            business_hours: vec![],
            ..WorkingCalendar::default()
        };
        assert_eq!(no_hours.validate(), Err(CalendarError::NoWorkingTime));
        let overlapping = WorkingCalendar {
            business_hours: vec![(540, 720), (700, 800)],
            ..WorkingCalendar::default()
        };
        assert_eq!(overlapping.validate(), Err(CalendarError::BadHours));
        let mut both = WorkingCalendar::default();
        let day: NaiveDate = "2026-01-01".parse().unwrap();
        both.workdays.insert(day);
        assert_eq!(both.validate(), Err(CalendarError::Contradiction(day)));
        let never = WorkingCalendar {
            weekend: WEEK.to_vec(),
            workdays: BTreeSet::new(),
            ..WorkingCalendar::default()
        };
        assert_eq!(never.add_business(0, H), Err(CalendarError::NoWorkingTime));
    }
}
