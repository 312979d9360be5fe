//! The record's life cycle as a pure state machine (S003 §3, S000 §3,
//! S001 §4–6): new → registered → assigned → in progress → resolved →
//! replied → closed, with reassign, escalate, reopen and waiting for the
//! customer. Every step is an [`Action`] with who and when; the state is
//! the fold of those steps, so a merged history can always be re-checked.

/// Where a record is in its life cycle.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    New,
    /// Registered and classified (S002 §3: within 24 h).
    Registered,
    Assigned,
    InProgress,
    Resolved,
    /// The customer has been told (S003 §3).
    Replied,
    Closed,
}

impl Status {
    /// Every status in life-cycle order.
    pub const ALL: [Status; 7] = [
        Status::New,
        Status::Registered,
        Status::Assigned,
        Status::InProgress,
        Status::Resolved,
        Status::Replied,
        Status::Closed,
    ];

    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Registered => "registered",
            Status::Assigned => "assigned",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::Replied => "replied",
            Status::Closed => "closed",
        }
    }

    /// Parses a stored key.
    pub fn from_key(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|v| v.key() == s)
    }

    /// Still needs work (counts for SLA and the inbox).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Replied | Status::Closed)
    }
}

/// One step of the life cycle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Classified and entered in the ledger.
    Register,
    /// Given an owner and department for the first time.
    Assign {
        owner: String,
        department: String,
    },
    /// Handed to someone else; the history keeps the earlier owner.
    Reassign {
        owner: String,
        department: String,
    },
    /// Work begins; counts as the first response.
    Start,
    /// The clock stops until the customer answers.
    AwaitCustomer,
    /// The customer answered; the clock runs again.
    CustomerResponded,
    Resolve,
    /// The reply reached the customer through their channel.
    Reply,
    Close,
    /// The customer is not satisfied: back to work (S003 §3).
    Reopen,
    /// Raised to the next level; the supervisor is told.
    Escalate,
}

impl Action {
    /// The stored key.
    pub fn key(&self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Assign { .. } => "assign",
            Action::Reassign { .. } => "reassign",
            Action::Start => "start",
            Action::AwaitCustomer => "await_customer",
            Action::CustomerResponded => "customer_responded",
            Action::Resolve => "resolve",
            Action::Reply => "reply",
            Action::Close => "close",
            Action::Reopen => "reopen",
            Action::Escalate => "escalate",
        }
    }

    /// The step a key names, for every step that carries no assignee
    /// (`assign` and `reassign` need one: `None` for them, as for unknown keys).
    pub fn plain(key: &str) -> Option<Action> {
        Some(match key {
            "register" => Action::Register,
            "start" => Action::Start,
            "await_customer" => Action::AwaitCustomer,
            "customer_responded" => Action::CustomerResponded,
            "resolve" => Action::Resolve,
            "reply" => Action::Reply,
            "close" => Action::Close,
            "reopen" => Action::Reopen,
            "escalate" => Action::Escalate,
            _ => return None,
        })
    }
}

/// Why a step is not allowed now.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WorkflowError {
    #[error("`{action}` is not allowed while the record is {from:?}")]
    NotAllowed { action: &'static str, from: Status },
    #[error("an owner and a department are required")]
    MissingAssignee,
    #[error("`{0}` is only allowed while waiting for the customer")]
    NotWaiting(&'static str),
    #[error("already waiting for the customer")]
    AlreadyWaiting,
}

/// The life-cycle state a history folds to.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct WorkflowState {
    pub status: Status,
    pub owner: Option<String>,
    pub department: Option<String>,
    /// When the current owner got the record.
    pub assigned_at_ms: Option<i64>,
    pub escalation: u32,
    /// First `Start` or `Reply`: the SLA's first response.
    pub first_response_at_ms: Option<i64>,
    /// Latest resolution not undone by a reopen.
    pub resolved_at_ms: Option<i64>,
    pub replied_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    /// Waiting-for-customer intervals, for SLA pauses.
    pub pauses: Vec<(i64, Option<i64>)>,
    pub reopen_count: u32,
}

impl WorkflowState {
    /// Whether the clock is stopped for the customer right now.
    pub fn waiting(&self) -> bool {
        self.pauses.last().is_some_and(|p| p.1.is_none())
    }

