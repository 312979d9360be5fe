//! The relay's rules as a sans-IO state machine, in the manner of
//! [`SyncHub`]: who may reach which document, replies held until their
//! changes are durable, which documents stay in memory, followers withdrawn
//! when a record is reassigned, and requests for documents that do not
//! exist yet. Inputs and IO results go in, [`Task`]s come out; the server's
//! relay task only executes tasks and feeds their results back, and the
//! deterministic simulator (`shared/tests/relay_simulation.rs`) drives the
//! same code with seeded interleavings and failures.
//!
//! A batch of inputs runs in three steps:
//! 1. [`RelayCore::batch`] asks to [`Task::Load`] every stored document the
//!    batch names that is not in memory (and those another relay changed).
//! 2. [`RelayCore::loaded`] handles the inputs in order. Frames caused by an
//!    unsaved change are held; the step ends with one [`Task::Commit`].
//! 3. [`RelayCore::committed`] releases what was held, or on failure sends
//!    nothing that depended on the lost changes and closes every connection.
//!
//! Documents only leave memory between batches, so a document loaded for a
//! batch stays for all of it.

mod residency;
mod waiting;

pub use residency::{QUIET_MS, Residency};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::access::{Principal, RecordScope};
use crate::record::FeedbackRecord;
use crate::sync::{ConnectionId, DocumentId, Effect, Message, SharePolicy, SyncHub};
use waiting::Waiting;

/// A document as storage returns it: its chunks in write order and what
/// decides who may reach it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredDocument {
    pub chunks: Vec<Vec<u8>>,
    /// Storage's id of each chunk, in the same order (ascending).
    pub chunk_ids: Vec<i64>,
    /// The team of the field user who created it; `None` if head office did.
    pub team: Option<String>,
    /// Who it is assigned to, from the projection.
    pub owner: Option<String>,
}

/// One chunk to store: a document's new changes, and the team a new
/// document belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkWrite {
    pub id: DocumentId,
    pub chunk: Vec<u8>,
    pub team: Option<String>,
}

/// How long a document holding changes that wait for a dependency stays in
/// memory past its budget; after that it leaves and its followers resync.
pub const QUEUE_GRACE_MS: u64 = 30_000;

/// A document loaded from more chunks than this is compacted into one.
pub const COMPACT_AFTER_CHUNKS: usize = 64;

/// A record whose read-model rows a commit brings up to date.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordUpdate {
    pub id: DocumentId,
    /// The record as its rows stand, when known: only what differs is
    /// written. `None` replaces every row.
    pub before: Option<Arc<FeedbackRecord>>,
    pub after: Arc<FeedbackRecord>,
}

/// What happens to the relay.
#[derive(Debug, Clone)]
pub enum Input {
    /// A signed-in socket opened.
    Connect {
        conn: ConnectionId,
        principal: Principal,
    },
    /// A frame from a socket, decoded there (or why it does not decode).
    Frame {
        conn: ConnectionId,
        message: Result<Message, String>,
    },
    /// A socket closed, or was too slow to keep.
    Disconnect { conn: ConnectionId },
    /// Another relay sharing the database stored a change to this document.
    StoredElsewhere { document_id: DocumentId },
    /// Notifications may have been missed: re-read every document held.
    RefreshAll,
}

/// What the IO edge must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// Read these documents; answer with [`RelayCore::loaded`].
    Load(Vec<DocumentId>),
    /// Store the chunks and replace the projection rows of the records, in
    /// one transaction; answer with [`RelayCore::committed`].
    Commit {
        writes: Vec<ChunkWrite>,
        records: Vec<RecordUpdate>,
    },
    /// Replace the document's chunks `first..=last` (as read by the load
    /// that preceded this task) with one full save. Chunks stored after that
    /// read have higher ids and stay. Nothing is fed back: a failed
    /// compaction leaves the chunks as they were.
    Compact {
        id: DocumentId,
        first: i64,
        last: i64,
        save: Vec<u8>,
    },
    /// Write one frame to the connection.
    Send { conn: ConnectionId, frame: Vec<u8> },
    /// Close the connection after what was sent before.
    Close { conn: ConnectionId, reason: String },
}

