//! The write rule: what each role may do to a record, read from the changes
//! themselves. Honest edits through `record::*` are accepted for the roles
//! the table allows; forged, reserved and rewriting changes are refused.

use automerge::transaction::Transactable;
use automerge::{Automerge, ChangeHash, ObjType, ROOT, ReadDoc, Value};
use closeloop_shared::access::{Principal, Role};
use closeloop_shared::authorize::{Denied, check_changes, table_markdown};
use closeloop_shared::record::{self, Attachment, CustomerAnswer, FeedbackDraft, Field};
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::Action;

const T0: i64 = 1_795_000_000_000;

fn user(name: &str, role: Role) -> Principal {
    Principal {
        user_id: 1,
        username: name.into(),
        role,
        team: (role == Role::FieldStaff).then(|| "north".into()),
    }
}

fn field() -> Principal {
    user("field-north", Role::FieldStaff)
}
fn office() -> Principal {
    user("office", Role::HeadOffice)
}

/// Applies `edit` and checks the changes it made as `who` would send them.
fn check(
    doc: &mut Automerge,
    who: &Principal,
    edit: impl FnOnce(&mut Automerge),
) -> Result<(), Denied> {
    let before: Vec<ChangeHash> = doc.get_heads();
    edit(doc);
    let changes = doc.get_changes(&before);
    assert!(!changes.is_empty(), "the edit wrote nothing");
    check_changes(who, doc, &before, &changes).map_err(|(_, d)| d)
}

/// A record captured by `by`, checked as its creation.
fn captured_by(by: &Principal) -> Automerge {
    let mut doc = Automerge::new();
    let tax = Taxonomy::default();
    check(&mut doc, by, |d| {
        FeedbackDraft {
            channel: "phone".into(),
            nickname: "会员 3390".into(),
            description: "冰箱不制冷".into(),
            ..FeedbackDraft::default()
        }
        .write_new(d, &tax, &by.username, T0)
        .unwrap()
    })
    .expect("capture is allowed");
    doc
}

fn step(action: Action, by: &str) -> impl FnOnce(&mut Automerge) {
    let by = by.to_string();
    // Steps are ordered by time: each one a minute after the last.
    static CLOCK: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(T0);
    let at = CLOCK.fetch_add(60_000, std::sync::atomic::Ordering::Relaxed) + 60_000;
    move |d| record::transition(d, &action, None, &by, at).unwrap()
}

fn assign_to(owner: &str) -> Action {
    Action::Assign {
        owner: owner.into(),
        department: "after_sales".into(),
    }
}

#[test]
fn field_staff_capture_edit_log_and_attach_their_records() {
    let f = field();
    let mut doc = captured_by(&f);
    let tax = Taxonomy::default();
    check(&mut doc, &f, |d| {
        record::edit_description(d, "冰箱冷藏室不制冷", T0).unwrap()
    })
    .unwrap();
    check(&mut doc, &f, |d| {
        record::set_field(d, &tax, Field::Nature, "complaint", "field-north", T0).unwrap()
    })
    .unwrap();
    check(&mut doc, &f, |d| {
        record::add_aspect(d, &tax, "product.quality", T0).unwrap()
    })
    .unwrap();
    check(&mut doc, &f, |d| {
        record::append_log(d, "客户已回电", "field-north", T0).unwrap()
    })
    .unwrap();
    let photo = Attachment {
        sha256: "a".repeat(64),
        media_type: "image/jpeg".into(),
        size: 10,
        name: "p.jpg".into(),
    };
    check(&mut doc, &f, |d| {
        record::add_attachment(d, &photo, T0).unwrap()
    })
    .unwrap();
}

