//! A sync peer inside the server: server-side jobs (escalation) change
//! record documents the way every client does — over the sync protocol,
//! through the relay's write rule, durability and fan-out — only over a
//! channel instead of a socket. The relay cannot tell it from a tablet.

use std::time::Duration;

use automerge::Automerge;
use closeloop_shared::access::{Principal, Role};
use closeloop_shared::record::RecordError;
use closeloop_shared::sync::{DocumentId, Effect, Message, SharePolicy, SyncHub};
use tokio::sync::mpsc;

use crate::sync::{OUTBOX_FRAMES, Outgoing, RelayHandle, RelayInput};

/// How long one exchange with the relay may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// Why a job's edit did not happen.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PeerError {
    #[error("the relay has stopped")]
    Stopped,
    #[error("the relay did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the relay closed the connection: {0}")]
    Closed(String),
    #[error("document {0} is not available")]
    Unavailable(DocumentId),
    #[error("the relay refused the change: {0}")]
    Refused(String),
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// A system account as the relay sees it: a name no sign-in can hold (it
/// has a `:`), the role the write rule judges its edits by, no team.
pub(crate) fn system_account(username: &str, role: Role) -> Principal {
    Principal {
        user_id: 0,
        username: username.into(),
        role,
        team: None,
    }
}

pub(crate) struct InProcessPeer {
    hub: SyncHub,
    relay: RelayHandle,
    conn: closeloop_shared::sync::ConnectionId,
    from_relay: mpsc::Receiver<Outgoing>,
    unavailable: Vec<DocumentId>,
    refused: Vec<(DocumentId, String)>,
}

/// The hub's own id for its one connection, to the relay.
const RELAY: closeloop_shared::sync::ConnectionId = 0;

impl InProcessPeer {
    /// Connects to the relay as `principal` (a system account no sign-in
    /// can produce) and completes the handshake.
    pub(crate) async fn connect(
        relay: &RelayHandle,
        principal: Principal,
    ) -> Result<Self, PeerError> {
        let (out, from_relay) = mpsc::channel(OUTBOX_FRAMES);
        let conn = relay.next_conn();
        let name = principal.username.clone();
        let connected = relay
            .send(RelayInput::Connect {
                conn,
                out,
                principal,
                session: name.clone(),
                // The system account is assigned nothing.
                assigned: Vec::new(),
            })
            .await;
        if !connected {
            return Err(PeerError::Stopped);
        }
        let mut peer = InProcessPeer {
            hub: SyncHub::new(name, SharePolicy::AnnounceAll),
            relay: relay.clone(),
            conn,
            from_relay,
            unavailable: Vec::new(),
            refused: Vec::new(),
        };
        let fx = peer.hub.connect(RELAY, true);
        peer.run(fx).await?;
        peer.pump_until(|p| p.hub.is_ready(RELAY)).await?;
        Ok(peer)
    }

    /// The document as the relay has it.
    pub(crate) async fn fetch(&mut self, id: DocumentId) -> Result<&Automerge, PeerError> {
        if !self.hub.has_document(&id) {
            let fx = self.hub.request(id);
            self.run(fx).await?;
        }
        self.pump_until(|p| {
            p.unavailable.contains(&id)
                || p.hub
                    .document(&id)
                    .is_some_and(|d| !d.get_heads().is_empty())
                    && p.hub.peer_heads(&id, RELAY).map(<[_]>::to_vec)
                        == p.hub.document(&id).map(|d| d.get_heads())
        })
        .await?;
        if self.unavailable.contains(&id) {
            return Err(PeerError::Unavailable(id));
        }
        self.hub.document(&id).ok_or(PeerError::Unavailable(id))
    }

    /// Changes a document and waits until the relay has stored the change
    /// (it acknowledges heads only once they are durable) or refused it.
    pub(crate) async fn change(
        &mut self,
        id: DocumentId,
        edit: impl FnOnce(&mut Automerge) -> Result<(), RecordError>,
    ) -> Result<(), PeerError> {
        let fx = self.hub.change(id, edit)?;
        self.run(fx).await?;
        self.pump_until(|p| {
            p.refused.iter().any(|(d, _)| *d == id)
                || p.hub.peer_heads(&id, RELAY).map(<[_]>::to_vec)
                    == p.hub.document(&id).map(|d| d.get_heads())
        })
        .await?;
        match self.refused.iter().find(|(d, _)| *d == id) {
            Some((_, code)) => Err(PeerError::Refused(code.clone())),
            None => Ok(()),
        }
    }

    /// Ends the connection.
    pub(crate) async fn close(self) {
        let _ = self
            .relay
            .send(RelayInput::Disconnect { conn: self.conn })
            .await;
    }

    async fn run(&mut self, effects: Vec<Effect>) -> Result<(), PeerError> {
        for e in effects {
            match e {
                Effect::Send { frame, .. } => {
                    let input = RelayInput::Frame {
                        conn: self.conn,
                        bytes: frame.len(),
                        message: Message::decode(&frame).map_err(|e| e.to_string()),
                    };
                    if !self.relay.send(input).await {
                        return Err(PeerError::Stopped);
                    }
                }
                Effect::Unavailable { document_id } => self.unavailable.push(document_id),
                Effect::Dropped {
                    document_id, code, ..
                } => self.refused.push((document_id, code)),
                _ => {}
            }
        }
        Ok(())
    }

    async fn pump_until(&mut self, done: impl Fn(&Self) -> bool) -> Result<(), PeerError> {
        let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.from_relay.recv()).await {
                Ok(Some(Outgoing::Frame(frame))) => {
                    let fx = self.hub.receive(RELAY, &frame);
                    self.run(fx).await?;
                }
                Ok(Some(Outgoing::Close(reason))) => return Err(PeerError::Closed(reason)),
                Ok(None) => return Err(PeerError::Stopped),
                Err(_) => return Err(PeerError::Timeout(ANSWER_WITHIN)),
            }
        }
        Ok(())
    }
}
