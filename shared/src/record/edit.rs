//! Every way a record changes. Each edit validates first, then writes one
//! Automerge change touching only the keys it names; on error nothing is written.

use automerge::transaction::{CommitOptions, Transactable, Transaction};
use automerge::{Automerge, ObjType, ROOT, ReadDoc, Value};

use super::attributed::put;
use super::read::history;
use super::{
    ATTACHMENT_TYPES, Attachment, CustomerAnswer, ExecutionPlan, Field, FollowUp, LogKind,
    MAX_ATTACHMENT_BYTES, RecordError, check_text, timestamp,
};
use crate::sla::Priority;
use crate::taxonomy::{Taxonomy, TermList};
use crate::workflow::{Action, replay};

fn change(
    doc: &mut Automerge,
    message: &str,
    now_ms: i64,
    edit: impl FnOnce(&mut Transaction<'_>) -> Result<(), RecordError>,
) -> Result<(), RecordError> {
    doc.transact_with::<_, _, RecordError, _>(
        |_| {
            CommitOptions::default()
                .with_time(now_ms / 1000)
                .with_message(message.to_string())
        },
        edit,
    )
    .map(|_| ())
    .map_err(|f| f.error)
}

fn object(
    doc: &Automerge,
    key: &'static str,
    kind: ObjType,
) -> Result<automerge::ObjId, RecordError> {
    match doc.get(ROOT, key)? {
        Some((Value::Object(k), id)) if k == kind => Ok(id),
        _ => Err(RecordError::Field(key)),
    }
}

fn replace_text(
    doc: &mut Automerge,
    key: &'static str,
    text: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    let obj = object(doc, key, ObjType::Text)?;
    change(doc, key, now_ms, |tx| {
        // update_text keeps unchanged characters, so a concurrent edit elsewhere survives.
        tx.update_text(&obj, text)?;
        Ok(())
    })
}

/// Replaces the customer's description.
pub fn edit_description(doc: &mut Automerge, text: &str, now_ms: i64) -> Result<(), RecordError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(RecordError::DescriptionEmpty);
    }
    if text.chars().count() > super::MAX_DESCRIPTION_CHARS {
        return Err(RecordError::DescriptionTooLong);
    }
    replace_text(doc, "description", text, now_ms)
}

/// Replaces the solution text (S003 §3).
pub fn edit_solution(doc: &mut Automerge, text: &str, now_ms: i64) -> Result<(), RecordError> {
    let text = check_text(text)?;
    replace_text(doc, "solution", text, now_ms)
}

/// Sets a classification or assignment field, checked against the taxonomy.
pub fn set_field(
    doc: &mut Automerge,
    taxonomy: &Taxonomy,
    field: Field,
    value: &str,
    by: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    let value = value.trim();
    let valid = match (field, field.terms()) {
        (_, Some(list)) => taxonomy.has(list, value),
        (Field::Priority, None) => Priority::from_key(value).is_some(),
        _ => !value.is_empty() && value.chars().count() <= 64,
    };
    if !valid {
        return Err(RecordError::UnknownValue {
            field: field.key(),
            value: value.into(),
        });
    }
    change(doc, field.key(), now_ms, |tx| {
        put(tx, field.key(), value, by, now_ms)
    })
}

/// Adds an aspect (product quality, service attitude, …); a set, so
/// concurrent additions on two tablets both survive.
pub fn add_aspect(
    doc: &mut Automerge,
    taxonomy: &Taxonomy,
    key: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    if !taxonomy.has(TermList::Aspect, key) {
        return Err(RecordError::UnknownValue {
            field: "aspect",
            value: key.into(),
        });
    }
    let aspects = object(doc, "aspects", ObjType::Map)?;
    change(doc, "add aspect", now_ms, |tx| {
        Ok(tx.put(&aspects, key, true)?)
    })
}

/// Removes an aspect.
pub fn remove_aspect(doc: &mut Automerge, key: &str, now_ms: i64) -> Result<(), RecordError> {
    let aspects = object(doc, "aspects", ObjType::Map)?;
    change(doc, "remove aspect", now_ms, |tx| {
        Ok(tx.delete(&aspects, key)?)
    })
}

