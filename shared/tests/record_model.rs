//! The feedback record over its whole life, as documents on several replicas.

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ScalarValue};
use closeloop_shared::record::{
    self, Attachment, CustomerAnswer, ExecutionPlan, FeedbackDraft, FeedbackRecord, Field,
    FollowUp, RecordError,
};
use closeloop_shared::sla::Priority;
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::{Action, Status, WorkflowError};

const T0: i64 = 1_795_000_000_000; // 2026-11-18

fn tax() -> Taxonomy {
    Taxonomy::default()
}

fn captured() -> Automerge {
    let mut doc = Automerge::new();
    FeedbackDraft {
        channel: "phone".into(),
        nickname: "会员 3390".into(),
        description: "新买的冰箱冷藏室不制冷。".into(),
        order_number: Some(" SO-2026-1188 ".into()),
        contact_ref: Some("contact-7f3a".into()),
        ..FeedbackDraft::default()
    }
    .write_new(&mut doc, &tax(), "tablet-9", T0)
    .unwrap();
    doc
}

fn read(doc: &Automerge) -> FeedbackRecord {
    FeedbackRecord::from_doc(doc).unwrap()
}

#[test]
fn a_record_goes_through_the_whole_loop() {
    let t = tax();
    let mut doc = captured();
    let m = 60_000;
    record::set_field(
        &mut doc,
        &t,
        Field::FeedbackType,
        "product_quality",
        "zhao",
        T0 + m,
    )
    .unwrap();
    record::set_field(&mut doc, &t, Field::Nature, "complaint", "zhao", T0 + m).unwrap();
    record::set_field(&mut doc, &t, Field::Priority, "P1", "zhao", T0 + m).unwrap();
    record::set_field(&mut doc, &t, Field::Impact, "single", "zhao", T0 + m).unwrap();
    record::add_aspect(&mut doc, &t, "product.quality", T0 + m).unwrap();
    record::transition(&mut doc, &Action::Register, None, "zhao", T0 + 2 * m).unwrap();
    let assign = Action::Assign {
        owner: "li.wei".into(),
        department: "售后服务部".into(),
    };
    record::transition(&mut doc, &assign, Some("冰箱质量问题"), "zhao", T0 + 3 * m).unwrap();
    record::transition(&mut doc, &Action::Start, None, "li.wei", T0 + 4 * m).unwrap();
    record::append_log(
        &mut doc,
        "电话联系客户，确认压缩机不启动",
        "li.wei",
        T0 + 5 * m,
    )
    .unwrap();
    record::set_root_cause(&mut doc, &t, "technical", "温控板故障", T0 + 6 * m).unwrap();
    record::edit_solution(&mut doc, "上门更换温控板", T0 + 6 * m).unwrap();
    let plan = ExecutionPlan {
        owner: "wang.jun".into(),
        deadline_ms: T0 + 86_400_000,
        goal: "24 小时内上门".into(),
    };
    record::set_plan(&mut doc, &plan, T0 + 6 * m).unwrap();
    let photo = Attachment {
        sha256: "a".repeat(64),
        media_type: "image/jpeg".into(),
        size: 123_456,
        name: "铭牌.jpg".into(),
    };
    record::add_attachment(&mut doc, &photo, T0 + 7 * m).unwrap();
    record::transition(&mut doc, &Action::Resolve, None, "li.wei", T0 + 8 * m).unwrap();
    record::add_reply(
        &mut doc,
        &t,
        "phone",
        "已更换温控板，感谢反馈。",
        "li.wei",
        T0 + 9 * m,
    )
    .unwrap();
    record::record_answer(
        &mut doc,
        CustomerAnswer::Satisfied,
        "",
        "li.wei",
        T0 + 9 * m,
    )
    .unwrap();
    record::transition(&mut doc, &Action::Reply, None, "li.wei", T0 + 9 * m).unwrap();
    let follow = FollowUp::planned(T0 + 3 * 86_400_000, "phone", "三天后回访");
    record::set_follow_up(&mut doc, &follow, T0 + 9 * m).unwrap();
    record::set_satisfaction_link(&mut doc, "/s/abc123", T0 + 9 * m).unwrap();
    record::transition(&mut doc, &Action::Close, None, "zhao", T0 + 10 * m).unwrap();

    let r = read(&Automerge::load(&doc.save()).unwrap());
    assert_eq!(r.customer, "会员 3390");
    assert_eq!(r.order_number.as_deref(), Some("SO-2026-1188"));
    assert_eq!(r.source, "external_customer");
    assert_eq!(r.priority, Some(Priority::P1));
    assert_eq!(r.feedback_type.as_deref(), Some("product_quality"));
    assert_eq!(r.aspects, vec!["product.quality".to_string()]);
    assert_eq!(r.workflow.status, Status::Closed);
    assert_eq!(r.owner.as_deref(), Some("li.wei"));
    assert_eq!(r.department.as_deref(), Some("售后服务部"));
    assert_eq!(r.workflow.assigned_at_ms, Some(T0 + 3 * m));
    assert_eq!(r.workflow.first_response_at_ms, Some(T0 + 4 * m));
    assert_eq!(
        r.workflow.resolved_at_ms,
        Some(T0 + 8 * m),
        "completion time"
    );
    assert_eq!(r.history.len(), 6);
    assert_eq!(r.history[1].by, "zhao");
    assert_eq!(r.history[1].note.as_deref(), Some("冰箱质量问题"));
    assert_eq!(r.log[0].text, "电话联系客户，确认压缩机不启动");
    assert_eq!(
        r.root_cause.as_ref().map(|c| c.class.as_str()),
        Some("technical")
    );
    assert_eq!(r.solution, "上门更换温控板");
    assert_eq!(
        r.plan.as_ref().map(|p| p.goal.as_str()),
        Some("24 小时内上门")
    );
    assert_eq!(r.attachments, vec![photo]);
    assert_eq!(
        r.last_reply().and_then(|x| x.customer_answer),
        Some(CustomerAnswer::Satisfied)
    );
    assert_eq!(
        r.follow_up.as_ref().map(|f| f.note.as_str()),
        Some("三天后回访")
    );
    assert_eq!(r.satisfaction_link.as_deref(), Some("/s/abc123"));
    assert!(r.conflicts.is_empty() && r.workflow_issues.is_empty() && r.unrecognised.is_empty());
}

