//! The read model: SQL rows derived from each record document, written in
//! the same transaction as the change that produced them, and rebuildable
//! from the documents at any time with identical results.

use closeloop_shared::analytics::pure::detoured;
use closeloop_shared::record::{CustomerReply, FeedbackRecord, LogEntry};
use closeloop_shared::sla::{DueTimes, SlaConfig};
use closeloop_shared::sync::DocumentId;
use closeloop_shared::workflow::HistoryEntry;
use sqlx::{Any, Transaction};

use super::StorageError;
use super::sql::{self, Backend, ValuesRow};

mod rebuild;

/// The projected tables, each with the order that makes a dump stable.
const TABLES: [(&str, &str); 5] = [
    ("records", "document_id"),
    ("record_history", "document_id, position"),
    ("record_log", "document_id, position"),
    ("record_replies", "document_id, position"),
    ("record_attachments", "document_id, sha256"),
];

/// A record whose rows a commit brings from `before` (as last projected,
/// when known) to `after`.
pub(super) struct Projected<'r> {
    pub id: &'r DocumentId,
    pub before: Option<&'r FeedbackRecord>,
    pub after: &'r FeedbackRecord,
}

/// Brings each record's rows (record, history, log, reply, attachment
/// references) from `before` to `after` inside `tx`, in a handful of
/// multi-row statements for the whole batch. With `before` only what
/// differs is written: one more log entry costs one row, however long the
/// log. Without it every row is replaced. History and log rows are
/// upserted by position, so a `before` that is stale (another relay wrote
/// in between) never breaks a key; the relay forgets `before` when another
/// relay stores a change. Each record appears at most once in `items`.
pub(super) async fn write_many(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    items: &[Projected<'_>],
    sla: &SlaConfig,
) -> Result<(), StorageError> {
    let keys: Vec<String> = items.iter().map(|p| p.id.to_string()).collect();
    let keyed = || keys.iter().map(String::as_str).zip(items);
    let fresh: Vec<&str> = keyed()
        .filter(|(_, p)| p.before.is_none())
        .map(|(k, _)| k)
        .collect();
    delete(tx, backend, &fresh).await?;
    // Attachment references and replies (a handful per record at most) are
    // replaced whole when they differ: an answer changes an earlier reply.
    let blobs: Vec<Vec<String>> = items.iter().map(|p| attachments(p.after)).collect();
    let blobs_changed: Vec<bool> = items
        .iter()
        .zip(&blobs)
        .map(|(p, now)| p.before.map(attachments).as_ref() != Some(now))
        .collect();
    let replies_changed: Vec<bool> = items
        .iter()
        .map(|p| p.before.map(|b| &b.replies) != Some(&p.after.replies))
        .collect();
    for (table, changed) in [
        ("record_attachments", &blobs_changed),
        ("record_replies", &replies_changed),
    ] {
        let stale: Vec<&str> = keyed()
            .zip(changed)
            .filter(|((_, p), changed)| p.before.is_some() && **changed)
            .map(|((k, _), _)| k)
            .collect();
        let head = format!("DELETE FROM {table} WHERE document_id");
        sql::where_in(tx, backend, &head, &stale).await?;
    }
    // A record's own row is written only when one of its values changed:
    // rewriting it rewrites an entry in each of the records' indexes, and
    // most changes (a note, a reply) leave the row as it was.
    let mut rows = Vec::with_capacity(items.len());
    for (k, p) in keyed() {
        let row = RecordRow::new(k, p.after, sla)?;
        let unchanged = match p.before {
            Some(b) => RecordRow::new(k, b, sla)?.cells() == row.cells(),
            None => false,
        };
        if !unchanged {
            rows.push(row);
        }
    }
    sql::insert_rows(
        tx,
        backend,
        RECORD_INSERT,
        RECORD_UPSERT,
        &rows,
        RecordRow::bind,
    )
    .await?;
    // Survey answers keep copies of their record's facets for filtered
    // dashboards: refreshed when one of them changed, or may have.
    let refaceted: Vec<&str> = keyed()
        .filter(|(_, p)| p.before.is_none_or(|b| facets(b) != facets(p.after)))
        .map(|(k, _)| k)
        .collect();
    refresh_answer_facets(tx, backend, &refaceted).await?;
    let new_blobs: Vec<(&str, &String)> = keyed()
        .zip(blobs_changed.iter().zip(&blobs))
        .filter(|(_, (changed, _))| **changed)
        .flat_map(|((k, _), (_, blobs))| blobs.iter().map(move |b| (k, b)))
        .collect();
    sql::insert_rows(
        tx,
        backend,
        "INSERT INTO record_attachments (document_id, sha256) VALUES ",
        "",
        &new_blobs,
        |r, (k, sha256)| {
            r.value(*k).value(sha256.as_str());
        },
    )
    .await?;
    let replies: Vec<(&str, usize, &CustomerReply)> = keyed()
        .zip(&replies_changed)
        .filter(|(_, changed)| **changed)
        .flat_map(|((k, p), _)| {
            p.after
                .replies
                .iter()
                .enumerate()
                .map(move |(i, r)| (k, i, r))
        })
        .collect();
    sql::insert_rows(
        tx,
        backend,
        "INSERT INTO record_replies (document_id, position, channel, content, at, actor, customer_answer) VALUES ",
        "",
        &replies,
        |r, (k, i, reply)| {
            r.value(*k)
                .value(*i as i64)
                .value(reply.channel.as_str())
                .value(reply.content.as_str())
                .value(reply.at_ms)
                .value(reply.by.as_str())
                .value(reply.customer_answer.map(|a| a.key()));
        },
    )
    .await?;
    let history: Vec<(&str, usize, &HistoryEntry)> = keyed()
        .flat_map(|(k, p)| {
            let old = p.before.map_or(&[][..], |b| &b.history);
            changed(old, &p.after.history).map(move |(i, h)| (k, i, h))
        })
        .collect();
    sql::insert_rows(
        tx,
        backend,
        "INSERT INTO record_history (document_id, position, action, actor, at, from_status, note) VALUES ",
        " ON CONFLICT (document_id, position) DO UPDATE SET action = excluded.action,
            actor = excluded.actor, at = excluded.at, from_status = excluded.from_status,
            note = excluded.note",
        &history,
        |r, (k, i, h)| {
            r.value(*k)
                .value(*i as i64)
                .value(h.action.key())
                .value(h.by.as_str())
                .value(h.at_ms)
                .value(h.from.key())
                .value(h.note.as_deref());
        },
    )
    .await?;
    let log: Vec<(&str, usize, &LogEntry)> = keyed()
        .flat_map(|(k, p)| {
            let old = p.before.map_or(&[][..], |b| &b.log);
            changed(old, &p.after.log).map(move |(i, l)| (k, i, l))
        })
        .collect();
    sql::insert_rows(
        tx,
        backend,
        "INSERT INTO record_log (document_id, position, at, actor, text, kind) VALUES ",
        " ON CONFLICT (document_id, position) DO UPDATE SET at = excluded.at,
            actor = excluded.actor, text = excluded.text, kind = excluded.kind",
        &log,
        |r, (k, i, l)| {
            r.value(*k)
                .value(*i as i64)
                .value(l.at_ms)
                .value(l.by.as_str())
                .value(l.text.as_str())
                .value(l.kind.key());
        },
    )
    .await?;
    // Shortened history or log (rare): the tail rows go.
    for (key, p) in keyed() {
        let Some(before) = p.before else { continue };
        for (table, old, new) in [
            (
                "record_history",
                before.history.len(),
                p.after.history.len(),
            ),
            ("record_log", before.log.len(), p.after.log.len()),
        ] {
            if old > new {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE document_id = $1 AND position >= $2"
                ))
                .bind(key)
                .bind(new as i64)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// The distinct attachment hashes of a record, sorted.
fn attachments(r: &FeedbackRecord) -> Vec<String> {
    let mut blobs: Vec<String> = r.attachments.iter().map(|a| a.sha256.clone()).collect();
    blobs.sort_unstable();
    blobs.dedup();
    blobs
}

/// The entries of `new` that differ from `old` at their position, with
/// their positions (an append yields just the new entries).
fn changed<'a, T: PartialEq>(old: &[T], new: &'a [T]) -> impl Iterator<Item = (usize, &'a T)> {
    new.iter()
        .enumerate()
        .filter(move |(i, item)| old.get(*i) != Some(*item))
}

/// The columns of `survey_answers` that copy its record's.
pub(in crate::storage) const ANSWER_FACETS: [&str; 3] = ["department", "channel", "feedback_type"];

/// The record's values survey answers keep a copy of, in
/// [`ANSWER_FACETS`]' order: the facets a dashboard filters by.
fn facets(r: &FeedbackRecord) -> (Option<&str>, &str, Option<&str>) {
    (
        r.department.as_deref(),
        r.channel.as_str(),
        r.feedback_type.as_deref(),
    )
}

/// The facets of the record `doc` (an SQL expression naming a document)
/// as survey answers copy them, for an `INSERT`'s values: NULL when there is
/// no such record.
pub(in crate::storage) fn record_facets_of(doc: &str) -> String {
    ANSWER_FACETS
        .map(|c| format!("(SELECT r.{c} FROM records r WHERE r.document_id = {doc})"))
        .join(", ")
}

/// Copies the records' current facets (NULL for a record that is gone) onto
/// their survey answers. Run after the records' rows are written, in the
/// same transaction.
pub(in crate::storage) async fn refresh_answer_facets(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    keys: &[&str],
) -> Result<(), StorageError> {
    let copies = ANSWER_FACETS
        .map(|c| {
            format!(
                "{c} = (SELECT r.{c} FROM records r WHERE r.document_id = survey_answers.document_id)"
            )
        })
        .join(", ");
    let head = format!("UPDATE survey_answers SET {copies} WHERE document_id");
    sql::where_in(tx, backend, &head, keys).await?;
    Ok(())
}

/// Deletes every read-model row of the records `keys` (they left storage,
/// or their rows are about to be written afresh).
pub(super) async fn delete(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    keys: &[&str],
) -> Result<(), StorageError> {
    for (table, _) in TABLES {
        let head = format!("DELETE FROM {table} WHERE document_id");
        sql::where_in(tx, backend, &head, keys).await?;
    }
    Ok(())
}

const RECORD_INSERT: &str = "INSERT INTO records (document_id, schema_version, received_at, channel, source, customer, description,
            feedback_type, nature, urgency, impact, priority, status, owner, department, assigned_at,
            first_response_at, resolved_at, closed_at, escalation, reopen_count, conflicts, workflow_issues, pauses,
            complaint_kind, first_response_due_at, resolution_due_at, clock_due_at, clock_near_at, order_number, contact_ref, archived_at,
            problem_class, detoured) VALUES ";
const RECORD_UPSERT: &str = " ON CONFLICT (document_id) DO UPDATE SET schema_version = excluded.schema_version,
            received_at = excluded.received_at, channel = excluded.channel, source = excluded.source,
            customer = excluded.customer, description = excluded.description,
            feedback_type = excluded.feedback_type, nature = excluded.nature, urgency = excluded.urgency,
            impact = excluded.impact, priority = excluded.priority, status = excluded.status,
            owner = excluded.owner, department = excluded.department, assigned_at = excluded.assigned_at,
            first_response_at = excluded.first_response_at, resolved_at = excluded.resolved_at,
            closed_at = excluded.closed_at, escalation = excluded.escalation,
            reopen_count = excluded.reopen_count, conflicts = excluded.conflicts,
            workflow_issues = excluded.workflow_issues, pauses = excluded.pauses,
            complaint_kind = excluded.complaint_kind, first_response_due_at = excluded.first_response_due_at,
            resolution_due_at = excluded.resolution_due_at, clock_due_at = excluded.clock_due_at,
            clock_near_at = excluded.clock_near_at, order_number = excluded.order_number,
            contact_ref = excluded.contact_ref, archived_at = excluded.archived_at,
            problem_class = excluded.problem_class, detoured = excluded.detoured";

/// A record's own row, with what is computed for it (due moments, pauses).
struct RecordRow<'r> {
    key: &'r str,
    r: &'r FeedbackRecord,
    due: DueTimes,
    pauses: String,
}

