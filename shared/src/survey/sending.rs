//! When surveys go out on their own (S003 §4: after a service is completed,
//! after a release, periodically): the rules head office sets, the period a
//! customer is surveyed at most once in, the segment a campaign reaches and
//! what a send's audit entry says. The server's sending job applies them.

use crate::calendar::WorkingCalendar;
use chrono::Datelike;

/// Longest delay after a close or reply, in hours (30 days).
pub const MAX_DELAY_HOURS: u32 = 30 * 24;
/// Longest a link stays open, in days.
pub const MAX_LINK_DAYS: u32 = 90;
/// A record closed or replied longer ago than its delay and this is not
/// surveyed any more: nobody remembers a service weeks later, and turning
/// a trigger on must not survey the whole history.
pub const STALE_AFTER_MS: i64 = 7 * 24 * 3_600_000;
/// Characters of a campaign's name.
pub const MAX_CAMPAIGN_NAME_CHARS: usize = 80;

/// A calendar period: a customer is surveyed at most once in one, and a
/// periodic survey goes out once in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Quarter,
    HalfYear,
}

impl Period {
    /// The period containing `at_ms` in the service's time zone, as a key
    /// (`2026-Q4`, `2026-H2`).
    pub fn key(self, at_ms: i64, calendar: &WorkingCalendar) -> String {
        let d = calendar.local_date(at_ms);
        match self {
            Period::Quarter => format!("{:04}-Q{}", d.year(), d.month0() / 3 + 1),
            Period::HalfYear => format!("{:04}-H{}", d.year(), d.month0() / 6 + 1),
        }
    }
}

/// What head office set (`GET`/`PUT /api/survey-sending`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendingRules {
    /// Hours after a record is closed that its customer is asked; off when `None`.
    pub after_close_hours: Option<u32>,
    /// Hours after the reply reached the customer; off when `None`.
    pub after_reply_hours: Option<u32>,
    /// A survey to every customer with consent once per period; off when `None`.
    pub periodic: Option<Period>,
    /// A customer gets at most one survey in each such period.
    pub once_per: Period,
    /// How long a sent link can be answered.
    pub link_days: u32,
}

impl Default for SendingRules {
    /// After closing, two hours later; at most once a quarter; links open
    /// two weeks.
    fn default() -> Self {
        SendingRules {
            after_close_hours: Some(2),
            after_reply_hours: None,
            periodic: None,
            once_per: Period::Quarter,
            link_days: 14,
        }
    }
}

/// Why sending rules or a campaign were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendingError {
    #[error("a delay is at most {MAX_DELAY_HOURS} hours")]
    Delay,
    #[error("a link stays open 1 to {MAX_LINK_DAYS} days")]
    LinkDays,
    #[error("a campaign needs a name of 1 to {MAX_CAMPAIGN_NAME_CHARS} characters")]
    CampaignName,
    #[error("the segment's period ends before it starts")]
    SegmentRange,
}

impl SendingError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Delay => "sending_bad_delay",
            Self::LinkDays => "sending_bad_link_days",
            Self::CampaignName => "campaign_bad_name",
            Self::SegmentRange => "campaign_bad_range",
        }
    }
}

impl SendingRules {
    pub fn validate(&self) -> Result<(), SendingError> {
        let delays = [self.after_close_hours, self.after_reply_hours];
        if delays.into_iter().flatten().any(|h| h > MAX_DELAY_HOURS) {
            return Err(SendingError::Delay);
        }
        if !(1..=MAX_LINK_DAYS).contains(&self.link_days) {
            return Err(SendingError::LinkDays);
        }
        Ok(())
    }

    /// When a link sent at `now_ms` expires.
    pub fn expires_at(&self, now_ms: i64) -> i64 {
        now_ms + i64::from(self.link_days) * 24 * 3_600_000
    }
}

/// The window of close or reply moments a trigger with `delay_hours` asks
/// about at `now_ms`: due, and not stale. `(from, to)`, both inclusive.
pub fn due_window(delay_hours: u32, now_ms: i64) -> (i64, i64) {
    let to = now_ms - i64::from(delay_hours) * 3_600_000;
    (to - STALE_AFTER_MS, to)
}

/// Which customers a campaign reaches: those with survey consent who have
/// a record matching every given filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    #[serde(default)]
    pub feedback_type: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    /// Records received from this moment (ms) …
    #[serde(default)]
    pub received_from_ms: Option<i64>,
    /// … until before this one.
    #[serde(default)]
    pub received_to_ms: Option<i64>,
}

/// `POST /api/surveys/{survey}/campaigns`: a survey to a segment, e.g.
/// after a release.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewCampaign {
    pub name: String,
    #[serde(default)]
    pub segment: Segment,
    /// Answers keep no link to the customer who gave them.
    #[serde(default)]
    pub anonymous: bool,
}

impl NewCampaign {
    pub fn validate(&self) -> Result<(), SendingError> {
        let n = self.name.trim().chars().count();
        if !(1..=MAX_CAMPAIGN_NAME_CHARS).contains(&n) {
            return Err(SendingError::CampaignName);
        }
        if let (Some(from), Some(to)) = (self.segment.received_from_ms, self.segment.received_to_ms)
            && to <= from
        {
            return Err(SendingError::SegmentRange);
        }
        Ok(())
    }
}

