//! The relay core driven by a deterministic simulator: tablets and head
//! office as sync hubs, an in-memory store, seeded interleavings of
//! deliveries, batches, clock jumps and failures. Every scenario runs under
//! many seeds; a failure names its seed.

use std::collections::{HashMap, VecDeque};

use closeloop_shared::access::{Principal, Role};
use closeloop_shared::record::{self, FeedbackDraft, FeedbackRecord};
use closeloop_shared::relay::{Input, RelayCore, StoredDocument, Task};
use closeloop_shared::sync::{DocumentId, Effect, Message, SharePolicy, SyncHub};
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::Action;

/// xorshift64*: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Client {
    hub: SyncHub,
    principal: Principal,
    to_relay: VecDeque<Vec<u8>>,
    from_relay: VecDeque<Vec<u8>>,
    connected: bool,
    unavailable: Vec<DocumentId>,
    /// Every document id the relay sent this client a sync or request for.
    received_about: Vec<DocumentId>,
    /// Changes the relay refused and this client dropped: (document, code, how many).
    dropped: Vec<(DocumentId, String, usize)>,
}

impl Client {
    fn run(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Send { frame, .. } if self.connected => self.to_relay.push_back(frame),
                Effect::Unavailable { document_id } => self.unavailable.push(document_id),
                Effect::Dropped {
                    document_id,
                    removed,
                    code,
                    ..
                } => self.dropped.push((document_id, code, removed.len())),
                _ => {}
            }
        }
    }
}

/// Storage in memory, executing the core's loads, commits and compactions
/// like the server's storage; what is left (sends, closes) is returned in
/// order for the network side.
#[derive(Default)]
struct Store {
    stored: HashMap<DocumentId, StoredDocument>,
    next_chunk: i64,
    /// The next commit fails (storage unavailable).
    fail_next_commit: bool,
    commits_failed: usize,
    compactions: usize,
    /// Commits that tried to store a change to an erased document.
    writes_to_erased: usize,
}

impl Store {
    fn run(&mut self, core: &mut RelayCore, tasks: Vec<Task>) -> Vec<Task> {
        let mut queue: VecDeque<Task> = tasks.into();
        let mut out = Vec::new();
        while let Some(task) = queue.pop_front() {
            match task {
                Task::Load(ids) => {
                    let found = ids
                        .iter()
                        .filter_map(|id| self.stored.get(id).map(|d| (*id, d.clone())))
                        .collect();
                    queue.extend(core.loaded(Ok(found)));
                }
                Task::Commit { writes, records } => {
                    if std::mem::take(&mut self.fail_next_commit) {
                        self.commits_failed += 1;
                        queue.extend(core.committed(Err("disk full".into())));
                        continue;
                    }
                    // Like the server's storage: an erased id takes no chunk.
                    if writes
                        .iter()
                        .any(|w| self.stored.get(&w.id).is_some_and(|d| d.erased))
                    {
                        self.writes_to_erased += 1;
                        queue.extend(core.committed(Err("erased".into())));
                        continue;
                    }
                    let mut ids = Vec::new();
                    for w in writes {
                        self.next_chunk += 1;
                        ids.push(self.next_chunk);
                        let d = self.stored.entry(w.id).or_insert_with(|| StoredDocument {
                            team: w.team.clone(),
                            ..StoredDocument::default()
                        });
                        d.chunks.push(w.chunk);
                        d.chunk_ids.push(self.next_chunk);
                    }
                    for u in records {
                        if let Some(d) = self.stored.get_mut(&u.id) {
                            d.owner = u.after.owner.clone();
                        }
                    }
                    queue.extend(core.committed(Ok(ids)));
                }
                Task::Compact {
                    id,
                    first,
                    last,
                    save,
                } => {
                    let Some(d) = self.stored.get_mut(&id) else {
                        continue;
                    };
                    let mut kept = (Vec::new(), Vec::new());
                    for (chunk, cid) in d.chunks.drain(..).zip(d.chunk_ids.drain(..)) {
                        if cid == first {
                            kept.0.push(save.clone());
                            kept.1.push(cid);
                        } else if !(first..=last).contains(&cid) {
                            kept.0.push(chunk);
                            kept.1.push(cid);
                        }
                    }
                    (d.chunks, d.chunk_ids) = kept;
                    self.compactions += 1;
                }
                send_or_close => out.push(send_or_close),
            }
        }
        out
    }

    fn doc(&self, doc: &DocumentId) -> Option<automerge::Automerge> {
        let d = self.stored.get(doc)?;
        closeloop_shared::sync::load_document(d.chunks.iter().map(Vec::as_slice)).ok()
    }
}

struct Sim {
    rng: Rng,
    core: RelayCore,
    store: Store,
    clients: Vec<Client>,
    now_ms: u64,
}

