//! The feedback record as an Automerge document (S002 §3, S003 §2–3).
//!
//! One document per record. Layout (schema 2):
//! - plain fields set once at capture: `receivedAt`, `channel`, `source`,
//!   `customer` (nickname or id: no real name needed, S003), `contactRef`,
//!   `orderNumber`; `description` and `solution` are Automerge text;
//! - classification and assignment fields are *attributed*: a map
//!   `{v, by, at}`, so when two people set one concurrently both values stay
//!   readable with author and time ([`FieldConflict`]) until a person
//!   settles it by setting it again;
//! - `aspects` is a map used as a set (concurrent additions both survive);
//! - `history` (workflow steps) and `log` (processing log) are lists that
//!   only grow, so concurrent offline entries never overwrite each other;
//!   the log also keeps every reply, customer answer and follow-up outcome
//!   ([`LogKind`]);
//! - the customer's phone or email never enter the document: only an opaque
//!   `contactRef` into a separate store whose entry can be erased (S002 §8).
//!
//! Unknown keys written by newer versions are never removed: edits touch
//! only the keys they name.

mod attributed;
mod draft;
mod edit;
mod fields;
mod list_entry;
mod read;
mod redact;
mod timeline;

use automerge::ScalarValue;

pub use attributed::{Attributed, FieldConflict};
pub use draft::FeedbackDraft;
pub use edit::{
    add_aspect, add_attachment, add_reply, append_log, archive, edit_description, edit_solution,
    record_answer, record_follow_up, remove_aspect, set_field, set_follow_up, set_plan,
    set_root_cause, set_satisfaction_link, transition,
};
pub use list_entry::ListEntry;
pub use redact::{REDACTED, redacted_copy};
pub use timeline::{FieldEdit, MAX_STEPS, TimelineStep, timeline};

use crate::sla::{self, Priority};
use crate::workflow::{HistoryEntry, WorkflowIssue, WorkflowState};

/// Version written into every new record document. Version 1 (the walking
/// skeleton: `nickname` instead of `customer`) still opens.
pub const SCHEMA_VERSION: u64 = 2;

/// Longest customer nickname or id accepted.
pub const MAX_NICKNAME_CHARS: usize = 64;
/// Longest description accepted, so one record cannot bloat every replica.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
/// Longest order number a record keeps.
pub const MAX_ORDER_NUMBER_CHARS: usize = 64;
/// Longest processing-log entry, reply or other free text.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Largest attachment a record may reference.
pub const MAX_ATTACHMENT_BYTES: u64 = 50 * 1024 * 1024;
/// Largest piece of a resumable upload: what a flaky connection may have
/// to send again at most.
pub const UPLOAD_CHUNK_BYTES: u64 = 1024 * 1024;
/// Attachment media types accepted (photos, screenshots, video, documents).
pub const ATTACHMENT_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/heic",
    "video/mp4",
    "video/quicktime",
    "application/pdf",
];

/// Fields set with [`set_field`], each attributed and conflict-visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Field {
    FeedbackType,
    Nature,
    Urgency,
    Impact,
    EventCategory,
    ComplaintKind,
    Priority,
    Owner,
    Department,
}

impl Field {
    /// The taxonomy list a field's values come from (`None`: priority,
    /// owner and department, checked otherwise).
    pub fn terms(self) -> Option<crate::taxonomy::TermList> {
        use crate::taxonomy::TermList;
        match self {
            Field::FeedbackType => Some(TermList::FeedbackType),
            Field::Nature => Some(TermList::Nature),
            Field::Urgency => Some(TermList::Urgency),
            Field::Impact => Some(TermList::Impact),
            Field::EventCategory => Some(TermList::EventCategory),
            Field::ComplaintKind => Some(TermList::ComplaintKind),
            Field::Priority | Field::Owner | Field::Department => None,
        }
    }

    /// Every attributed field.
    pub const ALL: [Field; 9] = [
        Field::FeedbackType,
        Field::Nature,
        Field::Urgency,
        Field::Impact,
        Field::EventCategory,
        Field::ComplaintKind,
        Field::Priority,
        Field::Owner,
        Field::Department,
    ];

