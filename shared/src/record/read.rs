//! Reading a record out of its document. Damaged, foreign or newer input
//! is a typed error or is kept as "unrecognised", never a panic.

use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use super::attributed::{read_all, scalar_str, scalar_time};
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
        let schema_version = match doc.get(ROOT, "schemaVersion")? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Uint(v) => *v,
                ScalarValue::Int(v) if *v >= 0 => *v as u64,
                _ => return Err(RecordError::Field("schemaVersion")),
            },
            _ => return Err(RecordError::Field("schemaVersion")),
        };
        if schema_version > SCHEMA_VERSION {
            return Err(RecordError::NewerSchema(schema_version));
        }
        let received_at_ms = scalar_time(doc, &ROOT, "receivedAt")
            .filter(|t| (0..LATEST_MS).contains(t))
            .ok_or(RecordError::Field("receivedAt"))?;
        let required =
            |key: &'static str| scalar_str(doc, &ROOT, key).ok_or(RecordError::Field(key));
        let channel = required("channel")?;
        // Schema 1 called the customer `nickname`; a `customer` that is
        // there but not a string is damage, not a reason to look elsewhere.
        let customer = match doc.get(ROOT, "customer")? {
            None => scalar_str(doc, &ROOT, "nickname"),
            Some(_) => scalar_str(doc, &ROOT, "customer"),
        }
        .ok_or(RecordError::Field("customer"))?;
        let description = text(doc, "description")?.ok_or(RecordError::Field("description"))?;

        let mut unrecognised = Vec::new();
        let mut conflicts = Vec::new();
        let mut winner = |field: Field| -> Result<Option<String>, RecordError> {
            let all = read_all(doc, field)?;
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

        let (history, unknown_steps) = history(doc)?;
        let log = log(doc)?;
        let replies = replies(legacy_reply(doc)?, &log);
        let follow_up = map(doc, "followUp")?.map(|m| {
            let planned_at_ms = scalar_time(doc, &m, "plannedAt").unwrap_or_default();
            FollowUp {
                at_ms: scalar_time(doc, &m, "at").unwrap_or_default(),
                method: scalar_str(doc, &m, "method").unwrap_or_default(),
                note: scalar_str(doc, &m, "note").unwrap_or_default(),
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
            source: scalar_str(doc, &ROOT, "source").unwrap_or_else(|| "external_customer".into()),
            customer,
            captured_by: scalar_str(doc, &ROOT, "capturedBy"),
            contact_ref: scalar_str(doc, &ROOT, "contactRef"),
            order_number: scalar_str(doc, &ROOT, "orderNumber"),
            description,
            attachments: attachments(doc, &mut unrecognised)?,
            feedback_type,
            aspects: aspects(doc)?,
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
            root_cause: map(doc, "rootCause")?.map(|m| RootCause {
                class: scalar_str(doc, &m, "class").unwrap_or_default(),
                text: scalar_str(doc, &m, "text").unwrap_or_default(),
            }),
            solution: text(doc, "solution")?.unwrap_or_default(),
            plan: map(doc, "plan")?.map(|m| ExecutionPlan {
                owner: scalar_str(doc, &m, "owner").unwrap_or_default(),
                deadline_ms: scalar_time(doc, &m, "deadline").unwrap_or_default(),
                goal: scalar_str(doc, &m, "goal").unwrap_or_default(),
            }),
            replies,
            follow_up,
            satisfaction_link: scalar_str(doc, &ROOT, "satisfactionLink"),
            archived_at_ms: scalar_time(doc, &ROOT, "archivedAt"),
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

fn text(doc: &Automerge, key: &'static str) -> Result<Option<String>, RecordError> {
    match doc.get(ROOT, key)? {
        Some((Value::Object(ObjType::Text), id)) => Ok(Some(doc.text(&id)?)),
        None => Ok(None),
        Some(_) => Err(RecordError::Field(key)),
    }
}

fn map(doc: &Automerge, key: &'static str) -> Result<Option<ObjId>, RecordError> {
    Ok(match doc.get(ROOT, key)? {
        Some((Value::Object(ObjType::Map), id)) => Some(id),
        _ => None,
    })
}

/// The maps of a list, skipping anything else.
fn list_maps(doc: &Automerge, key: &'static str) -> Result<Vec<ObjId>, RecordError> {
    let Some((Value::Object(ObjType::List), list)) = doc.get(ROOT, key)? else {
        return Ok(Vec::new());
    };
    // One pass over the list: a lookup per index costs far more on long logs.
    Ok(doc
        .values(&list)
        .filter_map(|(value, id)| matches!(value, Value::Object(ObjType::Map)).then_some(id))
        .collect())
}

fn aspects(doc: &Automerge) -> Result<Vec<String>, RecordError> {
    let Some(m) = map(doc, "aspects")? else {
        return Ok(Vec::new());
    };
    Ok(doc.keys(&m).collect())
}

fn attachments(
    doc: &Automerge,
    unrecognised: &mut Vec<(String, String)>,
) -> Result<Vec<Attachment>, RecordError> {
    let mut out = Vec::new();
    for m in list_maps(doc, "attachments")? {
        let size = match doc.get(&m, "size")? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Uint(u) => Some(*u),
                ScalarValue::Int(i) => u64::try_from(*i).ok(),
                _ => None,
            },
            _ => None,
        };
        match (
            scalar_str(doc, &m, "sha256"),
            scalar_str(doc, &m, "mediaType"),
            size,
        ) {
            (Some(sha256), Some(media_type), Some(size)) => out.push(Attachment {
                sha256,
                media_type,
                size,
                name: scalar_str(doc, &m, "name").unwrap_or_default(),
            }),
            _ => unrecognised.push(("attachment".into(), format!("{m}"))),
        }
    }
    Ok(out)
}

fn log(doc: &Automerge) -> Result<Vec<LogEntry>, RecordError> {
    Ok(list_maps(doc, "log")?
        .into_iter()
        .map(|m| {
            let get = |k: &str| scalar_str(doc, &m, k);
            let kind = match get("kind").as_deref() {
                Some("reply") => LogKind::Reply {
                    channel: get("channel").unwrap_or_default(),
                },
                Some("answer") => match get("answer").as_deref().and_then(CustomerAnswer::from_key)
                {
                    Some(a) => LogKind::Answer(a),
                    None => LogKind::Note,
                },
                Some("followUp") => LogKind::FollowUp,
                // A note, or a kind this version does not know: shown as text.
                _ => LogKind::Note,
            };
            LogEntry {
                at_ms: scalar_time(doc, &m, "at").unwrap_or_default(),
                by: get("by").unwrap_or_default(),
                text: get("text").unwrap_or_default(),
                kind,
            }
        })
        .collect())
}

/// The single `reply` map versions before the reply thread wrote.
fn legacy_reply(doc: &Automerge) -> Result<Option<CustomerReply>, RecordError> {
    Ok(map(doc, "reply")?.map(|m| CustomerReply {
        channel: scalar_str(doc, &m, "channel").unwrap_or_default(),
        content: scalar_str(doc, &m, "content").unwrap_or_default(),
        at_ms: scalar_time(doc, &m, "at").unwrap_or_default(),
        by: String::new(),
        customer_answer: scalar_str(doc, &m, "customerAnswer")
            .as_deref()
            .and_then(CustomerAnswer::from_key),
    }))
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
pub(super) fn history(doc: &Automerge) -> Result<(Vec<HistoryEntry>, Unrecognised), RecordError> {
    let mut entries = Vec::new();
    let mut unknown = Vec::new();
    for m in list_maps(doc, "history")? {
        let get = |k: &str| scalar_str(doc, &m, k);
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
            scalar_time(doc, &m, "at"),
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
    Ok((entries, unknown))
}
