//! The JSON shapes of the HTTP API, used by the server to write them and by
//! the app to read them, so both sides agree by construction.

use crate::access::Principal;
use crate::sla::SlaState;
use crate::stats::{Compliance, DurationStats};
use std::collections::BTreeMap;

/// `POST /api/login` body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// `POST /api/login` answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedIn {
    pub user: Principal,
    /// For clients that cannot hold cookies (sent as a bearer token).
    pub token: String,
}

/// One document's change in the change feed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocumentChange {
    /// Text form of the document id.
    pub id: String,
    /// Position in the feed; strictly increasing across all documents.
    pub seq: i64,
}

/// `GET /api/documents?after=…`: which documents changed after a position.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Feed {
    pub documents: Vec<DocumentChange>,
    /// Pass as `after` to get only what changed since this page.
    pub next: i64,
}

/// Filters, sort and page of `GET /api/records` and the exports; every
/// field optional. Unknown parameters are an error, not silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordQuery {
    pub status: Option<String>,
    pub priority: Option<String>,
    pub channel: Option<String>,
    pub feedback_type: Option<String>,
    pub department: Option<String>,
    pub owner: Option<String>,
    /// Complaint, suggestion, praise… (the taxonomy's natures).
    pub nature: Option<String>,
    /// The root cause's problem class (S001 §5).
    pub problem_class: Option<String>,
    /// Only records nobody owns.
    pub unassigned: Option<bool>,
    /// Only records not closed (`true`), or only closed ones (`false`).
    pub open: Option<bool>,
    /// Where the running SLA clock stands now.
    pub due: Option<DueFilter>,
    /// Only records escalated at least once.
    pub escalated: Option<bool>,
    /// Received at or after (ms since the epoch).
    pub from: Option<i64>,
    /// Received before (ms since the epoch).
    pub to: Option<i64>,
    /// Substring of the description.
    pub q: Option<String>,
    /// Only archived records (`true`, read-only after closing) or only
    /// records not archived (`false`).
    pub archived: Option<bool>,
    /// Only records past an SLA due time (`true`) or not (`false`);
    /// `overdue=true` is `due=overdue`.
    pub overdue: Option<bool>,
    /// `received_at` (default, newest first), `priority`, `status` or
    /// `due`; a `-` prefix flips the order.
    pub sort: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The inbox's SLA filters, on the record's running clock (first response
/// until answered, then resolution until resolved; none while waiting for
/// the customer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueFilter {
    /// Past its due moment and not closed.
    Overdue,
    /// Near due (the policy's last share of the target), not yet past.
    Near,
}

impl RecordQuery {
    /// Only a received-time period, for the statistics.
    pub fn period(from: Option<i64>, to: Option<i64>) -> Self {
        RecordQuery {
            from,
            to,
            ..RecordQuery::default()
        }
    }
}

/// One row of `GET /api/records`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordSummary {
    pub id: String,
    pub received_at: i64,
    pub channel: String,
    pub customer: String,
    pub description: String,
    pub feedback_type: Option<String>,
    pub nature: Option<String>,
    pub priority: Option<String>,
    pub status: String,
    pub owner: Option<String>,
    pub department: Option<String>,
    pub conflicts: i64,
    pub workflow_issues: i64,
    /// The clock that matters now: first response until answered, then resolution.
    pub sla_state: Option<SlaState>,
    /// When that clock is due (ms since the epoch).
    pub due_at: Option<i64>,
    /// Target time that clock has left on its own calendar (working time
    /// for business-hour targets); negative when late.
    pub remaining_ms: Option<i64>,
    /// Whether any SLA clock is past due and not done.
    pub overdue: bool,
    /// When it was archived (read-only since).
    #[serde(default)]
    pub archived_at: Option<i64>,
}

/// `GET /api/records`: one page of the filtered list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordPage {
    pub records: Vec<RecordSummary>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// `GET /api/records/similar`: a registration about to be saved, compared
/// with what the server holds (see [`crate::duplicates`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarQuery {
    pub customer: String,
    pub order_number: Option<String>,
    pub text: String,
    /// When the new feedback was received (ms since the epoch).
    pub received_at: i64,
}

/// The likely duplicates, most similar first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SimilarRecords {
    pub records: Vec<RecordSummary>,
}

/// One in-app notification (the bell).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NotificationItem {
    pub id: i64,
    pub record_id: String,
    /// What happened: `escalated`.
    pub kind: String,
    pub created_at: i64,
    pub read: bool,
    /// What the bell shows of the record, if the user may see it.
    pub customer: Option<String>,
    pub description: Option<String>,
}

/// `GET /api/notifications`: the latest, newest first, and the unread count.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notifications {
    pub unread: i64,
    pub items: Vec<NotificationItem>,
}