fn user(name: &str, role: Role, team: Option<&str>) -> Principal {
    Principal {
        user_id: 1,
        username: name.into(),
        role,
        team: team.map(str::to_string),
    }
}

fn id(n: u8) -> DocumentId {
    DocumentId::from_bytes([n; 16])
}

impl Sim {
    fn new(seed: u64, budget: usize, users: &[Principal]) -> Sim {
        Self::with_storage(seed, budget, users, false)
    }

    /// `shared`: storage as several relays share it (PostgreSQL).
    fn with_storage(seed: u64, budget: usize, users: &[Principal], shared: bool) -> Sim {
        let mut sim = Sim {
            rng: Rng::new(seed),
            core: RelayCore::new("relay".into(), budget, 60_000).with_shared_storage(shared),
            store: Store::default(),
            clients: Vec::new(),
            now_ms: 0,
        };
        for u in users {
            let policy = if u.role == Role::FieldStaff {
                SharePolicy::AnnounceAll
            } else {
                SharePolicy::OnRequest
            };
            sim.clients.push(Client {
                hub: SyncHub::new(u.username.clone(), policy),
                principal: u.clone(),
                to_relay: VecDeque::new(),
                from_relay: VecDeque::new(),
                connected: false,
                unavailable: Vec::new(),
                received_about: Vec::new(),
                dropped: Vec::new(),
            });
        }
        for c in 0..users.len() {
            sim.connect(c);
        }
        sim
    }

    fn conn(c: usize) -> u64 {
        c as u64 + 1
    }

    fn connect(&mut self, c: usize) {
        let principal = self.clients[c].principal.clone();
        // As the server asks storage: the user's assigned records.
        let mut assigned: Vec<DocumentId> = self
            .store
            .stored
            .iter()
            .filter(|(_, d)| d.owner.as_deref() == Some(principal.username.as_str()))
            .map(|(id, _)| *id)
            .collect();
        assigned.sort_unstable();
        self.relay(vec![Input::Connect {
            conn: Self::conn(c),
            principal,
            session: format!("session-{c}"),
            assigned,
        }]);
        let client = &mut self.clients[c];
        client.connected = true;
        let fx = client.hub.connect(0, true);
        client.run(fx);
    }

    /// Runs one batch through the core, executing its tasks like the IO edge.
    fn relay(&mut self, inputs: Vec<Input>) {
        let tasks = self.core.batch(inputs, self.now_ms);
        self.execute(tasks);
    }

    /// Executes the core's tasks like the IO edge, feeding results back.
    fn execute(&mut self, tasks: Vec<Task>) {
        for task in self.store.run(&mut self.core, tasks) {
            match task {
                Task::Send { conn, frame } => {
                    let c = &mut self.clients[conn as usize - 1];
                    if c.connected {
                        c.from_relay.push_back(frame);
                    }
                }
                Task::Close { conn, .. } => self.drop_link(conn as usize - 1, false),
                _ => {}
            }
        }
    }

    /// The link of client `c` breaks; `tell_relay` if the relay did not cause it.
    fn drop_link(&mut self, c: usize, tell_relay: bool) {
        let client = &mut self.clients[c];
        if !client.connected {
            return;
        }
        client.connected = false;
        client.to_relay.clear();
        client.from_relay.clear();
        client.hub.disconnect(0);
        if tell_relay {
            self.relay(vec![Input::Disconnect {
                conn: Self::conn(c),
            }]);
        }
    }

    /// Delivers up to `n` queued frames of random clients to the relay, as one batch.
    fn deliver_to_relay(&mut self, n: usize) {
        let mut inputs = Vec::new();
        for _ in 0..n {
            let c = self.rng.below(self.clients.len() as u64) as usize;
            if let Some(frame) = self.clients[c].to_relay.pop_front() {
                inputs.push(Input::Frame {
                    conn: Self::conn(c),
                    message: Message::decode(&frame).map_err(|e| e.to_string()),
                });
            }
        }
        if !inputs.is_empty() {
            self.relay(inputs);
        }
    }

    /// Delivers up to `n` frames from the relay to client `c`.
    fn deliver_to_client(&mut self, c: usize, n: usize) {
        for _ in 0..n {
            let client = &mut self.clients[c];
            let Some(frame) = client.from_relay.pop_front() else {
                return;
            };
            if let Ok(Message::Sync { document_id, .. } | Message::Request { document_id, .. }) =
                Message::decode(&frame)
            {
                client.received_about.push(document_id);
            }
            let fx = client.hub.receive(0, &frame);
            client.run(fx);
        }
    }

    fn edit(&mut self, c: usize, doc: DocumentId, text: &str) {
        let at = self.now_ms as i64 + 1;
        let client = &mut self.clients[c];
        let me = client.principal.username.clone();
        if let Ok(fx) = client
            .hub
            .change(doc, |d| record::append_log(d, text, &me, at))
        {
            client.run(fx);
        }
    }

