//! Honest edits: sequences of `record::*` edits by users of every role,
//! as the app makes them. An edit the role table (`docs/write-rules.md`)
//! allows its author must be accepted by the write rule, and one it
//! forbids must be refused; three bytes per edit, like `ops`.

use automerge::{ActorId, Automerge};
use closeloop_shared::access::{Principal, Role};
use closeloop_shared::authorize::check_changes;
use closeloop_shared::record::{
    self, Attachment, CustomerAnswer, ExecutionPlan, FeedbackRecord, Field, FollowUp,
};
use closeloop_shared::sla::Priority;
use closeloop_shared::taxonomy::{Taxonomy, TermList};
use closeloop_shared::workflow::Action;
use closeloop_shared::{FeedbackDraft, RecordError};
use proptest::prelude::*;

use crate::ops::{CAPTURER, T0, base, principal};

/// One edit: by whom (see [`principal`]), which, and a selector for its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    pub who: u8,
    pub kind: u8,
    pub arg: u8,
}

impl Edit {
    pub fn to_bytes(edits: &[Edit]) -> Vec<u8> {
        edits.iter().flat_map(|e| [e.who, e.kind, e.arg]).collect()
    }

    /// Any bytes; at most [`MAX_EDITS`] edits, so one input stays quick.
    pub fn from_bytes(bytes: &[u8]) -> Vec<Edit> {
        bytes
            .chunks(3)
            .take(MAX_EDITS)
            .map(|c| {
                let at = |i: usize| c.get(i).copied().unwrap_or(0);
                Edit {
                    who: at(0),
                    kind: at(1),
                    arg: at(2),
                }
            })
            .collect()
    }
}

/// Sequences of up to `max` edits.
pub fn sequence(max: usize) -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(
        (0u8..5, 0u8..KINDS, any::<u8>()).prop_map(|(who, kind, arg)| Edit { who, kind, arg }),
        0..max,
    )
}

const KINDS: u8 = 14;
/// Edits one input makes at most.
pub const MAX_EDITS: usize = 24;

/// Who may make an edit, as the rows of the role table say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    /// Log entries, attachments: every role but admin.
    Anyone,
    /// Capture fields, classification: field staff on records they
    /// captured or are assigned.
    CapturedOrAssigned,
    /// Working steps, root cause, solution, plan: field staff when assigned.
    Assigned,
    /// Priority, assignment, office steps, replies: head office only.
    Office,
}

fn allowed(row: Row, who: &Principal, record: &FeedbackRecord, captured_by: &str) -> bool {
    let assigned = record.owner.as_deref() == Some(who.username.as_str());
    match who.role {
        Role::Admin => false,
        Role::HeadOffice | Role::Supervisor => true,
        Role::FieldStaff => match row {
            Row::Anyone => true,
            Row::CapturedOrAssigned => assigned || captured_by == who.username,
            Row::Assigned => assigned,
            Row::Office => false,
        },
    }
}

const TEXTS: [&str; 4] = [
    "冰箱冷藏室不制冷",
    "Customer called back.",
    "  trimmed  ",
    "x",
];
const PEOPLE: [&str; 3] = [CAPTURER, "field-north-2", "office"];

fn pick<'a>(items: &[&'a str], n: u8) -> &'a str {
    items[usize::from(n) % items.len()]
}

fn action(n: u8) -> Action {
    let owner = pick(&PEOPLE, n / 11).to_string();
    let department = "after_sales".to_string();
    match n % 11 {
        0 => Action::Register,
        1 => Action::Assign { owner, department },
        2 => Action::Reassign { owner, department },
        3 => Action::Start,
        4 => Action::AwaitCustomer,
        5 => Action::CustomerResponded,
        6 => Action::Resolve,
        7 => Action::Reply,
        8 => Action::Close,
        9 => Action::Reopen,
        _ => Action::Escalate,
    }
}