/// References an uploaded blob by its content hash.
pub fn add_attachment(doc: &mut Automerge, a: &Attachment, now_ms: i64) -> Result<(), RecordError> {
    if a.sha256.len() != 64
        || !a
            .sha256
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(RecordError::Attachment(
            "sha256 must be 64 lower-case hex digits",
        ));
    }
    if !ATTACHMENT_TYPES.contains(&a.media_type.as_str()) {
        return Err(RecordError::Attachment("media type not accepted"));
    }
    if a.size == 0 || a.size > MAX_ATTACHMENT_BYTES {
        return Err(RecordError::Attachment(
            "size must be between 1 byte and 50 MiB",
        ));
    }
    if a.name.chars().count() > 200 {
        return Err(RecordError::Attachment("file name too long"));
    }
    let list = object(doc, "attachments", ObjType::List)?;
    let at = doc.length(&list);
    change(doc, "attach", now_ms, |tx| {
        let m = tx.insert_object(&list, at, ObjType::Map)?;
        tx.put(&m, "sha256", a.sha256.as_str())?;
        tx.put(&m, "mediaType", a.media_type.as_str())?;
        tx.put(&m, "size", a.size)?;
        tx.put(&m, "name", a.name.as_str())?;
        Ok(())
    })
}

/// Appends a timestamped processing-log line (S003 §3).
pub fn append_log(
    doc: &mut Automerge,
    text: &str,
    by: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    append_entry(doc, &LogKind::Note, text, by, now_ms)
}

/// Appends a reply sent to the customer through `channel` to the thread;
/// earlier replies stay (S003 §3).
pub fn add_reply(
    doc: &mut Automerge,
    taxonomy: &Taxonomy,
    channel: &str,
    content: &str,
    by: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    if taxonomy.channel(channel).is_none() {
        return Err(RecordError::UnknownChannel(channel.into()));
    }
    let kind = LogKind::Reply {
        channel: channel.into(),
    };
    append_entry(doc, &kind, content, by, now_ms)
}

/// Records the customer's answer to the latest reply, in their words or
/// ours (`text`, may be empty).
pub fn record_answer(
    doc: &mut Automerge,
    answer: CustomerAnswer,
    text: &str,
    by: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    append_entry(doc, &LogKind::Answer(answer), text, by, now_ms)
}

/// Records the outcome of the follow-up contact.
pub fn record_follow_up(
    doc: &mut Automerge,
    outcome: &str,
    by: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    append_entry(doc, &LogKind::FollowUp, outcome, by, now_ms)
}

fn append_entry(
    doc: &mut Automerge,
    kind: &LogKind,
    text: &str,
    by: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    // An answer may come without words; everything else says something.
    let text = match kind {
        LogKind::Answer(_) if text.trim().is_empty() => "",
        _ => check_text(text)?,
    };
    let list = object(doc, "log", ObjType::List)?;
    let at = doc.length(&list);
    change(doc, kind.key().unwrap_or("log"), now_ms, |tx| {
        let m = tx.insert_object(&list, at, ObjType::Map)?;
        tx.put(&m, "at", timestamp(now_ms))?;
        tx.put(&m, "by", by)?;
        tx.put(&m, "text", text)?;
        if let Some(k) = kind.key() {
            tx.put(&m, "kind", k)?;
        }
        match kind {
            LogKind::Reply { channel } => tx.put(&m, "channel", channel.as_str())?,
            LogKind::Answer(a) => tx.put(&m, "answer", a.key())?,
            LogKind::Note | LogKind::FollowUp => {}
        }
        Ok(())
    })
}

