//! `cargo xtask bench domain`: the cost of Closeloop's record layer over raw
//! Automerge doing the same work. Prints a Markdown table; each figure is
//! the median of several runs, and the ratio is what matters (same run,
//! same machine).

use std::hint::black_box;
use std::time::Instant;

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT, ScalarValue};
use closeloop_shared::record::{self, FeedbackDraft, FeedbackRecord, Field};
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::Action;

const T0: i64 = 1_795_000_000_000;
const TEXT: &str = "门店空调温度太低，等候区座位不够，希望增加座椅并调整温度。";

fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn ours_new(t: &Taxonomy, i: usize) -> Automerge {
    let mut doc = Automerge::new();
    FeedbackDraft {
        channel: "face_to_face".into(),
        nickname: format!("会员 {i}"),
        description: TEXT.into(),
        ..FeedbackDraft::default()
    }
    .write_new(&mut doc, t, "tablet-1", T0 + i as i64)
    .expect("valid draft");
    doc
}

fn raw_new(i: usize) -> Automerge {
    let mut doc = Automerge::new();
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, "schemaVersion", 2u64)?;
        tx.put(ROOT, "receivedAt", ScalarValue::Timestamp(T0 + i as i64))?;
        tx.put(ROOT, "capturedBy", "tablet-1")?;
        tx.put(ROOT, "channel", "face_to_face")?;
        tx.put(ROOT, "source", "external_customer")?;
        tx.put(ROOT, "customer", format!("会员 {i}"))?;
        let text = tx.put_object(ROOT, "description", ObjType::Text)?;
        tx.splice_text(&text, 0, 0, TEXT)?;
        tx.put_object(ROOT, "solution", ObjType::Text)?;
        tx.put_object(ROOT, "aspects", ObjType::Map)?;
        tx.put_object(ROOT, "attachments", ObjType::List)?;
        tx.put_object(ROOT, "history", ObjType::List)?;
        tx.put_object(ROOT, "log", ObjType::List)?;
        Ok(())
    })
    .expect("raw write");
    doc
}

/// Twenty edits the way head office makes them.
fn ours_20(doc: &mut Automerge, t: &Taxonomy) {
    let fields = [
        (Field::Priority, "P1"),
        (Field::Nature, "complaint"),
        (Field::Urgency, "urgent"),
    ];
    for (i, (f, v)) in fields.iter().enumerate() {
        record::set_field(doc, t, *f, v, "office", T0 + i as i64).expect("valid field");
    }
    let steps = [
        Action::Register,
        Action::Assign {
            owner: "li".into(),
            department: "售后".into(),
        },
        Action::Start,
        Action::Resolve,
        Action::Reply,
    ];
    for (i, s) in steps.iter().enumerate() {
        record::transition(doc, s, None, "office", T0 + 10 + i as i64).expect("valid step");
    }
    for i in 0..12 {
        record::append_log(doc, &format!("第 {i} 次跟进"), "office", T0 + 20 + i)
            .expect("valid log");
    }
}

fn raw_20(doc: &mut Automerge) {
    raw_log(doc, "office", 20);
}

/// `count` processing-log appends written directly with Automerge.
fn raw_log(doc: &mut Automerge, who: &str, count: i64) {
    for i in 0..count {
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            let list = match automerge::ReadDoc::get(tx, ROOT, "log")? {
                Some((_, id)) => id,
                None => tx.put_object(ROOT, "log", ObjType::List)?,
            };
            let len = automerge::ReadDoc::length(tx, &list);
            let m = tx.insert_object(&list, len, ObjType::Map)?;
            tx.put(&m, "at", ScalarValue::Timestamp(T0 + i))?;
            tx.put(&m, "by", who)?;
            tx.put(&m, "text", format!("{who} {i}"))?;
            Ok(())
        })
        .expect("raw edit");
    }
}

fn row(name: &str, ours: f64, raw: f64) {
    println!("| {name} | {ours:.3} | {raw:.3} | {:.2} |", ours / raw);
}

