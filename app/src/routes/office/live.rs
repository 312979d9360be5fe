//! Server push for the inbox: an `EventSource` on `/api/events`; each
//! `records` event bumps a signal the list re-reads on. The browser
//! reconnects by itself after a network drop; the stream is closed when
//! the page goes away.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::EventSource;

/// Follows `/api/events` while the calling component lives: `pushed` moves
/// on every event, `live` tells whether the stream is open.
pub fn follow(pushed: RwSignal<u64>, live: RwSignal<bool>) {
    let Ok(source) = EventSource::new("/api/events") else {
        return;
    };
    // The first event only says the stream is open (the page has just
    // read its list); after a reconnect it means "re-read, you may have
    // missed something".
    let mut opened = false;
    let on_records = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        live.set(true);
        if std::mem::replace(&mut opened, true) {
            pushed.update(|n| *n += 1);
        }
    });
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| live.set(false));
    let _ = source.add_event_listener_with_callback("records", on_records.as_ref().unchecked_ref());
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let held = SendWrapper::new((source, on_records, on_error));
    on_cleanup(move || {
        let (source, _, _) = &*held;
        source.close();
    });
}