    fn capture(&mut self, c: usize, doc: DocumentId, text: &str) {
        let client = &mut self.clients[c];
        let draft = FeedbackDraft {
            channel: "phone".into(),
            nickname: "客户".into(),
            description: text.into(),
            ..FeedbackDraft::default()
        };
        let me = client.principal.username.clone();
        let fx = client
            .hub
            .change(doc, |d| draft.write_new(d, &Taxonomy::default(), &me, 1))
            .expect("valid draft");
        client.run(fx);
    }

    fn request(&mut self, c: usize, doc: DocumentId) {
        let client = &mut self.clients[c];
        let fx = client.hub.request(doc);
        client.run(fx);
    }

    /// Time passes; a quiet relay evicts idle and over-budget documents.
    fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
        let tasks = self.core.tick(self.now_ms);
        self.execute(tasks);
    }

    /// Delivers everything in both directions until nothing moves.
    fn quiesce(&mut self) {
        for _ in 0..10_000 {
            let moving = self
                .clients
                .iter()
                .any(|c| !c.to_relay.is_empty() || !c.from_relay.is_empty());
            if !moving {
                return;
            }
            self.deliver_to_relay(8);
            for c in 0..self.clients.len() {
                self.deliver_to_client(c, 8);
            }
        }
        panic!("the exchange never settled");
    }

    /// One random step of the kinds the scenarios use.
    fn random_step(&mut self, docs: &[(usize, DocumentId)]) {
        match self.rng.below(10) {
            0..=3 => {
                let n = 1 + self.rng.below(6) as usize;
                self.deliver_to_relay(n);
            }
            4..=6 => {
                let c = self.rng.below(self.clients.len() as u64) as usize;
                let n = 1 + self.rng.below(4) as usize;
                self.deliver_to_client(c, n);
            }
            7 => {
                let (c, doc) = docs[self.rng.below(docs.len() as u64) as usize];
                let n = self.rng.next();
                self.edit(c, doc, &format!("处理 {n}"));
            }
            _ => {
                let ms = self.rng.below(3_000);
                self.advance(ms);
            }
        }
    }

    fn stored_doc(&self, doc: &DocumentId) -> Option<automerge::Automerge> {
        self.store.doc(doc)
    }
}

const SEEDS: u64 = 200;

/// Five tablets of one team edit their own and each other's records with a
/// two-document budget: documents leave memory mid-conversation and come
/// back. After the network settles, every tablet, the relay's store and the
/// documents agree, and nothing acknowledged is missing.
#[test]
fn tablets_converge_with_a_two_document_budget_under_any_interleaving() {
    for seed in 0..SEEDS {
        let users: Vec<Principal> = (0..5)
            .map(|n| user(&format!("t{n}"), Role::FieldStaff, Some("north")))
            .collect();
        let mut sim = Sim::new(seed, 2, &users);
        let docs: Vec<(usize, DocumentId)> = (0..5).map(|n| (n, id(n as u8 + 1))).collect();
        for &(c, doc) in &docs {
            sim.capture(c, doc, "现场记录");
        }
        for _ in 0..400 {
            sim.random_step(&docs);
        }
        sim.quiesce();
        // Let the budget evict, then have every tablet make one more edit
        // so each followed document reloads with its dormant followers.
        sim.advance(5_000);
        for &(c, doc) in &docs {
            sim.edit(c, doc, "收尾");
        }
        sim.quiesce();
        for &(c, doc) in &docs {
            let stored = sim
                .stored_doc(&doc)
                .unwrap_or_else(|| panic!("seed {seed}: {doc} never stored"));
            let heads = sim.clients[c].hub.document(&doc).map(|d| d.get_heads());
            assert_eq!(
                heads,
                Some(stored.get_heads()),
                "seed {seed}: tablet {c} and the relay's store disagree on {doc}"
            );
            assert!(
                FeedbackRecord::from_doc(&stored).is_ok(),
                "seed {seed}: stored {doc} is not a readable record"
            );
        }
        assert!(sim.core.hub().document_count() <= 5, "seed {seed}");
    }
}

