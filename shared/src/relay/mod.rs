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

mod erasure;
mod io;
mod memory;
mod refusals;
mod residency;
mod sessions;
mod waiting;

pub use io::{ChangeAuthor, ChunkWrite, Counters, Input, RecordUpdate, StoredDocument, Task};
pub use memory::{COMPACT_AFTER_CHUNKS, QUEUE_GRACE_MS};
pub use residency::{QUIET_MS, Residency};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use automerge::ActorId;

use crate::access::{Principal, RecordScope};
use crate::authorize::check_changes;
use crate::record::FeedbackRecord;
use crate::sync::{ConnectionId, DocumentId, Effect, Message, Refusal, SharePolicy, SyncHub};
use memory::ChunkSpan;
use waiting::Waiting;

pub use refusals::{MAX_REFUSALS, MAX_USER_REFUSALS, USER_BLOCK_MS, USER_WINDOW_MS};

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

/// Assigned records offered to a user's connection when it joins, at most.
pub const MAX_ASSIGNED_OFFERED: usize = 200;

/// The relay's state; see the module docs.
pub struct RelayCore {
    hub: SyncHub,
    principals: HashMap<ConnectionId, Principal>,
    /// Refused changes per connection and per user.
    refusals: refusals::Refusals,
    /// The login each connection was opened with.
    sessions: HashMap<ConnectionId, String>,
    /// Team and assignee of each document in memory or followed.
    scopes: HashMap<DocumentId, Scope>,
    /// The user each actor of a document in memory belongs to: a change by
    /// an actor bound to someone else is refused, so nobody can take
    /// another user's next sequence number and lock their device out.
    actors: HashMap<DocumentId, HashMap<ActorId, i64>>,
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
    /// Documents erased (re-created under a new id): refused for ever.
    erased: HashSet<DocumentId>,
    /// Open records assigned to a connection's user, offered once it joins.
    assigned: HashMap<ConnectionId, Vec<DocumentId>>,
    /// Each record in memory as its read-model rows stand, so a commit
    /// writes only what changed.
    projected: HashMap<DocumentId, Arc<FeedbackRecord>>,
    /// Which stored chunks make up each document in memory, when this relay
    /// knows all of them (it loaded or wrote each).
    spans: HashMap<DocumentId, ChunkSpan>,
    /// Since when each document kept past its budget has held changes
    /// waiting for a dependency.
    queued_since: HashMap<DocumentId, u64>,
    /// Other relays write to the same storage: neither the read-model rows
    /// nor the stored chunks of a document are assumed to be this relay's.
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
            refusals: refusals::Refusals::default(),
            sessions: HashMap::new(),
            scopes: HashMap::new(),
            actors: HashMap::new(),
            residency: Residency::new(budget, idle_ms),
            phase: Phase::Idle,
            inputs: Vec::new(),
            loading: HashSet::new(),
            pending: Vec::new(),
            held: Vec::new(),
            orphans: HashSet::new(),
            waiting: Waiting::default(),
            erased: HashSet::new(),
            assigned: HashMap::new(),
            projected: HashMap::new(),
            queued_since: HashMap::new(),
            spans: HashMap::new(),
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
                // A peer joining gets its assigned records: read them now.
                Input::Frame {
                    conn,
                    message: Ok(Message::Join { .. }),
                } => ids.extend(
                    self.assigned
                        .get(conn)
                        .into_iter()
                        .flatten()
                        .filter(|id| !self.hub.has_document(id)),
                ),
                Input::Frame { message: Ok(m), .. } => ids.extend(
                    m.document_id()
                        .filter(|id| !self.hub.has_document(id) && !self.is_erased(id)),
                ),
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