    /// Applies one step, or says why it is not allowed; `self` is unchanged on error.
    pub fn apply(&self, action: &Action, at_ms: i64) -> Result<WorkflowState, WorkflowError> {
        use Status::*;
        let not_allowed = || WorkflowError::NotAllowed {
            action: action.key(),
            from: self.status,
        };
        let mut next = self.clone();
        match action {
            Action::Register if self.status == New => next.status = Registered,
            Action::Assign { owner, department } | Action::Reassign { owner, department } => {
                let ok = match action {
                    Action::Assign { .. } => self.status == Registered,
                    _ => matches!(self.status, Assigned | InProgress),
                };
                if !ok {
                    return Err(not_allowed());
                }
                if owner.trim().is_empty() || department.trim().is_empty() {
                    return Err(WorkflowError::MissingAssignee);
                }
                if self.status == Registered {
                    next.status = Assigned;
                }
                next.owner = Some(owner.clone());
                next.department = Some(department.clone());
                next.assigned_at_ms = Some(at_ms);
            }
            Action::Start if self.status == Assigned => {
                next.status = InProgress;
                next.first_response_at_ms.get_or_insert(at_ms);
            }
            Action::AwaitCustomer if self.status == InProgress => {
                if self.waiting() {
                    return Err(WorkflowError::AlreadyWaiting);
                }
                next.pauses.push((at_ms, None));
            }
            Action::CustomerResponded if self.status == InProgress => {
                if !self.waiting() {
                    return Err(WorkflowError::NotWaiting("customer_responded"));
                }
                if let Some(p) = next.pauses.last_mut() {
                    p.1 = Some(at_ms.max(p.0));
                }
            }
            Action::Resolve if self.status == InProgress => {
                if let Some(p) = next.pauses.last_mut().filter(|p| p.1.is_none()) {
                    p.1 = Some(at_ms.max(p.0));
                }
                next.status = Resolved;
                next.resolved_at_ms = Some(at_ms);
            }
            Action::Reply if self.status == Resolved => {
                next.status = Replied;
                next.replied_at_ms = Some(at_ms);
                next.first_response_at_ms.get_or_insert(at_ms);
            }
            Action::Close if self.status == Replied => {
                next.status = Closed;
                next.closed_at_ms = Some(at_ms);
            }
            Action::Reopen if matches!(self.status, Resolved | Replied | Closed) => {
                next.status = InProgress;
                next.resolved_at_ms = None;
                next.closed_at_ms = None;
                next.reopen_count += 1;
            }
            Action::Escalate if self.status != Closed => next.escalation += 1,
            _ => return Err(not_allowed()),
        }
        Ok(next)
    }
}

/// One recorded step: what, who, when. The history is append-only.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    #[serde(flatten)]
    pub action: Action,
    pub by: String,
    pub at_ms: i64,
    /// The status the author saw when acting; a merge that forks the
    /// history (two steps from the same status) shows up as a mismatch.
    pub from: Status,
    pub note: Option<String>,
}

/// A step that does not fit the history before it, kept visible for a person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkflowIssue {
    pub entry: HistoryEntry,
    pub reason: String,
    /// Whether the step still took effect (it applied despite the fork) or was skipped.
    pub applied: bool,
}