/// A tablet learns nothing of another team's record: not its content, not
/// that it exists; head office reaches both.
#[test]
fn field_staff_reach_only_their_team_under_any_interleaving() {
    for seed in 0..SEEDS {
        let users = [
            user("n", Role::FieldStaff, Some("north")),
            user("s", Role::FieldStaff, Some("south")),
            user("office", Role::HeadOffice, None),
        ];
        let mut sim = Sim::new(seed, 1 + (seed % 3) as usize, &users);
        sim.capture(0, id(1), "北区记录");
        sim.capture(1, id(2), "南区记录");
        let docs = [(0, id(1)), (1, id(2))];
        for _ in 0..100 {
            sim.random_step(&docs);
        }
        sim.quiesce();
        sim.request(0, id(2));
        sim.request(1, id(1));
        sim.request(2, id(1));
        sim.request(2, id(2));
        sim.quiesce();
        let north = &sim.clients[0];
        assert!(!north.received_about.contains(&id(2)), "seed {seed}");
        assert!(north.unavailable.contains(&id(2)), "seed {seed}");
        let south = &sim.clients[1];
        assert!(!south.received_about.contains(&id(1)), "seed {seed}");
        let office = &sim.clients[2].hub;
        for doc in [id(1), id(2)] {
            assert_eq!(
                office.document(&doc).map(|d| d.get_heads()),
                sim.stored_doc(&doc).map(|d| d.get_heads()),
                "seed {seed}: head office has {doc}"
            );
        }
    }
}

/// A record assigned to a southern user is followed by them; it is then
/// reassigned away — by this relay, or by another relay while the
/// document is out of memory here — and the southern user hears nothing
/// more of it, while head office does.
#[test]
fn followers_lose_a_reassigned_record_even_when_it_was_evicted() {
    for seed in 0..SEEDS {
        let users = [
            user("n", Role::FieldStaff, Some("north")),
            user("li", Role::FieldStaff, Some("south")),
            user("office", Role::HeadOffice, None),
        ];
        let mut sim = Sim::new(seed, 1, &users);
        let doc = id(7);
        sim.capture(0, doc, "会员积分没有到账");
        sim.quiesce();
        sim.request(2, doc);
        sim.quiesce();
        let assign = Action::Assign {
            owner: "li".into(),
            department: "会员中心".into(),
        };
        transition(&mut sim, 2, doc, &Action::Register, 9);
        transition(&mut sim, 2, doc, &assign, 10);
        sim.quiesce();
        sim.request(1, doc);
        sim.quiesce();
        assert!(
            sim.clients[1].hub.document(&doc).is_some(),
            "seed {seed}: the assignee reaches the record"
        );
        let away = Action::Reassign {
            owner: "office".into(),
            department: "客服中心".into(),
        };
        let elsewhere = seed % 2 == 0;
        if elsewhere {
            // Out of memory here, then another relay stores the reassignment.
            sim.advance(120_000);
            assert!(!sim.core.hub().has_document(&doc), "seed {seed}: evicted");
            let mut copy = sim.stored_doc(&doc).expect("stored");
            let before = copy.get_heads();
            record::transition(&mut copy, &away, None, "office2", 20).expect("reassign");
            let stored = sim.store.stored.get_mut(&doc).expect("stored");
            stored.chunks.push(copy.save_after(&before));
            stored.owner = Some("office".into());
            sim.relay(vec![Input::StoredElsewhere { document_id: doc }]);
        } else {
            transition(&mut sim, 2, doc, &away, 20);
        }
        sim.quiesce();
        sim.clients[1].received_about.clear();
        sim.edit(0, doc, "北区：积分已补发");
        sim.quiesce();
        assert!(
            !sim.clients[1].received_about.contains(&doc),
            "seed {seed} (elsewhere: {elsewhere}): a reassigned record still reaches its former assignee"
        );
        let office = sim.clients[2].hub.document(&doc).expect("office holds it");
        assert_eq!(
            Some(office.get_heads()),
            sim.stored_doc(&doc).map(|d| d.get_heads()),
            "seed {seed}: head office keeps receiving it"
        );
    }
}

