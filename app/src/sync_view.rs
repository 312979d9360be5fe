//! Sync you can see (the field tablet's status line): when this device was
//! last in step with the relay, a "sync now" that does not wait for the
//! next retry, and syncing again the moment the network returns.

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::device::user_key;
use crate::repo::{Inner, SyncStatus};

/// The per-user `localStorage` key of the last time in step.
pub(crate) const LAST_SYNCED: &str = "synced";

/// When this user's device was last in step with the relay, as stored.
pub(crate) fn stored(username: &str) -> Option<i64> {
    crate::session::local_storage()?
        .get_item(&user_key(username, LAST_SYNCED))
        .ok()
        .flatten()?
        .parse()
        .ok()
}

impl Inner {
    /// Connected with nothing waiting: the device is in step now.
    pub(crate) fn note_in_step(&self) {
        if self.unsynced.get_untracked() > 0
            || self.files.waiting.get_untracked() > 0
            || self.status.get_untracked() != SyncStatus::Online
        {
            return;
        }
        let now = js_sys::Date::now() as i64;
        self.last_synced.set(Some(now));
        if let Some(s) = crate::session::local_storage() {
            let _ = s.set_item(&user_key(&self.username, LAST_SYNCED), &now.to_string());
        }
    }

    /// Syncs now: connects at once when offline (instead of at the next
    /// retry); when connected, sends waiting contact details again and
    /// restarts the exchange so every waiting record is offered again.
    pub(crate) fn sync_now(this: &Rc<Inner>) {
        if !this.online_wanted.get() {
            return;
        }
        let Some(url) = this.sync_url.clone() else {
            return;
        };
        let connected = this.socket.borrow().is_some();
        match this.status.get_untracked() {
            SyncStatus::Online if this.unsynced.get_untracked() > 0 => {
                // The reconnect that follows the close offers everything again.
                if let Some(s) = this.socket.borrow().as_ref() {
                    s.close();
                }
            }
            SyncStatus::Online => {
                Inner::upload_contacts(this);
                Inner::upload_files(this);
            }
            _ if !connected => Inner::connect(this, url),
            _ => {}
        }
    }

    /// Syncs as soon as the browser says the network is back, rather than
    /// at the next timed retry. Lives as long as the page.
    pub(crate) fn watch_network(this: &Rc<Inner>) {
        let weak = Rc::downgrade(this);
        let back = Closure::<dyn FnMut()>::new(move || {
            if let Some(this) = weak.upgrade() {
                Inner::sync_now(&this);
            }
        });
        if let Some(w) = web_sys::window() {
            let _ = w.add_event_listener_with_callback("online", back.as_ref().unchecked_ref());
        }
        back.forget();
    }
}
