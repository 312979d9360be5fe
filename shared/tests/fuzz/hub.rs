//! The whole hub path as the relay drives it: a tablet joins, then frames
//! go through `Message::decode` and `SyncHub::handle_checked` with the
//! write rule. Nothing may panic; a frame the relay refuses (an error and
//! a close, or a refusal) leaves the document as it was; and what the hub
//! persists loads back to the document it holds.

use automerge::{Automerge, Change, ChangeHash};
use closeloop_shared::authorize::check_changes;
use closeloop_shared::sync::{
    DocumentId, Effect, Message, Refusal, SharePolicy, SyncHub, load_document,
};

use crate::engine::fnv;
use crate::ops::{self, Op};
use crate::targets::repair_checksums;

pub const TABLET: u64 = 7;
/// The one record the frames are about.
pub fn record_id() -> DocumentId {
    DocumentId::from_bytes([0x5a; 16])
}

/// The frame a tablet named `tablet` joins with.
pub fn join() -> Vec<u8> {
    Message::Join {
        sender_id: "tablet".into(),
        storage_id: None,
        is_ephemeral: false,
        supported_protocol_versions: vec!["1".into()],
    }
    .encode()
}

/// A sync frame from the tablet carrying `data`.
pub fn sync_frame(data: Vec<u8>) -> Vec<u8> {
    Message::Sync {
        sender_id: "tablet".into(),
        target_id: "relay".into(),
        document_id: record_id(),
        data,
    }
    .encode()
}

/// Frames of a mode-0 input: each prefixed by its length (two bytes).
pub fn length_prefixed(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        let n = u16::try_from(f.len()).unwrap_or(u16::MAX);
        out.extend(n.to_be_bytes());
        out.extend(&f[..usize::from(n)]);
    }
    out
}

fn split_frames(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while bytes.len() >= 2 && out.len() < 16 {
        let n = usize::from(u16::from_be_bytes([bytes[0], bytes[1]])).min(bytes.len() - 2);
        out.push(&bytes[2..2 + n]);
        bytes = &bytes[2 + n..];
    }
    out
}

/// The relay's side of one run, with what it stored.
struct Relay {
    hub: SyncHub,
    /// The base save and every persisted chunk, in order.
    stored: Vec<Vec<u8>>,
    outcome: String,
}

impl Relay {
    fn heads(&self) -> Option<Vec<ChangeHash>> {
        self.hub.document(&record_id()).map(Automerge::get_heads)
    }

    /// Delivers one frame from the tablet as the relay core does, and
    /// checks what must hold; returns the frames for the tablet.
    fn deliver(&mut self, frame: &[u8], who: u8) -> Vec<Vec<u8>> {
        if !self.hub.is_ready(TABLET) {
            self.hub.disconnect(TABLET);
            self.hub.connect(TABLET, false);
            self.hub.receive(TABLET, &join());
        }
        let before = self.heads();
        let principal = ops::principal(who);
        let mut check = |doc: &Automerge, heads: &[ChangeHash], changes: &[Change]| {
            check_changes(&principal, doc, heads, changes).map_err(|(hash, denied)| Refusal {
                changes: vec![hash],
                code: denied.code().into(),
                reason: denied.to_string(),
            })
        };
        let fx = match Message::decode(frame) {
            Ok(msg) => self.hub.handle_checked(TABLET, msg, &mut check),
            Err(e) => self.hub.refuse(TABLET, &e.to_string()),
        };
        let refused = fx
            .iter()
            .any(|e| matches!(e, Effect::Refused { .. } | Effect::Close { .. }));
        let mut replies = Vec::new();
        for e in &fx {
            match e {
                Effect::Send { frame, .. } => replies.push(frame.clone()),
                Effect::Persist { chunk, .. } => self.stored.push(chunk.clone()),
                Effect::Refused { refusal, .. } => self.outcome.push_str(&refusal.code),
                Effect::Close { reason, .. } => {
                    self.outcome
                        .push_str(reason.split(':').next().unwrap_or_default());
                }
                _ => {}
            }
            self.outcome
                .push_str(&format!("{:?} ", std::mem::discriminant(e)));
        }
        // When automerge itself panics on a change (contained by the hub),
        // the copy in memory is dropped: storage, which never had the
        // change, is the document then.
        let dropped = self.heads().is_none()
            && fx.iter().any(|e| {
                matches!(e, Effect::Close { reason, .. } if reason == "sync message could not be applied")
            });
        if refused && !dropped {
            assert_eq!(self.heads(), before, "a refused frame changed the document");
            assert!(
                !fx.iter().any(|e| matches!(e, Effect::Persist { .. })),
                "a refused frame persisted something"
            );
        }
        replies
    }

    /// Storage holds what the hub holds.
    fn check_storage(&self) {
        let Some(heads) = self.heads() else { return };
        let mut heads = heads;
        let loaded = load_document(self.stored.iter().map(Vec::as_slice));
        let mut stored = loaded.expect("persisted chunks load").get_heads();
        heads.sort();
        stored.sort();
        assert_eq!(stored, heads, "storage and memory disagree");
    }
}

/// Byte 0 picks the mode, byte 1 the sender (see [`ops::principal`]),
/// byte 2 the record the relay holds; the rest is, by mode: frames
/// (length-prefixed), a sync payload, a sync payload with its chunk
/// checksums fixed, or an operation program a tablet makes and syncs.
pub fn run(bytes: &[u8]) -> u64 {
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let (mode, who, start) = (at(0) % 4, at(1), at(2));
    let rest = bytes.get(3..).unwrap_or_default();
    let base = ops::base(start);
    let mut relay = Relay {
        hub: SyncHub::new("relay".into(), SharePolicy::OnRequest),
        stored: vec![base.save()],
        outcome: format!("{mode} "),
    };
    if !base.get_heads().is_empty() {
        relay.hub.add_document(record_id(), base.clone());
    }
    match mode {
        0 => {
            for frame in split_frames(rest) {
                relay.deliver(frame, who);
            }
        }
        1 => {
            relay.deliver(&sync_frame(rest.to_vec()), who);
        }
        2 => {
            relay.deliver(&sync_frame(repair_checksums(rest)), who);
        }
        _ => tablet_program(&mut relay, base, who, rest),
    }
    relay.check_storage();
    fnv(relay.outcome.as_bytes())
}

/// A tablet holding the same record runs `program` and syncs with the
/// relay until quiet (or twenty rounds).
fn tablet_program(relay: &mut Relay, base: Automerge, who: u8, program: &[u8]) {
    let mut tablet = SyncHub::new("tablet".into(), SharePolicy::AnnounceAll);
    let mut to_relay = frames(&tablet.add_document(record_id(), base));
    to_relay.extend(frames(&tablet.connect(1, true)));
    let Ok(edit) = tablet.change(record_id(), |doc| {
        ops::try_apply(doc, &Op::from_bytes(program))
            .map(drop)
            .ok_or(())
    }) else {
        return; // automerge could not make the change; nothing to send
    };
    to_relay.extend(frames(&edit));
    for _ in 0..20 {
        if to_relay.is_empty() {
            break;
        }
        let mut to_tablet = Vec::new();
        for f in to_relay.drain(..) {
            to_tablet.extend(relay.deliver(&f, who));
        }
        for f in to_tablet {
            to_relay.extend(frames(&tablet.receive(1, &f)));
        }
    }
}

fn frames(fx: &[Effect]) -> Vec<Vec<u8>> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Send { frame, .. } => Some(frame.clone()),
            _ => None,
        })
        .collect()
}