/// Assigned work reaches the assignee's tablet without it asking: at once
/// when it is connected, and when it connects later; a colleague of
/// another team never gets it, under random interleavings.
#[test]
fn assigned_records_reach_the_assignee_without_asking() {
    for seed in 0..SEEDS {
        let users = [
            user("n", Role::FieldStaff, Some("north")),
            user("li", Role::FieldStaff, Some("south")),
            user("office", Role::HeadOffice, None),
            user("wang", Role::FieldStaff, Some("south")),
            user("desk", Role::HeadOffice, None),
        ];
        let mut sim = Sim::new(seed, 2, &users);
        let (first, second) = (id(11), id(12));
        sim.capture(0, first, "门店空调不制冷");
        sim.capture(0, second, "收银台排队太久");
        sim.quiesce();
        let assign = |owner: &str| Action::Assign {
            owner: owner.into(),
            department: "store_ops".into(),
        };
        sim.request(2, first);
        sim.quiesce();
        transition(&mut sim, 2, first, &Action::Register, 9);
        transition(&mut sim, 2, first, &assign("li"), 10);
        // Random interleavings of what is in flight.
        for _ in 0..sim.rng.below(20) {
            sim.random_step(&[(0, first)]);
        }
        sim.quiesce();
        let theirs = sim.clients[1].hub.document(&first).map(|d| d.get_heads());
        assert_eq!(
            theirs,
            sim.stored_doc(&first).map(|d| d.get_heads()),
            "seed {seed}: the connected assignee holds the stored record"
        );
        // Offline, then assigned a second record: it arrives on connecting.
        sim.drop_link(1, true);
        sim.request(2, second);
        sim.quiesce();
        transition(&mut sim, 2, second, &Action::Register, 19);
        transition(&mut sim, 2, second, &assign("li"), 20);
        sim.quiesce();
        sim.advance(120_000);
        sim.connect(1);
        sim.quiesce();
        assert_eq!(
            sim.clients[1].hub.document(&second).map(|d| d.get_heads()),
            sim.stored_doc(&second).map(|d| d.get_heads()),
            "seed {seed}: the assignee gets it on connecting"
        );
        assert!(
            !sim.clients[3].received_about.contains(&first)
                && !sim.clients[3].received_about.contains(&second),
            "seed {seed}: nobody else is offered it"
        );
        // Head office's browser holds only what it opens: a record assigned
        // to a head-office user is not pushed to them, connected or not.
        transition(
            &mut sim,
            2,
            first,
            &Action::Reassign {
                owner: "desk".into(),
                department: "customer_service".into(),
            },
            30,
        );
        sim.quiesce();
        sim.drop_link(4, true);
        sim.advance(120_000);
        sim.connect(4);
        sim.quiesce();
        assert!(
            !sim.clients[4].received_about.contains(&first),
            "seed {seed}: head office is not sent its assigned records"
        );
    }
}

/// A field user forges a head-office step in head office's name, under
/// random interleavings: the relay stores and forwards none of it, the
/// sender drops it and converges with the relay (keeping its allowed work),
/// and a client that keeps at it is disconnected.
#[test]
fn forbidden_changes_are_refused_and_the_sender_converges() {
    for seed in 0..100 {
        let users = [
            user("n", Role::FieldStaff, Some("north")),
            user("office", Role::HeadOffice, None),
        ];
        let mut sim = Sim::new(seed, 2, &users);
        let doc = id(9);
        sim.capture(0, doc, "会员积分没有到账");
        sim.quiesce();
        sim.request(1, doc);
        sim.quiesce();
        sim.edit(0, doc, "已电话联系");
        let forged = {
            let client = &mut sim.clients[0];
            let fx = client
                .hub
                .change(doc, |d| {
                    record::transition(d, &Action::Register, None, "office", 5)
                })
                .expect("the tablet itself does not check");
            client.run(fx);
            client.hub.document(&doc).expect("held").get_heads()[0]
        };
        for _ in 0..40 {
            sim.random_step(&[(0, doc)]);
        }
        sim.quiesce();
        let stored = sim.stored_doc(&doc).expect("stored");
        assert!(
            automerge::ReadDoc::get_change_by_hash(&stored, &forged).is_none(),
            "seed {seed}: the forged step was stored"
        );
        let r = FeedbackRecord::from_doc(&stored).expect("record");
        assert!(r.history.is_empty(), "seed {seed}: history {:?}", r.history);
        assert!(
            r.log.iter().any(|l| l.text == "已电话联系"),
            "seed {seed}: the allowed log entry is kept"
        );
        for c in 0..2 {
            let held = sim.clients[c].hub.document(&doc).expect("held");
            assert_eq!(
                held.get_heads(),
                stored.get_heads(),
                "seed {seed}: client {c} converged with the relay"
            );
        }
        let dropped = &sim.clients[0].dropped;
        assert!(
            dropped
                .iter()
                .any(|(d, code, n)| *d == doc && code == "forged_author" && *n >= 1),
            "seed {seed}: the sender was told why ({dropped:?})"
        );
        // Keeping at it ends the connection.
        for n in 0..closeloop_shared::relay::MAX_REFUSALS as i64 - 1 {
            let client = &mut sim.clients[0];
            let fx = client
                .hub
                .change(doc, |d| record::append_log(d, "冒名", "office", 10 + n))
                .expect("edit");
            client.run(fx);
            sim.quiesce();
        }
        assert!(
            !sim.clients[0].connected,
            "seed {seed}: a client that keeps sending refused changes is disconnected"
        );
        assert_eq!(
            sim.core.counters.changes_refused,
            closeloop_shared::relay::MAX_REFUSALS as u64,
            "seed {seed}: each refused change counted once"
        );
    }
}

fn transition(sim: &mut Sim, c: usize, doc: DocumentId, action: &Action, at: i64) {
    let client = &mut sim.clients[c];
    let me = client.principal.username.clone();
    let fx = client
        .hub
        .change(doc, |d| record::transition(d, action, None, &me, at))
        .expect("valid step");
    client.run(fx);
}