#[test]
fn field_staff_cannot_take_office_steps_assign_or_prioritise() {
    let f = field();
    let tax = Taxonomy::default();
    for action in [
        Action::Register,
        assign_to("field-south"),
        Action::Close,
        Action::Escalate,
    ] {
        let mut doc = captured_by(&f);
        let key = action.key();
        let got = check(&mut doc, &f, |d| {
            // Written directly: the workflow fold would refuse some of them anyway.
            let h = match d.get(ROOT, "history").unwrap() {
                Some((Value::Object(ObjType::List), id)) => id,
                _ => panic!("no history"),
            };
            let mut tx = d.transaction();
            let e = tx.insert_object(&h, 0, ObjType::Map).unwrap();
            tx.put(&e, "action", key).unwrap();
            tx.put(&e, "by", "field-north").unwrap();
            tx.commit();
        });
        assert!(
            matches!(got, Err(Denied::Forbidden { .. })),
            "{key}: {got:?}"
        );
    }
    let mut doc = captured_by(&f);
    let got = check(&mut doc, &f, |d| {
        record::set_field(d, &tax, Field::Priority, "P1", "field-north", T0).unwrap()
    });
    assert!(matches!(got, Err(Denied::Forbidden { .. })), "{got:?}");
    let got = check(&mut doc, &f, |d| {
        record::set_field(d, &tax, Field::Owner, "field-south", "field-north", T0).unwrap()
    });
    assert!(matches!(got, Err(Denied::Forbidden { .. })), "{got:?}");
}

#[test]
fn the_received_time_is_set_at_capture_and_only_head_office_moves_it_later() {
    // The SLA clocks run from the received time: moving it is an SLA fact.
    let f = field();
    let mut doc = captured_by(&f);
    let move_back = |d: &mut Automerge| {
        d.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(
                ROOT,
                "receivedAt",
                automerge::ScalarValue::Timestamp(T0 - 86_400_000),
            )
        })
        .unwrap();
    };
    let got = check(&mut doc.fork(), &f, move_back);
    assert!(matches!(got, Err(Denied::Forbidden { .. })), "{got:?}");
    check(&mut doc, &office(), move_back).expect("head office corrects it");
}

#[test]
fn authorship_must_be_the_signed_in_user() {
    let f = field();
    let mut doc = captured_by(&f);
    let got = check(&mut doc, &f, |d| {
        record::append_log(d, "by office", "office", T0).unwrap()
    });
    assert_eq!(
        got,
        Err(Denied::ForgedAuthor {
            claimed: "office".into()
        })
    );
    // Capturing in someone else's name is forging too.
    let mut doc = Automerge::new();
    let got = check(&mut doc, &f, |d| {
        FeedbackDraft {
            channel: "phone".into(),
            nickname: "n".into(),
            description: "d".into(),
            ..FeedbackDraft::default()
        }
        .write_new(d, &Taxonomy::default(), "field-south", T0)
        .unwrap()
    });
    assert!(matches!(got, Err(Denied::ForgedAuthor { .. })), "{got:?}");
}

#[test]
fn field_staff_edit_only_records_they_captured_or_are_assigned() {
    let colleague = user("field-north-2", Role::FieldStaff);
    let mut doc = captured_by(&colleague);
    let f = field();
    let got = check(&mut doc, &f, |d| {
        record::edit_description(d, "改写", T0).unwrap()
    });
    assert!(matches!(got, Err(Denied::NotYours { .. })), "{got:?}");
    // A log entry on a team record is fine.
    check(&mut doc, &f, |d| {
        record::append_log(d, "见过客户", "field-north", T0).unwrap()
    })
    .unwrap();
    // Once assigned, the working steps are theirs.
    let o = office();
    check(&mut doc, &o, step(Action::Register, "office")).unwrap();
    check(&mut doc, &o, step(assign_to("field-north"), "office")).unwrap();
    check(&mut doc, &f, step(Action::Start, "field-north")).unwrap();
    check(&mut doc, &f, |d| {
        record::edit_description(d, "冰箱冷藏室不制冷（已核实）", T0).unwrap()
    })
    .unwrap();
    check(&mut doc, &f, |d| {
        record::edit_solution(d, "更换温控板", T0).unwrap()
    })
    .unwrap();
    check(&mut doc, &f, step(Action::Resolve, "field-north")).unwrap();
    let got = check(&mut doc, &f, step(Action::Reply, "field-north"));
    assert!(matches!(got, Err(Denied::Forbidden { .. })), "{got:?}");
}

