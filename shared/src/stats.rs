//! Service measures as pure functions over records (S001 §7, S002 §4,
//! S004 §3–4): response timeliness, resolution efficiency, SLA compliance,
//! first-contact resolution, repeat complaints, satisfaction, volumes.
//! The server's SQL read model must give the same numbers as these.

use std::collections::BTreeMap;

use chrono::Datelike;

use crate::analytics::Share;
use crate::calendar::{CalendarError, WorkingCalendar};
use crate::record::{CustomerAnswer, FeedbackRecord};
use crate::sla::{Priority, SlaFacts, SlaPolicy, SlaState};
use crate::workflow::Action;

/// Count, mean, median and 90th percentile of durations (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DurationStats {
    pub count: usize,
    pub mean_ms: Option<i64>,
    pub median_ms: Option<i64>,
    pub p90_ms: Option<i64>,
}

/// Summarises durations; negative samples (clock skew) count as zero.
pub fn duration_stats(samples: impl IntoIterator<Item = i64>) -> DurationStats {
    let mut v: Vec<i64> = samples.into_iter().map(|s| s.max(0)).collect();
    if v.is_empty() {
        return DurationStats::default();
    }
    v.sort_unstable();
    let rank = |p: usize| v[(v.len() * p).div_ceil(100).max(1) - 1];
    let sum: i128 = v.iter().map(|&x| i128::from(x)).sum();
    DurationStats {
        count: v.len(),
        mean_ms: Some((sum / v.len() as i128) as i64),
        median_ms: Some(rank(50)),
        p90_ms: Some(rank(90)),
    }
}

/// Received → first response, over records that have one.
pub fn first_response_times(records: &[FeedbackRecord]) -> DurationStats {
    duration_stats(records.iter().filter_map(|r| {
        r.workflow
            .first_response_at_ms
            .map(|t| t - r.received_at_ms)
    }))
}

/// Received → resolved, over resolved records.
pub fn resolution_times(records: &[FeedbackRecord]) -> DurationStats {
    duration_stats(
        records
            .iter()
            .filter_map(|r| r.workflow.resolved_at_ms.map(|t| t - r.received_at_ms)),
    )
}

/// Which SLA target to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaTarget {
    FirstResponse,
    Resolution,
}

/// SLA outcome counts; `rate` = met / (met + breached + overdue).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Compliance {
    pub met: usize,
    pub breached: usize,
    pub overdue: usize,
    /// Still open and not yet late (on track, near due or paused).
    pub open_in_time: usize,
    pub rate: Option<f64>,
}

/// How many records met, missed or are missing their target at `now_ms`.
/// Records without a priority, or whose priority has no such target, are left out.
pub fn sla_compliance(
    records: &[FeedbackRecord],
    policy: &SlaPolicy,
    calendar: &WorkingCalendar,
    target: SlaTarget,
    now_ms: i64,
) -> Result<Compliance, CalendarError> {
    let facts = records.iter().filter_map(|r| {
        let priority = r.priority?;
        Some((priority, r.sla_facts()))
    });
    sla_compliance_of(facts, policy, calendar, target, now_ms)
}

/// [`sla_compliance`] over bare facts, for callers that hold rows of a read
/// model rather than whole records.
pub fn sla_compliance_of(
    facts: impl IntoIterator<Item = (Priority, SlaFacts)>,
    policy: &SlaPolicy,
    calendar: &WorkingCalendar,
    target: SlaTarget,
    now_ms: i64,
) -> Result<Compliance, CalendarError> {
    let mut c = Compliance::default();
    for (priority, facts) in facts {
        let status = policy.evaluate(calendar, priority, &facts, now_ms)?;
        let clock = match target {
            SlaTarget::FirstResponse => status.first_response,
            SlaTarget::Resolution => status.resolution,
        };
        match clock.map(|c| c.state) {
            Some(SlaState::Met) => c.met += 1,
            Some(SlaState::Breached) => c.breached += 1,
            Some(SlaState::Overdue) => c.overdue += 1,
            Some(SlaState::OnTrack | SlaState::NearDue | SlaState::Paused) => c.open_in_time += 1,
            None => {}
        }
    }
    Ok(add_compliance(c, Compliance::default()))
}

/// Two compliance tallies together, with the rate of the sum.
pub fn add_compliance(a: Compliance, b: Compliance) -> Compliance {
    let mut c = Compliance {
        met: a.met + b.met,
        breached: a.breached + b.breached,
        overdue: a.overdue + b.overdue,
        open_in_time: a.open_in_time + b.open_in_time,
        rate: None,
    };
    let decided = c.met + c.breached + c.overdue;
    c.rate = (decided > 0).then(|| c.met as f64 / decided as f64);
    c
}