    /// The document key.
    pub fn key(self) -> &'static str {
        match self {
            Field::FeedbackType => "feedbackType",
            Field::Nature => "nature",
            Field::Urgency => "urgency",
            Field::Impact => "impact",
            Field::EventCategory => "eventCategory",
            Field::ComplaintKind => "complaintKind",
            Field::Priority => "priority",
            Field::Owner => "owner",
            Field::Department => "department",
        }
    }
}

/// A photo, screenshot, video or document, stored apart by content hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// Lower-case hex SHA-256 of the content: the blob's address.
    pub sha256: String,
    pub media_type: String,
    pub size: u64,
    pub name: String,
}

/// One timestamped entry of the processing log ("10:00 tech team optimised
/// the login API"). The log is the record's thread, as an agent workspace
/// shows it: notes, the replies sent, the customer's answers and follow-up
/// outcomes, in the order they happened, none ever overwritten.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogEntry {
    pub at_ms: i64,
    pub by: String,
    pub text: String,
    pub kind: LogKind,
}

/// What a log entry is. Stored as `kind` (absent for a note), with the
/// reply's `channel` and the answer's `answer` beside it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum LogKind {
    Note,
    /// A reply sent to the customer through `channel` (S003 §3).
    Reply {
        channel: String,
    },
    /// The customer's answer to the latest reply.
    Answer(CustomerAnswer),
    /// The outcome of the follow-up contact.
    FollowUp,
}

impl LogKind {
    /// The stored `kind` (`None` for a note).
    pub fn key(&self) -> Option<&'static str> {
        match self {
            LogKind::Note => None,
            LogKind::Reply { .. } => Some("reply"),
            LogKind::Answer(_) => Some("answer"),
            LogKind::FollowUp => Some("followUp"),
        }
    }
}

/// Why it happened (S001 §5 problem classes) and what was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RootCause {
    pub class: String,
    pub text: String,
}

/// Who does what by when (S000 §5).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExecutionPlan {
    pub owner: String,
    pub deadline_ms: i64,
    pub goal: String,
}

/// The customer's answer to the reply (S003 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CustomerAnswer {
    Satisfied,
    HasQuestions,
}

impl CustomerAnswer {
    pub const ALL: [CustomerAnswer; 2] = [CustomerAnswer::Satisfied, CustomerAnswer::HasQuestions];

    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            CustomerAnswer::Satisfied => "satisfied",
            CustomerAnswer::HasQuestions => "has_questions",
        }
    }

    pub fn from_key(key: &str) -> Option<CustomerAnswer> {
        Self::ALL.into_iter().find(|a| a.key() == key)
    }
}

/// What the customer was told, through which channel, by whom, and how
/// they took it (their latest answer before the next reply).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CustomerReply {
    pub channel: String,
    pub content: String,
    pub at_ms: i64,
    /// Empty for a reply kept by a version that did not record it.
    pub by: String,
    pub customer_answer: Option<CustomerAnswer>,
}

/// Days after the reply a follow-up contact is planned by default (S000 §4).
pub const FOLLOW_UP_AFTER_DAYS: i64 = 3;

impl FollowUp {
    /// A follow-up to plan with [`set_follow_up`].
    pub fn planned(at_ms: i64, method: &str, note: &str) -> FollowUp {
        FollowUp {
            at_ms,
            method: method.into(),
            note: note.into(),
            planned_at_ms: 0,
            outcome: None,
        }
    }
}

/// A planned follow-up contact (e.g. a phone call three days later) and,
/// once made, its outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FollowUp {
    pub at_ms: i64,
    pub method: String,
    pub note: String,
    /// When it was planned (0 for a plan kept by an older version).
    pub planned_at_ms: i64,
    /// The outcome logged since it was planned: (when, by, what).
    pub outcome: Option<LogEntry>,
}