impl<'r> RecordRow<'r> {
    fn new(key: &'r str, r: &'r FeedbackRecord, sla: &SlaConfig) -> Result<Self, StorageError> {
        let pauses = serde_json::to_string(&r.workflow.pauses)
            .map_err(|e| StorageError::Corrupt(format!("pauses of {key}: {e}")))?;
        Ok(RecordRow {
            key,
            r,
            due: sla.due_times(r.priority, &r.sla_facts()),
            pauses,
        })
    }

    /// The row's values, in [`RECORD_INSERT`]'s column order.
    fn cells(&self) -> [Cell<'_>; 34] {
        let (r, due) = (self.r, &self.due);
        let w = &r.workflow;
        let text = |v: Option<&'r str>| Cell::Text(v);
        let int = |v: Option<i64>| Cell::Int(v);
        [
            text(Some(self.key)),
            int(Some(r.schema_version as i64)),
            int(Some(r.received_at_ms)),
            text(Some(&r.channel)),
            text(Some(&r.source)),
            text(Some(&r.customer)),
            text(Some(&r.description)),
            text(r.feedback_type.as_deref()),
            text(r.nature.as_deref()),
            text(r.urgency.as_deref()),
            text(r.impact.as_deref()),
            text(r.priority.map(|p| p.key())),
            text(Some(w.status.key())),
            text(r.owner.as_deref()),
            text(r.department.as_deref()),
            int(w.assigned_at_ms),
            int(w.first_response_at_ms),
            int(w.resolved_at_ms),
            int(w.closed_at_ms),
            int(Some(i64::from(w.escalation))),
            int(Some(i64::from(w.reopen_count))),
            int(Some(r.conflicts.len() as i64)),
            int(Some(r.workflow_issues.len() as i64)),
            Cell::Text(Some(&self.pauses)),
            text(r.complaint_kind.as_deref()),
            int(due.first_response_ms),
            int(due.resolution_ms),
            int(due.running.map(|c| c.due_at_ms)),
            int(due.running.map(|c| c.near_at_ms)),
            text(r.order_number.as_deref()),
            text(r.contact_ref.as_deref()),
            int(r.archived_at_ms),
            text(r.root_cause.as_ref().map(|c| c.class.as_str())),
            int(Some(i64::from(detoured(r)))),
        ]
    }

    fn bind<'i>(row: &mut ValuesRow<'_, 'i>, this: &'i RecordRow<'r>) {
        for cell in this.cells() {
            match cell {
                Cell::Text(v) => row.value(v),
                Cell::Int(v) => row.value(v),
            };
        }
    }
}

/// One value of a record's row.
#[derive(PartialEq)]
enum Cell<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
}
