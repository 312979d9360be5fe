//! Every change of a record as a person reads it: for each Automerge
//! change, what it changed from what to what. Head office shows it beside
//! the server's authorship log (who delivered each change, from which
//! session, when it was stored), so "who changed what when" (S002 §6) is
//! answered from the document and the relay's own knowledge.

use automerge::{Automerge, ChangeHash};

use super::{FeedbackRecord, LogEntry, LogKind};

/// Changes shown at most (the newest); older ones stay in the document.
pub const MAX_STEPS: usize = 200;

/// One change of the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineStep {
    pub hash: ChangeHash,
    /// The author's clock when the change was made (ms), as it claims.
    pub made_at_ms: i64,
    /// What changed, in record terms.
    pub edits: Vec<FieldEdit>,
}

/// One field's old and new value (`None`: not set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldEdit {
    /// The record's key (`status`, `priority`, `nature`, `log`…).
    pub field: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What the timeline compares of a record, by key.
fn facts(r: &FeedbackRecord) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("status", Some(r.workflow.status.key().to_string())),
        ("customer", Some(r.customer.clone())),
        ("channel", Some(r.channel.clone())),
        ("receivedAt", Some(r.received_at_ms.to_string())),
        ("orderNumber", r.order_number.clone()),
        ("description", Some(r.description.clone())),
        ("feedbackType", r.feedback_type.clone()),
        ("nature", r.nature.clone()),
        ("urgency", r.urgency.clone()),
        ("impact", r.impact.clone()),
        ("complaintKind", r.complaint_kind.clone()),
        ("priority", r.priority.map(|p| p.key().to_string())),
        ("owner", r.owner.clone()),
        ("department", r.department.clone()),
        (
            "solution",
            Some(r.solution.clone()).filter(|s| !s.is_empty()),
        ),
        (
            "problemClass",
            r.root_cause.as_ref().map(|c| c.class.clone()),
        ),
        ("rootCause", r.root_cause.as_ref().map(|c| c.text.clone())),
        ("planGoal", r.plan.as_ref().map(|p| p.goal.clone())),
        ("planOwner", r.plan.as_ref().map(|p| p.owner.clone())),
        (
            "planDeadline",
            r.plan.as_ref().map(|p| p.deadline_ms.to_string()),
        ),
        (
            "followUpAt",
            r.follow_up.as_ref().map(|f| f.at_ms.to_string()),
        ),
    ]
}

/// What a new log entry says: a note, a reply, the customer's answer (and
/// their words), a follow-up outcome.
fn entry_edits(entry: &LogEntry, edits: &mut Vec<FieldEdit>) {
    let new = |field: &'static str, value: &str| FieldEdit {
        field,
        before: None,
        after: Some(value.to_string()),
    };
    match &entry.kind {
        LogKind::Note => edits.push(new("log", &entry.text)),
        LogKind::Reply { .. } => edits.push(new("reply", &entry.text)),
        LogKind::Answer(a) => {
            edits.push(new("customerAnswer", a.key()));
            if !entry.text.is_empty() {
                edits.push(new("log", &entry.text));
            }
        }
        LogKind::FollowUp => edits.push(new("followUpOutcome", &entry.text)),
    }
}

/// The record as of `heads` (`None`: before it existed or unreadable).
fn at(doc: &Automerge, heads: &[ChangeHash]) -> Option<FeedbackRecord> {
    if heads.is_empty() {
        return None;
    }
    FeedbackRecord::from_doc(&doc.fork_at(heads).ok()?).ok()
}

/// The record's changes in the order they were applied, newest last, each
/// compared with the state its author saw (its dependencies).
pub fn timeline(doc: &Automerge) -> Vec<TimelineStep> {
    let changes = doc.get_changes(&[]);
    let skip = changes.len().saturating_sub(MAX_STEPS);
    changes
        .iter()
        .skip(skip)
        .map(|change| {
            let before = at(doc, change.deps());
            let after = at(doc, &[change.hash()]);
            let mut edits = Vec::new();
            if let Some(after) = &after {
                let old = before.as_ref().map(facts).unwrap_or_default();
                for (field, value) in facts(after) {
                    let was = old
                        .iter()
                        .find(|(f, _)| *f == field)
                        .and_then(|(_, v)| v.clone());
                    if was != value {
                        edits.push(FieldEdit {
                            field,
                            before: was,
                            after: value,
                        });
                    }
                }
                let seen = |r: &Option<FeedbackRecord>, f: fn(&FeedbackRecord) -> usize| {
                    r.as_ref().map_or(0, f)
                };
                for entry in after.log.iter().skip(seen(&before, |r| r.log.len())) {
                    entry_edits(entry, &mut edits);
                }
                for a in after
                    .attachments
                    .iter()
                    .skip(seen(&before, |r| r.attachments.len()))
                {
                    edits.push(FieldEdit {
                        field: "attachments",
                        before: None,
                        after: Some(a.name.clone()),
                    });
                }
                for step in after
                    .history
                    .iter()
                    .skip(seen(&before, |r| r.history.len()))
                {
                    edits.push(FieldEdit {
                        field: "history",
                        before: None,
                        after: Some(step.action.key().to_string()),
                    });
                }
            }
            TimelineStep {
                hash: change.hash(),
                made_at_ms: change.timestamp().saturating_mul(1000),
                edits,
            }
        })
        .collect()
}
