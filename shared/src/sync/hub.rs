//! The sync state machine shared by the browser client and the relay.
//!
//! Work per message is proportional to the one document it names and the
//! connections subscribed to that document: nothing here loops over every
//! document or every connection on a sync message.

use std::collections::{HashMap, HashSet};

use automerge::sync::{self, SyncDoc};
use automerge::{Automerge, ChangeHash, ReadDoc};

use super::applicable;
use super::message::{Message, PROTOCOL_VERSION};
use super::payload::{self, Limits};
use super::refusal::{Refusal, WriteCheck, drop_changes, rollback};
use super::{DocumentId, PeerId};

/// The IO layer's handle for one WebSocket; chosen by the caller, unique per process.
pub type ConnectionId = u64;

/// Which documents this hub offers to a peer without being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharePolicy {
    /// A tablet: every local document goes to the relay.
    AnnounceAll,
    /// The relay: a peer gets only documents it announced or requested,
    /// so no tablet learns of another tablet's records.
    OnRequest,
}

/// What the IO layer must do, in order. A `Persist` comes before the `Send`s
/// that acknowledge its changes: the relay acknowledges nothing it has not
/// made durable.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Write one binary frame to the connection.
    Send { conn: ConnectionId, frame: Vec<u8> },
    /// Close the connection after the frames before this effect.
    Close { conn: ConnectionId, reason: String },
    /// Append an incremental chunk to the document's durable storage.
    Persist {
        document_id: DocumentId,
        chunk: Vec<u8>,
        /// The changes in the chunk and the actor of each, for the record
        /// of who wrote what.
        changes: Vec<(ChangeHash, automerge::ActorId)>,
    },
    /// A document's content changed through a peer: refresh views and read models.
    Changed { document_id: DocumentId },
    /// The handshake finished.
    PeerReady { conn: ConnectionId, peer_id: PeerId },
    /// The peer has no such document, or may not share it.
    Unavailable { document_id: DocumentId },
    /// Relay side: changes `conn` sent were refused, rolled back before
    /// anything was stored or forwarded, and the sender told.
    Refused {
        conn: ConnectionId,
        document_id: DocumentId,
        refusal: Refusal,
    },
    /// Client side: the relay refused changes, so this copy dropped them
    /// (and what depended on them). Store `save` in place of the document's
    /// chunks; `removed` are the dropped changes, kept as "not accepted".
    Dropped {
        document_id: DocumentId,
        save: Vec<u8>,
        removed: Vec<Vec<u8>>,
        code: String,
        reason: String,
    },
}

#[derive(Default)]
struct Connection {
    peer_id: Option<PeerId>,
    /// Documents this connection has a sync state in, so a disconnect costs
    /// only that connection's documents.
    docs: HashSet<DocumentId>,
}

struct Entry {
    doc: Automerge,
    peers: HashMap<ConnectionId, sync::State>,
    /// A document we asked for and have not received yet.
    wanted: bool,
}

/// Documents, connections and their per-peer sync state; see the module docs.
pub struct SyncHub {
    me: PeerId,
    policy: SharePolicy,
    /// Boxed: an `Automerge` is kilobytes inline, and the table keeps
    /// about twice its entries' room (7 MiB for 1,000 documents unboxed).
    docs: HashMap<DocumentId, Box<Entry>>,
    /// Sync states of documents evicted while peers still follow them. A
    /// state names only change hashes, so it stays valid for the same
    /// document reloaded from storage: followers keep receiving changes
    /// without a fresh handshake.
    dormant: HashMap<DocumentId, HashMap<ConnectionId, sync::State>>,
    conns: HashMap<ConnectionId, Connection>,
    limits: Limits,
}

impl SyncHub {
    /// A hub that calls itself `me` in every message it sends.
    pub fn new(me: PeerId, policy: SharePolicy) -> Self {
        Self {
            me,
            policy,
            docs: HashMap::new(),
            dormant: HashMap::new(),
            conns: HashMap::new(),
            limits: Limits::default(),
        }
    }

    /// The same hub with other payload limits (tests use small ones).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// This hub's peer id.
    pub fn peer_id(&self) -> &str {
        &self.me
    }

