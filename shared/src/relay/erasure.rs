//! Erased documents (re-created without their history under a new id): the
//! old id is refused for ever — no message about it is answered with data
//! and no change to it is accepted — and whoever followed it is told it is
//! gone. The set grows by one id per erased record, which is small.

use crate::sync::{ConnectionId, DocumentId, Message};

use super::{RelayCore, Task};

impl RelayCore {
    /// Drops an erased document from memory with anything of it not yet
    /// committed, and tells each connection that followed it.
    pub(super) fn erase(&mut self, id: DocumentId, out: &mut Vec<Task>) {
        self.erased.insert(id);
        self.pending.retain(|w| w.id != id);
        let followers = self.hub.followers(&id);
        for conn in &followers {
            self.hub.unfollow(&id, *conn);
        }
        self.waiting.take(&id, self.now_ms);
        self.drop_unsaved(&id);
        for conn in followers {
            let peer = self.hub.remote_peer(conn).unwrap_or_default().to_string();
            self.unavailable(conn, id, peer, out);
        }
    }

    /// Whether a document was erased.
    pub(super) fn is_erased(&self, id: &DocumentId) -> bool {
        self.erased.contains(id)
    }

    /// Answers `doc-unavailable` for `id` to the peer `target_id` on `conn`.
    pub(super) fn unavailable(
        &mut self,
        conn: ConnectionId,
        id: DocumentId,
        target_id: String,
        out: &mut Vec<Task>,
    ) {
        let refusal = Message::DocUnavailable {
            sender_id: self.hub.peer_id().to_string(),
            target_id,
            document_id: id,
        };
        self.deliver(
            Task::Send {
                conn,
                frame: refusal.encode(),
            },
            out,
        );
    }
}