#[test]
fn head_office_runs_the_whole_loop_but_admin_writes_no_records() {
    let f = field();
    let o = office();
    let mut doc = captured_by(&f);
    let tax = Taxonomy::default();
    check(&mut doc, &o, |d| {
        record::set_field(d, &tax, Field::Priority, "P1", "office", T0).unwrap()
    })
    .unwrap();
    for action in [
        Action::Register,
        assign_to("li.wei"),
        Action::Start,
        Action::Resolve,
        Action::Reply,
        Action::Close,
    ] {
        check(&mut doc, &o, step(action, "office")).unwrap();
    }
    let admin = user("admin", Role::Admin);
    let got = check(&mut doc, &admin, |d| {
        record::append_log(d, "note", "admin", T0).unwrap()
    });
    assert!(matches!(got, Err(Denied::Forbidden { .. })), "{got:?}");
}

/// A named raw edit.
type Edit = Box<dyn Fn(&mut Automerge)>;

fn list(doc: &Automerge, key: &str) -> automerge::ObjId {
    match doc.get(ROOT, key).unwrap() {
        Some((Value::Object(ObjType::List), id)) => id,
        _ => panic!("no {key}"),
    }
}

#[test]
fn nobody_rewrites_or_deletes_history_log_or_attachments() {
    let o = office();
    for who in [field(), office(), user("boss", Role::Supervisor)] {
        let mut doc = captured_by(&field());
        check(&mut doc, &o, step(Action::Register, "office")).unwrap();
        check(&mut doc, &o, |d| {
            record::append_log(d, "first", "office", T0).unwrap()
        })
        .unwrap();
        let edits: Vec<(&str, Edit)> = vec![
            (
                "delete a history entry",
                Box::new(|d: &mut Automerge| {
                    let h = list(d, "history");
                    d.transact::<_, _, automerge::AutomergeError>(|tx| tx.delete(&h, 0))
                        .unwrap();
                }),
            ),
            (
                "rewrite a log entry",
                Box::new(|d: &mut Automerge| {
                    let l = list(d, "log");
                    let (_, entry) = d.get(&l, 0).unwrap().unwrap();
                    d.transact::<_, _, automerge::AutomergeError>(|tx| {
                        tx.put(&entry, "text", "something else")
                    })
                    .unwrap();
                }),
            ),
            (
                "replace the history list",
                Box::new(|d: &mut Automerge| {
                    d.transact::<_, _, automerge::AutomergeError>(|tx| {
                        tx.put_object(ROOT, "history", ObjType::List).map(|_| ())
                    })
                    .unwrap();
                }),
            ),
            (
                "change who captured it",
                Box::new(|d: &mut Automerge| {
                    d.transact::<_, _, automerge::AutomergeError>(|tx| {
                        tx.put(ROOT, "capturedBy", "someone")
                    })
                    .unwrap();
                }),
            ),
            (
                "write a key the record does not have",
                Box::new(|d: &mut Automerge| {
                    d.transact::<_, _, automerge::AutomergeError>(|tx| {
                        tx.put(ROOT, "approvedByCeo", true)
                    })
                    .unwrap();
                }),
            ),
        ];
        for (what, edit) in edits {
            let mut d = doc.fork();
            let got = check(&mut d, &who, |d| edit(d));
            assert!(
                matches!(got, Err(Denied::Rewrite(_))),
                "{} may not {what}: {got:?}",
                who.username
            );
        }
    }
}

#[test]
fn texts_over_the_record_limit_are_refused() {
    let f = field();
    let mut doc = captured_by(&f);
    let long = "长".repeat(record::MAX_DESCRIPTION_CHARS + 1);
    let got = check(&mut doc, &f, |d| {
        let t = match d.get(ROOT, "description").unwrap() {
            Some((Value::Object(ObjType::Text), id)) => id,
            _ => panic!(),
        };
        d.transact::<_, _, automerge::AutomergeError>(|tx| tx.splice_text(&t, 0, 0, &long))
            .unwrap();
    });
    assert_eq!(got, Err(Denied::TooLong("description")));
}

#[test]
fn a_second_root_change_is_refused() {
    let f = field();
    let doc = captured_by(&f);
    // Another document's creation merged in: a rival root for every key.
    let mut rival = captured_by(&f);
    let before = doc.get_heads();
    rival.merge(&mut doc.clone()).unwrap();
    let mut merged = doc.clone();
    merged.merge(&mut rival).unwrap();
    let changes = merged.get_changes(&before);
    let got = check_changes(&f, &merged, &before, &changes).map_err(|(_, d)| d);
    assert_eq!(got, Err(Denied::Recreate));
}

