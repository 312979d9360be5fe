//! The seed corpus, made deterministically from real frames and records:
//! a join, syncs carrying real changes, a request, a refusal, record and
//! API JSON, honest and hostile edit programs. `fuzz/corpus/<target>/`
//! holds these as `seed-*.bin`; the test in `main.rs` rewrites them when
//! `CLOSELOOP_FUZZ_WRITE_CORPUS=1`, else checks they are current.

mod edits;
mod json;

use automerge::{Automerge, Change, ChangeHash};
use closeloop_shared::authorize::check_changes;
use closeloop_shared::record;
use closeloop_shared::sync::{Effect, Message, Refusal, SharePolicy, SyncHub};

use crate::honest::Edit;
use crate::hub::{length_prefixed, record_id};
use crate::ops::{CAPTURER, Op, T0, base, principal};
use edits::{honest_sequences, programs, real_changes};

/// (target, file name, bytes) of every seed.
pub fn all() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push((target, format!("seed-{name}.bin"), bytes));
    };
    // Real conversations: the capturer edits (accepted), a colleague edits
    // a record not theirs (refused), a tablet asks for a record it lacks.
    let accepted = converse(1, 0, |d| {
        record::edit_description(d, "冰箱冷藏室不制冷", T0 + 60_000)
    });
    let refused = converse(1, 1, |d| record::edit_description(d, "改写", T0 + 60_000));
    let logged = converse(2, 0, |d| {
        record::append_log(d, "已上门", CAPTURER, T0 + 60_000)
    });
    let mut frames: Vec<(String, Vec<u8>)> = Vec::new();
    for (scenario, conv) in [
        ("accepted", &accepted),
        ("refused", &refused),
        ("logged", &logged),
    ] {
        for (i, f) in conv.iter().enumerate() {
            frames.push((format!("{scenario}-{i:02}-{}", kind(f)), f.clone()));
        }
    }
    let request = Message::Request {
        sender_id: "tablet".into(),
        target_id: "relay".into(),
        document_id: record_id(),
        data: payloads(&logged).first().cloned().unwrap_or_default(),
    };
    frames.push(("request".into(), request.encode()));
    for m in other_messages() {
        frames.push((kind(&m.encode()), m.encode()));
    }
    for (name, f) in &frames {
        add("frame", name, f.clone());
    }
    for (i, p) in payloads(&accepted)
        .into_iter()
        .chain(payloads(&logged))
        .enumerate()
    {
        add("payload", &format!("real-{i:02}"), p.clone());
        add(
            "hub",
            &format!("payload-{i:02}"),
            [&[1, 0, 1][..], &p].concat(),
        );
        add(
            "hub",
            &format!("repaired-{i:02}"),
            [&[2, 0, 2][..], &p].concat(),
        );
    }
    add(
        "hub",
        "frames-accepted",
        [&[0, 0, 1][..], &length_prefixed(&accepted)].concat(),
    );
    add(
        "hub",
        "frames-refused",
        [&[0, 1, 1][..], &length_prefixed(&refused)].concat(),
    );
    for (i, (who, start, program)) in programs().into_iter().enumerate() {
        let bytes = Op::to_bytes(&program);
        add(
            "changes",
            &format!("program-{i:02}"),
            [&[who, start][..], &bytes].concat(),
        );
        add(
            "hub",
            &format!("program-{i:02}"),
            [&[3, who, start][..], &bytes].concat(),
        );
    }
    for (i, change) in real_changes().into_iter().enumerate() {
        add(
            "changes",
            &format!("raw-{i:02}"),
            [&[0, 0x81][..], &change].concat(),
        );
    }
    for (i, (start, edits)) in honest_sequences().into_iter().enumerate() {
        add(
            "honest",
            &format!("edits-{i:02}"),
            [&[start][..], &Edit::to_bytes(&edits)].concat(),
        );
    }
    for (name, text) in json::bodies() {
        add("json", name, text.into_bytes());
    }
    let id = record_id().to_string();
    for (name, text) in [
        ("plain", id.clone()),
        ("url", format!("automerge:{id}#abc")),
        (
            "longest",
            closeloop_shared::sync::DocumentId::from_bytes([0xff; 16]).to_string(),
        ),
        ("js", "29iQSuSeK6H6XFqvhfQGfzFYssr2".into()),
        ("bad-checksum", "29iQSuSeK6H6XFqvhfQGfzFYssr3".into()),
    ] {
        add("document_id", name, text.into_bytes());
    }
    out
}

