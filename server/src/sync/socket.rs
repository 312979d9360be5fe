//! `/sync`: one WebSocket per client, binary frames to and from the relay task.

use axum::extract::ws::{
    CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade, close_code,
};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::response::Response;
use closeloop_shared::access::Principal;
use closeloop_shared::relay::MAX_ASSIGNED_OFFERED;
use closeloop_shared::sync::Message;
use closeloop_shared::sync::message::MAX_FRAME_BYTES;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::relay::{OUTBOX_FRAMES, Outgoing, RelayInput};
use crate::state::AppState;
use crate::storage::session_id;

/// How often the relay pings each socket (the JS relay uses 5 s; tablets on
/// mobile links get more slack).
const PING_EVERY: Duration = Duration::from_secs(15);
/// A socket silent for longer is half-open (a tablet that lost its link): close it.
const SILENCE_LIMIT: Duration = Duration::from_secs(45);

/// What a socket reads from the network at a time. The WebSocket layer
/// zero-fills its whole read buffer before every read: at its default of
/// 128 KiB that was 128 KiB resident per idle tablet and a 128 KiB fill per
/// frame. Larger frames still arrive whole (the buffer grows for them).
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Upgrades to a sync socket. Frames over the size limit are refused by the
/// WebSocket layer itself, before they are buffered.
pub(crate) async fn sync_socket(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<SyncQuery>,
) -> Response {
    // Browsers send the session cookie; other clients a bearer header or,
    // where a WebSocket API cannot set headers, `?token=`.
    let token = crate::http::auth::token_from(&headers).or(query.token);
    let session = token.as_deref().map(session_id).unwrap_or_default();
    let principal = match crate::http::auth::principal_for(&state, token).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    // Counted from the upgrade until the socket ends (the claim goes with it).
    let Some(claim) = state.relay.claim_socket(principal.user_id) else {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            "too many sync connections for this user",
        )
            .into_response();
    };
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            serve(socket, state, principal, session).await;
            drop(claim);
        })
}

/// Query parameters of `/sync`.
#[derive(serde::Deserialize)]
pub(crate) struct SyncQuery {
    token: Option<String>,
}

async fn serve(socket: WebSocket, state: AppState, principal: Principal, session: String) {
    let relay = state.relay.clone();
    let conn = relay.next_conn();
    let (out_tx, mut out_rx) = mpsc::channel(OUTBOX_FRAMES);
    // Field staff's assigned work reaches them without asking; if storage
    // cannot say, the socket still opens (they can ask for records by id).
    let assigned = if principal.receives_assigned_work() {
        state
            .storage
            .assigned_open(&principal.username, MAX_ASSIGNED_OFFERED)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reading assigned records failed");
                Vec::new()
            })
    } else {
        Vec::new()
    };
    if !relay
        .send(RelayInput::Connect {
            conn,
            out: out_tx,
            principal: principal.clone(),
            session: session.clone(),
            assigned,
        })
        .await
    {
        return;
    }
    // Registered after the relay heard of the socket, so an end found
    // from now on reaches the relay after the connect.
    state.sessions.opened(conn, session, principal);
    let (mut sink, mut stream) = socket.split();
    // Seconds since `opened` at which the peer was last heard from.
    let opened = Instant::now();
    let last_heard = AtomicU64::new(0);
    let writer = async {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            let out = tokio::select! {
                out = out_rx.recv() => out,
                _ = ping.tick() => {
                    let silent = opened.elapsed().as_secs().saturating_sub(last_heard.load(Ordering::Relaxed));
                    if silent > SILENCE_LIMIT.as_secs() {
                        Some(Outgoing::Close("no answer to keepalive pings".into()))
                    } else if sink.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                        return;
                    } else {
                        continue;
                    }
                }
            };
            match out {
                None => return,
                Some(Outgoing::Frame(bytes)) => {
                    if sink.send(WsMessage::Binary(bytes.into())).await.is_err() {
                        return;
                    }
                }
                Some(Outgoing::Close(reason)) => {
                    let frame = CloseFrame {
                        code: close_code::POLICY,
                        reason: super::cut(&reason, MAX_CLOSE_REASON_BYTES)
                            .to_string()
                            .into(),
                    };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    return;
                }
            }
        }
    };
    let reader = async {
        while let Some(Ok(msg)) = stream.next().await {
            last_heard.store(opened.elapsed().as_secs(), Ordering::Relaxed);
            let frame = match msg {
                WsMessage::Binary(b) => b.to_vec(),
                // Text is not part of the protocol: hand it over to be rejected as such.
                WsMessage::Text(t) => t.as_bytes().to_vec(),
                WsMessage::Close(_) => return,
                WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
            };
            // Decoded here, on the socket's own task, so the relay task
            // spends its time on sync work only. Bounded: the frame is at
            // most 1 MiB and pre-scanned (at most 64 CBOR items) before any
            // value is built, so a decode costs well under a millisecond.
            let input = RelayInput::Frame {
                conn,
                bytes: frame.len(),
                message: Message::decode(&frame).map_err(|e| e.to_string()),
            };
            if !relay.send(input).await {
                return;
            }
        }
    };
    let mut shutdown = state.shutdown.clone();
    let ended = tokio::select! {
        () = writer => "writer",
        () = reader => "reader",
        _ = shutdown.wait_for(|stop| *stop) => "shutdown",
    };
    tracing::debug!(conn, ended, "sync socket ended");
    state.sessions.closed(conn);
    relay.send(RelayInput::Disconnect { conn }).await;
}

/// Closes this relay's sync sockets opened with `session`, with `reason`,
/// before it returns: the relay handles its inputs in order, so any frame
/// read from those sockets afterwards finds its connection gone and is
/// dropped. (The session watch closes them too, at its next check.)
pub(crate) async fn end_session(state: &AppState, session: String, reason: &str) {
    let ended = RelayInput::SessionsEnded {
        sessions: vec![session],
        reason: reason.into(),
    };
    state.relay.send(ended).await;
}

/// Close reasons are limited to 123 bytes by the WebSocket protocol.
const MAX_CLOSE_REASON_BYTES: usize = 120;