/// Counts for `/metrics`, kept by the core, read by the IO edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub frames_in: u64,
    pub frames_rejected: u64,
    pub documents_loaded: u64,
    pub documents_evicted: u64,
    pub writes_committed: u64,
    pub commits_failed: u64,
    /// Stored documents that did not load (damage or a bug).
    pub damaged_documents: u64,
    /// Loads that replaced many chunks with one save.
    pub documents_compacted: u64,
}

/// Who may reach a document: its team and its current assignee.
#[derive(Debug, Clone, Default)]
struct Scope {
    team: Option<String>,
    owner: Option<String>,
}

impl Scope {
    fn as_record_scope(&self) -> RecordScope<'_> {
        RecordScope {
            team: self.team.as_deref(),
            owner: self.owner.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Loading,
    Committing,
}

/// The relay's state; see the module docs.
pub struct RelayCore {
    hub: SyncHub,
    principals: HashMap<ConnectionId, Principal>,
    /// Team and assignee of each document in memory or followed.
    scopes: HashMap<DocumentId, Scope>,
    residency: Residency,
    phase: Phase,
    /// The inputs of the batch in progress.
    inputs: Vec<Input>,
    /// Documents asked to load for this batch.
    loading: HashSet<DocumentId>,
    /// Changes of this batch, not yet committed.
    pending: Vec<ChunkWrite>,
    /// Frames caused by this batch since its first change: sent only after
    /// the commit, so nothing acknowledges an unsaved change.
    held: Vec<Task>,
    /// Documents whose last follower left during the batch.
    orphans: HashSet<DocumentId>,
    /// Requests for documents that did not exist yet.
    waiting: Waiting,
    /// Each record in memory as its read-model rows stand, so a commit
    /// writes only what changed.
    projected: HashMap<DocumentId, Arc<FeedbackRecord>>,
    /// Since when each document kept past its budget has held changes
    /// waiting for a dependency.
    queued_since: HashMap<DocumentId, u64>,
    /// Other relays write to the same storage: rows read back with a
    /// document may be older than the document, so they are not assumed.
    shared_storage: bool,
    now_ms: u64,
    pub counters: Counters,
}

impl RelayCore {
    /// A relay calling itself `peer_id`, keeping at most `budget` documents
    /// in memory and none idle longer than `idle_ms`.
    pub fn new(peer_id: String, budget: usize, idle_ms: u64) -> Self {
        Self {
            hub: SyncHub::new(peer_id, SharePolicy::OnRequest),
            principals: HashMap::new(),
            scopes: HashMap::new(),
            residency: Residency::new(budget, idle_ms),
            phase: Phase::Idle,
            inputs: Vec::new(),
            loading: HashSet::new(),
            pending: Vec::new(),
            held: Vec::new(),
            orphans: HashSet::new(),
            waiting: Waiting::default(),
            projected: HashMap::new(),
            queued_since: HashMap::new(),
            shared_storage: false,
            now_ms: 0,
            counters: Counters::default(),
        }
    }

    /// Storage is shared with other relays (PostgreSQL).
    pub fn with_shared_storage(mut self, shared: bool) -> Self {
        self.shared_storage = shared;
        self
    }

    /// The sync state machine, for inspection.
    pub fn hub(&self) -> &SyncHub {
        &self.hub
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.principals.len()
    }

    /// Starts a batch of inputs that arrived together. Only between batches
    /// (after the previous one returned no `Load` or `Commit` left to answer).
    pub fn batch(&mut self, inputs: Vec<Input>, now_ms: u64) -> Vec<Task> {
        debug_assert_eq!(self.phase, Phase::Idle, "a batch is already running");
        self.now_ms = now_ms;
        let mut ids = Vec::new();
        for input in &inputs {
            match input {
                Input::Frame { message: Ok(m), .. } => {
                    ids.extend(m.document_id().filter(|id| !self.hub.has_document(id)))
                }
                // Held or followed: read what the other relay stored.
                Input::StoredElsewhere { document_id } => {
                    let id = *document_id;
                    if self.hub.has_document(&id)
                        || self.hub.is_followed(&id)
                        || self.waiting.contains(&id)
                    {
                        ids.push(id);
                    }
                }
                Input::RefreshAll => ids.extend(
                    self.hub
                        .documents()
                        .map(|(id, _)| *id)
                        .chain(self.hub.dormant_documents().copied())
                        .chain(self.waiting.documents()),
                ),
                _ => {}
            }
        }
        ids.sort_unstable();
        ids.dedup();
        self.inputs = inputs;
        if ids.is_empty() {
            return self.run(HashMap::new(), false);
        }
        self.phase = Phase::Loading;
        self.loading = ids.iter().copied().collect();
        vec![Task::Load(ids)]
    }

