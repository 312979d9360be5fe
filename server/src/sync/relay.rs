//! The relay task: owns the [`SyncHub`] and runs its effects against storage
//! and sockets, one input at a time, so effects happen in the hub's order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use closeloop_shared::access::{Principal, RecordScope};
use closeloop_shared::record::FeedbackRecord;
use closeloop_shared::sync::{ConnectionId, DocumentId, Effect, Message, SharePolicy, SyncHub};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use closeloop_shared::sla::SlaConfig;

use super::Residency;
use crate::metrics::Metrics;
use crate::state::Clock;
use crate::storage::{ChunkWrite, Storage};

mod memory;

/// Frames waiting for one slow socket before the relay gives up on it.
pub(crate) const OUTBOX_FRAMES: usize = 1024;

/// Inputs waiting for the relay task; when full, sockets wait before
/// reading more (backpressure), so a burst queues on the network, not in
/// server memory.
const INPUT_QUEUE: usize = 1024;

/// What the relay tells one socket's writer.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Frame(Vec<u8>),
    Close(String),
}

/// What sockets tell the relay.
pub(crate) enum RelayInput {
    Connect {
        conn: ConnectionId,
        out: mpsc::Sender<Outgoing>,
        principal: Principal,
    },
    /// A frame from a socket, decoded there (or why it does not decode).
    Frame {
        conn: ConnectionId,
        bytes: usize,
        message: Result<Message, String>,
    },
    Disconnect {
        conn: ConnectionId,
    },
    /// Another relay sharing the database stored a change to this document.
    StoredElsewhere {
        document_id: DocumentId,
    },
    /// Notifications may have been missed: re-read every document in memory.
    RefreshAll,
}

/// A cheap handle sockets use to reach the relay task.
#[derive(Clone)]
pub(crate) struct RelayHandle {
    tx: mpsc::Sender<RelayInput>,
    next_conn: Arc<AtomicU64>,
}

impl RelayHandle {
    /// A fresh id for a new socket.
    pub(crate) fn next_conn(&self) -> ConnectionId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Hands an input to the relay; false once the relay has stopped.
    pub(crate) async fn send(&self, input: RelayInput) -> bool {
        self.tx.send(input).await.is_ok()
    }
}

/// What the relay task is built from.
pub(crate) struct RelayParts {
    pub storage: Storage,
    /// How the relay names itself in the protocol.
    pub peer_id: String,
    pub metrics: Arc<Metrics>,
    pub residency: Residency,
    pub clock: Arc<dyn Clock>,
    /// Due times in the projection rows it writes.
    pub sla: Arc<SlaConfig>,
}

/// Starts the relay task; it ends when every handle is dropped and its
/// queue is drained, so in-flight writes finish on shutdown.
pub(crate) fn spawn(parts: RelayParts) -> (RelayHandle, JoinHandle<()>) {
    let RelayParts {
        storage,
        peer_id,
        metrics,
        residency,
        clock,
        sla,
    } = parts;
    let (tx, rx) = mpsc::channel(INPUT_QUEUE);
    let handle = RelayHandle {
        tx,
        next_conn: Arc::new(AtomicU64::new(1)),
    };
    let relay = Relay {
        hub: SyncHub::new(peer_id, SharePolicy::OnRequest),
        outboxes: HashMap::new(),
        principals: HashMap::new(),
        scopes: HashMap::new(),
        storage,
        metrics,
        pending: Vec::new(),
        held: Vec::new(),
        evict_later: Vec::new(),
        residency,
        absent: HashSet::new(),
        clock,
        sla,
    };
    (handle, tokio::spawn(relay.run(rx)))
}

/// Who may reach a document: its team and its current assignee.
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

struct Relay {
    hub: SyncHub,
    outboxes: HashMap<ConnectionId, mpsc::Sender<Outgoing>>,
    /// Who is signed in on each connection.
    principals: HashMap<ConnectionId, Principal>,
    /// Team and assignee of each document in memory, for access checks.
    scopes: HashMap<DocumentId, Scope>,
    storage: Storage,
    metrics: Arc<Metrics>,
    /// Changes received but not yet committed; see [`Relay::flush`].
    pending: Vec<ChunkWrite>,
    /// What the relay would have sent since the first pending change; sent
    /// only after the commit, so nothing acknowledges an unsaved change.
    held: Vec<(ConnectionId, Outgoing)>,
    /// Documents to evict once their pending changes are committed.
    evict_later: Vec<DocumentId>,
    /// Which documents stay in memory.
    residency: Residency,
    /// Documents the current batch names that storage does not have, so
    /// their messages skip a second look.
    absent: HashSet<DocumentId>,
    clock: Arc<dyn Clock>,
    sla: Arc<SlaConfig>,
}