/// The type of a frame, for seed names.
fn kind(frame: &[u8]) -> String {
    match Message::decode(frame) {
        Ok(Message::Sync { data, .. }) if data.len() > 200 => "sync-changes".into(),
        Ok(m) => format!("{m:?}")
            .split([' ', '{'])
            .next()
            .unwrap_or("msg")
            .to_lowercase(),
        Err(_) => "bad".into(),
    }
}

fn payloads(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter_map(|f| match Message::decode(f) {
            Ok(Message::Sync { data, .. } | Message::Request { data, .. }) => Some(data),
            _ => None,
        })
        .collect()
}

fn sent(fx: &[Effect]) -> Vec<Vec<u8>> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send { frame, .. } => Some(frame.clone()),
            _ => None,
        })
        .collect()
}

/// Every frame of a tablet (as principal `who`) and a relay holding base
/// `start`, after the tablet makes `edit`: both directions, in order.
fn converse(
    start: u8,
    who: u8,
    edit: impl FnOnce(&mut Automerge) -> Result<(), record::RecordError>,
) -> Vec<Vec<u8>> {
    let user = principal(who);
    let mut relay = SyncHub::new("relay".into(), SharePolicy::OnRequest);
    relay.add_document(record_id(), base(start));
    relay.connect(1, false);
    let mut tablet = SyncHub::new("tablet".into(), SharePolicy::AnnounceAll);
    tablet.add_document(record_id(), base(start));
    let mut to_relay = sent(&tablet.connect(1, true));
    to_relay.extend(sent(&tablet.change(record_id(), edit).unwrap_or_default()));
    let mut all = Vec::new();
    let mut check = |doc: &Automerge, before: &[ChangeHash], changes: &[Change]| {
        check_changes(&user, doc, before, changes).map_err(|(h, d)| Refusal {
            changes: vec![h],
            code: d.code().into(),
            reason: d.to_string(),
        })
    };
    for _ in 0..10 {
        let mut to_tablet = Vec::new();
        for f in to_relay.drain(..) {
            all.push(f.clone());
            if let Ok(m) = Message::decode(&f) {
                to_tablet.extend(sent(&relay.handle_checked(1, m, &mut check)));
            }
        }
        for f in to_tablet {
            all.push(f.clone());
            to_relay.extend(sent(&tablet.receive(1, &f)));
        }
    }
    all
}

fn other_messages() -> Vec<Message> {
    let (s, t, d) = ("tablet".to_string(), "relay".to_string(), record_id());
    vec![
        Message::DocUnavailable {
            sender_id: t.clone(),
            target_id: s.clone(),
            document_id: d,
        },
        Message::Ephemeral {
            sender_id: s.clone(),
            target_id: t.clone(),
            document_id: d,
            count: 3,
            session_id: "session-1".into(),
            data: vec![0xa1, 0x61, b'x', 0x01],
        },
        Message::Leave {
            sender_id: s.clone(),
        },
        Message::Error {
            sender_id: t.clone(),
            target_id: Some(s.clone()),
            message: "bad sync payload".into(),
        },
        Message::Refused {
            sender_id: t,
            target_id: s,
            document_id: d,
            changes: vec!["ab".repeat(32)],
            code: "not_yours".into(),
            reason: "only on records you captured or are assigned".into(),
        },
    ]
}