    /// The answer to [`Task::Load`]: documents storage lacks are simply
    /// missing from the map. On failure, messages about those documents
    /// close their connections ("try again") and nothing else changes.
    pub fn loaded(
        &mut self,
        result: Result<HashMap<DocumentId, StoredDocument>, String>,
    ) -> Vec<Task> {
        debug_assert_eq!(self.phase, Phase::Loading);
        match result {
            Ok(found) => self.run(found, false),
            Err(_) => self.run(HashMap::new(), true),
        }
    }

    /// The answer to [`Task::Commit`].
    pub fn committed(&mut self, result: Result<(), String>) -> Vec<Task> {
        debug_assert_eq!(self.phase, Phase::Committing);
        let writes = std::mem::take(&mut self.pending);
        let held = std::mem::take(&mut self.held);
        let mut out = Vec::new();
        if result.is_err() {
            self.counters.commits_failed += 1;
            // The changes exist only in memory: drop those documents and
            // every connection, so clients resend what was not stored.
            for w in &writes {
                self.evict(&w.id);
            }
            let conns: Vec<ConnectionId> = self.principals.keys().copied().collect();
            for conn in conns {
                out.push(Task::Close {
                    conn,
                    reason: "storage unavailable".into(),
                });
                self.forget_connection(conn);
            }
            self.phase = Phase::Idle;
            self.finish();
            return out;
        }
        self.counters.writes_committed += writes.len() as u64;
        out.extend(held);
        let mut stored: Vec<DocumentId> = writes.iter().map(|w| w.id).collect();
        stored.dedup();
        self.phase = Phase::Idle;
        for id in stored {
            let owner = self.projected.get(&id).and_then(|r| r.owner.clone());
            self.set_owner(id, owner);
            // Peers that asked for it before it existed get it now.
            out.extend(self.deliver_waiting(id));
        }
        self.finish();
        out
    }

    /// Evicts idle and over-budget documents; for a quiet relay between batches.
    pub fn tick(&mut self, now_ms: u64) {
        if self.phase == Phase::Idle {
            self.now_ms = now_ms;
            self.finish();
        }
    }

    fn run(&mut self, found: HashMap<DocumentId, StoredDocument>, load_failed: bool) -> Vec<Task> {
        let mut out = Vec::new();
        let mut found = found;
        let mut failed = if load_failed {
            std::mem::take(&mut self.loading)
        } else {
            self.loading.clear();
            HashSet::new()
        };
        // Documents read for this batch: news for those in memory, a load
        // for the others.
        let mut ids: Vec<DocumentId> = found.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(stored) = found.remove(&id)
                && !self.take_stored(id, stored, &mut out)
            {
                failed.insert(id);
            }
        }
        for input in std::mem::take(&mut self.inputs) {
            match input {
                Input::Connect { conn, principal } => {
                    self.principals.insert(conn, principal);
                    let fx = self.hub.connect(conn, false);
                    self.emit(fx, &mut out);
                }
                Input::Disconnect { conn } => self.forget_connection(conn),
                Input::Frame { conn, message } => self.frame(conn, message, &failed, &mut out),
                Input::StoredElsewhere { .. } | Input::RefreshAll => {}
            }
        }
        if self.pending.is_empty() {
            self.phase = Phase::Idle;
            self.finish();
            return out;
        }
        self.phase = Phase::Committing;
        let mut records: Vec<RecordUpdate> = Vec::new();
        for w in &self.pending {
            if records.iter().any(|u| u.id == w.id) {
                continue;
            }
            // Documents that are not records (other automerge-repo data) get no rows.
            if let Some(r) = self
                .hub
                .document(&w.id)
                .and_then(|d| FeedbackRecord::from_doc(d).ok())
            {
                let after = Arc::new(r);
                let before = self.projected.insert(w.id, after.clone());
                records.push(RecordUpdate {
                    id: w.id,
                    before,
                    after,
                });
            }
        }
        out.push(Task::Commit {
            writes: self.pending.clone(),
            records,
        });
        out
    }

