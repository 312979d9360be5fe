//! SLA policies and clocks: when a first response and a resolution are due
//! for a record, and whether it is on track, near due, overdue, met or
//! breached (S003 §2 defaults; S000 §3 and S002 §5 as selectable variants).

use std::collections::BTreeMap;

use crate::calendar::{CalendarError, WorkingCalendar};

const HOUR_MS: i64 = 3_600_000;

/// Priority levels of S003 §2.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Priority {
    /// Many or high-value customers affected, business down.
    P0,
    /// Important, blocks a customer.
    P1,
    /// Normal.
    P2,
    /// Suggestion or praise.
    P3,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [Priority::P0, Priority::P1, Priority::P2, Priority::P3];

    /// The stored key (`"P0"` …).
    pub fn key(self) -> &'static str {
        match self {
            Priority::P0 => "P0",
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
        }
    }

    /// Parses a stored key; `None` for anything else.
    pub fn from_key(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.key() == s)
    }
}

/// How long a target allows, and on which clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SlaDuration {
    /// Round-the-clock hours (P0: business down does not wait for Monday).
    CalendarHours(u32),
    /// Hours of business time on the working calendar.
    BusinessHours(u32),
    /// Working days, each worth one working day's business hours.
    WorkingDays(u32),
}

/// First-response and resolution targets of one priority; `None` = no deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Targets {
    pub first_response: Option<SlaDuration>,
    pub resolution: Option<SlaDuration>,
}

/// A named set of targets per priority; admins choose and edit one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlaPolicy {
    pub name: String,
    pub targets: BTreeMap<Priority, Targets>,
    /// Stop the resolution clock while waiting for the customer.
    pub pause_while_waiting: bool,
    /// Near due when no more than this share of the target is left.
    pub near_due_percent: u8,
}

/// The policy and the working calendar its clocks run on: what every due
/// time, list and report of one deployment uses (admins edit it; the
/// defaults are S003's targets and the shipped calendar).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SlaConfig {
    pub policy: SlaPolicy,
    pub calendar: WorkingCalendar,
}

impl SlaConfig {
    /// The record's due moments; none without a priority or when the
    /// calendar cannot place them.
    pub fn due_times(&self, priority: Option<Priority>, facts: &SlaFacts) -> DueTimes {
        priority
            .and_then(|p| self.policy.due_times(&self.calendar, p, facts).ok())
            .unwrap_or_default()
    }
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy::s003()
    }
}

