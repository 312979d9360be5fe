//! Reading a record out of its document. Damaged, foreign or newer input
//! is a typed error or is kept as "unrecognised", never a panic.

use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, Value};

use super::attributed::read_all;
use super::fields::Fields;
use super::{
    Attachment, CustomerAnswer, CustomerReply, ExecutionPlan, FeedbackRecord, Field, FieldConflict,
    FollowUp, LogEntry, LogKind, RecordError, RootCause, SCHEMA_VERSION,
};
use crate::sla::{Priority, SlaFacts};
use crate::workflow::{Action, HistoryEntry, Status, replay};

/// Instants outside 1970–2200 are damage, not dates.
const LATEST_MS: i64 = 7_258_118_400_000;

impl FeedbackRecord {
    /// Reads a record; a foreign or damaged document is an error, not a panic.
    pub fn from_doc(doc: &Automerge) -> Result<Self, RecordError> {
        let root = Fields::of(doc, &ROOT);
        let schema_version = root
            .uint("schemaVersion")
            .ok_or(RecordError::Field("schemaVersion"))?;
        if schema_version > SCHEMA_VERSION {
            return Err(RecordError::NewerSchema(schema_version));
        }
        let received_at_ms = root
            .time("receivedAt")
            .filter(|t| (0..LATEST_MS).contains(t))
            .ok_or(RecordError::Field("receivedAt"))?;
        let required = |key: &'static str| root.str(key).ok_or(RecordError::Field(key));
        let channel = required("channel")?;
        // Schema 1 called the customer `nickname`; a `customer` that is
        // there but not a string is damage, not a reason to look elsewhere.
        let customer = if root.has("customer") {
            root.str("customer")
        } else {
            root.str("nickname")
        }
        .ok_or(RecordError::Field("customer"))?;
        let description =
            text(doc, &root, "description")?.ok_or(RecordError::Field("description"))?;

        let mut unrecognised = Vec::new();
        let mut conflicts = Vec::new();
        let mut winner = |field: Field| -> Result<Option<String>, RecordError> {
            let all = read_all(doc, &root, field)?;
            if all.len() > 1 {
                conflicts.push(FieldConflict {
                    field,
                    values: all.clone(),
                });
            }
            Ok(all.into_iter().next().map(|a| a.value))
        };
        let priority_raw = winner(Field::Priority)?;
        let feedback_type = winner(Field::FeedbackType)?;
        let nature = winner(Field::Nature)?;
        let urgency = winner(Field::Urgency)?;
        let impact = winner(Field::Impact)?;
        let event_category = winner(Field::EventCategory)?;
        let complaint_kind = winner(Field::ComplaintKind)?;
        let owner = winner(Field::Owner)?;
        let department = winner(Field::Department)?;
        let priority = priority_raw.as_deref().and_then(Priority::from_key);
        if let (None, Some(raw)) = (priority, priority_raw) {
            unrecognised.push(("priority".to_string(), raw));
        }

        let (history, unknown_steps) = history_in(doc, &root);
        let log = log(doc, &root);
        let replies = replies(legacy_reply(doc, &root), &log);
        let follow_up = map(doc, &root, "followUp").map(|m| {
            let planned_at_ms = m.time("plannedAt").unwrap_or_default();
            FollowUp {
                at_ms: m.time("at").unwrap_or_default(),
                method: m.str("method").unwrap_or_default(),
                note: m.str("note").unwrap_or_default(),
                planned_at_ms,
                outcome: log
                    .iter()
                    .rev()
                    .find(|e| e.kind == LogKind::FollowUp && e.at_ms >= planned_at_ms)
                    .cloned(),
            }
        });
        unrecognised.extend(unknown_steps);
        let (workflow, workflow_issues) = replay(&history);

        Ok(FeedbackRecord {
            schema_version,
            received_at_ms,
            channel,
            source: root
                .str("source")
                .unwrap_or_else(|| "external_customer".into()),
            customer,
            captured_by: root.str("capturedBy"),
            contact_ref: root.str("contactRef"),
            order_number: root.str("orderNumber"),
            description,
            attachments: attachments(doc, &root, &mut unrecognised),
            feedback_type,
            aspects: aspects(doc, &root),
            nature,
            urgency,
            impact,
            event_category,
            complaint_kind,
            priority,
            owner: owner.or_else(|| workflow.owner.clone()),
            department: department.or_else(|| workflow.department.clone()),
            workflow,
            history,
            log,
            root_cause: map(doc, &root, "rootCause").map(|m| RootCause {
                class: m.str("class").unwrap_or_default(),
                text: m.str("text").unwrap_or_default(),
            }),
            solution: text(doc, &root, "solution")?.unwrap_or_default(),
            plan: map(doc, &root, "plan").map(|m| ExecutionPlan {
                owner: m.str("owner").unwrap_or_default(),
                deadline_ms: m.time("deadline").unwrap_or_default(),
                goal: m.str("goal").unwrap_or_default(),
            }),
            replies,
            follow_up,
            satisfaction_link: root.str("satisfactionLink"),
            archived_at_ms: root.time("archivedAt"),
            workflow_issues,
            conflicts,
            unrecognised,
        })
    }

    /// What the SLA clocks need from this record, for statistics and the
    /// projection alike.
    pub fn sla_facts(&self) -> SlaFacts {
        SlaFacts {
            received_at_ms: self.received_at_ms,
            first_response_at_ms: self.workflow.first_response_at_ms,
            resolved_at_ms: self.workflow.resolved_at_ms,
            pauses: self.workflow.pauses.clone(),
        }
    }
}