    /// A document read from storage: installed if not in memory, or its
    /// news absorbed (stored by another relay) if it is.
    /// False for a stored document that does not load: its messages are
    /// refused, never allowed to start a new document over it.
    fn take_stored(&mut self, id: DocumentId, stored: StoredDocument, out: &mut Vec<Task>) -> bool {
        if self.hub.has_document(&id) {
            match self.hub.absorb(id, stored.chunks.iter().map(Vec::as_slice)) {
                Ok(fx) => {
                    // Another relay wrote this record's rows from its copy.
                    self.projected.remove(&id);
                    self.scopes.entry(id).or_insert(Scope {
                        team: stored.team,
                        owner: None,
                    });
                    self.set_owner(id, stored.owner);
                    self.emit(fx, out);
                }
                Err(_) => self.counters.damaged_documents += 1,
            }
            return true;
        }
        let Ok(doc) = crate::sync::load_document(stored.chunks.iter().map(Vec::as_slice)) else {
            self.counters.damaged_documents += 1;
            return false;
        };
        self.counters.documents_loaded += 1;
        if let (true, Some(&first), Some(&last)) = (
            stored.chunks.len() > COMPACT_AFTER_CHUNKS,
            stored.chunk_ids.first(),
            stored.chunk_ids.last(),
        ) {
            // Loading read every chunk ever written; next time it reads one.
            out.push(Task::Compact {
                id,
                first,
                last,
                save: doc.save(),
            });
            self.counters.documents_compacted += 1;
        }
        if !self.shared_storage
            && let Ok(r) = FeedbackRecord::from_doc(&doc)
        {
            // Its rows were written with its last change, from this document.
            self.projected.insert(id, Arc::new(r));
        }
        self.residency.touch(id, self.now_ms);
        self.scopes.insert(
            id,
            Scope {
                team: stored.team,
                owner: stored.owner,
            },
        );
        // Followers kept while it was out of memory may have lost access
        // since (reassigned by another relay): check before offering.
        self.withdraw_followers(id);
        let fx = self.hub.add_document(id, doc);
        self.emit(fx, out);
        out.extend(self.deliver_waiting(id));
        true
    }

    fn frame(
        &mut self,
        conn: ConnectionId,
        message: Result<Message, String>,
        unreadable: &HashSet<DocumentId>,
        out: &mut Vec<Task>,
    ) {
        self.counters.frames_in += 1;
        let msg = match message {
            Ok(m) => m,
            Err(e) => {
                self.counters.frames_rejected += 1;
                let fx = self.hub.refuse(conn, &e);
                self.emit(fx, out);
                return;
            }
        };
        let id = msg.document_id();
        if let Some(id) = id {
            if unreadable.contains(&id) {
                self.deliver(
                    Task::Close {
                        conn,
                        reason: "the document could not be read from storage, try again".into(),
                    },
                    out,
                );
                self.forget_connection(conn);
                return;
            }
            // Checked on every message, not just at connect: a tablet learns
            // nothing about a record it may not see, not even that it exists.
            let Some(principal) = self.principals.get(&conn) else {
                return;
            };
            if !principal.may_access(self.scopes.get(&id).map(Scope::as_record_scope)) {
                let refusal = Message::DocUnavailable {
                    sender_id: self.hub.peer_id().to_string(),
                    target_id: msg.sender_id().to_string(),
                    document_id: id,
                };
                self.deliver(
                    Task::Send {
                        conn,
                        frame: refusal.encode(),
                    },
                    out,
                );
                return;
            }
            if matches!(msg, Message::Request { .. }) && !self.hub.has_document(&id) {
                // Not here yet: answered "unavailable" below, and delivered
                // if it arrives while the asker is still connected.
                self.waiting.add(id, conn, self.now_ms);
            }
        }
        let team = self.principals.get(&conn).and_then(|p| p.team.clone());
        let fx = self.hub.handle(conn, msg);
        self.emit_for(fx, team, out);
        if let Some(id) = id.filter(|id| self.hub.has_document(id)) {
            self.residency.touch(id, self.now_ms);
        }
    }

