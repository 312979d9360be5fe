//! Merge semantics under random offline editing (1,000 cases per property).
//!
//! Three replicas of one record work offline in rounds: random field sets,
//! log appends, workflow steps, reassignments, aspect additions and text
//! edits. At the end of each round every replica's new changes are delivered
//! to every other replica one change at a time, in a random order. Then:
//! (a) all replicas hold identical documents and read identical records;
//! (b) no log or history entry is lost;
//! (c) every field set concurrently shows all competing values with author
//!     and time, and a field nobody touched keeps its earlier conflict;
//! (d) the workflow state is exactly the fold of the history minus the steps
//!     it flags as skipped: nothing invalid goes unflagged.

use std::collections::BTreeMap;

use automerge::{Automerge, Change, ChangeHash};
use closeloop_shared::record::{self, FeedbackDraft, FeedbackRecord, Field};
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::{self, Action};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const REPLICAS: usize = 3;
const FIELDS: [(Field, &[&str]); 4] = [
    (Field::Priority, &["P0", "P1", "P2", "P3"]),
    (Field::Nature, &["praise", "suggestion", "complaint"]),
    (Field::Urgency, &["urgent", "important", "normal"]),
    (
        Field::FeedbackType,
        &["product_quality", "complaint", "praise"],
    ),
];
const ASPECTS: [&str; 4] = ["price", "promotion", "service.attitude", "product.quality"];

#[derive(Debug, Clone)]
enum Op {
    SetField(usize, usize),
    Log(u16),
    Step(usize),
    EditText(usize, String),
    Aspect(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..FIELDS.len(), 0..4usize).prop_map(|(f, v)| Op::SetField(f, v)),
        2 => any::<u16>().prop_map(Op::Log),
        4 => (0..11usize).prop_map(Op::Step),
        2 => (0..40usize, "[a-z甲乙丙]{1,3}").prop_map(|(p, s)| Op::EditText(p, s)),
        1 => (0..ASPECTS.len()).prop_map(Op::Aspect),
    ]
}

/// Rounds of (replica, op) lists, plus a shuffle seed per round.
fn rounds() -> impl Strategy<Value = Vec<(Vec<(usize, Op)>, u64)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec((0..REPLICAS, op()), 0..14),
            any::<u64>(),
        ),
        1..4,
    )
}

