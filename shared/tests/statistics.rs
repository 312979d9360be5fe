//! Statistics over records built through the real document path, with
//! expected numbers worked out by hand.

use automerge::Automerge;
use chrono::{FixedOffset, NaiveDateTime, TimeZone};
use closeloop_shared::calendar::WorkingCalendar;
use closeloop_shared::record::{self, CustomerAnswer, FeedbackDraft, FeedbackRecord, Field};
use closeloop_shared::sla::SlaPolicy;
use closeloop_shared::stats::{self, Dimension, SlaTarget};
use closeloop_shared::survey::score::Csat;
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::Action;

const H: i64 = 3_600_000;
const DAY: i64 = 24 * H;

fn at(s: &str) -> i64 {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .from_local_datetime(&naive)
        .unwrap()
        .timestamp_millis()
}

struct Life<'a> {
    customer: &'a str,
    channel: &'a str,
    received: i64,
    fields: &'a [(Field, &'a str)],
    steps: &'a [(Action, i64)],
    answer: Option<CustomerAnswer>,
}

fn live(l: Life<'_>) -> FeedbackRecord {
    let t = Taxonomy::default();
    let mut doc = Automerge::new();
    let draft = FeedbackDraft {
        channel: l.channel.into(),
        nickname: l.customer.into(),
        description: "反馈".into(),
        ..FeedbackDraft::default()
    };
    draft.write_new(&mut doc, &t, "tablet", l.received).unwrap();
    for (f, v) in l.fields {
        record::set_field(&mut doc, &t, *f, v, "office", l.received + 1).unwrap();
    }
    for (action, offset) in l.steps {
        record::transition(&mut doc, action, None, "office", l.received + offset).unwrap();
    }
    if let Some(a) = l.answer {
        record::add_reply(
            &mut doc,
            &t,
            l.channel,
            "已处理",
            "office",
            l.received + DAY,
        )
        .unwrap();
        record::record_answer(&mut doc, a, "", "office", l.received + DAY).unwrap();
    }
    FeedbackRecord::from_doc(&doc).unwrap()
}

fn assign(dept: &str) -> Action {
    Action::Assign {
        owner: "li".into(),
        department: dept.into(),
    }
}

fn records() -> Vec<FeedbackRecord> {
    let complaint = [
        (Field::Nature, "complaint"),
        (Field::ComplaintKind, "delivery_delay"),
    ];
    vec![
        live(Life {
            customer: "A",
            channel: "phone",
            received: at("2026-11-23 10:00"),
            fields: &[complaint[0], complaint[1], (Field::Priority, "P1")],
            steps: &[
                (Action::Register, 1),
                (assign("售后"), 2),
                (Action::Start, H),
                (Action::Resolve, 5 * H),
            ],
            answer: Some(CustomerAnswer::Satisfied),
        }),
        live(Life {
            customer: "A",
            channel: "store_box",
            received: at("2026-11-24 10:00"),
            fields: &[complaint[0], complaint[1], (Field::Priority, "P2")],
            steps: &[
                (Action::Register, 1),
                (assign("售后"), 2),
                (Action::Start, 3 * H),
                (
                    Action::Reassign {
                        owner: "wang".into(),
                        department: "技术部".into(),
                    },
                    4 * H,
                ),
                (Action::Resolve, 10 * H),
            ],
            answer: Some(CustomerAnswer::HasQuestions),
        }),
        live(Life {
            customer: "B",
            channel: "phone",
            received: at("2026-11-25 10:00"),
            fields: &[(Field::Nature, "praise"), (Field::Priority, "P3")],
            steps: &[],
            answer: None,
        }),
        live(Life {
            customer: "A",
            channel: "phone",
            received: at("2027-01-03 10:00"),
            fields: &complaint,
            steps: &[],
            answer: None,
        }),
    ]
}

#[test]
fn response_and_resolution_times() {
    let r = records();
    let fr = stats::first_response_times(&r);
    assert_eq!(
        (fr.count, fr.mean_ms, fr.median_ms, fr.p90_ms),
        (2, Some(2 * H), Some(H), Some(3 * H))
    );
    let res = stats::resolution_times(&r);
    assert_eq!(
        (res.count, res.mean_ms, res.median_ms, res.p90_ms),
        (2, Some(15 * H / 2), Some(5 * H), Some(10 * H))
    );
    assert_eq!(stats::duration_stats([]).count, 0);
    let ten = stats::duration_stats((1..=10).map(|i| i * 1000));
    assert_eq!(
        (ten.median_ms, ten.p90_ms, ten.mean_ms),
        (Some(5000), Some(9000), Some(5500))
    );
}

#[test]
fn sla_compliance_counts_met_breached_and_overdue() {
    let r = records();
    let c = stats::sla_compliance(
        &r,
        &SlaPolicy::s003(),
        &WorkingCalendar::default(),
        SlaTarget::FirstResponse,
        at("2026-12-10 10:00"),
    )
    .unwrap();
    // P1 answered after 1 h (due 15:00), P2 after 3 h (due next day), P3 never (due 11-30): overdue.
    assert_eq!((c.met, c.breached, c.overdue, c.open_in_time), (2, 0, 1, 0));
    assert_eq!(c.rate, Some(2.0 / 3.0));
}

#[test]
fn first_contact_and_repeat_complaints() {
    let r = records();
    assert_eq!(
        stats::first_contact_resolution_rate(&r),
        Some(0.5),
        "the reassigned one does not count"
    );
    // Complaints by A on 11-23, 11-24 (repeat within 30 days) and 01-03 (40 days later: not a repeat).
    assert_eq!(stats::repeat_complaint_rate(&r, 30 * DAY), Some(1.0 / 3.0));
    assert_eq!(stats::repeat_complaint_rate(&r, 60 * DAY), Some(2.0 / 3.0));
    assert_eq!(
        stats::repeat_complaint_rate(&r[2..3], 30 * DAY),
        None,
        "no complaints, no rate"
    );
}

#[test]
fn satisfaction_and_volumes() {
    let r = records();
    assert_eq!(stats::reply_satisfaction(&r), Some(0.5));
    let c = Csat::of([5, 4, 3, 1, 5]);
    assert_eq!(c.answered, 5);
    assert_eq!(c.share(), Some(0.6));
    assert!((c.average().unwrap() - 3.6).abs() < 1e-9);
    let cal = WorkingCalendar::default();
    let by_channel = stats::counts_by(&r, Dimension::Channel, &cal);
    assert_eq!(by_channel.get("phone"), Some(&3));
    assert_eq!(by_channel.get("store_box"), Some(&1));
    let by_quarter = stats::counts_by(&r, Dimension::Quarter, &cal);
    assert_eq!(
        by_quarter.into_iter().collect::<Vec<_>>(),
        vec![("2026-Q4".into(), 3), ("2027-Q1".into(), 1)]
    );
    let by_dept = stats::counts_by(&r, Dimension::Department, &cal);
    assert_eq!(
        by_dept.get("技术部"),
        Some(&1),
        "the current owner's department"
    );
    assert_eq!(by_dept.get("-"), Some(&2));
    let by_status = stats::counts_by(&r, Dimension::Status, &cal);
    assert_eq!(by_status.get("resolved"), Some(&2));
    assert_eq!(by_status.get("new"), Some(&2));
    assert_eq!(
        stats::counts_by(&r, Dimension::Month, &cal).get("2026-11"),
        Some(&3)
    );
    assert_eq!(
        stats::counts_by(&r, Dimension::FeedbackType, &cal).get("-"),
        Some(&4)
    );
}
