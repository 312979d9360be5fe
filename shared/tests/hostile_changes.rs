//! Changes crafted to break automerge itself, found by fuzzing
//! (`docs/fuzzing.md`): the relay refuses them with an error and a close,
//! keeps the record as it was, and does not panic.

use automerge::legacy::{ObjectId, OpId, OpType};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, Change, ROOT};
use closeloop_shared::sync::{DocumentId, Effect, Message, SharePolicy, SyncHub};

const TABLET: u64 = 2;

fn record() -> Automerge {
    let mut doc = Automerge::new().with_actor(ActorId::from(vec![1; 16]));
    doc.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "channel", "phone"))
        .unwrap();
    doc
}

/// A V1 sync message carrying `changes`, with no heads, needs or bloom filter.
fn sync_payload(changes: &[Change]) -> Vec<u8> {
    let mut out = vec![0x42, 0, 0, 0, changes.len() as u8];
    for c in changes {
        let bytes = c.raw_bytes();
        let mut n = bytes.len();
        while n >= 0x80 {
            out.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out.extend(bytes);
    }
    out
}

/// A relay holding `doc` and a joined tablet; the effects of one sync frame.
fn relay_receives(doc: Automerge, data: Vec<u8>) -> (SyncHub, Vec<Effect>) {
    let id = DocumentId::from_bytes([7; 16]);
    let mut relay = SyncHub::new("relay".into(), SharePolicy::OnRequest);
    relay.add_document(id, doc);
    relay.connect(TABLET, false);
    let join = Message::Join {
        sender_id: "tablet".into(),
        storage_id: None,
        is_ephemeral: false,
        supported_protocol_versions: vec!["1".into()],
    };
    relay.receive(TABLET, &join.encode());
    let frame = Message::Sync {
        sender_id: "tablet".into(),
        target_id: "relay".into(),
        document_id: id,
        data,
    };
    let fx = relay.receive(TABLET, &frame.encode());
    (relay, fx)
}

#[test]
fn a_change_naming_an_actor_the_record_lacks_is_refused_not_a_panic() {
    let doc = record();
    let heads = doc.get_heads();
    // An honest change on top of the record, then one op made to point at
    // an actor nobody has: automerge 0.12 would `unwrap()` its lookup.
    let mut edited = doc.clone().with_actor(ActorId::from(vec![2; 16]));
    edited
        .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "channel", "email"))
        .unwrap();
    let mut expanded = edited.get_changes(&heads)[0].decode();
    let stranger = ActorId::from(vec![9; 16]);
    expanded.operations[0].pred = vec![OpId::new(1, &stranger)].into_iter().collect();
    expanded.operations[0].obj = ObjectId::Root;
    assert!(matches!(expanded.operations[0].action, OpType::Put(_)));
    let forged = Change::from(expanded);
    assert!(forged.other_actor_ids().contains(&stranger));

    let (relay, fx) = relay_receives(doc, sync_payload(&[forged]));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Close { reason, .. }
            if reason.contains("actor the record does not have"))),
        "{fx:?}"
    );
    assert!(!fx.iter().any(|e| matches!(e, Effect::Persist { .. })));
    let kept = relay.document(&DocumentId::from_bytes([7; 16])).unwrap();
    assert_eq!(kept.get_heads(), heads);
}

#[test]
fn a_change_continuing_an_actor_the_record_lacks_is_refused_not_a_panic() {
    let doc = record();
    let heads = doc.get_heads();
    let mut edited = doc.clone().with_actor(ActorId::from(vec![3; 16]));
    edited
        .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "channel", "email"))
        .unwrap();
    // Sequence 5 of an actor the record has never seen: not started here.
    let mut expanded = edited.get_changes(&heads)[0].decode();
    expanded.seq = 5;
    let (relay, fx) = relay_receives(doc, sync_payload(&[Change::from(expanded)]));
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Close { .. })),
        "{fx:?}"
    );
    let kept = relay.document(&DocumentId::from_bytes([7; 16])).unwrap();
    assert_eq!(kept.get_heads(), heads);
}

#[test]
fn a_sync_automerge_refuses_for_an_unknown_id_leaves_no_empty_document_behind() {
    // A real change whose checksum no longer matches: it passes the
    // bounds, then automerge refuses the message.
    let doc = record();
    let mut bytes = doc.get_changes(&[])[0].raw_bytes().to_vec();
    bytes[4] ^= 0xff;
    let mut data = vec![0x42, 0, 0, 0, 1];
    data.push(bytes.len() as u8);
    data.extend(&bytes);
    let mut relay = SyncHub::new("relay".into(), SharePolicy::OnRequest);
    relay.connect(TABLET, false);
    let join = Message::Join {
        sender_id: "tablet".into(),
        storage_id: None,
        is_ephemeral: false,
        supported_protocol_versions: vec!["1".into()],
    };
    relay.receive(TABLET, &join.encode());
    let frame = Message::Sync {
        sender_id: "tablet".into(),
        target_id: "relay".into(),
        document_id: DocumentId::from_bytes([8; 16]),
        data,
    };
    let fx = relay.receive(TABLET, &frame.encode());
    assert!(
        fx.iter()
            .any(|e| matches!(e, Effect::Close { reason, .. } if reason.contains("rejected"))),
        "{fx:?}"
    );
    assert_eq!(relay.document_count(), 0);
}

