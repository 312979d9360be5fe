//! Sync payloads are bounded before automerge reads them: inflation bombs,
//! run-length op bombs, hostile bloom filters, oversized changes and
//! records are refused with an `error` naming the limit, and nothing is
//! persisted; what real peers send passes.

use std::io::Write;

use automerge::transaction::Transactable;
use automerge::{Automerge, AutomergeError, ObjType, ROOT, ReadDoc};
use closeloop_shared::sync::payload::{self, Limits, PayloadError};
use closeloop_shared::sync::{DocumentId, Effect, Message, SharePolicy, SyncHub};

const RELAY: u64 = 1;
const TABLET: u64 = 2;

fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

/// A relay hub and a tablet hub joined over in-memory frames.
struct Pair {
    relay: SyncHub,
    tablet: SyncHub,
    /// Every effect the relay produced.
    relay_fx: Vec<Effect>,
}

impl Pair {
    fn new(limits: Limits) -> Pair {
        let mut p = Pair {
            relay: SyncHub::new("relay".into(), SharePolicy::OnRequest).with_limits(limits),
            tablet: SyncHub::new("tablet".into(), SharePolicy::AnnounceAll),
            relay_fx: Vec::new(),
        };
        p.relay.connect(TABLET, false);
        let fx = p.tablet.connect(RELAY, true);
        p.run(fx);
        p
    }

    /// Delivers tablet effects to the relay and back until quiet.
    fn run(&mut self, tablet_fx: Vec<Effect>) {
        let mut to_relay: Vec<Vec<u8>> = frames(&tablet_fx);
        while !to_relay.is_empty() {
            let mut to_tablet = Vec::new();
            for f in to_relay.drain(..) {
                let fx = self.relay.receive(TABLET, &f);
                to_tablet.extend(frames(&fx));
                self.relay_fx.extend(fx);
            }
            for f in to_tablet {
                to_relay.extend(frames(&self.tablet.receive(RELAY, &f)));
            }
        }
    }

    /// The text of the first `error` message the relay sent, if any.
    fn error(&self) -> Option<String> {
        self.relay_fx.iter().find_map(|e| match e {
            Effect::Send { frame, .. } => match Message::decode(frame) {
                Ok(Message::Error { message, .. }) => Some(message),
                _ => None,
            },
            _ => None,
        })
    }

    fn persisted(&self) -> usize {
        self.relay_fx
            .iter()
            .filter(|e| matches!(e, Effect::Persist { .. }))
            .count()
    }

