//! Whole sync scenarios on a deterministic in-memory network: tablets, a
//! relay and head office exchange frames until quiet, with no sockets.

use std::collections::{HashMap, VecDeque};

use automerge::Automerge;
use automerge::sync::SyncDoc;
use closeloop_shared::record::edit_description;
use closeloop_shared::sync::{ConnectionId, DocumentId, Effect, Message, SharePolicy, SyncHub};
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::{FeedbackDraft, FeedbackRecord};

/// Node 0 is the relay; every other node has one connection to it.
/// Connection ids: on the relay, conn i is node i; on node i, conn 0 is the relay.
struct Net {
    nodes: Vec<SyncHub>,
    queue: VecDeque<(usize, ConnectionId, Vec<u8>)>,
    persisted: HashMap<(usize, DocumentId), Vec<Vec<u8>>>,
    unavailable: Vec<(usize, DocumentId)>,
}

impl Net {
    fn new(clients: usize) -> Self {
        let mut nodes = vec![SyncHub::new("relay".into(), SharePolicy::OnRequest)];
        for i in 1..=clients {
            nodes.push(SyncHub::new(
                format!("client-{i}"),
                SharePolicy::AnnounceAll,
            ));
        }
        Net {
            nodes,
            queue: VecDeque::new(),
            persisted: HashMap::new(),
            unavailable: vec![],
        }
    }

    fn connect(&mut self, i: usize) {
        self.nodes[0].connect(i as ConnectionId, false);
        let fx = self.nodes[i].connect(0, true);
        self.apply(i, fx);
    }

    fn disconnect(&mut self, i: usize) {
        self.nodes[0].disconnect(i as ConnectionId);
        self.nodes[i].disconnect(0);
        self.queue
            .retain(|(to, conn, _)| !(*to == i || (*to == 0 && *conn == i as u64)));
    }

    fn apply(&mut self, from: usize, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Send { conn, frame } => {
                    // From the relay, conn is the client's node; from a client, conn 0 is the relay.
                    let (to, their_conn) = if from == 0 {
                        (conn as usize, 0)
                    } else {
                        (0, from as u64)
                    };
                    self.queue.push_back((to, their_conn, frame));
                }
                Effect::Persist {
                    document_id, chunk, ..
                } => self
                    .persisted
                    .entry((from, document_id))
                    .or_default()
                    .push(chunk),
                Effect::Unavailable { document_id } => self.unavailable.push((from, document_id)),
                Effect::Close { .. }
                | Effect::Changed { .. }
                | Effect::PeerReady { .. }
                | Effect::Refused { .. }
                | Effect::Dropped { .. } => {}
            }
        }
    }

    fn run_until_quiet(&mut self) {
        let mut steps = 0;
        while let Some((to, conn, frame)) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 10_000, "sync did not quiesce");
            if to == 0 {
                self.reload_if_evicted(&frame);
            }
            let fx = self.nodes[to].receive(conn, &frame);
            self.apply(to, fx);
        }
    }

    /// As the relay does: a stored document leaves memory when idle and is
    /// loaded again before the next message about it.
    fn reload_if_evicted(&mut self, frame: &[u8]) {
        let Some(id) = Message::decode(frame).ok().and_then(|m| m.document_id()) else {
            return;
        };
        if self.nodes[0].has_document(&id) {
            return;
        }
        if let Some(chunks) = self.persisted.get(&(0, id)) {
            let doc =
                closeloop_shared::sync::load_document(chunks.iter().map(Vec::as_slice)).unwrap();
            let fx = self.nodes[0].add_document(id, doc);
            self.apply(0, fx);
        }
    }

    fn capture(&mut self, node: usize, id: DocumentId, text: &str) {
        let draft = FeedbackDraft {
            channel: "face_to_face".into(),
            nickname: format!("客户{node}"),
            description: text.into(),
            ..FeedbackDraft::default()
        };
        let fx = self.nodes[node]
            .change(id, |doc| {
                draft.write_new(doc, &Taxonomy::default(), "tablet", 1_000)
            })
            .unwrap();
        self.apply(node, fx);
    }

    fn edit(&mut self, node: usize, id: DocumentId, text: &str) {
        let fx = self.nodes[node]
            .change(id, |doc| edit_description(doc, text, 2_000))
            .unwrap();
        self.apply(node, fx);
    }

    fn request(&mut self, node: usize, id: DocumentId) {
        let fx = self.nodes[node].request(id);
        self.apply(node, fx);
    }

    fn record(&self, node: usize, id: &DocumentId) -> FeedbackRecord {
        FeedbackRecord::from_doc(self.nodes[node].document(id).expect("document present")).unwrap()
    }
}

fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

#[test]
fn offline_captures_reach_head_office_through_the_relay() {
    let mut net = Net::new(2); // node 1 tablet, node 2 head office
    net.capture(1, id(1), "第一条反馈");
    net.capture(1, id(2), "第二条反馈");
    net.connect(1);
    net.connect(2);
    net.run_until_quiet();
    assert_eq!(
        net.nodes[0].document_count(),
        2,
        "the relay has both records"
    );
    assert_eq!(
        net.nodes[2].document_count(),
        0,
        "head office gets nothing unasked"
    );

    net.request(2, id(1));
    net.request(2, id(2));
    net.run_until_quiet();
    assert_eq!(net.record(2, &id(1)).description, "第一条反馈");
    assert_eq!(net.record(2, &id(2)), net.record(1, &id(2)));

    // A live edit on the tablet reaches head office, which is subscribed.
    net.edit(1, id(1), "第一条反馈（已补充）");
    net.run_until_quiet();
    assert_eq!(net.record(2, &id(1)).description, "第一条反馈（已补充）");
}

#[test]
fn the_relay_persists_before_it_acknowledges() {
    let mut net = Net::new(1);
    net.capture(1, id(7), "要保存");
    net.connect(1);
    // Drive the relay by hand to inspect the order of its effects.
    let mut persists = 0;
    while let Some((to, conn, frame)) = net.queue.pop_front() {
        let fx = net.nodes[to].receive(conn, &frame);
        if to == 0
            && let Some(p) = fx.iter().position(|e| matches!(e, Effect::Persist { .. }))
        {
            persists += 1;
            let first_send = fx.iter().position(|e| matches!(e, Effect::Send { .. }));
            assert!(
                first_send.is_none_or(|s| p < s),
                "persist must come before any reply"
            );
        }
        net.apply(to, fx);
    }
    assert_eq!(persists, 1);
    let mut doc = Automerge::new();
    for c in &net.persisted[&(0, id(7))] {
        doc.load_incremental(c).unwrap();
    }
    assert_eq!(
        FeedbackRecord::from_doc(&doc).unwrap().description,
        "要保存"
    );
}

#[test]
fn tablets_do_not_receive_each_others_records() {
    let mut net = Net::new(2);
    net.capture(1, id(1), "甲");
    net.capture(2, id(2), "乙");
    net.connect(1);
    net.connect(2);
    net.run_until_quiet();
    assert_eq!(net.nodes[0].document_count(), 2);
    assert!(!net.nodes[1].has_document(&id(2)));
    assert!(!net.nodes[2].has_document(&id(1)));
}

#[test]
fn concurrent_offline_edits_converge_after_reconnect() {
    let mut net = Net::new(2);
    net.capture(1, id(3), "空调太冷");
    net.connect(1);
    net.connect(2);
    net.run_until_quiet();
    net.request(2, id(3));
    net.run_until_quiet();
    net.disconnect(1);
    net.disconnect(2);
    net.edit(1, id(3), "门店空调太冷");
    net.edit(2, id(3), "空调太冷了");
    net.connect(1);
    net.connect(2);
    net.run_until_quiet();
    let a = net.record(1, &id(3));
    assert_eq!(a, net.record(2, &id(3)));
    assert_eq!(a.description, "门店空调太冷了");
}

