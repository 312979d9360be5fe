//! Improvement actions (S000 §3, S001 §6, S002 6.2): what head office
//! decides to change when a chart, a case or a group of records shows a
//! problem — an owner, a deadline, a status, the records behind it — and
//! its effect: the figure it means to move, measured on the dashboard the
//! same way before the action was opened and after it was done.

use crate::analytics::{DAY_MS, Dashboard, MAX_FACET_CHARS};

/// Characters of an action's title.
pub const MAX_TITLE_CHARS: usize = 100;
/// Characters of its plan (what will change, how).
pub const MAX_PLAN_CHARS: usize = 2_000;
/// Characters of an owner's user name.
pub const MAX_OWNER_CHARS: usize = 64;
/// Records one action links.
pub const MAX_LINKED: usize = 200;
/// Days measured on each side: before the action was opened, after it was
/// done (S002 6.2: the effect is checked after the change).
pub const EFFECT_DAYS: i64 = 28;

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Open,
    InProgress,
    Done,
    /// Decided against; kept with why in its plan.
    Dropped,
}

impl ActionStatus {
    pub const ALL: [ActionStatus; 4] = [
        ActionStatus::Open,
        ActionStatus::InProgress,
        ActionStatus::Done,
        ActionStatus::Dropped,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ActionStatus::Open => "open",
            ActionStatus::InProgress => "in_progress",
            ActionStatus::Done => "done",
            ActionStatus::Dropped => "dropped",
        }
    }

    pub fn from_key(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == s)
    }

    /// Still to be done.
    pub fn is_open(self) -> bool {
        matches!(self, ActionStatus::Open | ActionStatus::InProgress)
    }
}

/// The dashboard figure an action means to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Records received.
    Volume,
    FirstResponseMedian,
    ResolutionMedian,
    /// Resolution SLA met, all priorities.
    SlaResolution,
    FirstContact,
    RepeatComplaints,
    Csat,
}

impl Metric {
    pub const ALL: [Metric; 7] = [
        Metric::Volume,
        Metric::FirstResponseMedian,
        Metric::ResolutionMedian,
        Metric::SlaResolution,
        Metric::FirstContact,
        Metric::RepeatComplaints,
        Metric::Csat,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Metric::Volume => "volume",
            Metric::FirstResponseMedian => "first_response_median",
            Metric::ResolutionMedian => "resolution_median",
            Metric::SlaResolution => "sla_resolution",
            Metric::FirstContact => "first_contact",
            Metric::RepeatComplaints => "repeat_complaints",
            Metric::Csat => "csat",
        }
    }

    pub fn from_key(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == s)
    }

    /// The figure's name in Chinese or English, for screens and reports.
    pub fn name(self, en: bool) -> &'static str {
        let (zh, english) = match self {
            Metric::Volume => ("反馈量", "Feedback received"),
            Metric::FirstResponseMedian => ("首次响应（中位数）", "First response (median)"),
            Metric::ResolutionMedian => ("解决时间（中位数）", "Resolution (median)"),
            Metric::SlaResolution => ("解决时限达标率", "Resolution SLA met"),
            Metric::FirstContact => ("一次解决率", "First-contact resolution"),
            Metric::RepeatComplaints => ("重复投诉率", "Repeat complaints"),
            Metric::Csat => ("满意度 (CSAT)", "Satisfied (CSAT)"),
        };
        if en { english } else { zh }
    }

    /// The figure as people read it: a count, a time or a percentage.
    pub fn show(self, v: Option<f64>) -> String {
        let Some(v) = v else { return "—".into() };
        match self {
            Metric::Volume => format!("{v:.0}"),
            Metric::FirstResponseMedian | Metric::ResolutionMedian => {
                let minutes = v as i64 / 60_000;
                let (d, h, m) = (minutes / 1_440, minutes / 60 % 24, minutes % 60);
                match (d, h) {
                    (0, 0) => format!("{m} m"),
                    (0, _) => format!("{h} h {m} m"),
                    _ => format!("{d} d {h} h"),
                }
            }
            _ => format!("{:.0} %", v * 100.0),
        }
    }

    /// Whether a fall is an improvement (volumes of feedback, times,
    /// repeats); shares met and satisfied should rise.
    pub fn lower_is_better(self) -> bool {
        matches!(
            self,
            Metric::Volume
                | Metric::FirstResponseMedian
                | Metric::ResolutionMedian
                | Metric::RepeatComplaints
        )
    }

    /// The figure on a dashboard: a count, milliseconds or a share 0–1.
    pub fn of(self, d: &Dashboard) -> Option<f64> {
        match self {
            Metric::Volume => Some(d.total as f64),
            Metric::FirstResponseMedian => d.first_response.median_ms.map(|v| v as f64),
            Metric::ResolutionMedian => d.resolution.median_ms.map(|v| v as f64),
            Metric::SlaResolution => {
                let (met, decided) = d.sla.iter().fold((0, 0), |(m, n), p| {
                    let c = p.resolution;
                    (m + c.met, n + c.met + c.breached + c.overdue)
                });
                (decided > 0).then(|| met as f64 / decided as f64)
            }
            Metric::FirstContact => d.first_contact.rate(),
            Metric::RepeatComplaints => d.repeat_complaints.rate(),
            Metric::Csat => d.csat.share(),
        }
    }
}