    /// Sends one raw sync payload from the tablet.
    fn send_payload(&mut self, doc: DocumentId, data: Vec<u8>) {
        let frame = Message::Sync {
            sender_id: "tablet".into(),
            target_id: "relay".into(),
            document_id: doc,
            data,
        }
        .encode();
        let fx = self.relay.receive(TABLET, &frame);
        self.relay_fx.extend(fx);
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

fn uleb(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A V2 sync message carrying `chunks` as one entry, with an optional
/// bloom filter in its `have`.
fn sync_payload(chunks: &[u8], bloom: Option<&[u8]>) -> Vec<u8> {
    let mut out = vec![0x43, 0, 0];
    match bloom {
        Some(b) => {
            out.extend([1, 0]);
            uleb(&mut out, b.len() as u64);
            out.extend(b);
        }
        None => out.push(0),
    }
    if chunks.is_empty() {
        out.push(0);
    } else {
        out.push(1);
        uleb(&mut out, chunks.len() as u64);
        out.extend(chunks);
    }
    out
}

/// A chunk of `kind` around `body` (the checksum is not checked by the bounds).
fn chunk(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
    uleb(&mut out, body.len() as u64);
    out.extend(body);
    out
}

/// A change body whose only column is an integer run claiming `ops` entries.
fn change_body_claiming(ops: u64) -> Vec<u8> {
    let mut body = vec![0, 16];
    body.extend([7u8; 16]); // actor
    body.extend([1, 1, 0, 0, 0]); // seq, start op, time, message, other actors
    let mut col = Vec::new();
    uleb(&mut col, ops); // a positive count is a run (sleb; small enough here)
    col.push(1);
    body.extend([1, 0x42]); // one column: id 4, integer
    uleb(&mut body, col.len() as u64);
    body.extend(col);
    body
}

/// An edit that puts `text` at `key` of the root map.
fn put(
    key: &'static str,
    text: String,
) -> impl FnOnce(&mut Automerge) -> Result<(), AutomergeError> {
    move |d| {
        let mut tx = d.transaction();
        tx.put(ROOT, key, text)?;
        tx.commit();
        Ok(())
    }
}

/// An edit that inserts `n` characters `c` at the start of the text at "t".
fn insert(c: &'static str, n: usize) -> impl FnOnce(&mut Automerge) -> Result<(), AutomergeError> {
    move |d| {
        let mut tx = d.transaction();
        let t = match tx.get(ROOT, "t")? {
            Some((_, obj)) => obj,
            None => tx.put_object(ROOT, "t", ObjType::Text)?,
        };
        tx.splice_text(&t, 0, 0, &c.repeat(n))?;
        tx.commit();
        Ok(())
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn what_real_peers_send_passes_including_full_saves() {
    let mut p = Pair::new(Limits::default());
    let fx = p
        .tablet
        .change(id(1), put("description", "排队太久".repeat(2_500)))
        .unwrap();
    p.run(fx);
    assert_eq!(p.error(), None);
    assert_eq!(
        p.relay.document(&id(1)).unwrap().get_heads(),
        p.tablet.document(&id(1)).unwrap().get_heads()
    );
    // A full save, as a V2 peer sends to a relay without the document.
    let mut doc = Automerge::new();
    insert("反馈", 5_000)(&mut doc).unwrap();
    let save = doc.save();
    let summary = payload::check(&sync_payload(&save, None), &Limits::default()).unwrap();
    assert!(summary.has_changes && summary.document_ops >= 10_000);
}

#[test]
fn a_compressed_change_that_inflates_past_the_limit_is_refused() {
    let bomb = chunk(2, &deflate(&vec![0u8; 20 * 1024 * 1024]));
    assert!(bomb.len() < 64 * 1024, "small on the wire: {}", bomb.len());
    let mut p = Pair::new(Limits::default());
    p.send_payload(id(2), sync_payload(&bomb, None));
    let err = p.error().expect("an error message");
    assert!(err.contains("262144 bytes"), "{err}");
    assert_eq!(p.persisted(), 0);
    assert!(!p.relay.has_document(&id(2)));
}

#[test]
fn a_document_whose_columns_inflate_past_the_limit_is_refused() {
    let mut body = vec![0, 0, 0]; // no actors, no heads, no change columns
    let col = deflate(&vec![0u8; 16 * 1024 * 1024]);
    body.push(1);
    uleb(&mut body, 0x40 | 0x08 | 0x07); // a deflated value column
    uleb(&mut body, col.len() as u64);
    body.extend(col);
    let err = payload::check(&sync_payload(&chunk(0, &body), None), &Limits::default());
    assert_eq!(err, Err(PayloadError::DocumentTooLarge(8 * 1024 * 1024)));
}

#[test]
fn a_change_whose_runs_claim_a_billion_ops_is_refused_without_expanding_them() {
    let started = std::time::Instant::now();
    let mut p = Pair::new(Limits::default());
    p.send_payload(
        id(3),
        sync_payload(&chunk(1, &change_body_claiming(1_000_000_000)), None),
    );
    let err = p.error().expect("an error message");
    assert!(err.contains("at most 100000 operations"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(p.persisted(), 0);
}

#[test]
fn a_bloom_filter_with_no_bits_or_a_billion_probes_is_refused_not_a_panic() {
    let mut p = Pair::new(Limits::default());
    let fx = p
        .tablet
        .change(id(4), put("description", "x".into()))
        .unwrap();
    p.run(fx);
    // automerge would divide by zero (bits) or allocate 16 GB (probes)
    // while deciding what to send this peer.
    for bloom in [&[1u8, 0, 7][..], &[1, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0]] {
        assert_eq!(
            payload::check(&sync_payload(&[], Some(bloom)), &Limits::default()),
            Err(PayloadError::Bloom)
        );
    }
    p.send_payload(id(4), sync_payload(&[], Some(&[1, 0, 7])));
    assert!(p.error().expect("refused").contains("bloom"));
}

#[test]
fn a_change_carrying_megabytes_of_text_is_refused_and_nothing_is_stored() {
    let mut p = Pair::new(Limits::default());
    let fx = p.tablet.change(id(5), insert("长", 300_000)).unwrap();
    p.run(fx);
    // Sent as a full save (the relay lacks the document): over the
    // record's limit before anything is read.
    let err = p.error().expect("an error message");
    assert!(err.contains("more than 250000 operations"), "{err}");
    assert_eq!(p.persisted(), 0);
    assert!(!p.relay.has_document(&id(5)));

    // 120,000 characters fit a record but not one message.
    let mut p = Pair::new(Limits::default());
    let fx = p.tablet.change(id(5), insert("长", 120_000)).unwrap();
    p.run(fx);
    let err = p.error().expect("an error message");
    assert!(err.contains("at most 100000 operations"), "{err}");
    assert_eq!(p.persisted(), 0);

    // As one change chunk: over the byte limit of a change.
    let mut doc = Automerge::new();
    insert("长", 120_000)(&mut doc).unwrap();
    let change = doc.get_changes(&[]).remove(0).raw_bytes().to_vec();
    assert_eq!(
        payload::check(&sync_payload(&change, None), &Limits::default()),
        Err(PayloadError::ChangeTooLarge(256 * 1024))
    );
}

#[test]
fn a_record_may_not_grow_past_its_operation_limit() {
    let limits = Limits {
        document_ops: 1_000,
        ..Limits::default()
    };
    let mut p = Pair::new(limits);
    let fx = p.tablet.change(id(6), insert("a", 600)).unwrap();
    p.run(fx);
    assert_eq!((p.error(), p.persisted()), (None, 1));
    let fx = p.tablet.change(id(6), insert("a", 600)).unwrap();
    p.run(fx);
    let err = p.error().expect("an error message");
    assert!(err.contains("more than 1000 operations"), "{err}");
    assert_eq!(p.persisted(), 1, "the second change is not stored");
}

#[test]
fn syncs_for_unknown_ids_leave_nothing_in_memory() {
    let mut p = Pair::new(Limits::default());
    // What a peer's first message for a document says: its heads, no changes.
    let mut first = vec![0x42, 1];
    first.extend([9u8; 32]);
    first.extend([0, 0, 0]);
    for n in 0..1_000u32 {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&n.to_le_bytes());
        p.send_payload(DocumentId::from_bytes(b), first.clone());
    }
    assert_eq!(p.error(), None);
    assert_eq!(p.relay.document_count(), 0);
    assert_eq!(
        frames(&p.relay_fx).len(),
        1 + 1_000,
        "the handshake and each answer"
    );
    // A peer creating a document still gets it stored.
    let fx = p
        .tablet
        .change(id(7), put("description", "新".into()))
        .unwrap();
    p.run(fx);
    assert_eq!(p.relay.document_count(), 1);
    assert_eq!(p.persisted(), 1);
}
