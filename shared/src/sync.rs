//! The automerge-repo sync protocol as a sans-IO core.
//!
//! [`message`] is the wire codec (one CBOR map per WebSocket binary frame),
//! [`DocumentId`] the base58check document id, and [`SyncHub`] the state
//! machine both the wasm client and the relay drive: bytes and local changes
//! go in, [`Effect`]s (frames to send, chunks to persist) come out.

mod applicable;
mod document_id;
mod hub;
pub mod message;
pub mod payload;
mod refusal;

/// Whether automerge can apply a sync message's changes without panicking.
pub use applicable::check as check_applicable;
pub use document_id::{DocumentId, DocumentIdError};
pub use hub::{ConnectionId, Effect, SharePolicy, SyncHub};
pub use message::{Message, MessageError, PROTOCOL_VERSION, PeerId};
pub use refusal::{Refusal, WriteCheck, drop_changes, rollback};

/// Rebuilds a document from its stored chunks (a full save followed by
/// incremental saves, in write order), as both IndexedDB and SQL keep them.
pub fn load_document<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<automerge::Automerge, automerge::AutomergeError> {
    let mut doc = automerge::Automerge::new();
    for chunk in chunks {
        doc.load_incremental(chunk)?;
    }
    Ok(doc)
}