/// How often a quiet relay looks for idle documents to evict.
const IDLE_SWEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Frames handled before their changes are committed together.
const BATCH_FRAMES: usize = 256;

impl Relay {
    /// Handles inputs one at a time; frames that arrive together form a
    /// batch whose changes are committed in one transaction (group commit)
    /// before anything caused by them is sent.
    async fn run(mut self, mut rx: mpsc::Receiver<RelayInput>) {
        let mut batch = Vec::with_capacity(BATCH_FRAMES);
        loop {
            match tokio::time::timeout(IDLE_SWEEP, rx.recv()).await {
                Ok(Some(input)) => batch.push(input),
                Ok(None) => break,
                Err(_) => {
                    self.evict_overdue();
                    continue;
                }
            }
            while batch.len() < BATCH_FRAMES {
                match rx.try_recv() {
                    Ok(input) => batch.push(input),
                    Err(_) => break,
                }
            }
            self.prefetch(&batch).await;
            for input in batch.drain(..) {
                if !matches!(input, RelayInput::Frame { .. }) {
                    // Connection and shared-storage events see committed state.
                    self.flush().await;
                }
                self.handle(input).await;
            }
            self.flush().await;
            self.absent.clear();
            self.evict_overdue();
            Metrics::set(&self.metrics.connections, self.outboxes.len() as u64);
            Metrics::set(
                &self.metrics.documents_in_memory,
                self.hub.document_count() as u64,
            );
        }
        tracing::info!("relay stopped");
    }

    async fn handle(&mut self, input: RelayInput) {
        match input {
            RelayInput::Connect {
                conn,
                out,
                principal,
            } => {
                self.outboxes.insert(conn, out);
                self.principals.insert(conn, principal);
                self.hub.connect(conn, false);
            }
            RelayInput::Disconnect { conn } => self.drop_connection(conn),
            RelayInput::Frame {
                conn,
                bytes,
                message,
            } => {
                Metrics::add(&self.metrics.frames_in, 1);
                Metrics::add(&self.metrics.bytes_in, bytes as u64);
                self.frame(conn, message).await;
            }
            RelayInput::StoredElsewhere { document_id } => {
                self.absorb_stored(document_id).await;
            }
            RelayInput::RefreshAll => {
                let ids: Vec<DocumentId> = (self.hub.documents().map(|(id, _)| id))
                    .chain(self.hub.dormant_documents())
                    .copied()
                    .collect();
                for id in ids {
                    self.absorb_stored(id).await;
                }
            }
        }
    }

    /// Forgets a connection and evicts the documents nobody follows any more:
    /// memory grows with what is in use, not with everything ever synced.
    /// Safe, because nothing in memory is unsaved.
    fn drop_connection(&mut self, conn: ConnectionId) {
        self.outboxes.remove(&conn);
        self.principals.remove(&conn);
        self.forget_peer(conn);
    }

    /// Drops the connection's sync state (its outbox stays until the socket
    /// has sent what is queued) and evicts documents nobody else follows.
    fn forget_peer(&mut self, conn: ConnectionId) {
        for id in self.hub.disconnect(conn) {
            self.evict(&id);
        }
    }

    async fn frame(&mut self, conn: ConnectionId, message: Result<Message, String>) {
        let msg = match message {
            Ok(m) => m,
            Err(e) => {
                tracing::info!(conn, error = %e, "rejected a malformed frame");
                Metrics::add(&self.metrics.frames_rejected, 1);
                let fx = self.hub.refuse(conn, &e);
                return self.execute(fx).await;
            }
        };
        if let Some(id) = msg.document_id() {
            if let Err(reason) = self.ensure_loaded(id).await {
                return self.execute(vec![Effect::Close { conn, reason }]).await;
            }
            // Checked on every message, not just at connect: a tablet learns
            // nothing about a record it may not see, not even that it exists.
            let allowed = self
                .principals
                .get(&conn)
                .is_some_and(|p| p.may_access(self.scopes.get(&id).map(Scope::as_record_scope)));
            if !allowed {
                let refusal = Message::DocUnavailable {
                    sender_id: self.hub.peer_id().to_string(),
                    target_id: msg.sender_id().to_string(),
                    document_id: id,
                };
                return self.deliver(conn, Outgoing::Frame(refusal.encode()));
            }
        }
        let id = msg.document_id();
        let fx = self.hub.handle(conn, msg);
        self.execute_for(conn, fx).await;
        // Only documents actually in memory count against the budget, so
        // requests for unknown ids cannot push real ones out.
        if let Some(id) = id.filter(|id| self.hub.has_document(id)) {
            self.residency.touch(id, std::time::Instant::now());
        }
    }