    /// A connection opened; `initiate` is true on the side that sends `join`.
    pub fn connect(&mut self, conn: ConnectionId, initiate: bool) -> Vec<Effect> {
        self.conns.insert(conn, Connection::default());
        if !initiate {
            return Vec::new();
        }
        let join = Message::Join {
            sender_id: self.me.clone(),
            storage_id: None,
            is_ephemeral: false,
            supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
        };
        vec![Effect::Send {
            conn,
            frame: join.encode(),
        }]
    }

    /// A connection closed: forget its sync states. Returns the documents
    /// no connection follows any more, which the relay may evict.
    pub fn disconnect(&mut self, conn: ConnectionId) -> Vec<DocumentId> {
        let Some(c) = self.conns.remove(&conn) else {
            return Vec::new();
        };
        let mut orphaned = Vec::new();
        for id in c.docs {
            if let Some(e) = self.docs.get_mut(&id) {
                e.peers.remove(&conn);
                if e.peers.is_empty() {
                    orphaned.push(id);
                }
            } else if let Some(states) = self.dormant.get_mut(&id) {
                states.remove(&conn);
                if states.is_empty() {
                    self.dormant.remove(&id);
                }
            }
        }
        orphaned
    }

    /// Whether the handshake on `conn` has finished.
    pub fn is_ready(&self, conn: ConnectionId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.peer_id.is_some())
    }

    /// The peer id announced on `conn`, once the handshake is done.
    pub fn remote_peer(&self, conn: ConnectionId) -> Option<&str> {
        self.conns.get(&conn).and_then(|c| c.peer_id.as_deref())
    }

    /// Whether any connection follows the document, in memory or evicted.
    pub fn is_followed(&self, id: &DocumentId) -> bool {
        self.docs.get(id).is_some_and(|e| !e.peers.is_empty()) || self.dormant.contains_key(id)
    }

    /// The connections following a document, in memory or evicted.
    pub fn followers(&self, id: &DocumentId) -> Vec<ConnectionId> {
        match self.docs.get(id) {
            Some(e) => e.peers.keys().copied().collect(),
            None => self
                .dormant
                .get(id)
                .map(|states| states.keys().copied().collect())
                .unwrap_or_default(),
        }
    }

    /// Stops offering a document to one connection (its access was
    /// withdrawn); it gets nothing more about it unless it asks again.
    pub fn unfollow(&mut self, id: &DocumentId, conn: ConnectionId) {
        if let Some(e) = self.docs.get_mut(id) {
            e.peers.remove(&conn);
        }
        if let Some(states) = self.dormant.get_mut(id) {
            states.remove(&conn);
            if states.is_empty() {
                self.dormant.remove(id);
            }
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.docs.remove(id);
        }
    }

    /// Documents evicted from memory that peers still follow: news about
    /// them (from another relay) means loading them again.
    pub fn dormant_documents(&self) -> impl Iterator<Item = &DocumentId> {
        self.dormant.keys()
    }

    /// Whether the document is in memory.
    pub fn has_document(&self, id: &DocumentId) -> bool {
        self.docs.contains_key(id)
    }

    /// A document in memory.
    pub fn document(&self, id: &DocumentId) -> Option<&Automerge> {
        self.docs.get(id).map(|e| &e.doc)
    }

    /// Every document in memory, in no particular order.
    pub fn documents(&self) -> impl Iterator<Item = (&DocumentId, &Automerge)> {
        self.docs.iter().map(|(id, e)| (id, &e.doc))
    }

    /// The heads the peer on `conn` last said it has for a document. From the
    /// relay this is an acknowledgement: it sends nothing it has not stored.
    pub fn peer_heads(&self, id: &DocumentId, conn: ConnectionId) -> Option<&[ChangeHash]> {
        self.docs.get(id)?.peers.get(&conn)?.their_heads.as_deref()
    }

    /// How many documents are in memory.
    pub fn document_count(&self) -> usize {
        self.docs.len()
    }

    /// Puts a document loaded from storage into memory (and, for a tablet,
    /// offers it to the relay).
    ///
    /// A document evicted earlier gets its followers' sync states back, so
    /// the effects offer them whatever storage had that they lack.
    pub fn add_document(&mut self, id: DocumentId, doc: Automerge) -> Vec<Effect> {
        self.docs.insert(
            id,
            Box::new(Entry {
                doc,
                peers: self.dormant.remove(&id).unwrap_or_default(),
                wanted: false,
            }),
        );
        self.announce(id)
    }

    /// Gives every document a fresh actor id, for a device where another
    /// user signs in: the relay binds each actor to one user.
    pub fn renew_actors(&mut self) {
        for entry in self.docs.values_mut() {
            entry.doc.set_actor(automerge::ActorId::random());
        }
    }

    /// Drops a document from memory; it stays in storage. Only for a
    /// document whose applied changes are all in storage: its followers'
    /// sync states are kept for [`SyncHub::add_document`] to restore.
    ///
    /// Changes still queued for a missing dependency exist only here and
    /// leave with it, while the peers that sent them recorded them as sent
    /// and would never send them again (automerge skips hashes in its
    /// `sent_hashes`, even when asked for them). Those followers' states are
    /// therefore reset: the next message asks each peer to forget what it
    /// sent and sync afresh.
    pub fn evict(&mut self, id: &DocumentId) {
        if let Some(e) = self.docs.remove(id)
            && !e.peers.is_empty()
        {
            let mut peers = e.peers;
            if !e.doc.get_missing_deps(&[]).is_empty() {
                for state in peers.values_mut() {
                    *state = reset(state);
                }
            }
            self.dormant.insert(*id, peers);
        }
    }

    /// Forgets a document entirely: its content, its sync states and the
    /// connections' interest in it (an erased record leaving a replica).
    pub fn forget(&mut self, id: &DocumentId) {
        self.docs.remove(id);
        self.dormant.remove(id);
        for c in self.conns.values_mut() {
            c.docs.remove(id);
        }
    }

    /// Whether the peer on `conn` has every change this hub has of a
    /// document (its heads, as last said, cover ours; heads this hub does
    /// not know yet are left out, so the answer errs on "not yet").
    pub fn peer_has_all(&self, id: &DocumentId, conn: ConnectionId) -> bool {
        let (Some(entry), Some(theirs)) = (self.docs.get(id), self.peer_heads(id, conn)) else {
            return false;
        };
        let known: Vec<ChangeHash> = theirs
            .iter()
            .filter(|h| entry.doc.get_change_by_hash(h).is_some())
            .copied()
            .collect();
        entry.doc.get_changes_meta(&known).is_empty()
    }

    /// Whether a document in memory holds changes waiting for a missing
    /// dependency (the peer is usually just about to send it).
    pub fn has_queued_changes(&self, id: &DocumentId) -> bool {
        self.docs
            .get(id)
            .is_some_and(|e| !e.doc.get_missing_deps(&[]).is_empty())
    }

    /// Applies a local edit (creating the document if new), then persists
    /// and offers the new changes to subscribed peers.
    pub fn change<E>(
        &mut self,
        id: DocumentId,
        edit: impl FnOnce(&mut Automerge) -> Result<(), E>,
    ) -> Result<Vec<Effect>, E> {
        let entry = Self::entry_or_new(&mut self.docs, &mut self.dormant, id, false);
        let before = entry.doc.get_heads();
        edit(&mut entry.doc)?;
        let mut effects = Vec::new();
        if entry.doc.get_heads() != before {
            effects.push(Effect::Persist {
                document_id: id,
                chunk: entry.doc.save_after(&before),
                changes: entry
                    .doc
                    .get_changes(&before)
                    .iter()
                    .map(|c| (c.hash(), c.actor_id().clone()))
                    .collect(),
            });
        }
        effects.extend(self.announce(id));
        Ok(effects)
    }

    /// Merges changes that are already durable elsewhere (another relay
    /// stored them in the shared database) and offers them to this hub's
    /// peers, without persisting them again. Documents not in memory are
    /// left alone: they load fresh from storage when someone asks.
    pub fn absorb<'a>(
        &mut self,
        id: DocumentId,
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<Effect>, automerge::AutomergeError> {
        let Some(entry) = self.docs.get_mut(&id) else {
            return Ok(Vec::new());
        };
        let before = entry.doc.get_heads();
        for chunk in chunks {
            entry.doc.load_incremental(chunk)?;
        }
        if entry.doc.get_heads() == before {
            return Ok(Vec::new());
        }
        let mut fx = vec![Effect::Changed { document_id: id }];
        fx.extend(self.announce(id));
        Ok(fx)
    }

    /// Starts offering a document in memory to one connection that asked
    /// for it before it existed (and was told it is unavailable).
    pub fn offer(&mut self, id: DocumentId, conn: ConnectionId) -> Vec<Effect> {
        self.sync_to(id, conn).into_iter().collect()
    }

    /// Asks every connected peer for a document we do not have yet.
    pub fn request(&mut self, id: DocumentId) -> Vec<Effect> {
        let entry = Self::entry_or_new(&mut self.docs, &mut self.dormant, id, true);
        if !entry.doc.get_heads().is_empty() {
            return Vec::new();
        }
        entry.wanted = true;
        let ready: Vec<ConnectionId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.peer_id.is_some())
            .map(|(k, _)| *k)
            .collect();
        ready
            .into_iter()
            .flat_map(|conn| self.sync_to(id, conn))
            .collect()
    }

    /// Handles one frame received on `conn`. Malformed input yields an error
    /// frame and a close for that connection only; nothing else changes.
    pub fn receive(&mut self, conn: ConnectionId, frame: &[u8]) -> Vec<Effect> {
        match Message::decode(frame) {
            Ok(msg) => self.handle(conn, msg),
            Err(e) => self.reject(conn, &e.to_string()),
        }
    }

    /// Answers a frame that did not decode with an error and a close, as
    /// [`SyncHub::receive`] does (for callers that decode elsewhere).
    pub fn refuse(&mut self, conn: ConnectionId, reason: &str) -> Vec<Effect> {
        self.reject(conn, reason)
    }

    /// Handles one decoded message (the relay decodes first to load the document).
    pub fn handle(&mut self, conn: ConnectionId, msg: Message) -> Vec<Effect> {
        self.handle_checked(conn, msg, &mut |_, _, _| Ok(()))
    }

    /// Handles one decoded message; changes it adds to a document stay only
    /// if `check` accepts them, else they are rolled back and the sender is
    /// sent a [`Message::Refused`].
    pub fn handle_checked(
        &mut self,
        conn: ConnectionId,
        msg: Message,
        check: &mut WriteCheck<'_>,
    ) -> Vec<Effect> {
        let Some(c) = self.conns.get(&conn) else {
            return Vec::new();
        };
        match (&c.peer_id, msg) {
            (
                _,
                Message::Join {
                    sender_id,
                    supported_protocol_versions,
                    ..
                },
            ) => {
                if !supported_protocol_versions
                    .iter()
                    .any(|v| v == PROTOCOL_VERSION)
                {
                    return self.reject(conn, "unsupported protocol version");
                }
                let peer = Message::Peer {
                    sender_id: self.me.clone(),
                    target_id: sender_id.clone(),
                    storage_id: None,
                    is_ephemeral: false,
                    selected_protocol_version: PROTOCOL_VERSION.into(),
                };
                let mut fx = vec![Effect::Send {
                    conn,
                    frame: peer.encode(),
                }];
                fx.extend(self.ready(conn, sender_id));
                fx
            }
            (
                None,
                Message::Peer {
                    sender_id,
                    selected_protocol_version,
                    ..
                },
            ) => {
                if selected_protocol_version != PROTOCOL_VERSION {
                    return self.reject(conn, "unsupported protocol version");
                }
                self.ready(conn, sender_id)
            }
            (None, _) => self.reject(conn, "handshake required before any other message"),
            (Some(joined), msg) if joined != msg.sender_id() => {
                // As the JS relay does: a frame claiming another sender is dropped.
                Vec::new()
            }
            (
                Some(_),
                Message::Request {
                    document_id, data, ..
                },
            ) => {
                if self
                    .docs
                    .get(&document_id)
                    .is_none_or(|e| e.doc.get_heads().is_empty())
                {
                    return vec![self.unavailable(conn, document_id)];
                }
                self.receive_sync(conn, document_id, &data, check)
            }
            (
                Some(_),
                Message::Sync {
                    document_id, data, ..
                },
            ) => self.receive_sync(conn, document_id, &data, check),
            (
                Some(_),
                Message::Refused {
                    document_id,
                    changes,
                    code,
                    reason,
                    ..
                },
            ) if self.policy == SharePolicy::AnnounceAll => {
                self.drop_refused(conn, document_id, &changes, code, reason)
            }
            // Only a relay refuses; a relay takes no orders to drop changes.
            (Some(_), Message::Refused { .. }) => Vec::new(),
            (Some(_), Message::DocUnavailable { document_id, .. }) => {
                if self
                    .docs
                    .get(&document_id)
                    .is_some_and(|e| e.wanted && e.doc.get_heads().is_empty())
                {
                    self.evict(&document_id);
                }
                vec![Effect::Unavailable { document_id }]
            }
            (Some(_), Message::Ephemeral { .. }) => Vec::new(),
            (Some(_), Message::Peer { .. }) => Vec::new(),
            (Some(_), Message::Error { message, .. }) => {
                vec![Effect::Close {
                    conn,
                    reason: format!("peer reported: {message}"),
                }]
            }
            (Some(_), Message::Leave { .. }) => {
                vec![Effect::Close {
                    conn,
                    reason: "peer left".into(),
                }]
            }
        }
    }

    /// The document's entry, or a new empty one. An empty document has
    /// nothing in storage, so sync states kept from an evicted empty copy
    /// would be stale: they are dropped and the sync starts afresh.
    fn entry_or_new<'a>(
        docs: &'a mut HashMap<DocumentId, Box<Entry>>,
        dormant: &mut HashMap<DocumentId, HashMap<ConnectionId, sync::State>>,
        id: DocumentId,
        wanted: bool,
    ) -> &'a mut Entry {
        docs.entry(id).or_insert_with(|| {
            dormant.remove(&id);
            Box::new(Entry {
                doc: Automerge::new(),
                peers: HashMap::new(),
                wanted,
            })
        })
    }

    fn ready(&mut self, conn: ConnectionId, peer_id: PeerId) -> Vec<Effect> {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.peer_id = Some(peer_id.clone());
        }
        let mut fx = vec![Effect::PeerReady { conn, peer_id }];
        let offer: Vec<DocumentId> = self
            .docs
            .iter()
            .filter(|(_, e)| e.wanted || self.policy == SharePolicy::AnnounceAll)
            .map(|(id, _)| *id)
            .collect();
        for id in offer {
            fx.extend(self.sync_to(id, conn));
        }
        fx
    }

    /// Offers a document's current state to the peers that should have it.
    fn announce(&mut self, id: DocumentId) -> Vec<Effect> {
        let Some(entry) = self.docs.get(&id) else {
            return Vec::new();
        };
        let targets: Vec<ConnectionId> = match self.policy {
            SharePolicy::OnRequest => entry.peers.keys().copied().collect(),
            SharePolicy::AnnounceAll => self
                .conns
                .iter()
                .filter(|(_, c)| c.peer_id.is_some())
                .map(|(k, _)| *k)
                .collect(),
        };
        targets
            .into_iter()
            .flat_map(|conn| self.sync_to(id, conn))
            .collect()
    }

    fn receive_sync(
        &mut self,
        conn: ConnectionId,
        id: DocumentId,
        data: &[u8],
        check: &mut WriteCheck<'_>,
    ) -> Vec<Effect> {
        // Bounded before automerge reads it; see `payload`.
        let existing = self.docs.get(&id).map_or(0, |e| e.doc.stats().num_ops);
        let created = !self.docs.contains_key(&id);
        let bounded =
            payload::check(data, &self.limits).and_then(|p| p.check_growth(existing, &self.limits));
        if let Err(e) = bounded {
            return self.reject(conn, &format!("sync payload refused: {e}"));
        }
        let msg = match sync::Message::decode(data) {
            Ok(m) => m,
            Err(e) => return self.reject(conn, &format!("bad sync payload: {e}")),
        };
        // A peer with nothing of its own (no heads) has nothing to give.
        let sender_empty = msg.heads.is_empty();
        // What automerge would `unwrap()`; see `applicable`.
        let doc = self.docs.get(&id).map(|e| &e.doc);
        if let Err(e) = applicable::check(doc, msg.changes.iter()) {
            return self.reject(conn, &format!("sync payload refused: {e}"));
        }
        let entry = Self::entry_or_new(&mut self.docs, &mut self.dormant, id, false);
        let before: Vec<ChangeHash> = entry.doc.get_heads();
        let state = entry.peers.entry(conn).or_default();
        // A change queued earlier for a missing dependency is applied by
        // automerge now without passing `applicable`, and hostile structures
        // trip automerge's own assertions (debug builds) when the write check
        // reads them: should automerge 0.12 panic applying or reading, the
        // copy in memory is dropped (storage never had the change) instead
        // of the panic taking the relay down.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            entry.doc.receive_sync_message(state, msg)?;
            if entry.doc.get_heads() == before {
                return Ok(None);
            }
            let added = entry.doc.get_changes(&before);
            let verdict = check(&entry.doc, &before, &added);
            Ok::<_, automerge::AutomergeError>(Some((added, verdict)))
        }));
        let (outcome, failed) = match outcome {
            Ok(Ok(o)) => (o, None),
            Ok(Err(e)) => (None, Some(format!("sync message rejected: {e}"))),
            Err(_) => {
                if let Some(e) = self.docs.remove(&id) {
                    // Followers sync afresh from the copy storage has.
                    let peers = e.peers.iter().map(|(c, s)| (*c, reset(s))).collect();
                    self.dormant.insert(id, peers);
                }
                return self.reject(conn, "sync message could not be applied");
            }
        };
        if let Some(reason) = failed {
            // A document this message made stays out of memory (see `forget_if_empty`).
            if created {
                self.docs.remove(&id);
            }
            return self.reject(conn, &reason);
        }
        let Some(entry) = self.docs.get_mut(&id) else {
            return Vec::new();
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.docs.insert(id);
        }
        let mut fx = Vec::new();
        if let Some((added, verdict)) = outcome {
            if let Err(refusal) = verdict {
                let fx = self.refuse_changes(conn, id, &before, refusal);
                if created {
                    self.forget_if_empty(conn, id);
                }
                return fx;
            }
            entry.wanted = false;
            fx.push(Effect::Persist {
                document_id: id,
                chunk: entry.doc.save_after(&before),
                changes: added
                    .iter()
                    .map(|c| (c.hash(), c.actor_id().clone()))
                    .collect(),
            });
            fx.push(Effect::Changed { document_id: id });
        }
        if created && sender_empty && !entry.wanted && entry.doc.get_heads().is_empty() {
            // Both sides empty: a reply from a sync state that is forgotten
            // right after would start the exchange afresh every time, and
            // the two would answer each other for ever.
            self.forget_if_empty(conn, id);
            return fx;
        }
        let peers: Vec<ConnectionId> = entry.peers.keys().copied().collect();
        // The sender first, so its acknowledgement is not held up by fan-out.
        fx.extend(self.sync_to(id, conn));
        for other in peers.into_iter().filter(|p| *p != conn) {
            fx.extend(self.sync_to(id, other));
        }
        if created {
            self.forget_if_empty(conn, id);
        }
        fx
    }

    /// Rolls a document back to `before` (nothing was stored or sent since),
    /// tells the sender, and starts its sync afresh.
    fn refuse_changes(
        &mut self,
        conn: ConnectionId,
        id: DocumentId,
        before: &[ChangeHash],
        refusal: Refusal,
    ) -> Vec<Effect> {
        let Some(entry) = self.docs.get_mut(&id) else {
            return Vec::new();
        };
        match rollback(&entry.doc, before) {
            Some(doc) => entry.doc = doc,
            // Cannot happen for heads the document had; if it does, the
            // copy in memory goes and storage's is read again.
            None => {
                self.docs.remove(&id);
            }
        }
        if let Some(entry) = self.docs.get_mut(&id)
            && let Some(state) = entry.peers.get_mut(&conn)
        {
            *state = reset(state);
        }
        let target_id = self.remote_peer(conn).unwrap_or_default().to_string();
        let msg = Message::Refused {
            sender_id: self.me.clone(),
            target_id,
            document_id: id,
            changes: refusal.changes.iter().map(ToString::to_string).collect(),
            code: refusal.code.clone(),
            reason: refusal.reason.clone(),
        };
        let mut fx = vec![
            Effect::Send {
                conn,
                frame: msg.encode(),
            },
            Effect::Refused {
                conn,
                document_id: id,
                refusal,
            },
        ];
        fx.extend(self.sync_to(id, conn));
        fx
    }

    /// Client side: drops what the relay refused, keeps it aside for the
    /// user, and syncs that document afresh.
    fn drop_refused(
        &mut self,
        conn: ConnectionId,
        id: DocumentId,
        changes: &[String],
        code: String,
        reason: String,
    ) -> Vec<Effect> {
        let hashes: Vec<ChangeHash> = changes.iter().filter_map(|h| h.parse().ok()).collect();
        let Some(entry) = self.docs.get_mut(&id) else {
            return Vec::new();
        };
        let (kept, removed) = drop_changes(&entry.doc, &hashes);
        if removed.is_empty() {
            return Vec::new();
        }
        entry.doc = kept;
        entry.peers.insert(conn, sync::State::new());
        let mut fx = vec![
            Effect::Dropped {
                document_id: id,
                save: entry.doc.save(),
                removed: removed
                    .into_iter()
                    .map(|mut c| c.bytes().to_vec())
                    .collect(),
                code,
                reason,
            },
            Effect::Changed { document_id: id },
        ];
        fx.extend(self.sync_to(id, conn));
        fx
    }

    /// A sync for a document this hub did not have that left it empty (no
    /// changes, or only changes waiting for a dependency) keeps nothing:
    /// the reply is already made, and a peer creating a document sends its
    /// changes in the next message. So syncs for made-up ids cannot fill
    /// memory or push real documents out.
    fn forget_if_empty(&mut self, conn: ConnectionId, id: DocumentId) {
        if self
            .docs
            .get(&id)
            .is_some_and(|e| !e.wanted && e.doc.get_heads().is_empty())
        {
            self.docs.remove(&id);
            if let Some(c) = self.conns.get_mut(&conn) {
                c.docs.remove(&id);
            }
        }
    }

    /// One sync (or request) frame to `conn` for `id`, if there is anything to say.
    fn sync_to(&mut self, id: DocumentId, conn: ConnectionId) -> Option<Effect> {
        let c = self.conns.get_mut(&conn)?;
        let target_id = c.peer_id.clone()?;
        let entry = self.docs.get_mut(&id)?;
        c.docs.insert(id);
        let state = entry.peers.entry(conn).or_default();
        let msg = entry.doc.generate_sync_message(state)?;
        let data = msg.encode();
        let sender_id = self.me.clone();
        let frame = if entry.wanted && entry.doc.get_heads().is_empty() {
            Message::Request {
                sender_id,
                target_id,
                document_id: id,
                data,
            }
        } else {
            Message::Sync {
                sender_id,
                target_id,
                document_id: id,
                data,
            }
        };
        Some(Effect::Send {
            conn,
            frame: frame.encode(),
        })
    }

    fn unavailable(&self, conn: ConnectionId, id: DocumentId) -> Effect {
        let target_id = self.remote_peer(conn).unwrap_or_default().to_string();
        let msg = Message::DocUnavailable {
            sender_id: self.me.clone(),
            target_id,
            document_id: id,
        };
        Effect::Send {
            conn,
            frame: msg.encode(),
        }
    }

    fn reject(&mut self, conn: ConnectionId, reason: &str) -> Vec<Effect> {
        let target_id = self.remote_peer(conn).map(str::to_string);
        let msg = Message::Error {
            sender_id: self.me.clone(),
            target_id,
            message: reason.into(),
        };
        self.disconnect(conn);
        vec![
            Effect::Send {
                conn,
                frame: msg.encode(),
            },
            Effect::Close {
                conn,
                reason: reason.into(),
            },
        ]
    }
}

/// A fresh sync state that asks the peer to reset its own (the SYNC_RESET
/// flag, or empty heads for peers that predate it), keeping what the peer
/// said it can do.
fn reset(state: &sync::State) -> sync::State {
    let mut fresh = sync::State::new();
    fresh.their_capabilities = state.their_capabilities.clone();
    fresh.needs_reset = true;
    fresh
}