fn main() {
    let t = Taxonomy::default();
    println!("| operation | Closeloop ms | raw Automerge ms | ratio |");
    println!("|---|---:|---:|---:|");

    let ours = median_ms(201, || drop(black_box(ours_new(&t, 1).save())));
    let raw = median_ms(201, || drop(black_box(raw_new(1).save())));
    row("create and save one record", ours, raw);

    let ours = median_ms(101, || {
        let mut d = ours_new(&t, 1);
        ours_20(&mut d, &t);
        black_box(FeedbackRecord::from_doc(&d).expect("readable"));
    });
    let raw = median_ms(101, || {
        let mut d = raw_new(1);
        raw_20(&mut d);
        black_box(d.get_heads());
    });
    row("create + 20 changes (+ read back)", ours, raw);

    let saved: Vec<Vec<u8>> = (0..10_000)
        .map(|i| {
            let mut d = ours_new(&t, i);
            ours_20(&mut d, &t);
            d.save()
        })
        .collect();
    let total_kb = saved.iter().map(Vec::len).sum::<usize>() / 1024;
    let ours = median_ms(3, || {
        for b in &saved {
            let d = Automerge::load(b).expect("loads");
            black_box(FeedbackRecord::from_doc(&d).expect("readable"));
        }
    });
    let raw = median_ms(3, || {
        for b in &saved {
            black_box(Automerge::load(b).expect("loads"));
        }
    });
    row(
        &format!("load 10,000 saved records ({total_kb} KiB) and read them"),
        ours,
        raw,
    );

    let base = ours_new(&t, 7);
    let (mut a, mut b) = (base.fork(), base.fork());
    let (mut ra, mut rb) = (base.fork(), base.fork());
    for i in 0..1000 {
        record::append_log(&mut a, &format!("A {i}"), "a", T0 + i).expect("log");
        record::append_log(&mut b, &format!("B {i}"), "b", T0 + i).expect("log");
    }
    raw_log(&mut ra, "a", 1000);
    raw_log(&mut rb, "b", 1000);
    let ours = median_ms(5, || {
        let mut x = a.fork();
        let mut y = b.fork();
        x.merge(&mut y).expect("merge");
        let r = FeedbackRecord::from_doc(&x).expect("readable");
        assert_eq!(r.log.len(), 2000);
    });
    let raw = median_ms(5, || {
        let mut x = ra.fork();
        let mut y = rb.fork();
        x.merge(&mut y).expect("merge");
        black_box(x.get_heads());
    });
    row("merge two replicas, 1,000 changes each", ours, raw);

    write_rule_rows(&t);
}

/// The relay's write check on one incoming change against applying it, on a
/// small and a long record: the check must cost about the change, not the record.
fn write_rule_rows(t: &Taxonomy) {
    use closeloop_shared::access::{Principal, Role};
    use closeloop_shared::authorize::check_changes;
    let who = Principal {
        user_id: 1,
        username: "office".into(),
        role: Role::HeadOffice,
        team: None,
    };
    for entries in [10, 10_000] {
        let mut base = ours_new(t, 3);
        for i in 0..entries {
            record::append_log(&mut base, &format!("跟进 {i}"), "office", T0 + i).expect("log");
        }
        let before = base.get_heads();
        let mut after = base.fork();
        record::append_log(&mut after, TEXT, "office", T0 + entries + 1).expect("log");
        let change = after.get_changes(&before);
        const RUNS: usize = 21;
        let ours = median_ms(RUNS, || {
            check_changes(&who, &after, &before, &change).expect("allowed");
        });
        let mut copies: Vec<Automerge> = (0..RUNS).map(|_| base.fork()).collect();
        let raw = median_ms(RUNS, || {
            let mut d = copies.pop().expect("a copy per run");
            d.apply_changes(change.clone()).expect("applies");
            black_box(d.get_heads());
        });
        row(
            &format!("write check of one change vs applying it, record with {entries} log entries"),
            ours,
            raw,
        );
        let ours = median_ms(5, || {
            drop(black_box(after.fork_at(&before).expect("rollback")))
        });
        row(
            &format!("rolling back a refused change vs applying one, {entries} log entries"),
            ours,
            raw,
        );
    }
}