/// `POST /api/improvement-actions`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    pub title: String,
    pub plan: String,
    pub owner: String,
    pub deadline_ms: i64,
    pub metric: Metric,
    /// The records the figure is measured on (the dashboard's filters).
    pub department: Option<String>,
    pub channel: Option<String>,
    pub feedback_type: Option<String>,
    /// Record ids behind the action (a case, a group of records).
    pub records: Vec<String>,
}

/// `PUT /api/improvement-actions/{id}`: what changes, each optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionChange {
    pub status: Option<ActionStatus>,
    pub owner: Option<String>,
    pub deadline_ms: Option<i64>,
    pub plan: Option<String>,
}

/// An action as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImprovementAction {
    pub id: String,
    pub title: String,
    pub plan: String,
    pub owner: String,
    pub deadline_ms: i64,
    pub status: ActionStatus,
    pub metric: Metric,
    pub department: Option<String>,
    pub channel: Option<String>,
    pub feedback_type: Option<String>,
    pub records: Vec<String>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub done_at_ms: Option<i64>,
}

impl ImprovementAction {
    /// Past its deadline and not done.
    pub fn overdue(&self, now_ms: i64) -> bool {
        self.status.is_open() && now_ms > self.deadline_ms
    }

    /// The periods its effect compares: the [`EFFECT_DAYS`] before it was
    /// opened, and the days after it was done (up to [`EFFECT_DAYS`], and
    /// not past now); none after while it is not done.
    pub fn effect_periods(&self, now_ms: i64) -> ((i64, i64), Option<(i64, i64)>) {
        let before = (
            self.created_at_ms - EFFECT_DAYS * DAY_MS,
            self.created_at_ms,
        );
        let after = self
            .done_at_ms
            .map(|d| (d, (d + EFFECT_DAYS * DAY_MS).min(now_ms)))
            .filter(|(from, to)| to > from);
        (before, after)
    }
}

/// The metric before and after, side by side.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Effect {
    pub metric: Metric,
    pub before: Option<f64>,
    pub before_period: (i64, i64),
    pub after: Option<f64>,
    pub after_period: Option<(i64, i64)>,
}

impl Effect {
    /// Whether the figure moved the right way; `None` until both sides are known.
    pub fn improved(&self) -> Option<bool> {
        let (b, a) = (self.before?, self.after?);
        Some(if self.metric.lower_is_better() {
            a < b
        } else {
            a > b
        })
    }
}

/// `GET /api/improvement-actions/{id}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActionDetail {
    pub action: ImprovementAction,
    pub effect: Effect,
}

/// Why an action or a change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("give the action a title of 1 to {MAX_TITLE_CHARS} characters")]
    Title,
    #[error("the plan is at most {MAX_PLAN_CHARS} characters")]
    Plan,
    #[error("name the owner (a user name of 1 to {MAX_OWNER_CHARS} characters)")]
    Owner,
    #[error("set a deadline")]
    Deadline,
    #[error("an action links at most {MAX_LINKED} records")]
    Records,
    #[error("a filter value is longer than {MAX_FACET_CHARS} characters")]
    Filter,
}

impl ActionError {
    pub fn code(self) -> &'static str {
        match self {
            ActionError::Title => "action_bad_title",
            ActionError::Plan => "action_bad_plan",
            ActionError::Owner => "action_bad_owner",
            ActionError::Deadline => "action_bad_deadline",
            ActionError::Records => "action_too_many_records",
            ActionError::Filter => "action_bad_filter",
        }
    }
}

fn trimmed(s: &str, max: usize, empty_ok: bool, e: ActionError) -> Result<String, ActionError> {
    let s = s.trim();
    let n = s.chars().count();
    if n > max || (n == 0 && !empty_ok) {
        return Err(e);
    }
    Ok(s.to_string())
}

/// A facet as kept: trimmed, empty as none.
fn facet(v: Option<String>) -> Result<Option<String>, ActionError> {
    let v = v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if v.as_ref()
        .is_some_and(|v| v.chars().count() > MAX_FACET_CHARS)
    {
        return Err(ActionError::Filter);
    }
    Ok(v)
}