/// Folds a history (any order: it is sorted by time, author, then action)
/// into a state, skipping and reporting steps that do not fit.
pub fn replay(entries: &[HistoryEntry]) -> (WorkflowState, Vec<WorkflowIssue>) {
    let mut sorted: Vec<&HistoryEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        (a.at_ms, &a.by, a.action.key(), a.from).cmp(&(b.at_ms, &b.by, b.action.key(), b.from))
    });
    let mut state = WorkflowState::default();
    let mut issues = Vec::new();
    for e in sorted {
        let forked = e.from != state.status;
        match state.apply(&e.action, e.at_ms) {
            Ok(next) => {
                if forked {
                    issues.push(WorkflowIssue {
                        entry: e.clone(),
                        reason: format!(
                            "made while {:?}, but the merged record was {:?}",
                            e.from, state.status
                        ),
                        applied: true,
                    });
                }
                state = next;
            }
            Err(err) => issues.push(WorkflowIssue {
                entry: e.clone(),
                reason: if forked {
                    format!(
                        "made while {:?}, but the merged record was {:?}: {err}",
                        e.from, state.status
                    )
                } else {
                    err.to_string()
                },
                applied: false,
            }),
        }
    }
    (state, issues)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assign() -> Action {
        Action::Assign {
            owner: "li.wei".into(),
            department: "售后".into(),
        }
    }

    fn run(steps: &[Action]) -> Result<WorkflowState, WorkflowError> {
        let mut s = WorkflowState::default();
        for (i, a) in steps.iter().enumerate() {
            s = s.apply(a, i as i64 * 1000)?;
        }
        Ok(s)
    }

    #[test]
    fn the_happy_path_closes_the_loop() {
        use Action::*;
        let s = run(&[
            Register,
            assign(),
            Start,
            AwaitCustomer,
            CustomerResponded,
            Resolve,
            Reply,
            Close,
        ])
        .unwrap();
        assert_eq!(s.status, Status::Closed);
        assert_eq!(s.first_response_at_ms, Some(2000));
        assert_eq!(s.pauses, vec![(3000, Some(4000))]);
        assert_eq!(s.resolved_at_ms, Some(5000));
        assert_eq!(s.owner.as_deref(), Some("li.wei"));
    }

    #[test]
    fn illegal_transitions_are_typed_errors() {
        use Action::*;
        let table: Vec<(Vec<Action>, Action, WorkflowError)> = vec![
            (
                vec![],
                Start,
                WorkflowError::NotAllowed {
                    action: "start",
                    from: Status::New,
                },
            ),
            (
                vec![],
                assign(),
                WorkflowError::NotAllowed {
                    action: "assign",
                    from: Status::New,
                },
            ),
            (
                vec![Register],
                Resolve,
                WorkflowError::NotAllowed {
                    action: "resolve",
                    from: Status::Registered,
                },
            ),
            (
                vec![Register],
                Assign {
                    owner: " ".into(),
                    department: "售后".into(),
                },
                WorkflowError::MissingAssignee,
            ),
            (
                vec![Register, assign(), Start],
                CustomerResponded,
                WorkflowError::NotWaiting("customer_responded"),
            ),
            (
                vec![Register, assign(), Start, AwaitCustomer],
                AwaitCustomer,
                WorkflowError::AlreadyWaiting,
            ),
            (
                vec![Register, assign()],
                Reopen,
                WorkflowError::NotAllowed {
                    action: "reopen",
                    from: Status::Assigned,
                },
            ),
            (
                vec![Register, assign(), Start, Resolve, Reply, Close],
                Escalate,
                WorkflowError::NotAllowed {
                    action: "escalate",
                    from: Status::Closed,
                },
            ),
        ];
        for (before, action, want) in table {
            let s = run(&before).unwrap();
            assert_eq!(
                s.apply(&action, 99),
                Err(want),
                "{action:?} after {before:?}"
            );
        }
    }

    #[test]
    fn reopen_and_reassign_keep_their_history() {
        use Action::*;
        let s = run(&[
            Register,
            assign(),
            Start,
            Reassign {
                owner: "wang.fang".into(),
                department: "技术部".into(),
            },
            Resolve,
            Reply,
            Reopen,
            Escalate,
        ])
        .unwrap();
        assert_eq!(s.status, Status::InProgress);
        assert_eq!(s.owner.as_deref(), Some("wang.fang"));
        assert_eq!(s.reopen_count, 1);
        assert_eq!(s.resolved_at_ms, None);
        assert_eq!(s.escalation, 1);
        assert_eq!(
            s.first_response_at_ms,
            Some(2000),
            "the first response stays the first"
        );
    }

    #[test]
    fn replay_flags_a_forked_history() {
        let e = |action: Action, by: &str, at_ms: i64, from: Status| HistoryEntry {
            action,
            by: by.into(),
            at_ms,
            from,
            note: None,
        };
        let base = vec![
            e(Action::Register, "a", 1, Status::New),
            e(assign(), "a", 2, Status::Registered),
            e(Action::Start, "a", 3, Status::Assigned),
        ];
        // Two offline replicas both act on the in-progress record.
        let mut merged = base.clone();
        merged.push(e(Action::Resolve, "a", 10, Status::InProgress));
        merged.push(e(
            Action::Reassign {
                owner: "x".into(),
                department: "y".into(),
            },
            "b",
            11,
            Status::InProgress,
        ));
        let (state, issues) = replay(&merged);
        assert_eq!(state.status, Status::Resolved);
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].entry.by, "b");
        // A clean history has no issues and is order-independent.
        let mut shuffled = base.clone();
        shuffled.reverse();
        assert_eq!(
            replay(&shuffled),
            (
                run(&[Action::Register, assign(), Action::Start])
                    .map(|mut s| {
                        s.assigned_at_ms = Some(2);
                        s.first_response_at_ms = Some(3);
                        s
                    })
                    .unwrap(),
                vec![]
            )
        );
    }
}
