//! `/sync`: one WebSocket per client, binary frames to and from the relay task.

use axum::extract::State;
use axum::extract::ws::{
    CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade, close_code,
};
use axum::response::Response;
use closeloop_shared::sync::message::MAX_FRAME_BYTES;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use crate::relay::{Outgoing, RelayInput};
use crate::startup::AppState;

/// Upgrades to a sync socket. Frames over the size limit are refused by the
/// WebSocket layer itself, before they are buffered.
pub(crate) async fn sync_socket(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| serve(socket, state))
}

async fn serve(socket: WebSocket, state: AppState) {
    let relay = state.relay.clone();
    let conn = relay.next_conn();
    let (out_tx, mut out_rx) = mpsc::channel(crate::relay::OUTBOX_FRAMES);
    if !relay.send(RelayInput::Connect { conn, out: out_tx }).await {
        return;
    }
    let (mut sink, mut stream) = socket.split();
    let writer = async {
        while let Some(out) = out_rx.recv().await {
            match out {
                Outgoing::Frame(bytes) => {
                    if sink.send(WsMessage::Binary(bytes.into())).await.is_err() {
                        return;
                    }
                }
                Outgoing::Close(reason) => {
                    let frame = CloseFrame {
                        code: close_code::POLICY,
                        reason: truncate(&reason).into(),
                    };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    return;
                }
            }
        }
    };
    let reader = async {
        while let Some(Ok(msg)) = stream.next().await {
            let frame = match msg {
                WsMessage::Binary(b) => b.to_vec(),
                // Text is not part of the protocol: hand it over to be rejected as such.
                WsMessage::Text(t) => t.as_bytes().to_vec(),
                WsMessage::Close(_) => return,
                WsMessage::Ping(_) | WsMessage::Pong(_) => continue,
            };
            if !relay.send(RelayInput::Frame { conn, frame }).await {
                return;
            }
        }
    };
    let mut shutdown = state.shutdown.clone();
    tokio::select! {
        () = writer => {}
        () = reader => {}
        _ = shutdown.wait_for(|stop| *stop) => {}
    }
    relay.send(RelayInput::Disconnect { conn }).await;
}

/// Close reasons are limited to 123 bytes by the WebSocket protocol.
fn truncate(reason: &str) -> String {
    let mut end = reason.len().min(120);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}