/// Why an admin's SLA settings cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SlaConfigError {
    #[error("the policy needs a name of 1–40 characters")]
    Name,
    #[error("the policy has no targets for {0}")]
    MissingPriority(&'static str),
    #[error("a target of {0} is zero or longer than a year")]
    Target(&'static str),
    #[error("near due must be 1–90 % of a target, not {0} %")]
    NearDue(u8),
    #[error(transparent)]
    Calendar(#[from] crate::calendar::CalendarError),
}

/// The longest target accepted, in each unit (about a year).
const MAX_HOURS: u32 = 366 * 24;
const MAX_DAYS: u32 = 366;

impl SlaConfig {
    /// Checks an admin's edits before they are saved.
    pub fn validate(&self) -> Result<(), SlaConfigError> {
        self.policy.validate()?;
        Ok(self.calendar.validate()?)
    }
}

impl SlaPolicy {
    /// The named policies head office can choose from (S003 the default).
    pub fn presets() -> [SlaPolicy; 3] {
        [Self::s003(), Self::s000(), Self::s002()]
    }

    /// Checks an admin's edits before they are saved.
    pub fn validate(&self) -> Result<(), SlaConfigError> {
        let name = self.name.trim().chars().count();
        if name == 0 || name > 40 {
            return Err(SlaConfigError::Name);
        }
        if !(1..=90).contains(&self.near_due_percent) {
            return Err(SlaConfigError::NearDue(self.near_due_percent));
        }
        for p in Priority::ALL {
            let t = self
                .targets
                .get(&p)
                .ok_or(SlaConfigError::MissingPriority(p.key()))?;
            let ok = |d: &Option<SlaDuration>| match d {
                None => true,
                Some(SlaDuration::CalendarHours(h) | SlaDuration::BusinessHours(h)) => {
                    (1..=MAX_HOURS).contains(h)
                }
                Some(SlaDuration::WorkingDays(d)) => (1..=MAX_DAYS).contains(d),
            };
            if !ok(&t.first_response) || !ok(&t.resolution) {
                return Err(SlaConfigError::Target(p.key()));
            }
        }
        Ok(())
    }

    fn with(
        name: &str,
        targets: [(Priority, Option<SlaDuration>, Option<SlaDuration>); 4],
    ) -> Self {
        SlaPolicy {
            name: name.into(),
            targets: targets
                .into_iter()
                .map(|(p, first_response, resolution)| {
                    (
                        p,
                        Targets {
                            first_response,
                            resolution,
                        },
                    )
                })
                .collect(),
            pause_while_waiting: true,
            near_due_percent: 20,
        }
    }

    /// S003 §2, the default: P0 2 h / 24 h round the clock; P1 4 business
    /// hours / 3 working days; P2 1 / 7 working days; P3 recorded within 3
    /// working days, no resolution deadline.
    pub fn s003() -> Self {
        use SlaDuration::*;
        SlaPolicy::with(
            "S003",
            [
                (
                    Priority::P0,
                    Some(CalendarHours(2)),
                    Some(CalendarHours(24)),
                ),
                (Priority::P1, Some(BusinessHours(4)), Some(WorkingDays(3))),
                (Priority::P2, Some(WorkingDays(1)), Some(WorkingDays(7))),
                (Priority::P3, Some(WorkingDays(3)), None),
            ],
        )
    }

    /// S000 §3: urgent (P0, P1) answered within 24 h, normal within 3 working days.
    pub fn s000() -> Self {
        use SlaDuration::*;
        SlaPolicy::with(
            "S000",
            [
                (Priority::P0, Some(CalendarHours(24)), None),
                (Priority::P1, Some(CalendarHours(24)), None),
                (Priority::P2, Some(WorkingDays(3)), None),
                (Priority::P3, Some(WorkingDays(3)), None),
            ],
        )
    }

    /// S002 §5: registered and classified within 24 h, processed within 7 working days.
    pub fn s002() -> Self {
        use SlaDuration::*;
        let t = (Some(CalendarHours(24)), Some(WorkingDays(7)));
        SlaPolicy::with(
            "S002",
            [
                (Priority::P0, t.0, t.1),
                (Priority::P1, t.0, t.1),
                (Priority::P2, t.0, t.1),
                (Priority::P3, t.0, t.1),
            ],
        )
    }
}

/// Where a record stands against one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    OnTrack,
    /// Little time left: shown prominently, the supervisor is told.
    NearDue,
    /// Past due and not done: escalates.
    Overdue,
    /// The clock is stopped while waiting for the customer.
    Paused,
    /// Done in time.
    Met,
    /// Done, but late.
    Breached,
}

/// One target's clock as of `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SlaClock {
    pub due_at_ms: i64,
    /// From this moment on the clock counts as near due (unless done).
    pub near_at_ms: i64,
    pub state: SlaState,
    /// Target time still left on the target's own clock (negative when late).
    pub remaining_ms: i64,
}

/// What the clocks need to know about a record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaFacts {
    pub received_at_ms: i64,
    pub first_response_at_ms: Option<i64>,
    pub resolved_at_ms: Option<i64>,
    /// Waiting-for-customer intervals; an open one has no end yet.
    pub pauses: Vec<(i64, Option<i64>)>,
}

/// Both clocks of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SlaStatus {
    pub first_response: Option<SlaClock>,
    pub resolution: Option<SlaClock>,
}

