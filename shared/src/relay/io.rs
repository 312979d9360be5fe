//! What goes into the relay core and what comes out.

use std::sync::Arc;

use automerge::{ActorId, ChangeHash};

use crate::access::Principal;
use crate::record::FeedbackRecord;
use crate::sync::{ConnectionId, DocumentId, Message};

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
    /// Which user each Automerge actor of the document belongs to: the user
    /// whose session first delivered a change by it.
    pub actors: Vec<(ActorId, i64)>,
    /// The document was erased (re-created under another id): its id is
    /// refused for ever, and nothing else here is set.
    pub erased: bool,
}

/// One chunk to store: a document's new changes, and the team a new
/// document belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkWrite {
    pub id: DocumentId,
    pub chunk: Vec<u8>,
    pub team: Option<String>,
    /// The changes in the chunk, with the actor that made each.
    pub changes: Vec<(ChangeHash, ActorId)>,
    /// Who sent them: the session's user, never what the change claims.
    pub author: Option<ChangeAuthor>,
}

/// The signed-in user whose connection delivered changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeAuthor {
    pub user_id: i64,
    pub username: String,
    /// The session (its non-secret id) the connection was opened with.
    pub session: Option<String>,
}

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
    /// A signed-in socket opened. `session` names the login it was opened
    /// with (not the token itself), so [`Input::SessionsEnded`] can find it.
    Connect {
        conn: ConnectionId,
        principal: Principal,
        session: String,
        /// Open records assigned to this user (newest first, at most
        /// [`super::MAX_ASSIGNED_OFFERED`] kept): offered once the peer has
        /// joined, so assigned work reaches a tablet without it asking.
        assigned: Vec<DocumentId>,
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
    /// The document was erased from storage (re-created under a new id):
    /// drop it, refuse its id from now on, tell its followers.
    Erased { document_id: DocumentId },
    /// These logins ended (logout, expiry, a disabled user, a changed role
    /// or team): every connection opened with one of them is closed with
    /// `reason` and forgotten, like a disconnect.
    SessionsEnded {
        sessions: Vec<String>,
        reason: String,
    },
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
    /// A change was refused by the write rule (already answered): log it.
    Refused {
        conn: ConnectionId,
        user: String,
        document_id: DocumentId,
        code: String,
        reason: String,
    },
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
    /// Changes refused by the write rule.
    pub changes_refused: u64,
}