    /// The answer to [`Task::Commit`]: storage's id of each written chunk,
    /// in the order of the writes.
    pub fn committed(&mut self, result: Result<Vec<i64>, String>) -> Vec<Task> {
        debug_assert_eq!(self.phase, Phase::Committing);
        let writes = std::mem::take(&mut self.pending);
        let held = std::mem::take(&mut self.held);
        let mut out = Vec::new();
        let ids = result.unwrap_or_default();
        if ids.len() != writes.len() {
            self.counters.commits_failed += 1;
            // The changes exist only in memory: drop those documents and
            // every connection, so clients resend what was not stored.
            for w in &writes {
                self.drop_unsaved(&w.id);
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
            out.extend(self.finish());
            return out;
        }
        for (w, chunk_id) in writes.iter().zip(ids) {
            self.spans
                .entry(w.id)
                .and_modify(|s| s.add(chunk_id))
                .or_insert(ChunkSpan::one(chunk_id));
        }
        self.counters.writes_committed += writes.len() as u64;
        out.extend(held);
        let mut stored: Vec<DocumentId> = writes.iter().map(|w| w.id).collect();
        stored.dedup();
        self.phase = Phase::Idle;
        for id in stored {
            let owner = self.projected.get(&id).and_then(|r| r.owner.clone());
            let was = self.scopes.get(&id).and_then(|s| s.owner.clone());
            self.set_owner(id, owner.clone());
            // Newly assigned: the assignee's open connections get it.
            if let Some(new) = owner.filter(|o| Some(o) != was.as_ref()) {
                let followers = self.hub.followers(&id);
                let theirs: Vec<ConnectionId> = self
                    .principals
                    .iter()
                    .filter(|(c, p)| {
                        p.username == new && p.receives_assigned_work() && !followers.contains(c)
                    })
                    .map(|(c, _)| *c)
                    .collect();
                for conn in theirs {
                    self.offer_if_allowed(id, conn, &mut out);
                }
            }
            // Peers that asked for it before it existed get it now.
            out.extend(self.deliver_waiting(id));
        }
        out.extend(self.finish());
        out
    }

    /// Evicts idle and over-budget documents; for a quiet relay between
    /// batches. Returns compactions of documents that leave.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Task> {
        if self.phase != Phase::Idle {
            return Vec::new();
        }
        self.now_ms = now_ms;
        self.finish()
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
                Input::Connect {
                    conn,
                    principal,
                    session,
                    mut assigned,
                } => {
                    if principal.receives_assigned_work() {
                        assigned.truncate(MAX_ASSIGNED_OFFERED);
                        self.assigned.insert(conn, assigned);
                    }
                    if self.refusals.blocked(principal.user_id, self.now_ms) {
                        self.deliver(
                            Task::Close {
                                conn,
                                reason: "too many refused changes; try again later".into(),
                            },
                            &mut out,
                        );
                        continue;
                    }
                    self.principals.insert(conn, principal);
                    self.sessions.insert(conn, session);
                    let fx = self.hub.connect(conn, false);
                    self.emit(fx, &mut out);
                }
                Input::Disconnect { conn } => self.forget_connection(conn),
                Input::Frame { conn, message } => self.frame(conn, message, &failed, &mut out),
                Input::SessionsEnded { sessions, reason } => {
                    self.end_sessions(&sessions, &reason, &mut out)
                }
                Input::Erased { document_id } => self.erase(document_id, &mut out),
                Input::StoredElsewhere { .. } | Input::RefreshAll => {}
            }
        }
        if self.pending.is_empty() {
            self.phase = Phase::Idle;
            out.extend(self.finish());
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
            if self.is_erased(&id)
                || !principal.may_access(self.scopes.get(&id).map(Scope::as_record_scope))
            {
                self.unavailable(conn, id, msg.sender_id().to_string(), out);
                return;
            }
            if matches!(msg, Message::Request { .. }) && !self.hub.has_document(&id) {
                // Not here yet: answered "unavailable" below, and delivered
                // if it arrives while the asker is still connected.
                self.waiting.add(id, conn, self.now_ms);
            }
        }
        let bound = id.and_then(|id| self.actors.get(&id));
        let fx = match self.principals.get(&conn).cloned() {
            Some(who) => self
                .hub
                .handle_checked(conn, msg, &mut |doc, before, changes| {
                    if let Some(c) = changes.iter().find(|c| {
                        bound
                            .and_then(|b| b.get(c.actor_id()))
                            .is_some_and(|owner| *owner != who.user_id)
                    }) {
                        return Err(Refusal {
                            changes: vec![c.hash()],
                            code: "forged_author".into(),
                            reason: "the change is written under another user's actor id".into(),
                        });
                    }
                    check_changes(&who, doc, before, changes).map_err(|(hash, denied)| Refusal {
                        changes: vec![hash],
                        code: denied.code().into(),
                        reason: denied.to_string(),
                    })
                }),
            None => Vec::new(),
        };
        self.emit_for(fx, Some(conn), out);
        if let Some(id) = id.filter(|id| self.hub.has_document(id)) {
            self.residency.touch(id, self.now_ms);
        }
    }

    /// Runs hub effects; a document they create belongs to the team of the
    /// user on `origin` (looked up only then, not for every frame).
    fn emit_for(
        &mut self,
        effects: Vec<Effect>,
        origin: Option<ConnectionId>,
        out: &mut Vec<Task>,
    ) {
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => self.deliver(Task::Send { conn, frame }, out),
                Effect::Close { conn, reason } => {
                    self.deliver(Task::Close { conn, reason }, out);
                    self.forget_peer(conn);
                }
                Effect::Persist {
                    document_id,
                    chunk,
                    changes,
                } => {
                    let author = origin.and_then(|c| {
                        self.principals.get(&c).map(|p| ChangeAuthor {
                            user_id: p.user_id,
                            username: p.username.clone(),
                            session: self.sessions.get(&c).cloned(),
                        })
                    });
                    if let Some(a) = &author {
                        let bound = self.actors.entry(document_id).or_default();
                        for (_, actor) in &changes {
                            bound.entry(actor.clone()).or_insert(a.user_id);
                        }
                    }
                    // The access rule applies from this moment, before the commit.
                    let principals = &self.principals;
                    let scope = self.scopes.entry(document_id).or_insert_with(|| Scope {
                        team: origin
                            .and_then(|c| principals.get(&c))
                            .and_then(|p| p.team.clone()),
                        owner: None,
                    });
                    self.pending.push(ChunkWrite {
                        id: document_id,
                        chunk,
                        team: scope.team.clone(),
                        changes,
                        author,
                    });
                }
                Effect::Refused {
                    conn,
                    document_id,
                    refusal,
                } => self.refused(conn, document_id, refusal, out),
                Effect::PeerReady { conn, .. } => {
                    for id in self.assigned.remove(&conn).unwrap_or_default() {
                        self.offer_if_allowed(id, conn, out);
                    }
                }
                Effect::Changed { .. } | Effect::Unavailable { .. } | Effect::Dropped { .. } => {}
            }
        }
    }

    /// Counts a refused change; a connection that keeps sending them is
    /// closed. Either way the IO edge logs who tried what.
    fn refused(
        &mut self,
        conn: ConnectionId,
        document_id: DocumentId,
        refusal: Refusal,
        out: &mut Vec<Task>,
    ) {
        let Some((user_id, user)) = self
            .principals
            .get(&conn)
            .map(|p| (p.user_id, p.username.clone()))
        else {
            return;
        };
        let verdict = self
            .refusals
            .record(conn, user_id, &refusal.changes, self.now_ms);
        if verdict.fresh == 0 {
            return;
        }
        self.counters.changes_refused += verdict.fresh as u64;
        out.push(Task::Refused {
            conn,
            user,
            document_id,
            code: refusal.code,
            reason: refusal.reason,
        });
        let closing: Vec<ConnectionId> = if verdict.block_user {
            self.principals
                .iter()
                .filter(|(_, p)| p.user_id == user_id)
                .map(|(c, _)| *c)
                .collect()
        } else if verdict.close {
            vec![conn]
        } else {
            Vec::new()
        };
        for c in closing {
            self.deliver(
                Task::Close {
                    conn: c,
                    reason: "too many refused changes".into(),
                },
                out,
            );
            self.forget_connection(c);
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

    /// Starts sending a document in memory to a connection that did not
    /// ask for it (its assigned work), if its user may see it.
    fn offer_if_allowed(&mut self, id: DocumentId, conn: ConnectionId, out: &mut Vec<Task>) {
        let scope = self.scopes.get(&id).map(Scope::as_record_scope);
        if self.hub.has_document(&id)
            && self
                .principals
                .get(&conn)
                .is_some_and(|p| p.may_access(scope))
        {
            let fx = self.hub.offer(id, conn);
            self.emit(fx, out);
        }
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
        self.assigned.remove(&conn);
        self.refusals.forget_connection(conn);
        self.sessions.remove(&conn);
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
}