    async fn execute(&mut self, effects: Vec<Effect>) {
        self.execute_for(0, effects).await;
    }

    /// Runs effects caused by a message from `origin`; a document it creates
    /// belongs to the origin user's team.
    async fn execute_for(&mut self, origin: ConnectionId, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => self.deliver(conn, Outgoing::Frame(frame)),
                Effect::Close { conn, reason } => {
                    self.deliver(conn, Outgoing::Close(reason));
                    self.forget_peer(conn);
                }
                Effect::Persist { document_id, chunk } => {
                    let team = match self.scopes.get(&document_id) {
                        Some(existing) => existing.team.clone(),
                        None => self.principals.get(&origin).and_then(|p| p.team.clone()),
                    };
                    // The access rule applies from this moment, before the commit.
                    let owner = self.scopes.get(&document_id).and_then(|s| s.owner.clone());
                    self.scopes.insert(
                        document_id,
                        Scope {
                            team: team.clone(),
                            owner,
                        },
                    );
                    self.pending.push(ChunkWrite {
                        id: document_id,
                        chunk,
                        team,
                    });
                }
                Effect::Changed { document_id } => {
                    tracing::debug!(%document_id, "document changed")
                }
                Effect::PeerReady { conn, peer_id } => {
                    tracing::debug!(conn, %peer_id, "peer joined")
                }
                Effect::Unavailable { .. } => {}
            }
        }
    }

    /// Commits the pending changes and their projection rows in one
    /// transaction, then sends what was held back. On failure nothing held is
    /// sent: the documents leave memory and every peer reconnects and resends.
    async fn flush(&mut self) {
        if self.pending.is_empty() {
            for (conn, out) in std::mem::take(&mut self.held) {
                self.deliver(conn, out);
            }
            return;
        }
        let writes = std::mem::take(&mut self.pending);
        let mut records = Vec::new();
        for w in &writes {
            if records.iter().any(|(id, _)| *id == w.id) {
                continue;
            }
            // Documents that are not records (other automerge-repo data) get no rows.
            if let Some(r) = self
                .hub
                .document(&w.id)
                .and_then(|d| FeedbackRecord::from_doc(d).ok())
            {
                records.push((w.id, r));
            }
        }
        let started = std::time::Instant::now();
        let written = self
            .storage
            .append_batch(&writes, &records, self.clock.now_ms(), &self.sla)
            .await;
        Metrics::add(
            &self.metrics.storage_write_micros,
            started.elapsed().as_micros() as u64,
        );
        let held = std::mem::take(&mut self.held);
        let later = std::mem::take(&mut self.evict_later);
        if let Err(e) = written {
            tracing::error!(error = %e, changes = writes.len(), "persisting changes failed");
            Metrics::add(&self.metrics.storage_failures, 1);
            for w in &writes {
                self.evict(&w.id);
            }
            let conns: Vec<ConnectionId> = self.outboxes.keys().copied().collect();
            for conn in conns {
                self.deliver(conn, Outgoing::Close("storage unavailable".into()));
                self.forget_peer(conn);
            }
            return;
        }
        Metrics::add(&self.metrics.storage_writes, writes.len() as u64);
        for (id, r) in records {
            self.set_owner(id, r.owner);
        }
        for (conn, out) in held {
            self.deliver(conn, out);
        }
        for id in later {
            if !self.hub.is_followed(&id) {
                self.evict(&id);
            }
        }
    }

    /// Records a document's current assignee, whether the change was
    /// committed here or by another relay; on a reassignment, followers who
    /// may no longer see the record stop receiving it (they are refused if
    /// they ask again).
    pub(super) fn set_owner(&mut self, id: DocumentId, owner: Option<String>) {
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
            tracing::info!(conn, %id, "access withdrawn after reassignment");
            self.hub.unfollow(&id, conn);
        }
    }

    fn deliver(&mut self, conn: ConnectionId, out: Outgoing) {
        if !self.pending.is_empty() {
            self.held.push((conn, out));
            return;
        }
        let Some(outbox) = self.outboxes.get(&conn) else {
            return;
        };
        if outbox.try_send(out).is_err() {
            tracing::warn!(conn, "socket too slow or gone; disconnecting it");
            self.drop_connection(conn);
        } else {
            Metrics::add(&self.metrics.frames_out, 1);
        }
    }
}