fn text(doc: &Automerge, root: &Fields, key: &'static str) -> Result<Option<String>, RecordError> {
    if !root.has(key) {
        return Ok(None);
    }
    match root.object(key, ObjType::Text) {
        Some(id) => Ok(Some(doc.text(&id)?)),
        None => Err(RecordError::Field(key)),
    }
}

/// The fields of the map under `key`, if there is one.
fn map<'a>(doc: &'a Automerge, root: &Fields, key: &'static str) -> Option<Fields<'a>> {
    root.object(key, ObjType::Map).map(|m| Fields::of(doc, &m))
}

/// The maps of a list, skipping anything else.
fn list_maps(doc: &Automerge, root: &Fields, key: &'static str) -> Vec<ObjId> {
    let Some(list) = root.object(key, ObjType::List) else {
        return Vec::new();
    };
    // One pass over the list: a lookup per index costs far more on long logs.
    doc.values(&list)
        .filter_map(|(value, id)| matches!(value, Value::Object(ObjType::Map)).then_some(id))
        .collect()
}

fn aspects(doc: &Automerge, root: &Fields) -> Vec<String> {
    match root.object("aspects", ObjType::Map) {
        Some(m) => doc.keys(&m).collect(),
        None => Vec::new(),
    }
}

fn attachments(
    doc: &Automerge,
    root: &Fields,
    unrecognised: &mut Vec<(String, String)>,
) -> Vec<Attachment> {
    let mut out = Vec::new();
    for m in list_maps(doc, root, "attachments") {
        let f = Fields::of(doc, &m);
        match (f.str("sha256"), f.str("mediaType"), f.uint("size")) {
            (Some(sha256), Some(media_type), Some(size)) => out.push(Attachment {
                sha256,
                media_type,
                size,
                name: f.str("name").unwrap_or_default(),
            }),
            _ => unrecognised.push(("attachment".into(), format!("{m}"))),
        }
    }
    out
}

fn log(doc: &Automerge, root: &Fields) -> Vec<LogEntry> {
    list_maps(doc, root, "log")
        .into_iter()
        .map(|m| {
            let f = Fields::of(doc, &m);
            let kind = match f.str("kind").as_deref() {
                Some("reply") => LogKind::Reply {
                    channel: f.str("channel").unwrap_or_default(),
                },
                Some("answer") => {
                    match f
                        .str("answer")
                        .as_deref()
                        .and_then(CustomerAnswer::from_key)
                    {
                        Some(a) => LogKind::Answer(a),
                        None => LogKind::Note,
                    }
                }
                Some("followUp") => LogKind::FollowUp,
                // A note, or a kind this version does not know: shown as text.
                _ => LogKind::Note,
            };
            LogEntry {
                at_ms: f.time("at").unwrap_or_default(),
                by: f.str("by").unwrap_or_default(),
                text: f.str("text").unwrap_or_default(),
                kind,
            }
        })
        .collect()
}

/// The single `reply` map versions before the reply thread wrote.
fn legacy_reply(doc: &Automerge, root: &Fields) -> Option<CustomerReply> {
    map(doc, root, "reply").map(|m| CustomerReply {
        channel: m.str("channel").unwrap_or_default(),
        content: m.str("content").unwrap_or_default(),
        at_ms: m.time("at").unwrap_or_default(),
        by: String::new(),
        customer_answer: m
            .str("customerAnswer")
            .as_deref()
            .and_then(CustomerAnswer::from_key),
    })
}

/// Every reply in log order (a legacy one first), each with the latest
/// answer logged after it and before the next reply.
fn replies(legacy: Option<CustomerReply>, log: &[LogEntry]) -> Vec<CustomerReply> {
    let mut out: Vec<CustomerReply> = legacy.into_iter().collect();
    for e in log {
        match &e.kind {
            LogKind::Reply { channel } => out.push(CustomerReply {
                channel: channel.clone(),
                content: e.text.clone(),
                at_ms: e.at_ms,
                by: e.by.clone(),
                customer_answer: None,
            }),
            LogKind::Answer(a) => {
                if let Some(last) = out.last_mut() {
                    last.customer_answer = Some(*a);
                }
            }
            LogKind::Note | LogKind::FollowUp => {}
        }
    }
    out
}

/// `(field, raw value)` pairs this version could not interpret.
pub(super) type Unrecognised = Vec<(String, String)>;

/// The workflow history, plus steps this version cannot read.
pub(super) fn history(doc: &Automerge) -> (Vec<HistoryEntry>, Unrecognised) {
    history_in(doc, &Fields::of(doc, &ROOT))
}

fn history_in(doc: &Automerge, root: &Fields) -> (Vec<HistoryEntry>, Unrecognised) {
    let mut entries = Vec::new();
    let mut unknown = Vec::new();
    for m in list_maps(doc, root, "history") {
        let f = Fields::of(doc, &m);
        let get = |k: &str| f.str(k);
        let assignee = || {
            (
                get("owner").unwrap_or_default(),
                get("department").unwrap_or_default(),
            )
        };
        let raw = get("action").unwrap_or_default();
        let action = match raw.as_str() {
            "assign" => {
                let (owner, department) = assignee();
                Action::Assign { owner, department }
            }
            "reassign" => {
                let (owner, department) = assignee();
                Action::Reassign { owner, department }
            }
            other => match Action::plain(other) {
                Some(a) => a,
                None => {
                    unknown.push(("history".to_string(), raw));
                    continue;
                }
            },
        };
        let (Some(from), Some(at_ms), Some(by)) = (
            get("from").as_deref().and_then(Status::from_key),
            f.time("at"),
            get("by"),
        ) else {
            unknown.push(("history".to_string(), raw));
            continue;
        };
        entries.push(HistoryEntry {
            action,
            by,
            at_ms,
            from,
            note: get("note"),
        });
    }
    (entries, unknown)
}