/// A campaign as listed (`GET /api/surveys/{survey}/campaigns`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub anonymous: bool,
    pub created_by: String,
    pub created_at: i64,
    /// Still reaching customers.
    pub sending: bool,
    pub sent: i64,
    pub skipped: i64,
    pub failed: i64,
    pub answered: i64,
}

/// Why a survey was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendReason {
    AfterClose,
    AfterReply,
    Campaign,
    Periodic,
}

impl SendReason {
    pub const ALL: [SendReason; 4] = [
        SendReason::AfterClose,
        SendReason::AfterReply,
        SendReason::Campaign,
        SendReason::Periodic,
    ];

    pub fn key(self) -> &'static str {
        match self {
            SendReason::AfterClose => "after_close",
            SendReason::AfterReply => "after_reply",
            SendReason::Campaign => "campaign",
            SendReason::Periodic => "periodic",
        }
    }

    pub fn from_key(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == s)
    }
}

/// One entry of the audit of sends (`GET /api/survey-sends`): what went
/// where, when, and why not. The address is masked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendView {
    pub at: i64,
    pub reason: SendReason,
    pub survey: String,
    pub document_id: Option<String>,
    pub campaign: Option<String>,
    /// `email`, `sms`, or `None` when nothing was sent.
    pub channel: Option<String>,
    pub recipient: Option<String>,
    /// `sent`, `failed`, `skipped` or `sending` (interrupted).
    pub status: String,
    /// Why it was skipped or failed.
    pub detail: Option<String>,
}

/// An address as the audit shows it: enough to recognise, not to use.
pub fn mask(address: &str) -> String {
    if let Some((user, domain)) = address.split_once('@') {
        let first: String = user.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let digits: Vec<char> = address.chars().filter(char::is_ascii_digit).collect();
    if digits.len() <= 4 {
        return "****".into();
    }
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("****{tail}")
}

/// The message carrying a link, in both languages (the customer's language
/// is not known before they open it).
pub fn message(title: &crate::taxonomy::Label, url: &str) -> (String, String) {
    let subject = format!("{} / {}", title.zh, title.en);
    let body = format!(
        "您好！请花一分钟告诉我们这次服务如何：{url}\n\
         Hello! Please take a minute to tell us how we did: {url}\n"
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    #[test]
    fn periods_are_calendar_quarters_and_halves_in_the_service_time_zone() {
        let cal = WorkingCalendar::default();
        // 2026-09-30 17:00 UTC is 1 October in China.
        assert_eq!(Period::Quarter.key(at("2026-09-30 17:00"), &cal), "2026-Q4");
        assert_eq!(Period::Quarter.key(at("2026-09-30 15:00"), &cal), "2026-Q3");
        assert_eq!(
            Period::HalfYear.key(at("2026-06-30 15:00"), &cal),
            "2026-H1"
        );
        assert_eq!(
            Period::HalfYear.key(at("2026-07-01 00:00"), &cal),
            "2026-H2"
        );
    }

    #[test]
    fn a_trigger_asks_about_what_is_due_and_not_stale() {
        let now = at("2026-11-29 12:00");
        let (from, to) = due_window(2, now);
        assert_eq!(to, at("2026-11-29 10:00"));
        assert_eq!(from, at("2026-11-22 10:00"));
        let (_, immediately) = due_window(0, now);
        assert_eq!(immediately, now);
    }

    #[test]
    fn rules_out_of_bounds_are_refused() {
        let ok = SendingRules::default();
        assert_eq!(ok.validate(), Ok(()));
        let late = SendingRules {
            after_reply_hours: Some(MAX_DELAY_HOURS + 1),
            ..ok.clone()
        };
        assert_eq!(late.validate(), Err(SendingError::Delay));
        for days in [0, MAX_LINK_DAYS + 1] {
            let bad = SendingRules {
                link_days: days,
                ..ok.clone()
            };
            assert_eq!(bad.validate(), Err(SendingError::LinkDays));
        }
        let campaign = |name: &str, from, to| NewCampaign {
            name: name.into(),
            segment: Segment {
                received_from_ms: from,
                received_to_ms: to,
                ..Segment::default()
            },
            anonymous: false,
        };
        assert_eq!(campaign("新版上线", Some(1), Some(2)).validate(), Ok(()));
        assert_eq!(
            campaign(" ", None, None).validate(),
            Err(SendingError::CampaignName)
        );
        assert_eq!(
            campaign("x", Some(2), Some(2)).validate(),
            Err(SendingError::SegmentRange)
        );
    }

    #[test]
    fn addresses_are_masked_in_the_audit() {
        assert_eq!(mask("zhou.wei@example.com"), "z***@example.com");
        assert_eq!(mask("+86 139 1234-5678"), "****5678");
        assert_eq!(mask("123"), "****");
    }

    #[test]
    fn the_message_carries_the_link_in_both_languages() {
        let title = crate::taxonomy::Label {
            zh: "服务满意度".into(),
            en: "How did we do?".into(),
        };
        let (subject, body) = message(&title, "https://x.example/s/abc");
        assert_eq!(subject, "服务满意度 / How did we do?");
        assert_eq!(body.matches("https://x.example/s/abc").count(), 2);
    }
}