/// Takes one workflow step if the record's current state allows it, and
/// appends it to the history with who, when and the status it started from.
pub fn transition(
    doc: &mut Automerge,
    action: &Action,
    note: Option<&str>,
    by: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    let (state, _) = replay(&history(doc).0);
    state.apply(action, now_ms)?;
    let note = note.map(check_text).transpose()?;
    let list = object(doc, "history", ObjType::List)?;
    let at = doc.length(&list);
    change(doc, action.key(), now_ms, |tx| {
        let m = tx.insert_object(&list, at, ObjType::Map)?;
        tx.put(&m, "action", action.key())?;
        tx.put(&m, "by", by)?;
        tx.put(&m, "at", timestamp(now_ms))?;
        tx.put(&m, "from", state.status.key())?;
        if let Some(n) = note {
            tx.put(&m, "note", n)?;
        }
        if let Action::Assign { owner, department } | Action::Reassign { owner, department } =
            action
        {
            tx.put(&m, "owner", owner.as_str())?;
            tx.put(&m, "department", department.as_str())?;
            put(tx, Field::Owner.key(), owner, by, now_ms)?;
            put(tx, Field::Department.key(), department, by, now_ms)?;
        }
        Ok(())
    })
}

/// Records the root cause: a problem class (S001 §5) and what was found.
pub fn set_root_cause(
    doc: &mut Automerge,
    taxonomy: &Taxonomy,
    class: &str,
    text: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    if !taxonomy.has(TermList::ProblemClass, class) {
        return Err(RecordError::UnknownValue {
            field: "problem class",
            value: class.into(),
        });
    }
    let text = check_text(text)?;
    change(doc, "root cause", now_ms, |tx| {
        let m = tx.put_object(ROOT, "rootCause", ObjType::Map)?;
        tx.put(&m, "class", class)?;
        tx.put(&m, "text", text)?;
        Ok(())
    })
}

/// Sets the execution plan: owner, deadline, goal (S000 §5).
pub fn set_plan(doc: &mut Automerge, plan: &ExecutionPlan, now_ms: i64) -> Result<(), RecordError> {
    let goal = check_text(&plan.goal)?;
    if plan.owner.trim().is_empty() {
        return Err(RecordError::Field("plan owner"));
    }
    change(doc, "plan", now_ms, |tx| {
        let m = tx.put_object(ROOT, "plan", ObjType::Map)?;
        tx.put(&m, "owner", plan.owner.trim())?;
        tx.put(&m, "deadline", timestamp(plan.deadline_ms))?;
        tx.put(&m, "goal", goal)?;
        Ok(())
    })
}

/// Plans a follow-up contact.
pub fn set_follow_up(doc: &mut Automerge, f: &FollowUp, now_ms: i64) -> Result<(), RecordError> {
    if f.method.trim().is_empty() {
        return Err(RecordError::Field("follow-up method"));
    }
    change(doc, "follow-up", now_ms, |tx| {
        let m = tx.put_object(ROOT, "followUp", ObjType::Map)?;
        tx.put(&m, "at", timestamp(f.at_ms))?;
        tx.put(&m, "plannedAt", timestamp(now_ms))?;
        tx.put(&m, "method", f.method.trim())?;
        tx.put(&m, "note", f.note.trim())?;
        Ok(())
    })
}

/// Links the satisfaction survey sent for this record.
pub fn set_satisfaction_link(
    doc: &mut Automerge,
    link: &str,
    now_ms: i64,
) -> Result<(), RecordError> {
    let link = link.trim();
    if link.is_empty() || link.len() > 512 {
        return Err(RecordError::Field("satisfaction link"));
    }
    change(doc, "survey link", now_ms, |tx| {
        Ok(tx.put(ROOT, "satisfactionLink", link)?)
    })
}

/// Archives a closed record: read-only from now on (the write rule refuses
/// every later change). Written by the server's archive job only.
pub fn archive(doc: &mut Automerge, now_ms: i64) -> Result<(), RecordError> {
    let record = crate::FeedbackRecord::from_doc(doc)?;
    if record.workflow.status != crate::workflow::Status::Closed {
        return Err(RecordError::Field("status"));
    }
    if record.archived_at_ms.is_some() {
        return Ok(());
    }
    change(doc, "archive", now_ms, |tx| {
        Ok(tx.put(ROOT, "archivedAt", timestamp(now_ms))?)
    })
}