/// A commit that fails acknowledges nothing, forwards nothing and closes
/// every connection; after reconnecting, the change is stored and everyone
/// converges.
#[test]
fn a_failed_write_acknowledges_and_forwards_nothing() {
    for seed in 0..SEEDS {
        let users = [
            user("a", Role::FieldStaff, Some("north")),
            user("b", Role::FieldStaff, Some("north")),
        ];
        let mut sim = Sim::new(seed, 2, &users);
        let doc = id(3);
        sim.capture(0, doc, "冷柜温度过高");
        sim.quiesce();
        sim.request(1, doc);
        sim.quiesce();
        let stored_before = sim.stored_doc(&doc).expect("stored").get_heads();
        sim.edit(0, doc, "第二次处理");
        let mine = sim.clients[0].hub.document(&doc).expect("held").get_heads();
        sim.store.fail_next_commit = true;
        // Only the editing tablet's frames, one batch at a time.
        while let Some(frame) = sim.clients[0].to_relay.pop_front() {
            sim.relay(vec![Input::Frame {
                conn: Sim::conn(0),
                message: Message::decode(&frame).map_err(|e| e.to_string()),
            }]);
            if sim.store.commits_failed > 0 {
                break;
            }
        }
        assert_eq!(sim.store.commits_failed, 1, "seed {seed}");
        assert!(
            sim.clients.iter().all(|c| !c.connected),
            "seed {seed}: every connection is told"
        );
        assert_eq!(
            sim.stored_doc(&doc).map(|d| d.get_heads()),
            Some(stored_before.clone()),
            "seed {seed}: nothing stored"
        );
        assert_eq!(
            sim.clients[1].hub.document(&doc).map(|d| d.get_heads()),
            Some(stored_before),
            "seed {seed}: nothing forwarded"
        );
        assert_ne!(
            sim.clients[0].hub.peer_heads(&doc, 0).map(<[_]>::to_vec),
            Some(mine.clone()),
            "seed {seed}: nothing acknowledged"
        );
        sim.connect(0);
        sim.connect(1);
        sim.request(1, doc);
        sim.quiesce();
        let stored = sim.stored_doc(&doc).expect("stored").get_heads();
        assert_eq!(stored, mine, "seed {seed}: stored after reconnecting");
        assert_eq!(
            sim.clients[1].hub.document(&doc).map(|d| d.get_heads()),
            Some(mine),
            "seed {seed}: forwarded after reconnecting"
        );
    }
}

/// A peer asks for a document a moment before its creator's first sync
/// reaches the relay: it is told "unavailable", then gets the document
/// when it arrives — if it may see it.
#[test]
fn a_document_asked_for_before_it_exists_is_delivered_when_it_arrives() {
    for seed in 0..SEEDS {
        let users = [
            user("a", Role::FieldStaff, Some("north")),
            user("office", Role::HeadOffice, None),
            user("s", Role::FieldStaff, Some("south")),
        ];
        let mut sim = Sim::new(seed, 2, &users);
        sim.quiesce();
        let doc = id(4);
        sim.request(1, doc);
        sim.request(2, doc);
        while !sim.clients[1].to_relay.is_empty() || !sim.clients[2].to_relay.is_empty() {
            let c = 1 + sim.rng.below(2) as usize;
            if let Some(frame) = sim.clients[c].to_relay.pop_front() {
                sim.relay(vec![Input::Frame {
                    conn: Sim::conn(c),
                    message: Message::decode(&frame).map_err(|e| e.to_string()),
                }]);
            }
        }
        sim.deliver_to_client(1, 10);
        sim.deliver_to_client(2, 10);
        assert!(sim.clients[1].unavailable.contains(&doc), "seed {seed}");
        sim.capture(0, doc, "活动现场指引牌太少");
        sim.quiesce();
        assert_eq!(
            sim.clients[1].hub.document(&doc).map(|d| d.get_heads()),
            sim.stored_doc(&doc).map(|d| d.get_heads()),
            "seed {seed}: delivered once it arrived"
        );
        assert!(
            !sim.clients[2].received_about.contains(&doc),
            "seed {seed}: never to someone who may not see it"
        );
    }
}

