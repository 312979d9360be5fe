//! What a change does to a record, read from its operations: which keys and
//! list entries it touches, which values it writes, what it deletes. The
//! relay reads this from changes a client sent; the app from the change it
//! is about to keep. Nothing here trusts the change: anything the record
//! layout has no place for comes out as [`Write::Rewrite`].

use std::collections::HashMap;

use automerge::legacy::{Key, ObjectId, OpId, OpType};
use automerge::{Automerge, Change, ObjType, Prop, ROOT, ReadDoc, ScalarValue, Value};

use crate::record::{Field, MAX_DESCRIPTION_CHARS, MAX_TEXT_CHARS};

/// Longest value of a capture field (nickname, order number, channel key, …).
pub const MAX_FIELD_CHARS: usize = 200;

/// One thing a change does to a record, in the words of the role table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Write {
    /// Creates the record: capture fields, empty lists, who captured it.
    Create,
    /// Sets a capture field or edits the description.
    Capture(&'static str),
    /// Sets a classification field or changes the aspects.
    Classify(&'static str),
    /// Sets an SLA fact: the priority, or the received time after capture
    /// (the SLA clocks run from it).
    SlaFact(&'static str),
    /// Sets the owner or department.
    Assignment,
    /// Appends a processing-log entry.
    LogEntry,
    /// Appends an attachment reference.
    Attach,
    /// Appends a workflow step (its action key as written).
    Step(String),
    /// Root cause, solution or execution plan.
    Process(&'static str),
    /// The reply to the customer, a follow-up, the survey link.
    Reply(&'static str),
    /// Marks the record archived: read-only from then on (S002 5.4). Only
    /// the server's archive job writes it.
    Archive,
    /// Changes or deletes what the record keeps as written (history, log
    /// and attachment entries, set-once fields, a value another change
    /// wrote), or writes where the record has no place.
    Rewrite(String),
}

/// Everything one change does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub writes: Vec<Write>,
    /// Every author value written (`by`, `capturedBy`): each must be the
    /// signed-in user.
    pub authors: Vec<String>,
    /// Fields whose value is longer than the record allows.
    pub too_long: Vec<&'static str>,
}

/// Keys set at capture, editable afterwards by whoever may edit capture fields.
const CAPTURE_KEYS: [&str; 6] = [
    "receivedAt",
    "channel",
    "source",
    "customer",
    "orderNumber",
    "contactRef",
];
/// Keys written once, when the record is created.
const SET_ONCE: [&str; 2] = ["schemaVersion", "capturedBy"];
/// Lists that only grow.
const LISTS: [&str; 3] = ["history", "log", "attachments"];

/// Where an operation writes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Root,
    /// The object at a root key; `fresh` if this change made it.
    Top {
        key: String,
        fresh: bool,
    },
    /// A map inside one of the [`LISTS`].
    Entry {
        list: String,
        fresh: bool,
    },
    Elsewhere,
}

/// Reads what `change` does. `doc` holds the change already (the relay
/// applies, reads, and rolls back on refusal); `creating` is true for the
/// change that creates the record.
pub fn inspect(doc: &Automerge, change: &Change, creating: bool) -> Effects {
    let expanded = change.decode();
    let start = expanded.start_op.get();
    let actor = expanded.actor_id.clone();
    let mut out = Effects::default();
    // Objects this change made, and where.
    let mut made: HashMap<OpId, Place> = HashMap::new();
    // Existing objects' places, looked up once.
    let mut known: HashMap<OpId, Place> = HashMap::new();
    // History entries made here, and whether each named its action.
    let mut steps: HashMap<OpId, bool> = HashMap::new();
    for (i, op) in expanded.operations.iter().enumerate() {
        let id = OpId(start + i as u64, actor.clone());
        let place = match &op.obj {
            ObjectId::Root => Place::Root,
            ObjectId::Id(obj) => match made.get(obj) {
                Some(p) => p.clone(),
                None => known
                    .entry(obj.clone())
                    .or_insert_with(|| existing_place(doc, obj))
                    .clone(),
            },
        };
        let key = match &op.key {
            Key::Map(k) => Some(k.as_str()),
            Key::Seq(_) => None,
        };
        if let OpType::Make(kind) = &op.action {
            made.insert(id.clone(), made_place(&place, key, op.insert, *kind));
        }
        match &place {
            Place::Root => root_op(key.unwrap_or(""), &op.action, creating, &mut out),
            Place::Top { key: top, fresh } => top_op(
                top, *fresh, key, op.insert, &op.action, &id, &mut steps, &mut out,
            ),
            Place::Entry { list, fresh: true } => {
                entry_value(list, key, &op.action, &mut out);
                if let (Some("action"), OpType::Put(ScalarValue::Str(a)), ObjectId::Id(entry)) =
                    (key, &op.action, &op.obj)
                    && list == "history"
                {
                    steps.insert(entry.clone(), true);
                    out.writes.push(Write::Step(a.to_string()));
                }
            }
            Place::Entry { list, fresh: false } => out
                .writes
                .push(Write::Rewrite(format!("an existing {list} entry"))),
            Place::Elsewhere => out.writes.push(Write::Rewrite("a nested value".into())),
        }
    }
    if steps.values().any(|named| !named) {
        out.writes
            .push(Write::Rewrite("a history entry without an action".into()));
    }
    out.too_long.extend(long_texts(doc, &out.writes));
    out.writes.sort();
    out.writes.dedup();
    out
}

fn made_place(parent: &Place, key: Option<&str>, insert: bool, kind: ObjType) -> Place {
    match (parent, key) {
        (Place::Root, Some(k)) => Place::Top {
            key: k.to_string(),
            fresh: true,
        },
        (Place::Top { key, .. }, None)
            if insert && kind == ObjType::Map && LISTS.contains(&key.as_str()) =>
        {
            Place::Entry {
                list: key.clone(),
                fresh: true,
            }
        }
        _ => Place::Elsewhere,
    }
}

/// The place of an object that existed before this change.
fn existing_place(doc: &Automerge, obj: &OpId) -> Place {
    let Ok(ex) = doc.import_obj(&format!("{}@{}", obj.counter(), obj.actor())) else {
        return Place::Elsewhere;
    };
    // Hostile list structures trip an assertion inside automerge 0.12's
    // parent lookup (debug builds; fuzzing found it): a place that cannot
    // be read is no place a write is allowed.
    let path = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        doc.parents(&ex)
            .ok()
            .map(|parents| parents.map(|p| p.prop).take(3).collect::<Vec<Prop>>())
    }));
    let Ok(Some(mut path)) = path else {
        return Place::Elsewhere;
    };
    path.reverse();
    match path.as_slice() {
        [Prop::Map(key)] => Place::Top {
            key: key.clone(),
            fresh: false,
        },
        [Prop::Map(list), Prop::Seq(_)] if LISTS.contains(&list.as_str()) => Place::Entry {
            list: list.clone(),
            fresh: false,
        },
        _ => Place::Elsewhere,
    }
}

