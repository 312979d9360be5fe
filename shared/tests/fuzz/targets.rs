//! The fuzz targets: each takes any bytes, must not panic, checks what
//! must hold for what it got, and returns an outcome key for the engine.

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ReadDoc};
use closeloop_shared::access::Principal;
use closeloop_shared::api;
use closeloop_shared::authorize::check_changes;
use closeloop_shared::sync::payload::{self, Limits};
use closeloop_shared::sync::{DocumentId, Message, MessageError, check_applicable};
use sha2::{Digest, Sha256};

use crate::engine::{Target, fnv};
use crate::honest;
use crate::hub;
use crate::ops::{self, Op};

/// Every target, with its share of an execution budget.
pub const TARGETS: [Target; 7] = [
    Target {
        name: "frame",
        run: frame,
        weight: 24,
        slow_factor: 1,
    },
    Target {
        name: "document_id",
        run: document_id,
        weight: 16,
        slow_factor: 1,
    },
    Target {
        name: "payload",
        run: payload,
        weight: 24,
        slow_factor: 1,
    },
    Target {
        name: "json",
        run: json,
        weight: 16,
        slow_factor: 1,
    },
    Target {
        name: "changes",
        run: changes,
        weight: 4,
        slow_factor: 1,
    },
    Target {
        name: "honest",
        run: honest,
        weight: 2,
        slow_factor: 5,
    },
    Target {
        name: "hub",
        run: hub,
        weight: 4,
        slow_factor: 1,
    },
];

/// An outcome key from a short description.
fn key(s: &str) -> u64 {
    fnv(s.as_bytes())
}

/// `Message::decode` (with its CBOR pre-scan): a frame that decodes
/// encodes back to the same message.
pub fn frame(bytes: &[u8]) -> u64 {
    match Message::decode(bytes) {
        Ok(m) => {
            let again = Message::decode(&m.encode());
            assert_eq!(
                again.as_ref(),
                Ok(&m),
                "a decoded message re-encodes to itself"
            );
            key(&format!("ok {:?}", std::mem::discriminant(&m)))
        }
        Err(MessageError::Cbor(_)) => key("cbor"),
        Err(e) => key(&format!("{e:?}")),
    }
}

/// `DocumentId::from_str` on the bytes as text: an id that parses prints
/// and parses back to itself, also as a URL.
pub fn document_id(bytes: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(bytes);
    match text.parse::<DocumentId>() {
        Ok(id) => {
            assert_eq!(id.to_string().parse::<DocumentId>(), Ok(id));
            assert_eq!(id.url().parse::<DocumentId>(), Ok(id));
            key("ok")
        }
        Err(e) => key(&format!("{e:?}")),
    }
}

/// Small limits, so the fuzzer reaches them with small inputs.
pub const SMALL: Limits = Limits {
    change_bytes: 2048,
    change_ops: 64,
    document_ops: 256,
    document_bytes: 16 * 1024,
};

/// `payload::check`: a payload that passes is safe for automerge to read
/// and apply, and adds no more operations than the check counted.
pub fn payload(bytes: &[u8]) -> u64 {
    let mut outcome = String::new();
    for limits in [Limits::default(), SMALL] {
        match payload::check(bytes, &limits) {
            Ok(summary) => {
                outcome.push_str("ok ");
                let Ok(msg) = sync::Message::decode(bytes) else {
                    outcome.push_str("undecodable ");
                    continue;
                };
                let mut doc = Automerge::new();
                let mut state = sync::State::new();
                if doc.receive_sync_message(&mut state, msg).is_err() {
                    outcome.push_str("refused ");
                    continue;
                }
                let ops = doc.stats().num_ops;
                assert!(
                    ops <= summary.ops_added(0),
                    "automerge applied {ops} operations; the check counted {summary:?}"
                );
            }
            Err(e) => outcome.push_str(&format!("{e:?} ")),
        }
    }
    key(&outcome)
}