/// A document written in many small changes is read back from one save:
/// compacted as it leaves memory where this relay knows all its chunks, or
/// when loaded where other relays share the storage; nothing it held is
/// lost.
#[test]
fn a_long_history_is_compacted_and_loses_nothing() {
    for (seed, shared) in (0..20).flat_map(|seed| [(seed, false), (seed, true)]) {
        let users = [user("a", Role::FieldStaff, Some("north"))];
        let mut sim = Sim::with_storage(seed, 1, &users, shared);
        let doc = id(5);
        sim.capture(0, doc, "长期跟进的记录");
        sim.quiesce();
        let edits = closeloop_shared::relay::COMPACT_AFTER_CHUNKS + 10;
        for n in 0..edits {
            sim.edit(0, doc, &format!("第 {n} 次跟进"));
            sim.quiesce();
        }
        let chunks_before = sim.store.stored[&doc].chunks.len();
        assert!(
            chunks_before > closeloop_shared::relay::COMPACT_AFTER_CHUNKS,
            "seed {seed}"
        );
        sim.advance(120_000);
        assert!(!sim.core.hub().has_document(&doc), "seed {seed}: evicted");
        assert_eq!(
            sim.store.stored[&doc].chunks.len() == 1,
            !shared,
            "seed {seed}: compacted as it left unless storage is shared"
        );
        sim.edit(0, doc, "重新加载后的跟进");
        sim.quiesce();
        assert_eq!(sim.store.compactions, 1, "seed {seed}");
        let stored = &sim.store.stored[&doc];
        assert!(
            stored.chunks.len() <= 2,
            "seed {seed}: {} chunks",
            stored.chunks.len()
        );
        let heads = sim.clients[0].hub.document(&doc).map(|d| d.get_heads());
        assert_eq!(
            heads,
            sim.stored_doc(&doc).map(|d| d.get_heads()),
            "seed {seed}"
        );
        let record =
            FeedbackRecord::from_doc(&sim.stored_doc(&doc).expect("stored")).expect("readable");
        assert_eq!(record.log.len(), edits + 1, "seed {seed}: every entry kept");
    }
}

/// The relay core with an in-memory store, for one hand-driven peer.
struct Bench {
    core: RelayCore,
    store: Store,
    /// Frames the relay sent the peer.
    out: VecDeque<Vec<u8>>,
    now_ms: u64,
}

impl Bench {
    fn run(&mut self, inputs: Vec<Input>) {
        let tasks = self.core.batch(inputs, self.now_ms);
        self.execute(tasks);
    }

    fn execute(&mut self, tasks: Vec<Task>) {
        for task in self.store.run(&mut self.core, tasks) {
            match task {
                Task::Send { frame, .. } => self.out.push_back(frame),
                Task::Close { reason, .. } => panic!("closed: {reason}"),
                _ => {}
            }
        }
    }

    fn send(&mut self, message: Message) {
        self.run(vec![Input::Frame {
            conn: 1,
            message: Ok(message),
        }]);
    }
}

/// The cause of a tablet and the relay once staying apart until the tablet
/// reconnected (seen with a two-document budget under SIGKILLs): a tablet's
/// change X was skipped as a bloom-filter false positive, so the changes
/// built on it (H) reached the relay first and waited in the document's
/// queue; the document was then evicted, the queue with it, while the
/// tablet's sync state kept H as "sent" — automerge never sends a hash in
/// `sent_hashes` again, even when asked. The relay now keeps such a document
/// while the missing change is on its way, and if it must evict it anyway,
/// asks the peer to reset its sync state, so the peer resends.
#[test]
fn changes_queued_for_a_missing_dependency_survive_eviction() {
    use automerge::ReadDoc;
    use automerge::sync::{self as am, SyncDoc};
    for evict_after_grace in [false, true] {
        let mut bench = Bench {
            core: RelayCore::new("relay".into(), 1, 1_000),
            store: Store::default(),
            out: VecDeque::new(),
            now_ms: 0,
        };
        let doc_id = id(9);
        bench.run(vec![Input::Connect {
            assigned: Vec::new(),
            conn: 1,
            principal: user("t", Role::FieldStaff, Some("north")),
            session: "t".into(),
        }]);
        bench.send(Message::Join {
            sender_id: "t".into(),
            storage_id: None,
            is_ephemeral: false,
            supported_protocol_versions: vec![closeloop_shared::sync::PROTOCOL_VERSION.into()],
        });
        bench.out.clear();
        let mut doc = automerge::Automerge::new();
        FeedbackDraft {
            channel: "phone".into(),
            nickname: "客户".into(),
            description: "长记录".into(),
            ..FeedbackDraft::default()
        }
        .write_new(&mut doc, &Taxonomy::default(), "t", 1)
        .expect("draft");
        for n in 0..12 {
            record::append_log(&mut doc, &format!("跟进 {n}"), "t", n + 2).expect("entry");
        }
        let mut state = am::State::new();
        // Runs the exchange until nobody has anything to say (or 200 rounds).
        let exchange =
            |bench: &mut Bench, doc: &mut automerge::Automerge, state: &mut am::State| {
                for _ in 0..200 {
                    let mut moved = false;
                    if let Some(m) = doc.generate_sync_message(state) {
                        bench.send(Message::Sync {
                            sender_id: "t".into(),
                            target_id: "relay".into(),
                            document_id: doc_id,
                            data: m.encode(),
                        });
                        moved = true;
                    }
                    while let Some(frame) = bench.out.pop_front() {
                        if let Ok(Message::Sync { data, .. } | Message::Request { data, .. }) =
                            Message::decode(&frame)
                        {
                            let m = am::Message::decode(&data).expect("sync message");
                            doc.receive_sync_message(state, m).expect("applies");
                            moved = true;
                        }
                    }
                    if !moved {
                        return;
                    }
                }
            };
        exchange(&mut bench, &mut doc, &mut state);
        // X, then H built on it; H reaches the relay without X, which the
        // tablet's state does not count as sent (a bloom false positive).
        record::append_log(&mut doc, "X", "t", 100).expect("X");
        let x = doc.get_heads()[0];
        record::append_log(&mut doc, "H", "t", 101).expect("H");
        let h = doc.get_heads()[0];
        let mut m = doc.generate_sync_message(&mut state).expect("news");
        let h_bytes = doc.get_change_by_hash(&h).expect("H").raw_bytes().to_vec();
        m.changes = vec![h_bytes].into();
        state.sent_hashes.remove(&x);
        bench.send(Message::Sync {
            sender_id: "t".into(),
            target_id: "relay".into(),
            document_id: doc_id,
            data: m.encode(),
        });
        assert!(
            bench.core.hub().has_queued_changes(&doc_id),
            "H waits for X"
        );
        // Time passes before the tablet answers: the budget wants it out.
        bench.now_ms += 5_000;
        let tasks = bench.core.tick(bench.now_ms);
        bench.execute(tasks);
        assert!(
            bench.core.hub().has_document(&doc_id),
            "kept while the missing change is on its way"
        );
        if evict_after_grace {
            bench.now_ms += closeloop_shared::relay::QUEUE_GRACE_MS;
            let tasks = bench.core.tick(bench.now_ms);
            bench.execute(tasks);
            assert!(
                !bench.core.hub().has_document(&doc_id),
                "evicted after the grace period"
            );
        }
        exchange(&mut bench, &mut doc, &mut state);
        let stored = bench.store.stored.get(&doc_id).expect("stored");
        let stored = closeloop_shared::sync::load_document(stored.chunks.iter().map(Vec::as_slice))
            .expect("loads");
        assert_eq!(
            stored.get_heads(),
            doc.get_heads(),
            "evicted after grace: {evict_after_grace}: the tablet and the relay converge"
        );
    }
}