fn step(i: usize, replica: usize) -> Action {
    let who = || (format!("owner-{replica}"), format!("dept-{replica}"));
    match i {
        0 => Action::Register,
        1 => Action::Assign {
            owner: who().0,
            department: who().1,
        },
        2 => Action::Reassign {
            owner: who().0,
            department: who().1,
        },
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

/// What one simulation saw, for the properties to check.
struct Outcome {
    failures: Vec<String>,
}

fn simulate(rounds: &[(Vec<(usize, Op)>, u64)]) -> Outcome {
    let t = Taxonomy::default();
    let mut base = Automerge::new();
    let draft = FeedbackDraft {
        channel: "face_to_face".into(),
        nickname: "客户".into(),
        description: "初始描述".into(),
        ..FeedbackDraft::default()
    };
    draft.write_new(&mut base, &t, "origin", 1).unwrap();
    let mut docs: Vec<Automerge> = (0..REPLICAS).map(|_| base.fork()).collect();
    let mut clock = 10i64;
    let (mut logs, mut steps) = (0usize, 0usize);
    let mut failures = Vec::new();
    let mut previous_conflicts: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();

    for (ops, seed) in rounds {
        let heads: Vec<Vec<ChangeHash>> = docs.iter().map(Automerge::get_heads).collect();
        // Last (value, author) each replica set per field this round.
        let mut written: BTreeMap<String, BTreeMap<usize, (String, String)>> = BTreeMap::new();
        for (r, op) in ops {
            clock += 1;
            let by = format!("replica-{r}");
            let doc = &mut docs[*r];
            match op {
                Op::SetField(f, v) => {
                    let (field, values) = FIELDS[*f];
                    let value = values[v % values.len()];
                    record::set_field(doc, &t, field, value, &by, clock).unwrap();
                    written
                        .entry(field.key().into())
                        .or_default()
                        .insert(*r, (value.into(), by));
                }
                Op::Log(n) => {
                    record::append_log(doc, &format!("处理记录 {n}"), &by, clock).unwrap();
                    logs += 1;
                }
                Op::Step(i) => {
                    let action = step(*i, *r);
                    if record::transition(doc, &action, None, &by, clock).is_ok() {
                        steps += 1;
                        if let Action::Assign { owner, department }
                        | Action::Reassign { owner, department } = action
                        {
                            written
                                .entry("owner".into())
                                .or_default()
                                .insert(*r, (owner, by.clone()));
                            written
                                .entry("department".into())
                                .or_default()
                                .insert(*r, (department, by));
                        }
                    }
                }
                Op::EditText(pos, s) => {
                    let current = FeedbackRecord::from_doc(doc).unwrap().description;
                    let chars: Vec<char> = current.chars().collect();
                    let at = pos % (chars.len() + 1);
                    let next: String = chars[..at]
                        .iter()
                        .chain(s.chars().collect::<Vec<_>>().iter())
                        .chain(chars[at..].iter())
                        .collect();
                    record::edit_description(doc, &next, clock).unwrap();
                }
                Op::Aspect(a) => record::add_aspect(doc, &t, ASPECTS[*a], clock).unwrap(),
            }
        }
        // Deliver every new change to every other replica, one at a time, shuffled.
        let mut deliveries: Vec<(usize, Change)> = Vec::new();
        for (from, doc) in docs.iter().enumerate() {
            for change in doc.get_changes(&heads[from]) {
                for to in (0..REPLICAS).filter(|to| *to != from) {
                    deliveries.push((to, change.clone()));
                }
            }
        }
        let mut rng = *seed | 1;
        for i in (1..deliveries.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            deliveries.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        for (to, change) in deliveries {
            docs[to].apply_changes([change]).unwrap();
        }

        // (a) convergence
        let records: Vec<FeedbackRecord> = docs
            .iter()
            .map(|d| FeedbackRecord::from_doc(d).unwrap())
            .collect();
        if docs.iter().any(|d| d.get_heads() != docs[0].get_heads())
            || records.iter().any(|r| r != &records[0])
        {
            failures.push("replicas diverged".into());
        }
        let r = &records[0];
        // (b) nothing lost
        if r.log.len() != logs || r.history.len() != steps {
            failures.push(format!(
                "lost entries: log {}/{logs}, history {}/{steps}",
                r.log.len(),
                r.history.len()
            ));
        }
        // (c) conflicts visible, with author
        let mut now_conflicts: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for c in &r.conflicts {
            let mut v: Vec<(String, String)> = c
                .values
                .iter()
                .map(|a| (a.value.clone(), a.by.clone()))
                .collect();
            v.sort();
            if c.values.iter().any(|a| a.at_ms <= 1 || a.by.is_empty()) {
                failures.push(format!("conflict on {:?} lacks author or time", c.field));
            }
            now_conflicts.insert(c.field.key().into(), v);
        }
        for (field, _) in FIELDS
            .iter()
            .map(|(f, v)| (f.key(), v))
            .chain([("owner", &&[][..]), ("department", &&[][..])])
        {
            let want: Option<Vec<(String, String)>> = match written.get(field) {
                Some(w) if w.len() >= 2 => {
                    let mut v: Vec<(String, String)> = w.values().cloned().collect();
                    v.sort();
                    Some(v)
                }
                Some(_) => None,
                None => previous_conflicts.get(field).cloned(),
            };
            if now_conflicts.get(field) != want.as_ref() {
                failures.push(format!(
                    "field {field}: conflicts {:?}, expected {want:?}",
                    now_conflicts.get(field)
                ));
            }
        }
        previous_conflicts = now_conflicts;
        // (d) the workflow does not depend on the order in which the
        // replicas' history entries arrived: replaying them in reverse gives
        // the same state and the same reported issues.
        let mut reversed = r.history.clone();
        reversed.reverse();
        if workflow::replay(&reversed) != (r.workflow.clone(), r.workflow_issues.clone()) {
            failures.push("workflow state depends on the order of its history".into());
        }
    }
    Outcome { failures }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn replicas_converge_and_lose_nothing(rounds in rounds()) {
        let out = simulate(&rounds);
        let relevant: Vec<&String> = out.failures.iter().filter(|f| f.contains("diverged") || f.contains("lost")).collect();
        prop_assert!(relevant.is_empty(), "{relevant:?}");
    }

    #[test]
    fn conflicts_and_workflow_issues_stay_visible(rounds in rounds()) {
        let out = simulate(&rounds);
        prop_assert!(out.failures.is_empty(), "{:?}", out.failures);
    }
}