fn attributed_write(key: &str) -> Option<Write> {
    let field = Field::ALL.into_iter().find(|f| f.key() == key)?;
    Some(match field {
        Field::Priority => Write::SlaFact("priority"),
        Field::Owner | Field::Department => Write::Assignment,
        other => Write::Classify(other.key()),
    })
}

fn root_op(key: &str, action: &OpType, creating: bool, out: &mut Effects) {
    let rewrite = |what: &str| Write::Rewrite(format!("`{what}`"));
    let w = match (key, action) {
        (k, OpType::Put(v)) if SET_ONCE.contains(&k) && creating => {
            if k == "capturedBy" {
                match v {
                    ScalarValue::Str(s) => out.authors.push(s.to_string()),
                    _ => out.authors.push(String::new()),
                }
            }
            Write::Create
        }
        ("description", OpType::Make(ObjType::Text))
        | ("solution", OpType::Make(ObjType::Text))
        | ("aspects", OpType::Make(ObjType::Map))
            if creating =>
        {
            Write::Create
        }
        (k, OpType::Make(ObjType::List)) if creating && LISTS.contains(&k) => Write::Create,
        ("receivedAt", OpType::Put(_)) if !creating => Write::SlaFact("receivedAt"),
        (k, OpType::Put(v)) if CAPTURE_KEYS.contains(&k) => {
            if let ScalarValue::Str(s) = v
                && s.chars().count() > MAX_FIELD_CHARS
            {
                out.too_long.push(capture_key(k));
            }
            Write::Capture(capture_key(k))
        }
        (k, OpType::Make(ObjType::Map)) => match attributed_write(k) {
            Some(w) => w,
            None => match k {
                "rootCause" => Write::Process("rootCause"),
                "plan" => Write::Process("plan"),
                "reply" => Write::Reply("reply"),
                "followUp" => Write::Reply("followUp"),
                other => rewrite(other),
            },
        },
        ("archivedAt", OpType::Put(_)) => Write::Archive,
        ("satisfactionLink", OpType::Put(ScalarValue::Str(s))) => {
            if s.chars().count() > MAX_FIELD_CHARS {
                out.too_long.push("satisfactionLink");
            }
            Write::Reply("satisfactionLink")
        }
        (other, _) => rewrite(other),
    };
    out.writes.push(w);
}

