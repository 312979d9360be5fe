//! The dashboard from whole records and scored answers, with the statistics
//! functions of [`crate::stats`]: the definition the SQL read model must
//! match.

use std::collections::BTreeMap;

use super::{
    Dashboard, DashboardFilter, DayFigures, DayScores, Facets, PrioritySla, REPEAT_WINDOW_MS,
    SeriesBuilder, Share, add_csat, add_nps, day_number,
};
use crate::calendar::CalendarError;
use crate::record::FeedbackRecord;
use crate::sla::{Priority, SlaConfig};
use crate::stats::{
    ComplaintFact, SlaTarget, first_response_times, is_complaint, repeat_complaints,
    resolution_times, sla_compliance,
};
use crate::survey::score::{Csat, Nps};
use crate::workflow::{Action, Status};

/// One survey answer's scores, and the record it is about, if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredAnswer<'a> {
    pub answered_at_ms: i64,
    pub about: Option<Facets<'a>>,
    pub csat: Csat,
    pub nps: Nps,
}

impl ScoredAnswer<'_> {
    /// An answer counts in its period; with a department, channel or type
    /// filter, only when it is about a record that passes it.
    pub fn counts_in(&self, filter: &DashboardFilter) -> bool {
        let unfiltered = filter.department.is_none()
            && filter.channel.is_none()
            && filter.feedback_type.is_none();
        (filter.from_ms..filter.to_ms).contains(&self.answered_at_ms)
            && (unfiltered || self.about.is_some_and(|f| filter.admits(&f)))
    }
}

/// A record's facets for the filters.
pub fn facets(r: &FeedbackRecord) -> Facets<'_> {
    Facets {
        department: r.department.as_deref(),
        channel: &r.channel,
        feedback_type: r.feedback_type.as_deref(),
    }
}

/// Resolved by the first owner without a reopen (S004 §3).
pub fn detoured(r: &FeedbackRecord) -> bool {
    r.workflow.reopen_count > 0
        || r.history
            .iter()
            .any(|h| matches!(h.action, Action::Reassign { .. } | Action::Reopen))
}

/// The dashboard of `filter` at `now_ms`.
pub fn dashboard(
    records: &[FeedbackRecord],
    answers: &[ScoredAnswer<'_>],
    filter: &DashboardFilter,
    sla: &SlaConfig,
    now_ms: i64,
) -> Result<Dashboard, CalendarError> {
    let calendar = &sla.calendar;
    let admitted: Vec<&FeedbackRecord> = records
        .iter()
        .filter(|r| filter.admits(&facets(r)))
        .collect();
    let period: Vec<FeedbackRecord> = admitted
        .iter()
        .filter(|r| (filter.from_ms..filter.to_ms).contains(&r.received_at_ms))
        .map(|r| (*r).clone())
        .collect();
    let mut series = SeriesBuilder::new(filter, calendar);
    for r in &period {
        let elapsed = |t: Option<i64>| t.map_or((0, 0), |t| (1, (t - r.received_at_ms).max(0)));
        let resolved = r.workflow.resolved_at_ms.is_some();
        series.add_day(&DayFigures {
            day: day_number(r.received_at_ms, calendar),
            feedback_type: r.feedback_type.clone(),
            channel: r.channel.clone(),
            nature: r.nature.clone(),
            department: r.department.clone(),
            received: 1,
            first_response: elapsed(r.workflow.first_response_at_ms),
            resolution: elapsed(r.workflow.resolved_at_ms),
            first_contact: Share {
                part: u64::from(resolved && !detoured(r)),
                whole: u64::from(resolved),
            },
        });
    }
    let (mut csat, mut nps) = (Csat::default(), Nps::default());
    for a in answers.iter().filter(|a| a.counts_in(filter)) {
        csat = add_csat(csat, a.csat);
        nps = add_nps(nps, a.nps);
        series.add_scores(&DayScores {
            day: day_number(a.answered_at_ms, calendar),
            csat: a.csat,
            nps: a.nps,
        });
    }
    let mut sla_rows = Vec::new();
    for priority in Priority::ALL {
        let of: Vec<FeedbackRecord> = period
            .iter()
            .filter(|r| r.priority == Some(priority))
            .cloned()
            .collect();
        let compliance = |target| sla_compliance(&of, &sla.policy, calendar, target, now_ms);
        sla_rows.push(PrioritySla {
            priority,
            first_response: compliance(SlaTarget::FirstResponse)?,
            resolution: compliance(SlaTarget::Resolution)?,
        });
    }
    let complaints = admitted
        .iter()
        .filter(|r| {
            is_complaint(r.nature.as_deref(), r.feedback_type.as_deref())
                && (filter.from_ms - REPEAT_WINDOW_MS..filter.to_ms).contains(&r.received_at_ms)
        })
        .map(|r| ComplaintFact {
            customer: r.customer.clone(),
            kind: r.complaint_kind.clone().or_else(|| r.feedback_type.clone()),
            received_at_ms: r.received_at_ms,
        })
        .collect();
    let mut problem_classes = BTreeMap::new();
    for class in period.iter().filter_map(|r| r.root_cause.as_ref()) {
        *problem_classes.entry(class.class.clone()).or_insert(0) += 1;
    }
    let overdue_now = admitted
        .iter()
        .filter(|r| {
            r.workflow.status != Status::Closed
                && sla
                    .due_times(r.priority, &r.sla_facts())
                    .running
                    .is_some_and(|c| c.due_at_ms < now_ms)
        })
        .count() as u64;
    Ok(Dashboard {
        filter: filter.clone(),
        granularity: super::Granularity::for_period(filter.from_ms, filter.to_ms),
        total: series.total,
        volumes: series.volumes.clone(),
        first_contact: series.first_contact,
        first_response: first_response_times(&period),
        resolution: resolution_times(&period),
        sla: sla_rows,
        repeat_complaints: repeat_complaints(complaints, REPEAT_WINDOW_MS, filter.from_ms),
        csat,
        nps,
        problem_classes,
        overdue_now,
        series: series.series(),
    })
}