#[test]
fn invalid_edits_are_typed_errors_and_write_nothing() {
    let t = tax();
    let mut doc = captured();
    let heads = doc.get_heads();
    let errors = [
        record::set_field(&mut doc, &t, Field::Priority, "P9", "x", T0),
        record::set_field(&mut doc, &t, Field::Nature, "rant", "x", T0),
        record::add_aspect(&mut doc, &t, "colour", T0),
        record::append_log(&mut doc, "   ", "x", T0),
        record::set_root_cause(&mut doc, &t, "weather", "下雨", T0),
        record::add_reply(&mut doc, &t, "fax", "您好", "x", T0),
        record::edit_description(&mut doc, "", T0),
        record::transition(&mut doc, &Action::Resolve, None, "x", T0),
        record::add_attachment(
            &mut doc,
            &Attachment {
                sha256: "xyz".into(),
                media_type: "image/png".into(),
                size: 1,
                name: String::new(),
            },
            T0,
        ),
        record::add_attachment(
            &mut doc,
            &Attachment {
                sha256: "b".repeat(64),
                media_type: "text/html".into(),
                size: 1,
                name: String::new(),
            },
            T0,
        ),
    ];
    for e in &errors {
        assert!(e.is_err(), "{e:?}");
    }
    assert_eq!(
        errors[7],
        Err(RecordError::Workflow(WorkflowError::NotAllowed {
            action: "resolve",
            from: Status::New
        }))
    );
    assert_eq!(
        doc.get_heads(),
        heads,
        "no rejected edit changed the document"
    );
}