/// The static name of a capture key (for the role table and messages).
fn capture_key(k: &str) -> &'static str {
    CAPTURE_KEYS
        .into_iter()
        .find(|c| *c == k)
        .unwrap_or("capture field")
}

#[allow(clippy::too_many_arguments)]
fn top_op(
    top: &str,
    fresh: bool,
    key: Option<&str>,
    insert: bool,
    action: &OpType,
    id: &OpId,
    steps: &mut HashMap<OpId, bool>,
    out: &mut Effects,
) {
    let text_op = matches!(action, OpType::Put(ScalarValue::Str(_)) | OpType::Delete);
    let w = match top {
        "description" if text_op => Write::Capture("description"),
        "solution" if text_op => Write::Process("solution"),
        "aspects" if key.is_some() => match action {
            OpType::Put(ScalarValue::Boolean(true)) | OpType::Delete => Write::Classify("aspects"),
            _ => Write::Rewrite("an aspect value".into()),
        },
        list if LISTS.contains(&list) => match action {
            OpType::Make(ObjType::Map) if insert => match list {
                "history" => {
                    steps.insert(id.clone(), false);
                    return;
                }
                "log" => Write::LogEntry,
                _ => Write::Attach,
            },
            OpType::Delete => Write::Rewrite(format!("deletes a {list} entry")),
            _ => Write::Rewrite(format!("an existing {list} entry")),
        },
        // The small maps written whole: attributed fields and process facts.
        _ if fresh && !matches!(action, OpType::Make(_)) && key.is_some() => {
            entry_value(top, key, action, out);
            return;
        }
        other => Write::Rewrite(format!("`{other}` as written")),
    };
    out.writes.push(w);
}

/// A value inside a map this change made: authors are collected, long
/// text noted, nested objects refused. A log entry's `kind` makes it a
/// reply, a customer's answer or a follow-up outcome, which only those who
/// may reply may write.
fn entry_value(within: &str, key: Option<&str>, action: &OpType, out: &mut Effects) {
    match (key, action) {
        (Some("kind"), OpType::Put(ScalarValue::Str(k))) if within == "log" => {
            out.writes.push(match k.as_str() {
                "reply" => Write::Reply("reply"),
                "answer" => Write::Reply("customerAnswer"),
                "followUp" => Write::Reply("followUp"),
                _ => Write::Rewrite("a log entry of an unknown kind".into()),
            })
        }
        (Some("by"), OpType::Put(ScalarValue::Str(s))) => out.authors.push(s.to_string()),
        (Some("by"), _) => out.authors.push(String::new()),
        (Some(_), OpType::Put(ScalarValue::Str(s))) => {
            if s.chars().count() > MAX_TEXT_CHARS {
                out.too_long.push(static_name(within));
            }
        }
        (Some(_), OpType::Put(_)) => {}
        _ => out
            .writes
            .push(Write::Rewrite(format!("a nested value in `{within}`"))),
    }
}

fn static_name(key: &str) -> &'static str {
    const NAMES: [&str; 9] = [
        "history",
        "log",
        "attachments",
        "rootCause",
        "plan",
        "reply",
        "followUp",
        "description",
        "solution",
    ];
    NAMES
        .into_iter()
        .chain(Field::ALL.map(Field::key))
        .find(|n| *n == key)
        .unwrap_or("value")
}

/// Texts are limited as a whole, after the change: those it touched that
/// are now too long.
fn long_texts(doc: &Automerge, writes: &[Write]) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (key, limit) in [
        ("description", MAX_DESCRIPTION_CHARS),
        ("solution", MAX_TEXT_CHARS),
    ] {
        let touched = writes.iter().any(|w| {
            matches!(w, Write::Capture(k) | Write::Process(k) if *k == key) || (*w == Write::Create)
        });
        if !touched {
            continue;
        }
        if let Ok(Some((Value::Object(ObjType::Text), obj))) = doc.get(ROOT, key)
            && doc.text(&obj).is_ok_and(|t| t.chars().count() > limit)
        {
            out.push(static_name(key));
        }
    }
    out
}