/// `change` with the one value of its column `spec` set to `value` and its
/// checksum made to match again, as a hostile client would send it.
fn with_column_value(change: &Change, spec: u64, value: u8) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut bytes = change.raw_bytes().to_vec();
    let mut at = 8;
    let uleb = |bytes: &[u8], at: &mut usize| {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = bytes[*at];
            *at += 1;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        n
    };
    at += 1; // chunk type
    uleb(&bytes, &mut at); // body length
    let body = at;
    let deps = uleb(&bytes, &mut at);
    at += 32 * deps as usize;
    let skip = |bytes: &[u8], at: &mut usize| {
        let n = uleb(bytes, at) as usize;
        *at += n;
    };
    skip(&bytes, &mut at); // actor
    uleb(&bytes, &mut at); // seq
    uleb(&bytes, &mut at); // start op
    uleb(&bytes, &mut at); // time
    skip(&bytes, &mut at); // message
    for _ in 0..uleb(&bytes, &mut at) {
        skip(&bytes, &mut at);
    }
    let columns: Vec<(u64, usize)> = (0..uleb(&bytes, &mut at))
        .map(|_| (uleb(&bytes, &mut at), uleb(&bytes, &mut at) as usize))
        .collect();
    for (s, len) in columns {
        if s == spec {
            // One value: a run of one (1) or one literal (-1).
            assert!(len == 2 && matches!(bytes[at], 0x01 | 0x7f), "one value");
            bytes[at + 1] = value;
        }
        at += len;
    }
    let digest = Sha256::new()
        .chain_update(&bytes[8..body])
        .chain_update(&bytes[body..])
        .finalize();
    bytes[4..8].copy_from_slice(&digest[..4]);
    bytes
}

#[test]
fn operations_naming_a_missing_actor_or_action_are_refused_not_a_panic() {
    let doc = record();
    let heads = doc.get_heads();
    let mut edited = doc.clone().with_actor(ActorId::from(vec![4; 16]));
    edited
        .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "channel", "email"))
        .unwrap();
    let change = &edited.get_changes(&heads)[0];
    // The predecessor's actor index (column 7, actors) and the action
    // (column 4, integers).
    for (spec, value) in [((7 << 4) | 1, 5), ((4 << 4) | 2, 9)] {
        let bytes = with_column_value(change, spec, value);
        let Ok(forged) = Change::from_bytes(bytes) else {
            continue; // automerge refuses it itself
        };
        let (relay, fx) = relay_receives(doc.clone(), sync_payload(&[forged]));
        assert!(
            fx.iter().any(|e| matches!(e, Effect::Close { .. })),
            "{fx:?}"
        );
        let kept = relay.document(&DocumentId::from_bytes([7; 16])).unwrap();
        assert_eq!(kept.get_heads(), heads);
    }
}

#[test]
fn a_hostile_change_released_from_the_queue_later_drops_the_copy_not_the_relay() {
    let doc = record();
    let heads = doc.get_heads();
    // D: an honest change the relay has not seen; H: built on D, with an
    // operation pointing at an actor nobody has. H arrives first and waits
    // for D, so the check of changes automerge applies now cannot see it.
    let mut edited = doc.clone().with_actor(ActorId::from(vec![5; 16]));
    edited
        .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "channel", "email"))
        .unwrap();
    let d = edited.get_changes(&heads)[0].clone();
    let after_d = edited.get_heads();
    edited
        .transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "channel", "web_form"))
        .unwrap();
    let mut expanded = edited.get_changes(&after_d)[0].decode();
    let stranger = ActorId::from(vec![9; 16]);
    expanded.operations[0].pred = vec![OpId::new(1, &stranger)].into_iter().collect();
    let h = Change::from(expanded);

    let id = DocumentId::from_bytes([7; 16]);
    let (mut relay, _) = relay_receives(doc, sync_payload(&[h]));
    let frame = Message::Sync {
        sender_id: "tablet".into(),
        target_id: "relay".into(),
        document_id: id,
        data: sync_payload(&[d]),
    };
    let fx = relay.receive(TABLET, &frame.encode());
    // automerge 0.12 panics applying H (batch.rs, an unwrap): the relay
    // survives, refuses the sender, stores nothing and drops its copy in
    // memory, which storage (never given H) replaces on the next message.
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Persist { .. })),
        "{fx:?}"
    );
    assert!(
        fx.iter().any(|e| matches!(e, Effect::Close { reason, .. }
            if reason.contains("could not be applied"))),
        "{fx:?}"
    );
    assert!(relay.document(&id).is_none());
}