/// The JSON bodies of the API through serde_json: never a panic, and a
/// body that parses serialises and parses back to the same value.
pub fn json(bytes: &[u8]) -> u64 {
    fn one<T>(bytes: &[u8], mask: &mut u64, bit: u32)
    where
        T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
    {
        if let Ok(v) = serde_json::from_slice::<T>(bytes) {
            *mask |= 1 << bit;
            let text = serde_json::to_vec(&v).expect("a parsed value serialises");
            let back = serde_json::from_slice::<T>(&text).ok();
            // Floats may print in a form that parses to a neighbour; equal otherwise.
            if !std::any::type_name::<T>().ends_with("Stats") {
                assert_eq!(back.as_ref(), Some(&v), "JSON round trip");
            }
        }
    }
    let mut mask = 0u64;
    one::<api::Credentials>(bytes, &mut mask, 0);
    one::<api::RecordQuery>(bytes, &mut mask, 1);
    one::<api::NewPassword>(bytes, &mut mask, 2);
    one::<api::RoleChange>(bytes, &mut mask, 3);
    one::<api::SignedIn>(bytes, &mut mask, 4);
    one::<api::Feed>(bytes, &mut mask, 5);
    one::<api::RecordPage>(bytes, &mut mask, 6);
    one::<api::RecordDetail>(bytes, &mut mask, 7);
    one::<api::Stats>(bytes, &mut mask, 8);
    one::<api::UserList>(bytes, &mut mask, 9);
    one::<api::ErrorBody>(bytes, &mut mask, 10);
    one::<api::ChangeItem>(bytes, &mut mask, 11);
    one::<api::StoredBlob>(bytes, &mut mask, 12);
    one::<Principal>(bytes, &mut mask, 13);
    one::<closeloop_shared::workflow::Action>(bytes, &mut mask, 14);
    let class = serde_json::from_slice::<serde_json::Value>(bytes)
        .map_or_else(|e| format!("{:?}", e.classify()), |_| "value".into());
    key(&format!("{mask} {class}"))
}

/// The write rule (`inspect`, `check_changes`) on changes a hostile client
/// made: byte 0 picks who sends them, byte 1 the record and the mode: an
/// operation program, or the rest as a raw change chunk (checksum fixed).
pub fn changes(bytes: &[u8]) -> u64 {
    let who = ops::principal(bytes.first().copied().unwrap_or(0));
    let mode = bytes.get(1).copied().unwrap_or(0);
    let rest = bytes.get(2..).unwrap_or_default();
    let mut doc = ops::base(mode % 3);
    let before = doc.get_heads();
    let forbidden = if mode & 0x80 == 0 {
        match ops::try_apply(&mut doc, &Op::from_bytes(rest)) {
            Some(forbidden) => forbidden,
            None => return key("automerge cannot make it"),
        }
    } else {
        let chunk = repair_checksums(rest);
        // As the hub does: refused before automerge if it cannot apply it.
        if check_applicable(Some(&doc), std::iter::once(&chunk[..])).is_err() {
            return key("not applicable");
        }
        if doc.load_incremental(&chunk).is_err() {
            return key("not loaded");
        }
        None
    };
    let added = doc.get_changes(&before);
    if added.is_empty() {
        return key("no change");
    }
    let got = check_changes(&who, &doc, &before, &added);
    if let (Some(what), Ok(())) = (&forbidden, &got)
        && !before.is_empty()
    {
        panic!(
            "{} ({:?}) was allowed to do what nobody may: {what}",
            who.username, who.role
        );
    }
    key(&format!("{:?}", got.map_err(|(_, d)| d.code())))
}

/// Honest edits through `record::*`: byte 0 picks the record, the rest
/// the edits; see [`honest::run`].
pub fn honest(bytes: &[u8]) -> u64 {
    let start = bytes.first().copied().unwrap_or(1);
    let edits = honest::Edit::from_bytes(bytes.get(1..).unwrap_or_default());
    let (accepted, refused) = honest::run(start, &edits);
    key(&format!("{} {}", accepted.min(8), refused.min(8)))
}

/// The whole hub path; see [`hub::run`].
pub fn hub(bytes: &[u8]) -> u64 {
    hub::run(bytes)
}

/// Automerge chunks carry a checksum over their body, so a mutated chunk
/// is refused before anything reads it; this rewrites the checksum of
/// every uncompressed chunk found in `bytes`, so mutations reach further.
pub fn repair_checksums(bytes: &[u8]) -> Vec<u8> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    let mut out = bytes.to_vec();
    let starts: Vec<usize> = out
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == MAGIC)
        .map(|(i, _)| i)
        .collect();
    for at in starts.into_iter().rev() {
        let Some(&kind) = out.get(at + 8) else {
            continue;
        };
        if kind > 1 {
            continue;
        }
        let (mut len, mut shift, mut i) = (0u64, 0u32, at + 9);
        while let Some(&b) = out.get(i) {
            len |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            shift += 7;
            i += 1;
            if b & 0x80 == 0 || shift > 63 {
                break;
            }
        }
        let Some(end) = usize::try_from(len).ok().and_then(|l| i.checked_add(l)) else {
            continue;
        };
        if end > out.len() {
            continue;
        }
        let digest = Sha256::new().chain_update(&out[at + 8..end]).finalize();
        out[at + 4..at + 8].copy_from_slice(&digest[..4]);
    }
    out
}