#[test]
fn the_documented_table_is_the_table_in_code() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/write-rules.md"
    ))
    .expect("docs/write-rules.md");
    assert!(
        doc.contains(&table_markdown()),
        "docs/write-rules.md is out of date; it must contain:\n{}",
        table_markdown()
    );
}

#[test]
fn only_those_who_may_reply_log_replies_answers_and_follow_ups() {
    let f = field();
    let tax = Taxonomy::default();
    let edits: [fn(&mut Automerge, &Taxonomy, &str); 3] = [
        |d, t, by| record::add_reply(d, t, "phone", "您好", by, T0).unwrap(),
        |d, _, by| record::record_answer(d, CustomerAnswer::Satisfied, "", by, T0).unwrap(),
        |d, _, by| record::record_follow_up(d, "已回访", by, T0).unwrap(),
    ];
    for edit in edits {
        let mut doc = captured_by(&f);
        let got = check(&mut doc, &f, |d| edit(d, &tax, "field-north"));
        assert!(matches!(got, Err(Denied::Forbidden { .. })), "{got:?}");
        let o = office();
        let mut doc = captured_by(&f);
        assert_eq!(check(&mut doc, &o, |d| edit(d, &tax, "office")), Ok(()));
    }
    // A plain note is still theirs to write; a made-up kind is nobody's.
    let mut doc = captured_by(&f);
    let note = check(&mut doc, &f, |d| {
        record::append_log(d, "到店查看", "field-north", T0).unwrap()
    });
    assert_eq!(note, Ok(()));
    let got = check(&mut doc, &office(), |d| {
        let log = list(d, "log");
        let mut tx = d.transaction();
        let e = tx.insert_object(&log, 1, ObjType::Map).unwrap();
        tx.put(&e, "by", "office").unwrap();
        tx.put(&e, "text", "x").unwrap();
        tx.put(&e, "kind", "refund").unwrap();
        tx.commit();
    });
    assert!(matches!(got, Err(Denied::Rewrite(_))), "{got:?}");
}

/// Archived records are read-only (S002 5.4): only the archive job (a
/// system account) writes the mark, and after it nobody changes anything.
#[test]
fn an_archived_record_takes_no_change_from_anyone() {
    let mut doc = captured_by(&field());
    let o = office();
    let assign = Action::Assign {
        owner: "office".into(),
        department: "客服中心".into(),
    };
    let steps = [
        Action::Register,
        assign,
        Action::Start,
        Action::Resolve,
        Action::Reply,
        Action::Close,
    ];
    for (i, step) in steps.iter().enumerate() {
        check(&mut doc, &o, |d| {
            record::transition(d, step, None, "office", T0 + 1 + i as i64).unwrap()
        })
        .expect("head office works it to the end");
    }
    // Nobody but the job archives.
    for who in [office(), user("boss", Role::Supervisor), field()] {
        let mut copy = doc.clone();
        let refused = check(&mut copy, &who, |d| record::archive(d, T0 + 20).unwrap());
        assert_eq!(
            refused.map_err(|d| d.code()),
            Err("forbidden"),
            "{}",
            who.username
        );
    }
    let job = user("system:archive", Role::Supervisor);
    check(&mut doc, &job, |d| record::archive(d, T0 + 20).unwrap()).expect("the job archives");
    assert_eq!(
        record::FeedbackRecord::from_doc(&doc)
            .unwrap()
            .archived_at_ms,
        Some(T0 + 20)
    );
    // Then it is read-only, for the job as well.
    let attempts: [(Principal, Edit); 3] = [
        (
            office(),
            Box::new(|d| record::transition(d, &Action::Reopen, None, "office", T0 + 30).unwrap()),
        ),
        (
            field(),
            Box::new(|d| record::append_log(d, "补充说明", "field-north", T0 + 30).unwrap()),
        ),
        (
            job.clone(),
            Box::new(|d| record::edit_description(d, "改写", T0 + 30).unwrap()),
        ),
    ];
    for (who, edit) in attempts {
        let mut copy = doc.clone();
        let refused = check(&mut copy, &who, |d| edit(d));
        assert_eq!(
            refused.map_err(|d| d.code()),
            Err("archived"),
            "{}",
            who.username
        );
    }
    // Only closed records are archived.
    let mut open = captured_by(&field());
    assert!(record::archive(&mut open, T0 + 2).is_err());
}