#[test]
fn concurrent_scalar_edits_stay_visible_until_settled() {
    let t = tax();
    let mut a = captured();
    let mut b = a.fork();
    record::set_field(&mut a, &t, Field::Priority, "P0", "zhao", T0 + 1_000).unwrap();
    record::set_field(&mut b, &t, Field::Priority, "P2", "qian", T0 + 2_000).unwrap();
    record::add_aspect(&mut a, &t, "service.attitude", T0 + 1_000).unwrap();
    record::add_aspect(&mut b, &t, "price", T0 + 2_000).unwrap();
    a.merge(&mut b).unwrap();
    b.merge(&mut a).unwrap();
    let ra = read(&a);
    assert_eq!(ra, read(&b), "replicas agree");
    assert_eq!(ra.conflicts.len(), 1);
    let c = &ra.conflicts[0];
    assert_eq!(c.field, Field::Priority);
    let mut seen: Vec<(String, String, i64)> = c
        .values
        .iter()
        .map(|v| (v.value.clone(), v.by.clone(), v.at_ms))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("P0".into(), "zhao".into(), T0 + 1_000),
            ("P2".into(), "qian".into(), T0 + 2_000)
        ]
    );
    assert_eq!(
        ra.priority.map(Priority::key),
        Some(c.values[0].value.as_str()),
        "the shown value is listed first"
    );
    let mut aspects = ra.aspects.clone();
    aspects.sort();
    assert_eq!(
        aspects,
        vec!["price".to_string(), "service.attitude".to_string()],
        "both additions survive"
    );

    // A supervisor settles it by choosing.
    record::set_field(&mut a, &t, Field::Priority, "P0", "sun", T0 + 3_000).unwrap();
    let settled = read(&a);
    assert!(settled.conflicts.is_empty());
    assert_eq!(settled.priority, Some(Priority::P0));
}

#[test]
fn concurrent_workflow_steps_are_flagged_not_dropped() {
    let mut a = captured();
    record::transition(&mut a, &Action::Register, None, "zhao", T0 + 1).unwrap();
    let assign = Action::Assign {
        owner: "li".into(),
        department: "售后".into(),
    };
    record::transition(&mut a, &assign, None, "zhao", T0 + 2).unwrap();
    record::transition(&mut a, &Action::Start, None, "li", T0 + 3).unwrap();
    let mut b = a.fork();
    record::transition(&mut a, &Action::Resolve, None, "li", T0 + 10).unwrap();
    let reassign = Action::Reassign {
        owner: "wang".into(),
        department: "技术部".into(),
    };
    record::transition(&mut b, &reassign, None, "zhou", T0 + 11).unwrap();
    a.merge(&mut b).unwrap();
    let r = read(&a);
    assert_eq!(r.history.len(), 5, "both steps kept");
    assert_eq!(r.workflow.status, Status::Resolved);
    assert_eq!(r.workflow_issues.len(), 1);
    assert_eq!(r.workflow_issues[0].entry.by, "zhou");
}

#[test]
fn contact_details_never_enter_the_document() {
    let doc = captured(); // carries only contact_ref
    let bytes = doc.save();
    let haystack = String::from_utf8_lossy(&bytes);
    assert!(
        !haystack.contains("0013"),
        "no phone digits in the saved document"
    );
    assert!(!haystack.contains("example.cn"));
    assert_eq!(read(&doc).contact_ref.as_deref(), Some("contact-7f3a"));
}

#[test]
fn a_redacted_copy_keeps_the_record_and_drops_the_customer_and_the_history() {
    let t = tax();
    let mut doc = captured();
    let m = 60_000;
    record::edit_description(
        &mut doc,
        "会员 3390 说：请打 139 1234 5678 或 wf@example.cn 回电。",
        T0 + m,
    )
    .unwrap();
    record::set_field(
        &mut doc,
        &t,
        Field::FeedbackType,
        "product_quality",
        "zhao",
        T0 + m,
    )
    .unwrap();
    record::transition(&mut doc, &Action::Register, None, "zhao", T0 + 2 * m).unwrap();
    record::append_log(
        &mut doc,
        "已致电 13912345678，会员 3390 同意上门",
        "li.wei",
        T0 + 3 * m,
    )
    .unwrap();
    let photo = Attachment {
        // Hex that holds what looks like a mobile number: not free text.
        sha256: format!("a{}", "13912345678a".repeat(6))[..64].to_string(),
        media_type: "image/jpeg".into(),
        size: 1,
        name: "会员 3390 的发票.jpg".into(),
    };
    record::add_attachment(&mut doc, &photo, T0 + 4 * m).unwrap();
    record::add_reply(
        &mut doc,
        &t,
        "phone",
        "会员 3390 您好，已安排上门。",
        "li.wei",
        T0 + 5 * m,
    )
    .unwrap();
    let before = read(&doc);

    let actor = automerge::ActorId::from(b"closeloop-server".as_slice());
    let copy = record::redacted_copy(&doc, actor, T0 + 6 * m).unwrap();
    let after = read(&copy);

    assert_eq!(after.customer, record::REDACTED);
    assert_eq!(after.contact_ref, None);
    assert_eq!(
        after.description,
        "（已删除） 说：请打 （已删除） 或 （已删除） 回电。"
    );
    assert_eq!(after.log[0].text, "已致电 （已删除），（已删除） 同意上门");
    assert_eq!(
        after.last_reply().map(|r| r.content.as_str()),
        Some("（已删除） 您好，已安排上门。")
    );
    assert_eq!(before.attachments[0].sha256, photo.sha256);
    // A photo or a receipt may show the customer: the copy has none (the
    // server deletes their files with the history).
    assert!(after.attachments.is_empty(), "{:?}", after.attachments);
    // What statistics need is kept as it was.
    assert_eq!(after.received_at_ms, before.received_at_ms);
    assert_eq!(after.channel, before.channel);
    assert_eq!(after.feedback_type, before.feedback_type);
    assert_eq!(after.workflow, before.workflow);
    assert_eq!(after.order_number, before.order_number);
    // One change, and no trace of what was erased in the bytes.
    assert_eq!(copy.get_changes(&[]).len(), 1);
    let bytes = String::from_utf8_lossy(&copy.save()).into_owned();
    for gone in [
        "3390",
        "13912345678",
        "wf@example.cn",
        "contact-7f3a",
        "发票",
    ] {
        assert!(!bytes.contains(gone), "{gone} survived");
    }
}