    /// Runs hub effects; a document they create belongs to `team`.
    fn emit_for(&mut self, effects: Vec<Effect>, team: Option<String>, out: &mut Vec<Task>) {
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => self.deliver(Task::Send { conn, frame }, out),
                Effect::Close { conn, reason } => {
                    self.deliver(Task::Close { conn, reason }, out);
                    self.forget_peer(conn);
                }
                Effect::Persist { document_id, chunk } => {
                    // The access rule applies from this moment, before the commit.
                    let scope = self.scopes.entry(document_id).or_insert_with(|| Scope {
                        team: team.clone(),
                        owner: None,
                    });
                    self.pending.push(ChunkWrite {
                        id: document_id,
                        chunk,
                        team: scope.team.clone(),
                    });
                }
                Effect::Changed { .. } | Effect::PeerReady { .. } | Effect::Unavailable { .. } => {}
            }
        }
    }

    fn emit(&mut self, effects: Vec<Effect>, out: &mut Vec<Task>) {
        self.emit_for(effects, None, out);
    }

    /// Sends now, or holds until the commit if this batch changed anything.
    fn deliver(&mut self, task: Task, out: &mut Vec<Task>) {
        if self.pending.is_empty() {
            out.push(task);
        } else {
            self.held.push(task);
        }
    }

    /// Offers a newly stored or loaded document to the connections that
    /// asked for it before it existed and may see it.
    fn deliver_waiting(&mut self, id: DocumentId) -> Vec<Task> {
        let mut out = Vec::new();
        if !self.hub.has_document(&id) {
            return out;
        }
        for conn in self.waiting.take(&id, self.now_ms) {
            let scope = self.scopes.get(&id).map(Scope::as_record_scope);
            if self
                .principals
                .get(&conn)
                .is_some_and(|p| p.may_access(scope))
            {
                let fx = self.hub.offer(id, conn);
                self.emit(fx, &mut out);
            }
        }
        out
    }

    /// Records a document's current assignee; on a reassignment, followers
    /// who may no longer see the record stop receiving it.
    fn set_owner(&mut self, id: DocumentId, owner: Option<String>) {
        let Some(scope) = self.scopes.get_mut(&id) else {
            return;
        };
        if scope.owner == owner {
            return;
        }
        scope.owner = owner;
        self.withdraw_followers(id);
    }

    fn withdraw_followers(&mut self, id: DocumentId) {
        let scope = self.scopes.get(&id).map(Scope::as_record_scope);
        let lost: Vec<ConnectionId> = self
            .hub
            .followers(&id)
            .into_iter()
            .filter(|conn| {
                !self
                    .principals
                    .get(conn)
                    .is_some_and(|p| p.may_access(scope))
            })
            .collect();
        for conn in lost {
            self.hub.unfollow(&id, conn);
        }
    }

    /// Forgets a connection entirely.
    fn forget_connection(&mut self, conn: ConnectionId) {
        self.principals.remove(&conn);
        self.waiting.forget_connection(conn);
        self.forget_peer(conn);
    }

    /// Drops the connection's sync states; documents nobody else follows
    /// leave memory at the end of the batch.
    fn forget_peer(&mut self, conn: ConnectionId) {
        for id in self.hub.disconnect(conn) {
            self.orphans.insert(id);
        }
    }

    /// Between batches: unfollowed documents and those over budget or idle
    /// leave memory (followers keep their sync states), expired requests go.
    fn finish(&mut self) {
        for id in std::mem::take(&mut self.orphans) {
            if !self.hub.is_followed(&id) {
                self.evict(&id);
            }
        }
        for id in self.residency.overdue(self.now_ms) {
            // Changes waiting for a dependency would leave with the document
            // and the peer would have to resend everything: keep it while
            // the missing change is on its way, within a grace period.
            if self.hub.has_queued_changes(&id) {
                let since = *self.queued_since.entry(id).or_insert(self.now_ms);
                if self.now_ms.saturating_sub(since) < QUEUE_GRACE_MS {
                    self.residency.touch(id, self.now_ms);
                    continue;
                }
            }
            self.evict(&id);
        }
        self.waiting.expire(self.now_ms);
    }

    /// Drops a document from memory. Between batches nothing in memory is
    /// unsaved, so followers keep their sync states and it reloads from
    /// storage; after a failed commit its connections are closed as well.
    fn evict(&mut self, id: &DocumentId) {
        self.residency.forget(id);
        self.queued_since.remove(id);
        self.projected.remove(id);
        self.scopes.remove(id);
        if self.hub.has_document(id) {
            self.hub.evict(id);
            self.counters.documents_evicted += 1;
        }
    }
}