/// One workflow step of a record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryItem {
    pub action: String,
    pub by: String,
    pub at: i64,
    pub from: String,
    pub note: Option<String>,
}

/// One processing-log entry of a record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogItem {
    pub at: i64,
    pub by: String,
    pub text: String,
    /// `reply`, `answer` or `followUp`; absent for a note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One stored change of a record: who delivered it and when, as the relay
/// recorded it (not what the change claims).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeItem {
    /// Hex hash of the Automerge change.
    pub hash: String,
    /// The signed-in user whose connection delivered it; `None` for
    /// changes the server wrote itself (demo data).
    pub by: Option<String>,
    pub session: Option<String>,
    /// When the relay stored it, ms since the epoch.
    pub stored_at: i64,
}

/// `GET /api/records/{id}`: a record with its history and log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordDetail {
    #[serde(flatten)]
    pub summary: RecordSummary,
    pub history: Vec<HistoryItem>,
    pub log: Vec<LogItem>,
}

/// `GET /api/stats`: volumes and timeliness over a period.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub total: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_channel: BTreeMap<String, i64>,
    pub by_type: BTreeMap<String, i64>,
    pub by_department: BTreeMap<String, i64>,
    pub first_response: DurationStats,
    pub resolution: DurationStats,
    /// Resolved without a reassignment or a reopen, over all resolved.
    pub first_contact_resolution_rate: Option<f64>,
    /// First-response clocks met, breached, overdue.
    pub first_response_sla: Compliance,
    /// Resolution clocks met, breached, overdue.
    pub resolution_sla: Compliance,
    /// Complaints by a customer who made one of the same kind in the
    /// preceding 30 days, over all complaints (S004 §3).
    pub repeat_complaint_rate: Option<f64>,
}

/// `POST /api/attachments` answer: what was stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredBlob {
    pub sha256: String,
    pub media_type: String,
    pub size: u64,
}

/// `GET`/`PUT /api/attachments/{sha256}/upload` answer while a resumable
/// upload is unfinished: how many bytes of it the server holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadProgress {
    pub received: u64,
}

/// Every error answer: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// One user as administrators see it (`GET /api/admin/users`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserSummary {
    pub user_id: i64,
    pub username: String,
    pub role: crate::access::Role,
    pub team: Option<String>,
    pub disabled: bool,
    /// Sessions that have not expired.
    pub sessions: i64,
    /// When any of its sessions was last used (ms), if it has one.
    pub last_seen_at: Option<i64>,
}

/// `GET /api/admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserList {
    pub users: Vec<UserSummary>,
}

/// `POST /api/admin/users/{username}/reset-password` body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewPassword {
    pub password: String,
}

/// `POST /api/admin/users` body: a new account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: crate::access::Role,
    pub team: Option<String>,
}

/// `PUT /api/admin/users/{username}/role` body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoleChange {
    pub role: crate::access::Role,
    pub team: Option<String>,
}

/// A record re-created without its history (erasure): replicas delete their
/// copy of `document_id`, which the relay refuses from now on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tombstone {
    /// Position in the list (replicas read on from the last one they saw).
    pub seq: i64,
    pub document_id: String,
    /// The copy that replaced it, if any.
    pub replaced_by: Option<String>,
}

/// `GET /api/tombstones?after=N`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tombstones {
    pub tombstones: Vec<Tombstone>,
    /// Pass as `after` next time.
    pub next: i64,
}

/// One reply a customer was given, for the customer file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReplyItem {
    pub at: i64,
    pub channel: String,
    pub content: String,
    /// `satisfied`, `dissatisfied`…, once the customer answered.
    pub customer_answer: Option<String>,
}

/// How a record came into a customer's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileLink {
    /// The record the file was opened from.
    This,
    /// Its contact has the same phone number or email.
    Contact,
    /// Head office confirmed the same customer (by nickname).
    Confirmed,
}

/// One record in a customer's file, with its replies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    pub record: RecordSummary,
    pub link: FileLink,
    pub replies: Vec<ReplyItem>,
    /// Marked important, with why (kept in the file).
    pub important: Option<String>,
}

/// `GET /api/records/{id}/customer`: the customer's file (顾客档案, S002
/// 5.4) — every record of the same customer with replies and answers,
/// newest first, and records with the same nickname to confirm.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomerFile {
    pub entries: Vec<FileEntry>,
    pub candidates: Vec<RecordSummary>,
}

/// `POST /api/records/{id}/customer/link` body: the other record is the
/// same customer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRecord {
    pub document_id: String,
}

/// `PUT /api/records/{id}/customer/important` body: mark (with why) or
/// unmark (`note: None`) a record of the file as important.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportantMark {
    pub note: Option<String>,
}