#[test]
fn requesting_an_unknown_document_answers_unavailable() {
    let mut net = Net::new(1);
    net.connect(1);
    net.run_until_quiet();
    net.request(1, id(9));
    net.run_until_quiet();
    assert_eq!(net.unavailable, vec![(1, id(9))]);
    assert!(
        !net.nodes[0].has_document(&id(9)),
        "the relay creates nothing for a request"
    );
    assert!(!net.nodes[1].has_document(&id(9)));
}

#[test]
fn an_empty_sync_for_an_unknown_document_gets_no_answer_and_keeps_nothing() {
    // Both sides empty: an answer would come from a sync state forgotten
    // with the document, so every reply would start the exchange again.
    let mut net = Net::new(1);
    net.connect(1);
    net.run_until_quiet();
    let data = Automerge::new()
        .generate_sync_message(&mut automerge::sync::State::new())
        .expect("a first message")
        .encode();
    let frame = Message::Sync {
        sender_id: "client-1".into(),
        target_id: "relay".into(),
        document_id: id(8),
        data,
    }
    .encode();
    for _ in 0..3 {
        let fx = net.nodes[0].receive(1, &frame);
        assert!(
            !fx.iter().any(|e| matches!(e, Effect::Send { .. })),
            "answered: {fx:?}"
        );
        assert!(!net.nodes[0].has_document(&id(8)));
    }
    // A document with content still starts its exchange with the same
    // kind of first message and is answered.
    net.capture(1, id(9), "收银台排队太久");
    net.run_until_quiet();
    assert_eq!(net.record(0, &id(9)).description, "收银台排队太久");
}

#[test]
fn a_malformed_frame_closes_only_that_connection() {
    let mut net = Net::new(2);
    net.capture(2, id(4), "照常同步");
    net.connect(1);
    net.connect(2);
    net.run_until_quiet();
    let fx = net.nodes[0].receive(1, b"\x00not cbor");
    assert!(matches!(fx.last(), Some(Effect::Close { conn: 1, .. })));
    let Some(Effect::Send { frame, .. }) = fx.first() else {
        panic!("no error frame")
    };
    assert!(matches!(Message::decode(frame), Ok(Message::Error { .. })));
    assert!(!net.nodes[0].is_ready(1));
    assert!(net.nodes[0].is_ready(2));
    net.edit(2, id(4), "照常同步，没有受影响");
    net.run_until_quiet();
    assert_eq!(
        FeedbackRecord::from_doc(net.nodes[0].document(&id(4)).unwrap())
            .unwrap()
            .description,
        "照常同步，没有受影响"
    );
}

#[test]
fn a_peer_must_join_before_syncing_and_speak_version_one() {
    let mut relay = SyncHub::new("relay".into(), SharePolicy::OnRequest);
    relay.connect(1, false);
    let sync = Message::Sync {
        sender_id: "x".into(),
        target_id: "relay".into(),
        document_id: id(1),
        data: vec![],
    };
    let fx = relay.receive(1, &sync.encode());
    assert!(matches!(fx.last(), Some(Effect::Close { .. })));

    relay.connect(2, false);
    let join = Message::Join {
        sender_id: "y".into(),
        storage_id: None,
        is_ephemeral: true,
        supported_protocol_versions: vec!["2".into()],
    };
    let fx = relay.receive(2, &join.encode());
    let Some(Effect::Send { frame, .. }) = fx.first() else {
        panic!("no reply")
    };
    assert_eq!(
        Message::decode(frame).unwrap(),
        Message::Error {
            sender_id: "relay".into(),
            target_id: None,
            message: "unsupported protocol version".into()
        }
    );
}