/// When each clock of a record falls due; see [`SlaPolicy::due_times`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DueTimes {
    pub first_response_ms: Option<i64>,
    pub resolution_ms: Option<i64>,
    /// The clock that runs now (first response until answered, then
    /// resolution until resolved): when it falls due and when it turns
    /// near due. `None` when no clock runs (done, or waiting for the
    /// customer), so lists filter and sort "overdue" and "near due" in
    /// storage, not by evaluating every record.
    pub running: Option<RunningClock>,
}

/// The due and near-due moments of a record's running clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RunningClock {
    pub due_at_ms: i64,
    pub near_at_ms: i64,
}

impl SlaPolicy {
    /// Evaluates both clocks of a record at `now_ms`.
    pub fn evaluate(
        &self,
        calendar: &WorkingCalendar,
        priority: Priority,
        facts: &SlaFacts,
        now_ms: i64,
    ) -> Result<SlaStatus, CalendarError> {
        let Some(targets) = self.targets.get(&priority) else {
            return Ok(SlaStatus {
                first_response: None,
                resolution: None,
            });
        };
        let first_response = targets
            .first_response
            .map(|d| {
                self.clock(
                    calendar,
                    d,
                    facts.received_at_ms,
                    facts.first_response_at_ms,
                    &[],
                    now_ms,
                )
            })
            .transpose()?;
        let pauses: &[(i64, Option<i64>)] = if self.pause_while_waiting {
            &facts.pauses
        } else {
            &[]
        };
        let resolution = targets
            .resolution
            .map(|d| {
                self.clock(
                    calendar,
                    d,
                    facts.received_at_ms,
                    facts.resolved_at_ms,
                    pauses,
                    now_ms,
                )
            })
            .transpose()?;
        Ok(SlaStatus {
            first_response,
            resolution,
        })
    }

    /// The due moments of both clocks as fixed facts of the record, for a
    /// read model that must not depend on when it was written: the first
    /// response due never moves; the resolution due is `None` while the
    /// record waits for the customer (a stopped clock has no due moment).
    pub fn due_times(
        &self,
        calendar: &WorkingCalendar,
        priority: Priority,
        facts: &SlaFacts,
    ) -> Result<DueTimes, CalendarError> {
        let waiting = facts.pauses.iter().any(|p| p.1.is_none());
        // With every pause closed the due moments do not depend on `now`.
        let status = self.evaluate(calendar, priority, facts, facts.received_at_ms)?;
        let resolution = status.resolution.filter(|_| !waiting);
        let running = match facts.first_response_at_ms {
            None => status.first_response.or(resolution),
            Some(_) => resolution,
        }
        .filter(|_| facts.resolved_at_ms.is_none())
        .map(|c| RunningClock {
            due_at_ms: c.due_at_ms,
            near_at_ms: c.near_at_ms,
        });
        Ok(DueTimes {
            first_response_ms: status.first_response.map(|c| c.due_at_ms),
            resolution_ms: resolution.map(|c| c.due_at_ms),
            running,
        })
    }

