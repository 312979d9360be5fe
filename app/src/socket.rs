//! The WebSocket to the relay: binary frames into the hub, reconnect after
//! a pause whenever the link drops (offline is the normal case in the field).

use std::rc::Rc;

use closeloop_shared::sync::ConnectionId;
use leptos::prelude::Set;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::repo::{Inner, SyncStatus};

/// Pause before trying the relay again.
const RECONNECT_MS: i32 = 2000;

/// One open (or opening) socket and the callbacks it owns.
pub(crate) struct Socket {
    pub(crate) conn: ConnectionId,
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    pub(crate) fn send(&self, frame: &[u8]) {
        // A failed send means the socket is closing; its close event reconnects.
        let _ = self.ws.send_with_u8_array(frame);
    }

    pub(crate) fn close(&self) {
        let _ = self.ws.close();
    }
}

/// `ws://<this host>/sync`, or `wss://` when the page came over HTTPS.
pub fn default_sync_url() -> Option<String> {
    let loc = web_sys::window()?.location();
    let scheme = if loc.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/sync", loc.host().ok()?))
}

impl Inner {
    /// Opens a socket to `url`; on close, forgets its sync state and retries.
    pub(crate) fn connect(this: &Rc<Inner>, url: String) {
        let conn = this.next_conn();
        this.status.set(SyncStatus::Connecting);
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(_) => return Inner::reconnect_later(this, url),
        };
        ws.set_binary_type(BinaryType::Arraybuffer);

        let weak = Rc::downgrade(this);
        let on_open = Closure::<dyn FnMut()>::new(move || {
            if let Some(this) = weak.upgrade() {
                let fx = this.hub.borrow_mut().connect(conn, true);
                Inner::enqueue(&this, fx);
            }
        });
        let weak = Rc::downgrade(this);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(this) = weak.upgrade() else { return };
            let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() else {
                return;
            };
            let frame = js_sys::Uint8Array::new(&buf).to_vec();
            let fx = this.hub.borrow_mut().receive(conn, &frame);
            Inner::enqueue(&this, fx);
            Inner::settle_pending(&this, conn);
        });
        let weak = Rc::downgrade(this);
        let retry_url = url.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
            let Some(this) = weak.upgrade() else { return };
            this.hub.borrow_mut().disconnect(conn);
            let current = this.socket.borrow().as_ref().map(|s| s.conn);
            if current == Some(conn) {
                // Dropped after this callback returns: a closure must not free itself.
                let old = this.socket.borrow_mut().take();
                spawn_local(async move { drop(old) });
                this.status.set(SyncStatus::Offline);
                if !this.online_wanted.get() {
                    return;
                }
                // A refused upgrade looks like any other close: ask whether the
                // session ended before trying again.
                let this = this.clone();
                let url = retry_url.clone();
                spawn_local(async move {
                    match Inner::check_session(&this).await {
                        // Revoked (data wiped) or another user: this page is done.
                        None => {}
                        Some(crate::session::Session::SignedOut) => {
                            this.online_wanted.set(false);
                            this.session.set(crate::session::Session::SignedOut);
                        }
                        Some(_) => Inner::reconnect_later(&this, url),
                    }
                });
            }
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        *this.socket.borrow_mut() = Some(Socket {
            conn,
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        });
    }

    fn reconnect_later(this: &Rc<Inner>, url: String) {
        this.status.set(SyncStatus::Offline);
        let weak = Rc::downgrade(this);
        let retry = Closure::once_into_js(move || {
            // "Sync now" may have connected meanwhile.
            if let Some(this) = weak
                .upgrade()
                .filter(|t| t.online_wanted.get() && t.socket.borrow().is_none())
            {
                Inner::connect(&this, url);
            }
        });
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                retry.unchecked_ref(),
                RECONNECT_MS,
            );
        }
    }
}