impl NewAction {
    /// The action as kept: text trimmed and bounded, records deduplicated.
    pub fn checked(self) -> Result<NewAction, ActionError> {
        let mut records = self.records;
        records.sort();
        records.dedup();
        if records.len() > MAX_LINKED || records.iter().any(|r| r.len() > 64) {
            return Err(ActionError::Records);
        }
        if self.deadline_ms <= 0 {
            return Err(ActionError::Deadline);
        }
        Ok(NewAction {
            title: trimmed(&self.title, MAX_TITLE_CHARS, false, ActionError::Title)?,
            plan: trimmed(&self.plan, MAX_PLAN_CHARS, true, ActionError::Plan)?,
            owner: trimmed(&self.owner, MAX_OWNER_CHARS, false, ActionError::Owner)?,
            deadline_ms: self.deadline_ms,
            metric: self.metric,
            department: facet(self.department)?,
            channel: facet(self.channel)?,
            feedback_type: facet(self.feedback_type)?,
            records,
        })
    }
}

impl ActionChange {
    /// The change as kept, each given part checked as a new action's.
    pub fn checked(self) -> Result<ActionChange, ActionError> {
        if self.deadline_ms.is_some_and(|d| d <= 0) {
            return Err(ActionError::Deadline);
        }
        let owner = self
            .owner
            .map(|o| trimmed(&o, MAX_OWNER_CHARS, false, ActionError::Owner));
        let plan = self
            .plan
            .map(|p| trimmed(&p, MAX_PLAN_CHARS, true, ActionError::Plan));
        Ok(ActionChange {
            status: self.status,
            owner: owner.transpose()?,
            deadline_ms: self.deadline_ms,
            plan: plan.transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new() -> NewAction {
        NewAction {
            title: "  上门前电话确认  ".into(),
            plan: "".into(),
            owner: "li".into(),
            deadline_ms: 1,
            metric: Metric::RepeatComplaints,
            department: Some(" ".into()),
            channel: None,
            feedback_type: None,
            records: vec!["b".into(), "a".into(), "b".into()],
        }
    }

    #[test]
    fn a_new_action_is_kept_trimmed_and_bounded() {
        let a = new().checked().unwrap();
        assert_eq!(a.title, "上门前电话确认");
        assert_eq!(a.department, None);
        assert_eq!(a.records, ["a", "b"]);
        let bad = |f: fn(&mut NewAction)| {
            let mut a = new();
            f(&mut a);
            a.checked().unwrap_err()
        };
        assert_eq!(bad(|a| a.title = " ".into()), ActionError::Title);
        assert_eq!(bad(|a| a.owner = String::new()), ActionError::Owner);
        assert_eq!(bad(|a| a.deadline_ms = 0), ActionError::Deadline);
        assert_eq!(bad(|a| a.plan = "长".repeat(2_001)), ActionError::Plan);
        assert_eq!(
            bad(|a| a.records = (0..201).map(|i| i.to_string()).collect()),
            ActionError::Records
        );
        assert_eq!(
            bad(|a| a.channel = Some("x".repeat(101))),
            ActionError::Filter
        );
    }

    #[test]
    fn the_effect_compares_before_opening_with_after_done() {
        let mut a = ImprovementAction {
            id: "x".into(),
            title: "t".into(),
            plan: String::new(),
            owner: "li".into(),
            deadline_ms: 100 * DAY_MS,
            status: ActionStatus::InProgress,
            metric: Metric::RepeatComplaints,
            department: None,
            channel: None,
            feedback_type: None,
            records: Vec::new(),
            created_by: "sup".into(),
            created_at_ms: 50 * DAY_MS,
            done_at_ms: None,
        };
        assert!(a.overdue(101 * DAY_MS) && !a.overdue(99 * DAY_MS));
        let (before, after) = a.effect_periods(60 * DAY_MS);
        assert_eq!(before, (22 * DAY_MS, 50 * DAY_MS));
        assert_eq!(after, None);
        (a.status, a.done_at_ms) = (ActionStatus::Done, Some(70 * DAY_MS));
        assert!(!a.overdue(200 * DAY_MS));
        assert_eq!(
            a.effect_periods(80 * DAY_MS).1,
            Some((70 * DAY_MS, 80 * DAY_MS))
        );
        assert_eq!(
            a.effect_periods(200 * DAY_MS).1,
            Some((70 * DAY_MS, 98 * DAY_MS))
        );
        let effect = |before, after| Effect {
            metric: a.metric,
            before,
            before_period: (0, 1),
            after,
            after_period: Some((2, 3)),
        };
        assert_eq!(effect(Some(0.2), Some(0.1)).improved(), Some(true));
        assert_eq!(effect(Some(0.2), Some(0.3)).improved(), Some(false));
        assert_eq!(effect(Some(0.2), None).improved(), None);
        let csat = Effect {
            metric: Metric::Csat,
            ..effect(Some(0.8), Some(0.9))
        };
        assert_eq!(csat.improved(), Some(true));
    }
}