/// A record erased (re-created elsewhere under a new id) while two tablets
/// and head office are mid-exchange, held in memory or evicted, here or on
/// another relay: from then on nothing about it is stored or served, every
/// follower hears it is unavailable, and the core never even tries to
/// commit a change to it.
#[test]
fn an_erased_record_is_refused_for_ever_under_any_interleaving() {
    for seed in 0..SEEDS {
        let users = [
            user("n1", Role::FieldStaff, Some("north")),
            user("n2", Role::FieldStaff, Some("north")),
            user("office", Role::HeadOffice, None),
        ];
        let mut sim = Sim::new(seed, 2, &users);
        let (doc, other) = (id(5), id(6));
        sim.capture(0, doc, "刘女士：洗衣机漏水");
        sim.capture(1, other, "门店排队太久");
        sim.quiesce();
        sim.request(2, doc);
        sim.quiesce();
        let docs = [(0, doc), (1, doc), (1, other), (2, doc)];
        for _ in 0..sim.rng.below(40) {
            sim.random_step(&docs);
        }
        // The erasure: storage replaces the document (a tombstone is left),
        // then this relay is told — or, on another relay, only the database
        // notification arrives.
        sim.store.stored.insert(
            doc,
            StoredDocument {
                erased: true,
                ..StoredDocument::default()
            },
        );
        let here = seed % 2 == 0;
        let input = if here {
            Input::Erased { document_id: doc }
        } else {
            Input::StoredElsewhere { document_id: doc }
        };
        sim.relay(vec![input]);
        for _ in 0..60 {
            sim.random_step(&docs);
        }
        sim.edit(0, doc, "离线时又写了一条");
        sim.edit(1, doc, "另一台平板也写了");
        sim.quiesce();
        sim.request(2, doc);
        sim.quiesce();

        let stored = &sim.store.stored[&doc];
        assert!(
            stored.erased && stored.chunks.is_empty(),
            "seed {seed} (here: {here}): stored again"
        );
        assert_eq!(
            sim.store.writes_to_erased, 0,
            "seed {seed} (here: {here}): the core tried to store it"
        );
        assert!(
            !sim.core.hub().has_document(&doc),
            "seed {seed}: still in memory"
        );
        assert!(
            sim.clients[2].unavailable.contains(&doc),
            "seed {seed} (here: {here}): head office was not told"
        );
        // The other record is untouched.
        let north = sim.clients[1].hub.document(&other).map(|d| d.get_heads());
        assert_eq!(
            north,
            sim.stored_doc(&other).map(|d| d.get_heads()),
            "seed {seed}"
        );
    }
}