/// Share of resolved records resolved by their first owner without a reopen.
pub fn first_contact_resolution_rate(records: &[FeedbackRecord]) -> Option<f64> {
    let resolved: Vec<&FeedbackRecord> = records
        .iter()
        .filter(|r| r.workflow.resolved_at_ms.is_some())
        .collect();
    if resolved.is_empty() {
        return None;
    }
    let first_contact = resolved
        .iter()
        .filter(|r| {
            r.workflow.reopen_count == 0
                && !r
                    .history
                    .iter()
                    .any(|h| matches!(h.action, Action::Reassign { .. }))
        })
        .count();
    Some(first_contact as f64 / resolved.len() as f64)
}

/// A complaint by its nature or, unclassified, by its type.
pub fn is_complaint(nature: Option<&str>, feedback_type: Option<&str>) -> bool {
    nature == Some("complaint") || feedback_type == Some("complaint")
}

/// What the repeat-complaint rate needs of one complaint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintFact {
    pub customer: String,
    /// Complaint kind, else feedback type: "the same kind".
    pub kind: Option<String>,
    pub received_at_ms: i64,
}

/// Share of complaints whose customer complained of the same kind within
/// `window_ms` before (same customer + same type, S004 §3).
pub fn repeat_complaint_rate(records: &[FeedbackRecord], window_ms: i64) -> Option<f64> {
    let complaints = records
        .iter()
        .filter(|r| is_complaint(r.nature.as_deref(), r.feedback_type.as_deref()))
        .map(|r| ComplaintFact {
            customer: r.customer.clone(),
            kind: r.complaint_kind.clone().or_else(|| r.feedback_type.clone()),
            received_at_ms: r.received_at_ms,
        });
    repeat_complaint_rate_of(complaints.collect(), window_ms)
}

/// [`repeat_complaint_rate`] over complaints already picked out.
pub fn repeat_complaint_rate_of(complaints: Vec<ComplaintFact>, window_ms: i64) -> Option<f64> {
    repeat_complaints(complaints, window_ms, i64::MIN).rate()
}

/// How many of the complaints received at or after `counted_from_ms` are
/// repeats; earlier complaints only make later ones repeats.
pub fn repeat_complaints(
    mut complaints: Vec<ComplaintFact>,
    window_ms: i64,
    counted_from_ms: i64,
) -> Share {
    complaints.sort_by_key(|c| c.received_at_ms);
    let mut last_seen: BTreeMap<(&str, Option<&str>), i64> = BTreeMap::new();
    let mut share = Share::default();
    for c in &complaints {
        let key = (c.customer.as_str(), c.kind.as_deref());
        if c.received_at_ms >= counted_from_ms {
            share.whole += 1;
            if last_seen
                .get(&key)
                .is_some_and(|&t| c.received_at_ms - t <= window_ms)
            {
                share.part += 1;
            }
        }
        last_seen.insert(key, c.received_at_ms);
    }
    share
}

/// Share of answered replies where the customer said "satisfied".
pub fn reply_satisfaction(records: &[FeedbackRecord]) -> Option<f64> {
    let answers: Vec<CustomerAnswer> = records
        .iter()
        .filter_map(|r| r.last_reply().and_then(|x| x.customer_answer))
        .collect();
    (!answers.is_empty()).then(|| {
        answers
            .iter()
            .filter(|a| **a == CustomerAnswer::Satisfied)
            .count() as f64
            / answers.len() as f64
    })
}

/// What to count records by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    FeedbackType,
    Channel,
    Department,
    Status,
    /// Local calendar month of receipt, `2026-11`.
    Month,
    /// Local calendar quarter of receipt, `2026-Q4`.
    Quarter,
}

impl Dimension {
    /// The local calendar month (`2026-11`) or quarter (`2026-Q4`) an
    /// instant falls in; `None` for the other dimensions.
    pub fn period_of(self, at_ms: i64, calendar: &WorkingCalendar) -> Option<String> {
        let d = calendar.local_date(at_ms);
        match self {
            Dimension::Month => Some(format!("{:04}-{:02}", d.year(), d.month())),
            Dimension::Quarter => Some(format!("{:04}-Q{}", d.year(), d.month0() / 3 + 1)),
            _ => None,
        }
    }
}

/// Volume per value of a dimension; unset values count under `"-"`.
pub fn counts_by(
    records: &[FeedbackRecord],
    dimension: Dimension,
    calendar: &WorkingCalendar,
) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in records {
        let key = match dimension {
            Dimension::FeedbackType => r.feedback_type.clone(),
            Dimension::Channel => Some(r.channel.clone()),
            Dimension::Department => r.department.clone(),
            Dimension::Status => Some(r.workflow.status.key().to_string()),
            Dimension::Month | Dimension::Quarter => {
                dimension.period_of(r.received_at_ms, calendar)
            }
        };
        *out.entry(key.unwrap_or_else(|| "-".into())).or_insert(0) += 1;
    }
    out
}