/// Makes one edit as `who`; which row of the table it falls under.
fn make(doc: &mut Automerge, e: Edit, who: &str, now: i64) -> (Row, Result<(), RecordError>) {
    let tax = Taxonomy::default();
    let term = |list: TermList| {
        tax.list(list)[usize::from(e.arg) % tax.list(list).len()]
            .key
            .clone()
    };
    let text = if e.arg == 255 {
        "长".repeat(record::MAX_TEXT_CHARS)
    } else {
        pick(&TEXTS, e.arg).into()
    };
    match e.kind % KINDS {
        0 => (
            Row::CapturedOrAssigned,
            record::edit_description(doc, &text, now),
        ),
        1 => (Row::Assigned, record::edit_solution(doc, &text, now)),
        2 => {
            let fields = [
                Field::FeedbackType,
                Field::Nature,
                Field::Urgency,
                Field::Impact,
                Field::EventCategory,
                Field::ComplaintKind,
            ];
            let lists = [
                TermList::FeedbackType,
                TermList::Nature,
                TermList::Urgency,
                TermList::Impact,
                TermList::EventCategory,
                TermList::ComplaintKind,
            ];
            let i = usize::from(e.arg) % fields.len();
            (
                Row::CapturedOrAssigned,
                record::set_field(doc, &tax, fields[i], &term(lists[i]), who, now),
            )
        }
        3 => {
            let p = Priority::ALL[usize::from(e.arg) % Priority::ALL.len()].key();
            (
                Row::Office,
                record::set_field(doc, &tax, Field::Priority, p, who, now),
            )
        }
        4 => {
            let field = if e.arg.is_multiple_of(2) {
                Field::Owner
            } else {
                Field::Department
            };
            (
                Row::Office,
                record::set_field(doc, &tax, field, pick(&PEOPLE, e.arg / 2), who, now),
            )
        }
        5 if e.arg.is_multiple_of(2) => (
            Row::CapturedOrAssigned,
            record::add_aspect(doc, &tax, &term(TermList::Aspect), now),
        ),
        5 => (
            Row::CapturedOrAssigned,
            record::remove_aspect(doc, &term(TermList::Aspect), now),
        ),
        6 => {
            let a = Attachment {
                sha256: format!("{:064x}", e.arg),
                media_type: "image/jpeg".into(),
                size: 1 + u64::from(e.arg),
                name: format!("photo-{}.jpg", e.arg),
            };
            (Row::Anyone, record::add_attachment(doc, &a, now))
        }
        7 => (Row::Anyone, record::append_log(doc, &text, who, now)),
        8 => {
            let a = action(e.arg);
            let row = if ["start", "await_customer", "customer_responded", "resolve"]
                .contains(&a.key())
            {
                Row::Assigned
            } else {
                Row::Office
            };
            (row, record::transition(doc, &a, Some("noted"), who, now))
        }
        9 => (
            Row::Assigned,
            record::set_root_cause(doc, &tax, &term(TermList::ProblemClass), &text, now),
        ),
        10 => {
            let plan = ExecutionPlan {
                owner: pick(&PEOPLE, e.arg).into(),
                deadline_ms: now + 86_400_000,
                goal: text,
            };
            (Row::Assigned, record::set_plan(doc, &plan, now))
        }
        11 => {
            let answer = [
                None,
                Some(CustomerAnswer::Satisfied),
                Some(CustomerAnswer::HasQuestions),
            ][usize::from(e.arg) % 3];
            let replied = record::add_reply(doc, &tax, "phone", &text, who, now);
            let answered = match (replied, answer) {
                (Ok(()), Some(a)) => record::record_answer(doc, a, "", who, now),
                (r, _) => r,
            };
            (Row::Office, answered)
        }
        12 => {
            let f = FollowUp::planned(now + 3 * 86_400_000, "phone", &text);
            (Row::Office, record::set_follow_up(doc, &f, now))
        }
        _ => (
            Row::Office,
            record::set_satisfaction_link(doc, &format!("https://survey.example/{}", e.arg), now),
        ),
    }
}

fn actor(who: u8) -> ActorId {
    ActorId::from(vec![0x10 | (who % 5); 16])
}

/// Runs `edits` on base record `start` (0: the first edit's author
/// captures it); panics if the rule and the table disagree. Returns how
/// many edits were accepted and refused.
pub fn run(start: u8, edits: &[Edit]) -> (usize, usize) {
    let (mut accepted, mut refused) = (0, 0);
    let mut doc = base(start);
    let mut captured_by = CAPTURER.to_string();
    let mut edits = edits.iter().copied().peekable();
    if doc.get_heads().is_empty() {
        let who = principal(edits.peek().map_or(0, |e| e.who));
        edits.next();
        doc.set_actor(actor(who.user_id as u8));
        let draft = FeedbackDraft {
            channel: "phone".into(),
            nickname: "n".into(),
            description: "d".into(),
            ..FeedbackDraft::default()
        };
        let written = draft.write_new(&mut doc, &Taxonomy::default(), &who.username, T0);
        assert_eq!(written, Ok(()));
        let got = check_changes(&who, &doc, &[], &doc.get_changes(&[]));
        assert_eq!(
            got.is_ok(),
            who.role != Role::Admin,
            "{} creating a record: {got:?}",
            who.username
        );
        captured_by = who.username.clone();
    }
    for (i, e) in edits.enumerate() {
        let who = principal(e.who);
        let Ok(record) = FeedbackRecord::from_doc(&doc) else {
            break;
        };
        let mut next = doc.clone();
        next.set_actor(actor(e.who));
        let before = next.get_heads();
        let now = T0 + 60_000 * (i as i64 + 10);
        let (row, made) = make(&mut next, e, &who.username, now);
        let changes = next.get_changes(&before);
        if made.is_err() || changes.is_empty() {
            continue;
        }
        let expected = allowed(row, &who, &record, &captured_by);
        let got = check_changes(&who, &next, &before, &changes);
        assert_eq!(
            got.is_ok(),
            expected,
            "{e:?} ({row:?}) by {} ({:?}) on a record owned by {:?}: {got:?}",
            who.username,
            who.role,
            record.owner
        );
        if got.is_ok() {
            accepted += 1;
            doc = next;
        } else {
            refused += 1;
        }
    }
    (accepted, refused)
}