#[test]
fn a_second_relay_absorbs_stored_changes_and_forwards_them_without_storing_again() {
    // Two relays over one database: a change stored by relay A reaches
    // relay B's client once B absorbs the stored chunks.
    let mut a = Net::new(1);
    let mut b = Net::new(1);
    a.capture(1, id(5), "两台服务器");
    a.connect(1);
    a.run_until_quiet();
    let stored = a.persisted[&(0, id(5))].clone();
    // B's relay loads the document from the shared storage; its client follows it.
    b.nodes[0].add_document(
        id(5),
        closeloop_shared::sync::load_document(stored.iter().map(Vec::as_slice)).unwrap(),
    );
    b.connect(1);
    b.request(1, id(5));
    b.run_until_quiet();
    assert_eq!(b.record(1, &id(5)).description, "两台服务器");

    a.edit(1, id(5), "两台服务器，已改");
    a.run_until_quiet();
    let stored = a.persisted[&(0, id(5))].clone();
    let fx = b.nodes[0]
        .absorb(id(5), stored.iter().map(Vec::as_slice))
        .unwrap();
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::Persist { .. })),
        "already stored by relay A"
    );
    b.apply(0, fx);
    b.run_until_quiet();
    assert_eq!(b.record(1, &id(5)).description, "两台服务器，已改");
    assert!(!b.persisted.contains_key(&(0, id(5))));
    // Absorbing the same chunks again changes nothing and sends nothing.
    let again = b.nodes[0]
        .absorb(id(5), stored.iter().map(Vec::as_slice))
        .unwrap();
    assert!(again.is_empty());
}

#[test]
fn a_followed_document_evicted_from_the_relay_keeps_its_followers() {
    let mut net = Net::new(2); // node 1 tablet, node 2 head office
    net.capture(1, id(8), "空闲后再编辑");
    net.connect(1);
    net.connect(2);
    net.run_until_quiet();
    net.request(2, id(8));
    net.run_until_quiet();
    assert_eq!(net.record(2, &id(8)).description, "空闲后再编辑");

    net.nodes[0].evict(&id(8));
    assert!(!net.nodes[0].has_document(&id(8)));
    assert!(net.nodes[0].is_followed(&id(8)), "followers are remembered");

    // The tablet edits; the relay reloads the document and head office,
    // which never asked again, still receives the edit.
    let stored_before = net.persisted[&(0, id(8))].len();
    net.edit(1, id(8), "空闲后再编辑（已改）");
    net.run_until_quiet();
    assert_eq!(net.record(2, &id(8)).description, "空闲后再编辑（已改）");
    assert_eq!(net.persisted[&(0, id(8))].len(), stored_before + 1);
    assert_eq!(
        net.nodes[0].peer_heads(&id(8), 1),
        Some(
            net.nodes[1]
                .document(&id(8))
                .unwrap()
                .get_heads()
                .as_slice()
        ),
        "the tablet's edit is acknowledged"
    );

    // A change stored elsewhere while evicted reaches the followers on reload.
    net.nodes[0].evict(&id(8));
    let mut elsewhere = net.nodes[2].document(&id(8)).unwrap().fork();
    edit_description(&mut elsewhere, "另一台服务器的修改", 3_000).unwrap();
    let chunk = elsewhere.save_after(&net.nodes[2].document(&id(8)).unwrap().get_heads());
    net.persisted.get_mut(&(0, id(8))).unwrap().push(chunk);
    let chunks = net.persisted[&(0, id(8))].clone();
    let doc = closeloop_shared::sync::load_document(chunks.iter().map(Vec::as_slice)).unwrap();
    let fx = net.nodes[0].add_document(id(8), doc);
    net.apply(0, fx);
    net.run_until_quiet();
    assert_eq!(net.record(1, &id(8)).description, "另一台服务器的修改");
    assert_eq!(net.record(2, &id(8)).description, "另一台服务器的修改");

    // Once every follower has gone, nothing of the document is kept.
    net.nodes[0].evict(&id(8));
    net.disconnect(1);
    net.disconnect(2);
    assert!(!net.nodes[0].is_followed(&id(8)));
}
