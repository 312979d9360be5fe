//! Folding per-day rows into the dashboard's totals and time series: the
//! one place both the SQL read model and the pure definition do it.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{
    Bucket, DAY_MS, DashboardFilter, Granularity, Share, Volumes, date_of_day, day_number, key_of,
};
use crate::calendar::WorkingCalendar;
use crate::survey::score::{Csat, Nps};

/// What one record adds to the time series ([`super::pure`] builds one per
/// record; the SQL read model adds [`DayTotals`] and [`CountedBy`] counts).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayFigures {
    pub day: i64,
    pub feedback_type: Option<String>,
    pub channel: String,
    pub nature: Option<String>,
    pub department: Option<String>,
    pub received: u64,
    pub first_response: (u64, i64),
    pub resolution: (u64, i64),
    pub first_contact: Share,
}

/// What one day's records add together, whatever their facets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DayTotals {
    pub day: i64,
    pub received: u64,
    pub first_response: (u64, i64),
    pub resolution: (u64, i64),
    pub first_contact: Share,
}

/// What records are counted by over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountedBy {
    FeedbackType,
    Channel,
    Nature,
    Department,
}

impl CountedBy {
    pub const ALL: [CountedBy; 4] = [
        CountedBy::FeedbackType,
        CountedBy::Channel,
        CountedBy::Nature,
        CountedBy::Department,
    ];

    fn of(self, v: &mut Volumes) -> &mut BTreeMap<String, u64> {
        match self {
            CountedBy::FeedbackType => &mut v.by_type,
            CountedBy::Channel => &mut v.by_channel,
            CountedBy::Nature => &mut v.by_nature,
            CountedBy::Department => &mut v.by_department,
        }
    }
}

/// One answer's scores on the day it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayScores {
    pub day: i64,
    pub csat: Csat,
    pub nps: Nps,
}

/// Folds per-day figures and scores into the totals and the time series.
pub struct SeriesBuilder {
    granularity: Granularity,
    buckets: BTreeMap<NaiveDate, (Bucket, [(u64, i64); 2])>,
    pub total: u64,
    pub volumes: Volumes,
    pub first_contact: Share,
}

impl SeriesBuilder {
    /// A series with an empty bucket for every bucket the period touches.
    pub fn new(filter: &DashboardFilter, calendar: &WorkingCalendar) -> Self {
        let granularity = Granularity::for_period(filter.from_ms, filter.to_ms);
        let mut buckets = BTreeMap::new();
        let (first, last) = (
            day_number(filter.from_ms, calendar),
            day_number(filter.to_ms - 1, calendar),
        );
        for day in first..=last {
            let start = granularity.bucket_start(date_of_day(day));
            buckets.entry(start).or_insert_with(|| {
                let label = match granularity {
                    Granularity::Month => start.format("%Y-%m").to_string(),
                    _ => start.format("%Y-%m-%d").to_string(),
                };
                let start_day = (start - NaiveDate::default()).num_days();
                let offset = i64::from(calendar.utc_offset_minutes) * 60_000;
                let bucket = Bucket {
                    label,
                    from_ms: start_day * DAY_MS - offset,
                    ..Bucket::default()
                };
                (bucket, [(0, 0); 2])
            });
        }
        Self {
            granularity,
            buckets,
            total: 0,
            volumes: Volumes::default(),
            first_contact: Share::default(),
        }
    }

    fn bucket(&mut self, day: i64) -> Option<&mut (Bucket, [(u64, i64); 2])> {
        let start = self.granularity.bucket_start(date_of_day(day));
        self.buckets.get_mut(&start)
    }

    /// One record's (or one day and facet's) figures.
    pub fn add_day(&mut self, d: &DayFigures) {
        self.add_totals(&DayTotals {
            day: d.day,
            received: d.received,
            first_response: d.first_response,
            resolution: d.resolution,
            first_contact: d.first_contact,
        });
        let values = [
            d.feedback_type.as_deref(),
            Some(d.channel.as_str()),
            d.nature.as_deref(),
            d.department.as_deref(),
        ];
        for (dim, value) in CountedBy::ALL.into_iter().zip(values) {
            self.add_count(dim, d.day, value, d.received);
        }
    }

    /// A day's records together: the total, times and first contacts.
    pub fn add_totals(&mut self, d: &DayTotals) {
        self.total += d.received;
        self.first_contact.part += d.first_contact.part;
        self.first_contact.whole += d.first_contact.whole;
        if let Some((_, times)) = self.bucket(d.day) {
            for (sum, (n, ms)) in times.iter_mut().zip([d.first_response, d.resolution]) {
                sum.0 += n;
                sum.1 += ms;
            }
        }
    }

    /// `n` records of a day with `value` (`None`: unset, counted as `-`).
    pub fn add_count(&mut self, dim: CountedBy, day: i64, value: Option<&str>, n: u64) {
        let key = key_of(value);
        *dim.of(&mut self.volumes).entry(key.clone()).or_insert(0) += n;
        if let Some((bucket, _)) = self.bucket(day) {
            *dim.of(&mut bucket.received).entry(key).or_insert(0) += n;
        }
    }

    pub fn add_scores(&mut self, s: &DayScores) {
        if let Some((bucket, _)) = self.bucket(s.day) {
            bucket.csat = add_csat(bucket.csat, s.csat);
            bucket.nps = add_nps(bucket.nps, s.nps);
        }
    }

    /// The buckets in time order, with their mean times.
    pub fn series(self) -> Vec<Bucket> {
        self.buckets
            .into_values()
            .map(|(mut b, [fr, res])| {
                let mean = |(n, sum): (u64, i64)| (n > 0).then(|| sum / n as i64);
                b.first_response_mean_ms = mean(fr);
                b.resolution_mean_ms = mean(res);
                b
            })
            .collect()
    }
}

/// Two CSAT tallies together.
pub fn add_csat(a: Csat, b: Csat) -> Csat {
    Csat {
        satisfied: a.satisfied + b.satisfied,
        answered: a.answered + b.answered,
        total: a.total + b.total,
    }
}

/// Two NPS tallies together.
pub fn add_nps(a: Nps, b: Nps) -> Nps {
    Nps {
        promoters: a.promoters + b.promoters,
        passives: a.passives + b.passives,
        detractors: a.detractors + b.detractors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_series_covers_the_period_and_means_per_bucket() {
        let cal = WorkingCalendar::default();
        let from = 1_795_881_600_000; // local 2026-11-29
        let filter = DashboardFilter {
            from_ms: from,
            to_ms: from + 3 * DAY_MS,
            ..DashboardFilter::default()
        };
        let mut s = SeriesBuilder::new(&filter, &cal);
        let day = day_number(from, &cal);
        for (n, ms) in [(1, 10), (2, 50)] {
            s.add_day(&DayFigures {
                day: day + 1,
                channel: "phone".into(),
                received: n,
                first_response: (n, ms),
                ..DayFigures::default()
            });
        }
        assert_eq!(s.total, 3);
        assert_eq!(s.volumes.by_channel.get("phone"), Some(&3));
        assert_eq!(s.volumes.by_type.get("-"), Some(&3));
        let series = s.series();
        let labels: Vec<&str> = series.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["2026-11-29", "2026-11-30", "2026-12-01"]);
        assert_eq!(series[0].from_ms, from);
        assert_eq!(series[1].first_response_mean_ms, Some(20));
        assert_eq!(series[0].first_response_mean_ms, None);
    }
}
