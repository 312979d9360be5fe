//! Write authorization: what a change does to a record ([`inspect`]) and
//! whether its author may do it ([`authorize`]). Reaching a record is not
//! enough to change it: head office and supervisors judge staff by these
//! records (S002 §6), so the relay checks every change before it stores or
//! forwards it, and the app checks the same table before it writes, so an
//! honest client is never refused.

mod effects;
mod rules;

pub use effects::{Effects, MAX_FIELD_CHARS, Write, inspect};
pub use rules::{Allowed, OFFICE_STEPS, WORKING_STEPS, permission, table_markdown};

use automerge::{Automerge, Change, ChangeHash, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::access::{Principal, Role};

/// What the rule needs to know about the record as the change found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFacts {
    /// Who captured it (`None` while it is being created).
    pub captured_by: Option<String>,
    /// Who it is assigned to.
    pub owner: Option<String>,
    /// Archived: nobody changes it any more.
    pub archived: bool,
}

impl RecordFacts {
    /// The facts at `heads` (a change's dependencies).
    pub fn at(doc: &Automerge, heads: &[ChangeHash]) -> Self {
        let scalar = |obj: &automerge::ObjId, key: &str| match doc.get_at(obj, key, heads) {
            Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                ScalarValue::Str(v) => Some(v.to_string()),
                _ => None,
            },
            _ => None,
        };
        let owner = match doc.get_at(ROOT, "owner", heads) {
            Ok(Some((Value::Object(ObjType::Map), obj))) => scalar(&obj, "v"),
            _ => None,
        };
        RecordFacts {
            captured_by: scalar(&ROOT, "capturedBy"),
            owner,
            archived: matches!(doc.get_at(ROOT, "archivedAt", heads), Ok(Some(_))),
        }
    }
}

/// Why a change was refused. [`Denied::code`] is stable, for the app to
/// show in the user's language; the text is for logs and other clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("a {role} may not {what}")]
    Forbidden { role: &'static str, what: String },
    #[error("only on records you captured or are assigned: {what}")]
    NotYours { what: String },
    #[error("changes must be written as the signed-in user, not `{claimed}`")]
    ForgedAuthor { claimed: String },
    #[error("the record keeps this as written: {0}")]
    Rewrite(String),
    #[error("`{0}` is longer than a record allows")]
    TooLong(&'static str),
    #[error("a record is created once")]
    Recreate,
    #[error("the record is archived and read-only")]
    Archived,
}

impl Denied {
    /// Stable key of the reason.
    pub fn code(&self) -> &'static str {
        match self {
            Denied::Forbidden { .. } => "forbidden",
            Denied::NotYours { .. } => "not_yours",
            Denied::ForgedAuthor { .. } => "forged_author",
            Denied::Rewrite(_) => "rewrite",
            Denied::TooLong(_) => "too_long",
            Denied::Recreate => "recreate",
            Denied::Archived => "archived",
        }
    }
}

fn describe(w: &Write) -> String {
    match w {
        Write::Create => "create a record".into(),
        Write::Capture(k) => format!("edit the capture field `{k}`"),
        Write::Classify(k) => format!("classify (`{k}`)"),
        Write::SlaFact(k) => format!("change the SLA fact `{k}`"),
        Write::Assignment => "set the owner or department".into(),
        Write::LogEntry => "append to the processing log".into(),
        Write::Attach => "attach a file".into(),
        Write::Step(a) => format!("take the workflow step `{a}`"),
        Write::Process(k) => format!("write `{k}`"),
        Write::Reply(k) => format!("write `{k}`"),
        Write::Archive => "archive the record".into(),
        Write::Rewrite(what) => format!("rewrite {what}"),
    }
}

/// Whether `who` may make a change with these effects to a record with
/// these facts.
pub fn authorize(who: &Principal, facts: &RecordFacts, effects: &Effects) -> Result<(), Denied> {
    if let Some(claimed) = effects.authors.iter().find(|a| **a != who.username) {
        return Err(Denied::ForgedAuthor {
            claimed: cut_chars(claimed, 64),
        });
    }
    if let Some(field) = effects.too_long.first() {
        return Err(Denied::TooLong(field));
    }
    if facts.archived {
        return Err(Denied::Archived);
    }
    let me = Some(who.username.as_str());
    let assigned = facts.owner.as_deref() == me;
    let captured = facts.captured_by.as_deref() == me;
    for w in &effects.writes {
        if *w == Write::Archive {
            // The archive job's account; no sign-in can produce it.
            if who.is_system() {
                continue;
            }
            return Err(Denied::Forbidden {
                role: role_name(who.role),
                what: describe(w),
            });
        }
        let ok = match permission(who.role, w) {
            Allowed::Yes => true,
            Allowed::CapturedOrAssigned => captured || assigned,
            Allowed::Assigned => assigned,
            Allowed::No => false,
        };
        if ok {
            continue;
        }
        return Err(match (w, permission(who.role, w)) {
            (Write::Rewrite(what), _) => Denied::Rewrite(what.clone()),
            (_, Allowed::No) => Denied::Forbidden {
                role: role_name(who.role),
                what: describe(w),
            },
            _ => Denied::NotYours { what: describe(w) },
        });
    }
    Ok(())
}

/// At most `n` characters of a client-chosen string, for messages and logs.
fn cut_chars(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Whether `who` may make one kind of write to a record with these facts
/// (for a screen deciding which actions to offer).
pub fn may(who: &Principal, facts: &RecordFacts, write: Write) -> bool {
    let effects = Effects {
        writes: vec![write],
        ..Effects::default()
    };
    authorize(who, facts, &effects).is_ok()
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::FieldStaff => "field staff member",
        Role::HeadOffice => "head office user",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

/// Checks the changes a document gained since `before` (in the order they
/// were applied), each against the record as it stood at its dependencies.
/// `doc` holds them already. The first refusal names its change.
pub fn check_changes(
    who: &Principal,
    doc: &Automerge,
    before: &[ChangeHash],
    changes: &[Change],
) -> Result<(), (ChangeHash, Denied)> {
    for (i, change) in changes.iter().enumerate() {
        // Only the very first change of a new document creates the record;
        // another change without dependencies would be a second, rival root.
        let creating = change.deps().is_empty();
        if creating && (i > 0 || !before.is_empty()) {
            return Err((change.hash(), Denied::Recreate));
        }
        let facts = if creating {
            RecordFacts {
                captured_by: Some(who.username.clone()),
                ..RecordFacts::default()
            }
        } else {
            RecordFacts::at(doc, change.deps())
        };
        let effects = inspect(doc, change, creating);
        authorize(who, &facts, &effects).map_err(|d| (change.hash(), d))?;
    }
    Ok(())
}