#[test]
fn a_schema_1_document_opens_in_schema_2() {
    // Exactly what the walking skeleton wrote.
    let mut v1 = Automerge::new();
    v1.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, "schemaVersion", 1u64)?;
        tx.put(ROOT, "receivedAt", ScalarValue::Timestamp(T0))?;
        tx.put(ROOT, "channel", "store_box")?;
        tx.put(ROOT, "nickname", "王女士")?;
        let text = tx.put_object(ROOT, "description", ObjType::Text)?;
        tx.splice_text(&text, 0, 0, "等候区没有座位")?;
        Ok(())
    })
    .unwrap();
    let r = read(&Automerge::load(&v1.save()).unwrap());
    assert_eq!(r.schema_version, 1);
    assert_eq!(r.customer, "王女士");
    assert_eq!(r.description, "等候区没有座位");
    assert_eq!(r.workflow.status, Status::New);
    assert!(r.history.is_empty());
}

#[test]
fn unknown_values_from_a_newer_version_are_kept_not_lost() {
    let mut doc = captured();
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        let p = tx.put_object(ROOT, "priority", ObjType::Map)?;
        tx.put(&p, "v", "P4")?;
        tx.put(&p, "by", "future")?;
        tx.put(&p, "at", ScalarValue::Timestamp(T0))?;
        let history = match automerge::ReadDoc::get(tx, ROOT, "history")? {
            Some((_, id)) => id,
            None => unreachable!("written at capture"),
        };
        let step = tx.insert_object(&history, 0, ObjType::Map)?;
        tx.put(&step, "action", "teleport")?;
        tx.put(ROOT, "sentiment", "positive")?;
        Ok(())
    })
    .unwrap();
    let r = read(&doc);
    assert_eq!(r.priority, None);
    assert!(r.unrecognised.contains(&("priority".into(), "P4".into())));
    assert!(
        r.unrecognised
            .contains(&("history".into(), "teleport".into()))
    );
    // An edit by this version leaves the newer data in place.
    record::append_log(&mut doc, "已处理", "li", T0 + 1).unwrap();
    let kept = automerge::ReadDoc::get(&doc, ROOT, "sentiment").unwrap();
    assert!(kept.is_some(), "unknown keys survive edits");

    let mut newer = captured();
    newer
        .transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "schemaVersion", 3u64)?;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        FeedbackRecord::from_doc(&newer),
        Err(RecordError::NewerSchema(3))
    );
}

#[test]
fn foreign_and_damaged_documents_are_errors() {
    assert_eq!(
        FeedbackRecord::from_doc(&Automerge::new()),
        Err(RecordError::Field("schemaVersion"))
    );
    let mut wrong = captured();
    wrong
        .transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "receivedAt", "yesterday")?;
            Ok(())
        })
        .unwrap();
    assert_eq!(
        FeedbackRecord::from_doc(&wrong),
        Err(RecordError::Field("receivedAt"))
    );
    let mut far = captured();
    far.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, "receivedAt", ScalarValue::Timestamp(i64::MAX))?;
        Ok(())
    })
    .unwrap();
    assert_eq!(
        FeedbackRecord::from_doc(&far),
        Err(RecordError::Field("receivedAt"))
    );
}