    fn clock(
        &self,
        cal: &WorkingCalendar,
        duration: SlaDuration,
        start: i64,
        done: Option<i64>,
        pauses: &[(i64, Option<i64>)],
        now: i64,
    ) -> Result<SlaClock, CalendarError> {
        let (target, business) = match duration {
            SlaDuration::CalendarHours(h) => (i64::from(h) * HOUR_MS, false),
            SlaDuration::BusinessHours(h) => (i64::from(h) * HOUR_MS, true),
            SlaDuration::WorkingDays(d) => (i64::from(d) * cal.business_ms_per_day(), true),
        };
        let span = |a: i64, b: i64| {
            if business {
                cal.business_between(a, b)
            } else {
                (b - a).max(0)
            }
        };
        let add = |a: i64, amount: i64| {
            if business {
                cal.add_business(a, amount)
            } else {
                Ok(a + amount)
            }
        };
        let end_of = |p: &(i64, Option<i64>)| p.1.unwrap_or(now.max(p.0));
        // Paused time before the due moment pushes the due moment out; repeat
        // until it settles (each round can only add pauses, so it converges).
        let mut due = add(start, target)?;
        let mut paused_before_due = 0;
        for _ in 0..pauses.len() + 1 {
            paused_before_due = pauses
                .iter()
                .map(|p| span(p.0.max(start), end_of(p).min(due)))
                .sum();
            let next = add(start, target + paused_before_due)?;
            if next == due {
                break;
            }
            due = next;
        }
        // Near due once no more than the policy's share of the target is left.
        let near_share = target * i64::from(self.near_due_percent) / 100;
        let near = add(start, target - near_share + paused_before_due)?.min(due);
        let at = done.unwrap_or(now);
        let paused_until_at: i64 = pauses
            .iter()
            .map(|p| span(p.0.max(start), end_of(p).min(at)))
            .sum();
        let remaining = target - (span(start, at) - paused_until_at);
        let paused_now = done.is_none()
            && pauses
                .iter()
                .any(|p| p.0 <= now && p.1.is_none_or(|e| e > now));
        let state = match done {
            Some(d) if d <= due => SlaState::Met,
            Some(_) => SlaState::Breached,
            None if now > due => SlaState::Overdue,
            None if paused_now => SlaState::Paused,
            None if remaining * 100 <= target * i64::from(self.near_due_percent) => {
                SlaState::NearDue
            }
            None => SlaState::OnTrack,
        };
        Ok(SlaClock {
            due_at_ms: due,
            near_at_ms: near,
            state,
            remaining_ms: remaining,
        })
    }
}

/// Feedback is registered within 24 hours of arriving (S002 5.3): its own
/// clock, round the clock, from the received time to the register step.
pub const REGISTRATION_MS: i64 = 24 * HOUR_MS;

/// The registration clock of a record at `now_ms` (near due in its last
/// fifth, as the default policy's clocks).
pub fn registration_clock(
    received_at_ms: i64,
    registered_at_ms: Option<i64>,
    now_ms: i64,
) -> SlaClock {
    clock_within(received_at_ms, REGISTRATION_MS, registered_at_ms, now_ms)
}

/// A reply is due within 24 hours of the resolution (S000 §4: the result
/// is reported back to the customer promptly), in calendar hours.
pub const REPLY_AFTER_RESOLUTION_MS: i64 = 24 * HOUR_MS;

/// The reply clock: from the resolution until a reply is sent after it.
pub fn reply_clock(resolved_at_ms: i64, replied_at_ms: Option<i64>, now_ms: i64) -> SlaClock {
    clock_within(
        resolved_at_ms,
        REPLY_AFTER_RESOLUTION_MS,
        replied_at_ms,
        now_ms,
    )
}