/// A record as read back from its document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FeedbackRecord {
    pub schema_version: u64,
    /// Milliseconds since the Unix epoch, UTC; shown to the minute.
    pub received_at_ms: i64,
    pub channel: String,
    pub source: String,
    /// Customer nickname or id.
    pub customer: String,
    /// Who captured it (the signed-in user at capture).
    pub captured_by: Option<String>,
    /// Key of the customer's contact details in the separate PII store.
    pub contact_ref: Option<String>,
    pub order_number: Option<String>,
    pub description: String,
    pub attachments: Vec<Attachment>,
    pub feedback_type: Option<String>,
    pub aspects: Vec<String>,
    pub nature: Option<String>,
    pub urgency: Option<String>,
    pub impact: Option<String>,
    pub event_category: Option<String>,
    pub complaint_kind: Option<String>,
    pub priority: Option<Priority>,
    pub owner: Option<String>,
    pub department: Option<String>,
    /// The fold of `history`: status, assignment time, SLA facts.
    pub workflow: WorkflowState,
    pub history: Vec<HistoryEntry>,
    pub log: Vec<LogEntry>,
    pub root_cause: Option<RootCause>,
    pub solution: String,
    pub plan: Option<ExecutionPlan>,
    /// Every reply sent, oldest first.
    pub replies: Vec<CustomerReply>,
    pub follow_up: Option<FollowUp>,
    pub satisfaction_link: Option<String>,
    /// When it was archived: read-only from then on (S002 5.4).
    pub archived_at_ms: Option<i64>,
    /// History steps that did not fit after a merge, for a person to settle.
    pub workflow_issues: Vec<WorkflowIssue>,
    /// Fields set concurrently to different values.
    pub conflicts: Vec<FieldConflict>,
    /// Values this version does not understand (from a newer schema), kept as written.
    pub unrecognised: Vec<(String, String)>,
}

/// Why a draft, an edit or a document is not valid; the UI translates these.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("the customer nickname is empty")]
    NicknameEmpty,
    #[error("the customer nickname is longer than {MAX_NICKNAME_CHARS} characters")]
    NicknameTooLong,
    #[error("the feedback text is empty")]
    DescriptionEmpty,
    #[error("the feedback text is longer than {MAX_DESCRIPTION_CHARS} characters")]
    DescriptionTooLong,
    #[error("the text is empty or longer than {MAX_TEXT_CHARS} characters")]
    TextLength,
    #[error("unknown channel `{0}`")]
    UnknownChannel(String),
    #[error("`{value}` is not a valid {field}")]
    UnknownValue { field: &'static str, value: String },
    #[error("the received time is in the future")]
    ReceivedInFuture,
    #[error("the received time is more than a year ago")]
    ReceivedTooLongAgo,
    #[error("attachment: {0}")]
    Attachment(&'static str),
    #[error("field `{0}` is missing or has the wrong type")]
    Field(&'static str),
    #[error("written by a newer Closeloop (schema {0}); update this app")]
    NewerSchema(u64),
    #[error(transparent)]
    Workflow(#[from] crate::workflow::WorkflowError),
    #[error("document error: {0}")]
    Automerge(String),
}

impl From<automerge::AutomergeError> for RecordError {
    fn from(e: automerge::AutomergeError) -> Self {
        RecordError::Automerge(e.to_string())
    }
}

/// A timestamp scalar in milliseconds.
fn timestamp(ms: i64) -> ScalarValue {
    ScalarValue::Timestamp(ms)
}

fn check_text(text: &str) -> Result<&str, RecordError> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT_CHARS {
        return Err(RecordError::TextLength);
    }
    Ok(t)
}

impl FeedbackRecord {
    /// The latest reply sent, with the customer's answer to it.
    pub fn last_reply(&self) -> Option<&CustomerReply> {
        self.replies.last()
    }

    /// S002 5.3: registered within 24 hours of arriving.
    pub fn registration_clock(&self, now_ms: i64) -> sla::SlaClock {
        let registered = self.step_at("register", i64::MIN);
        sla::registration_clock(self.received_at_ms, registered, now_ms)
    }

    /// Once resolved, the customer hears back within 24 hours: stopped by
    /// the first reply (sent, or the reply step) since the latest
    /// resolution. `None` before any resolution.
    pub fn reply_clock(&self, now_ms: i64) -> Option<sla::SlaClock> {
        let resolved = self
            .history
            .iter()
            .rev()
            .find(|h| h.action.key() == "resolve")?
            .at_ms;
        let sent = self
            .replies
            .iter()
            .map(|r| r.at_ms)
            .find(|at| *at >= resolved);
        let replied = match (sent, self.step_at("reply", resolved)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Some(sla::reply_clock(resolved, replied, now_ms))
    }

    /// When the first `action` step at or after `since` was taken.
    fn step_at(&self, action: &str, since: i64) -> Option<i64> {
        self.history
            .iter()
            .find(|h| h.action.key() == action && h.at_ms >= since)
            .map(|h| h.at_ms)
    }
}