#[test]
fn head_office_registers_feedback_with_the_time_it_really_arrived() {
    let call = |received: Option<i64>| {
        let mut doc = Automerge::new();
        FeedbackDraft {
            channel: "phone".into(),
            nickname: "李先生".into(),
            description: "电话投诉：送货员把冰箱放在楼下就走了。".into(),
            received_at_ms: received,
            ..FeedbackDraft::default()
        }
        .write_new(&mut doc, &tax(), "office", T0)
        .map(|()| read(&doc).received_at_ms)
    };
    let yesterday = T0 - 86_400_000;
    assert_eq!(call(Some(yesterday)), Ok(yesterday), "the past is allowed");
    assert_eq!(call(None), Ok(T0), "none: now");
    assert_eq!(
        call(Some(T0 + 60_000)),
        Ok(T0 + 60_000),
        "a minute of clock drift"
    );
    assert_eq!(
        call(Some(T0 + 3_600_000)),
        Err(RecordError::ReceivedInFuture)
    );
    assert_eq!(
        call(Some(T0 - 400 * 86_400_000)),
        Err(RecordError::ReceivedTooLongAgo)
    );
}

#[test]
fn the_timeline_says_what_each_change_changed_from_what_to_what() {
    let t = tax();
    let mut doc = captured();
    record::set_field(&mut doc, &t, Field::Priority, "P2", "office", T0 + 1).unwrap();
    record::set_field(&mut doc, &t, Field::Priority, "P1", "office", T0 + 2).unwrap();
    record::append_log(&mut doc, "已电话联系客户", "office", T0 + 3).unwrap();
    record::transition(&mut doc, &Action::Register, None, "office", T0 + 4).unwrap();
    let steps = record::timeline(&doc);
    assert_eq!(steps.len(), 5, "capture and four edits");
    assert!(
        steps[0]
            .edits
            .iter()
            .any(|e| e.field == "customer" && e.before.is_none())
    );
    let edit = |i: usize| {
        steps[i]
            .edits
            .iter()
            .map(|e| (e.field, e.before.clone(), e.after.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(edit(1), vec![("priority", None, Some("P2".into()))]);
    assert_eq!(
        edit(2),
        vec![("priority", Some("P2".into()), Some("P1".into()))]
    );
    assert_eq!(edit(3), vec![("log", None, Some("已电话联系客户".into()))]);
    assert_eq!(
        edit(4),
        vec![
            ("status", Some("new".into()), Some("registered".into())),
            ("history", None, Some("register".into())),
        ]
    );
    assert_eq!(
        steps[4].made_at_ms,
        (T0 + 4) / 1000 * 1000,
        "the author's clock, to the second"
    );
    // Replies and answers read as what they are, not as plain log lines.
    record::add_reply(&mut doc, &t, "phone", "已处理", "office", T0 + 5).unwrap();
    record::record_answer(
        &mut doc,
        CustomerAnswer::Satisfied,
        "很好",
        "office",
        T0 + 6,
    )
    .unwrap();
    let steps = record::timeline(&doc);
    let edit = |i: usize| {
        steps[i]
            .edits
            .iter()
            .map(|e| (e.field, e.after.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(edit(5), vec![("reply", Some("已处理".into()))]);
    assert_eq!(
        edit(6),
        vec![
            ("customerAnswer", Some("satisfied".into())),
            ("log", Some("很好".into()))
        ]
    );
}

#[test]
fn every_reply_answer_and_follow_up_is_kept_in_the_thread() {
    let t = tax();
    let h = 3_600_000;
    let mut doc = captured();
    // A reply an older version wrote (one `reply` map) still reads.
    {
        let mut tx = doc.transaction();
        let m = tx.put_object(ROOT, "reply", ObjType::Map).unwrap();
        tx.put(&m, "channel", "phone").unwrap();
        tx.put(&m, "content", "已收到，正在处理。").unwrap();
        tx.put(&m, "at", ScalarValue::Timestamp(T0 + h)).unwrap();
        tx.commit();
    }
    record::append_log(&mut doc, "联系了门店", "li.wei", T0 + 2 * h).unwrap();
    record::add_reply(&mut doc, &t, "phone", "已更换温控板。", "zhao", T0 + 3 * h).unwrap();
    record::record_answer(
        &mut doc,
        CustomerAnswer::HasQuestions,
        "问保修期",
        "zhao",
        T0 + 4 * h,
    )
    .unwrap();
    record::add_reply(&mut doc, &t, "email", "保修期为三年。", "zhao", T0 + 5 * h).unwrap();
    record::record_answer(&mut doc, CustomerAnswer::Satisfied, "", "zhao", T0 + 6 * h).unwrap();
    let r = read(&doc);
    let replies: Vec<(&str, &str, Option<CustomerAnswer>)> = r
        .replies
        .iter()
        .map(|x| (x.channel.as_str(), x.content.as_str(), x.customer_answer))
        .collect();
    assert_eq!(
        replies,
        vec![
            ("phone", "已收到，正在处理。", None),
            (
                "phone",
                "已更换温控板。",
                Some(CustomerAnswer::HasQuestions)
            ),
            ("email", "保修期为三年。", Some(CustomerAnswer::Satisfied)),
        ]
    );
    assert_eq!(r.replies[2].by, "zhao");
    assert_eq!(r.last_reply().map(|x| x.at_ms), Some(T0 + 5 * h));
    // Notes stay notes; the thread keeps everything in order.
    assert_eq!(r.log.len(), 5);
    assert_eq!(r.log[0].kind, record::LogKind::Note);

    // A follow-up is planned, then its outcome logged; a new plan starts without one.
    let plan = FollowUp::planned(T0 + 72 * h, "phone", "三天后回访");
    record::set_follow_up(&mut doc, &plan, T0 + 6 * h).unwrap();
    assert_eq!(read(&doc).follow_up.and_then(|f| f.outcome), None);
    record::record_follow_up(&mut doc, "客户确认已正常制冷", "zhao", T0 + 72 * h).unwrap();
    let f = read(&doc).follow_up.unwrap();
    assert_eq!(f.planned_at_ms, T0 + 6 * h);
    assert_eq!(f.outcome.map(|o| o.text), Some("客户确认已正常制冷".into()));
    record::set_follow_up(&mut doc, &plan, T0 + 73 * h).unwrap();
    assert_eq!(read(&doc).follow_up.and_then(|f| f.outcome), None);
    // An unknown channel writes nothing.
    let heads = doc.get_heads();
    assert!(record::add_reply(&mut doc, &t, "fax", "您好", "zhao", T0).is_err());
    assert_eq!(doc.get_heads(), heads);
}

#[test]
fn the_reply_is_due_within_a_day_of_the_resolution() {
    use closeloop_shared::sla::SlaState;
    let t = tax();
    let h = 3_600_000;
    let mut doc = captured();
    assert_eq!(read(&doc).reply_clock(T0), None, "not resolved yet");
    record::transition(&mut doc, &Action::Register, None, "zhao", T0 + h).unwrap();
    record::transition(
        &mut doc,
        &Action::Assign {
            owner: "li.wei".into(),
            department: "after_sales".into(),
        },
        None,
        "zhao",
        T0 + h + 60_000,
    )
    .unwrap();
    // A reply before the resolution does not stop the clock that follows it.
    record::add_reply(&mut doc, &t, "phone", "已收到。", "zhao", T0 + h).unwrap();
    record::transition(&mut doc, &Action::Start, None, "li.wei", T0 + 2 * h).unwrap();
    record::transition(&mut doc, &Action::Resolve, None, "li.wei", T0 + 3 * h).unwrap();
    let r = read(&doc);
    let c = r.reply_clock(T0 + 10 * h).unwrap();
    assert_eq!((c.due_at_ms, c.state), (T0 + 27 * h, SlaState::OnTrack));
    assert_eq!(r.reply_clock(T0 + 23 * h).unwrap().state, SlaState::NearDue);
    assert_eq!(r.reply_clock(T0 + 28 * h).unwrap().state, SlaState::Overdue);
    record::add_reply(&mut doc, &t, "phone", "已修好。", "zhao", T0 + 20 * h).unwrap();
    let c = read(&doc).reply_clock(T0 + 40 * h).unwrap();
    assert_eq!((c.state, c.remaining_ms), (SlaState::Met, 7 * h));
    // The registration clock is the record's too.
    assert_eq!(
        read(&doc).registration_clock(T0 + 40 * h).state,
        SlaState::Met
    );
}