/// A clock of `span_ms` calendar time from `start_ms`, stopped by `done`.
fn clock_within(start_ms: i64, span_ms: i64, done_at_ms: Option<i64>, now_ms: i64) -> SlaClock {
    let due = start_ms + span_ms;
    let near = due - span_ms / 5;
    let at = done_at_ms.unwrap_or(now_ms);
    let state = match done_at_ms {
        Some(r) if r <= due => SlaState::Met,
        Some(_) => SlaState::Breached,
        None if now_ms > due => SlaState::Overdue,
        None if now_ms >= near => SlaState::NearDue,
        None => SlaState::OnTrack,
    };
    SlaClock {
        due_at_ms: due,
        near_at_ms: near,
        state,
        remaining_ms: due - at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, NaiveDateTime, TimeZone};

    fn at(s: &str) -> i64 {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .from_local_datetime(&naive)
            .unwrap()
            .timestamp_millis()
    }

    fn show(ms: i64) -> String {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .timestamp_millis_opt(ms)
            .unwrap()
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    fn facts(received: &str) -> SlaFacts {
        SlaFacts {
            received_at_ms: at(received),
            ..SlaFacts::default()
        }
    }

    #[test]
    fn admin_edits_are_checked_before_they_count() {
        let ok = SlaConfig::default();
        assert_eq!(ok.validate(), Ok(()));
        for p in SlaPolicy::presets() {
            assert_eq!(p.validate(), Ok(()), "{}", p.name);
        }
        let mut c = ok.clone();
        c.policy.near_due_percent = 0;
        assert_eq!(c.validate(), Err(SlaConfigError::NearDue(0)));
        let mut c = ok.clone();
        c.policy.targets.remove(&Priority::P2);
        assert_eq!(c.validate(), Err(SlaConfigError::MissingPriority("P2")));
        let mut c = ok.clone();
        c.policy.targets.insert(
            Priority::P1,
            Targets {
                first_response: Some(SlaDuration::BusinessHours(0)),
                resolution: None,
            },
        );
        assert_eq!(c.validate(), Err(SlaConfigError::Target("P1")));
        let mut c = ok.clone();
        c.policy.name = " ".into();
        assert_eq!(c.validate(), Err(SlaConfigError::Name));
        let mut c = ok;
        c.calendar.business_hours = vec![(600, 540)];
        assert!(matches!(c.validate(), Err(SlaConfigError::Calendar(_))));
    }

    #[test]
    fn registration_is_due_within_24_hours_of_arrival() {
        let r = at("2026-11-23 22:00");
        let c = |reg: Option<&str>, now: &str| registration_clock(r, reg.map(at), at(now));
        assert_eq!(
            show(c(None, "2026-11-23 23:00").due_at_ms),
            "2026-11-24 22:00"
        );
        assert_eq!(c(None, "2026-11-24 10:00").state, SlaState::OnTrack);
        assert_eq!(c(None, "2026-11-24 18:00").state, SlaState::NearDue);
        assert_eq!(c(None, "2026-11-24 22:01").state, SlaState::Overdue);
        assert_eq!(
            c(Some("2026-11-24 09:00"), "2026-11-30 10:00").state,
            SlaState::Met
        );
        let late = c(Some("2026-11-25 09:00"), "2026-11-30 10:00");
        assert_eq!(late.state, SlaState::Breached);
        assert_eq!(late.remaining_ms, -11 * HOUR_MS);
    }

    #[test]
    fn the_running_clock_turns_near_due_and_overdue_at_its_stored_moments() {
        let cal = WorkingCalendar::default();
        let policy = SlaPolicy::s003();
        let minute = 60_000;
        // Every priority, received at every hour of a week with a weekend.
        for p in [Priority::P0, Priority::P1, Priority::P2, Priority::P3] {
            for hour in 0..24 * 7 {
                let mut f = facts("2026-11-23 00:00");
                f.received_at_ms += hour * HOUR_MS + 7 * minute;
                let Some(run) = policy.due_times(&cal, p, &f).unwrap().running else {
                    continue;
                };
                let state = |now: i64| {
                    let s = policy.evaluate(&cal, p, &f, now).unwrap();
                    s.first_response.or(s.resolution).unwrap().state
                };
                let at = show(f.received_at_ms);
                assert!(run.near_at_ms <= run.due_at_ms, "{p:?} {at}");
                if run.near_at_ms > f.received_at_ms {
                    assert_eq!(
                        state(run.near_at_ms - minute),
                        SlaState::OnTrack,
                        "{p:?} {at}"
                    );
                }
                assert_eq!(state(run.near_at_ms), SlaState::NearDue, "{p:?} {at}");
                assert_eq!(state(run.due_at_ms), SlaState::NearDue, "{p:?} {at}");
                assert_eq!(state(run.due_at_ms + 1), SlaState::Overdue, "{p:?} {at}");
            }
        }
        // Answered: the resolution clock runs; resolved: none does.
        let mut f = facts("2026-11-23 10:00");
        f.first_response_at_ms = Some(at("2026-11-23 11:00"));
        let due = policy.due_times(&cal, Priority::P2, &f).unwrap();
        assert_eq!(due.running.map(|r| r.due_at_ms), due.resolution_ms);
        f.resolved_at_ms = Some(at("2026-11-24 11:00"));
        assert_eq!(
            policy.due_times(&cal, Priority::P2, &f).unwrap().running,
            None
        );
        // Waiting for the customer: the stopped clock has no due moment.
        f.resolved_at_ms = None;
        f.pauses = vec![(at("2026-11-23 12:00"), None)];
        assert_eq!(
            policy.due_times(&cal, Priority::P2, &f).unwrap().running,
            None
        );
    }

    #[test]
    fn due_times_are_fixed_facts_and_none_while_waiting() {
        let cal = WorkingCalendar::default();
        let policy = SlaPolicy::s003();
        let mut f = facts("2026-11-23 10:00");
        let open = policy.due_times(&cal, Priority::P2, &f).unwrap();
        assert_eq!(
            open.first_response_ms.map(show).as_deref(),
            Some("2026-11-24 10:00")
        );
        assert_eq!(
            open.resolution_ms.map(show).as_deref(),
            Some("2026-12-02 10:00")
        );
        // Same answer whenever it is asked: it is evaluated at no `now`.
        let later = policy
            .evaluate(&cal, Priority::P2, &f, at("2026-11-30 10:00"))
            .unwrap();
        assert_eq!(later.resolution.map(|c| c.due_at_ms), open.resolution_ms);

        f.pauses = vec![(at("2026-11-24 10:00"), None)];
        let waiting = policy.due_times(&cal, Priority::P2, &f).unwrap();
        assert_eq!(waiting.first_response_ms, open.first_response_ms);
        assert_eq!(waiting.resolution_ms, None, "stopped clock");

        f.pauses = vec![(at("2026-11-24 10:00"), Some(at("2026-11-25 10:00")))];
        let resumed = policy.due_times(&cal, Priority::P2, &f).unwrap();
        assert_eq!(
            resumed.resolution_ms.map(show).as_deref(),
            Some("2026-12-03 10:00")
        );
    }

    #[test]
    fn s003_due_times_table() {
        let cal = WorkingCalendar::default();
        let policy = SlaPolicy::s003();
        // (priority, received, first response due, resolution due)
        let cases = [
            (
                Priority::P0,
                "2026-11-20 17:00",
                Some("2026-11-20 19:00"),
                Some("2026-11-21 17:00"),
            ),
            (
                Priority::P1,
                "2026-11-20 17:00",
                Some("2026-11-23 12:00"),
                Some("2026-11-25 17:00"),
            ),
            (
                Priority::P2,
                "2026-11-23 10:00",
                Some("2026-11-24 10:00"),
                Some("2026-12-02 10:00"),
            ),
            (
                Priority::P3,
                "2026-11-23 10:00",
                Some("2026-11-26 10:00"),
                None,
            ),
            (
                Priority::P2,
                "2026-09-30 10:00",
                Some("2026-10-08 10:00"),
                Some("2026-10-15 10:00"),
            ),
            (
                Priority::P1,
                "2026-12-31 16:00",
                Some("2027-01-01 11:00"),
                Some("2027-01-05 16:00"),
            ),
        ];
        for (p, received, fr, res) in cases {
            let s = policy
                .evaluate(&cal, p, &facts(received), at(received))
                .unwrap();
            assert_eq!(
                s.first_response.map(|c| show(c.due_at_ms)).as_deref(),
                fr,
                "{p:?} {received} first response"
            );
            assert_eq!(
                s.resolution.map(|c| show(c.due_at_ms)).as_deref(),
                res,
                "{p:?} {received} resolution"
            );
        }
    }

    #[test]
    fn states_follow_the_clock() {
        let cal = WorkingCalendar::default();
        let policy = SlaPolicy::s003();
        let f = facts("2026-11-23 10:00"); // P1: 4 business hours, lunch skipped: due 15:00
        let state = |now: &str| {
            policy
                .evaluate(&cal, Priority::P1, &f, at(now))
                .unwrap()
                .first_response
                .unwrap()
        };
        assert_eq!(state("2026-11-23 11:00").state, SlaState::OnTrack);
        assert_eq!(
            state("2026-11-23 13:20").state,
            SlaState::OnTrack,
            "100 of 240 minutes left"
        );
        assert_eq!(
            state("2026-11-23 14:20").state,
            SlaState::NearDue,
            "40 of 240 minutes left"
        );
        assert_eq!(state("2026-11-23 15:01").state, SlaState::Overdue);
        assert!(state("2026-11-23 16:00").remaining_ms < 0);
        let answered = SlaFacts {
            first_response_at_ms: Some(at("2026-11-23 13:00")),
            ..f.clone()
        };
        let c = policy
            .evaluate(&cal, Priority::P1, &answered, at("2026-11-24 09:00"))
            .unwrap();
        assert_eq!(c.first_response.unwrap().state, SlaState::Met);
        let late = SlaFacts {
            first_response_at_ms: Some(at("2026-11-23 16:00")),
            ..f
        };
        let c = policy
            .evaluate(&cal, Priority::P1, &late, at("2026-11-24 09:00"))
            .unwrap();
        assert_eq!(c.first_response.unwrap().state, SlaState::Breached);
    }

    #[test]
    fn waiting_for_the_customer_pauses_the_resolution_clock() {
        let cal = WorkingCalendar::default();
        let mut policy = SlaPolicy::s003();
        // P1 resolution: 3 working days from Mon 10:00 = Thu 10:00.
        let paused = SlaFacts {
            pauses: vec![(at("2026-11-24 10:00"), Some(at("2026-11-25 10:00")))],
            ..facts("2026-11-23 10:00")
        };
        let s = policy
            .evaluate(&cal, Priority::P1, &paused, at("2026-11-24 11:00"))
            .unwrap();
        assert_eq!(
            show(s.resolution.unwrap().due_at_ms),
            "2026-11-27 10:00",
            "one working day later"
        );
        assert_eq!(s.resolution.unwrap().state, SlaState::Paused);
        assert_eq!(
            show(s.first_response.unwrap().due_at_ms),
            "2026-11-23 15:00",
            "first response is never paused"
        );
        // An open pause keeps pushing the due time while it lasts.
        let open = SlaFacts {
            pauses: vec![(at("2026-11-24 10:00"), None)],
            ..facts("2026-11-23 10:00")
        };
        let s = policy
            .evaluate(&cal, Priority::P1, &open, at("2026-11-26 10:00"))
            .unwrap();
        assert_eq!(
            show(s.resolution.unwrap().due_at_ms),
            "2026-11-30 10:00",
            "two paused days"
        );
        // A policy without pauses ignores them.
        policy.pause_while_waiting = false;
        let s = policy
            .evaluate(&cal, Priority::P1, &paused, at("2026-11-24 11:00"))
            .unwrap();
        assert_eq!(show(s.resolution.unwrap().due_at_ms), "2026-11-26 10:00");
    }

    #[test]
    fn variant_policies_follow_their_documents() {
        let cal = WorkingCalendar::default();
        let f = facts("2026-11-20 17:00"); // a Friday
        let s000 = SlaPolicy::s000()
            .evaluate(&cal, Priority::P2, &f, f.received_at_ms)
            .unwrap();
        assert_eq!(
            show(s000.first_response.unwrap().due_at_ms),
            "2026-11-25 17:00"
        );
        assert_eq!(s000.resolution, None);
        let s002 = SlaPolicy::s002()
            .evaluate(&cal, Priority::P3, &f, f.received_at_ms)
            .unwrap();
        assert_eq!(
            show(s002.first_response.unwrap().due_at_ms),
            "2026-11-21 17:00"
        );
        assert_eq!(show(s002.resolution.unwrap().due_at_ms), "2026-12-01 17:00");
    }

    #[test]
    fn priority_keys_round_trip() {
        for p in Priority::ALL {
            assert_eq!(Priority::from_key(p.key()), Some(p));
        }
        assert_eq!(Priority::from_key("P9"), None);
    }
}
