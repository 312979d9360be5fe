//! The role table: which role may do which [`Write`] to a record. One table
//! for the relay and the app; `docs/write-rules.md` is rendered from it.

use crate::access::Role;

use super::effects::Write;

/// How far a role may do one kind of write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// On every record the role can reach.
    Yes,
    /// On records the user captured or is assigned.
    CapturedOrAssigned,
    /// On records assigned to the user.
    Assigned,
    No,
}

impl Allowed {
    fn label(self) -> &'static str {
        match self {
            Allowed::Yes => "yes",
            Allowed::CapturedOrAssigned => "captured or assigned",
            Allowed::Assigned => "assigned",
            Allowed::No => "no",
        }
    }
}

/// Workflow steps the assignee takes while working a record.
pub const WORKING_STEPS: [&str; 4] = ["start", "await_customer", "customer_responded", "resolve"];
/// Steps reserved to head office (triage, assignment, reply, close).
pub const OFFICE_STEPS: [&str; 7] = [
    "register", "assign", "reassign", "reply", "close", "reopen", "escalate",
];

/// The table. Field staff capture and work what they are given; head office
/// and supervisors run the loop (S002 §3–6); admins manage users and
/// settings, not records. Nobody rewrites what the record keeps as written.
pub fn permission(role: Role, write: &Write) -> Allowed {
    use Allowed::*;
    let office = matches!(role, Role::HeadOffice | Role::Supervisor);
    let field = role == Role::FieldStaff;
    match write {
        // Only the archive job (a system account, see `authorize`).
        Write::Rewrite(_) | Write::Archive => No,
        _ if role == Role::Admin => No,
        Write::Create | Write::LogEntry | Write::Attach => Yes,
        _ if office => match write {
            Write::Step(a) if !is_step(a) => No,
            _ => Yes,
        },
        Write::Capture(_) | Write::Classify(_) if field => CapturedOrAssigned,
        Write::Step(a) if field && WORKING_STEPS.contains(&a.as_str()) => Assigned,
        Write::Process(_) if field => Assigned,
        _ => No,
    }
}

fn is_step(action: &str) -> bool {
    WORKING_STEPS.contains(&action) || OFFICE_STEPS.contains(&action)
}

/// The rows of the table as documentation shows them: (what, example write).
fn rows() -> Vec<(&'static str, Write)> {
    vec![
        (
            "create a record (field staff: of their own team)",
            Write::Create,
        ),
        (
            "capture fields: channel, source, customer, order number, contact reference, description (and the received time when capturing)",
            Write::Capture("description"),
        ),
        (
            "classification: type, nature, urgency, impact, event category, complaint kind, aspects",
            Write::Classify("nature"),
        ),
        (
            "SLA facts: priority, and the received time once captured",
            Write::SlaFact("priority"),
        ),
        ("owner and department", Write::Assignment),
        ("append a processing-log entry", Write::LogEntry),
        ("attach a file", Write::Attach),
        (
            "working steps: start, await customer, customer responded, resolve",
            Write::Step("start".into()),
        ),
        (
            "office steps: register, assign, reassign, reply, close, reopen, escalate",
            Write::Step("assign".into()),
        ),
        (
            "root cause, solution, execution plan",
            Write::Process("plan"),
        ),
        (
            "reply to the customer, follow-up, survey link",
            Write::Reply("reply"),
        ),
        (
            "archive a closed record (the server's archive job only; afterwards nobody changes it)",
            Write::Archive,
        ),
        (
            "change or delete a history, log or attachment entry, a set-once field (`capturedBy`), a value another change wrote, or a key the record does not have",
            Write::Rewrite(String::new()),
        ),
    ]
}

/// The table in Markdown, for `docs/write-rules.md`.
pub fn table_markdown() -> String {
    let mut s = String::from("| write | field staff | head office | supervisor | admin |\n");
    s.push_str("|---|---|---|---|---|\n");
    for (what, w) in rows() {
        let cells: Vec<&str> = Role::ALL
            .into_iter()
            .map(|r| permission(r, &w).label())
            .collect();
        s.push_str(&format!("| {what} | {} |\n", cells.join(" | ")));
    }
    s
}
