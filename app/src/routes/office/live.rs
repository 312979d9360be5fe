//! Server push: one `EventSource` on `/api/events` per tab while signed
//! in; each `records` event runs again the effects that [`Push::track`], the inbox, the
//! record page and the bell re-read on. The browser reconnects by itself
//! after a network drop; a refused stream (signed out) is closed and opened
//! again at the next sign-in.

use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::EventSource;

use crate::session::Session;

/// What pages read of the push stream (in context).
#[derive(Clone, Copy)]
pub struct Push {
    /// Moves whenever the server stored a change.
    pushed: RwSignal<u64>,
    /// Whether the stream is open.
    pub live: RwSignal<bool>,
    /// Whether a page read before the stream's first event: what was
    /// stored between that read and the stream opening reached neither.
    read_early: StoredValue<bool>,
}

impl Push {
    /// Subscribes the calling effect: it runs again after every stored
    /// change. Call it where the effect reads from the server.
    pub fn track(&self) {
        self.pushed.track();
        self.read_early.set_value(true);
    }
}

type Stream = SendWrapper<(
    EventSource,
    Closure<dyn FnMut(web_sys::Event)>,
    Closure<dyn FnMut(web_sys::Event)>,
)>;

/// Provides [`Push`] and keeps the stream open while `session` is signed in.
pub fn provide(session: RwSignal<Session>) {
    let push = Push {
        pushed: RwSignal::new(0),
        live: RwSignal::new(false),
        read_early: StoredValue::new(false),
    };
    provide_context(push);
    let stream: StoredValue<Option<Stream>, LocalStorage> = StoredValue::new_local(None);
    Effect::new(move |_| {
        let signed_in = matches!(session.get(), Session::SignedIn { .. });
        let closed = stream.with_value(|s| {
            s.as_ref()
                .is_none_or(|s| s.0.ready_state() == EventSource::CLOSED)
        });
        if signed_in && closed {
            stream.set_value(open(push));
        } else if !signed_in {
            if let Some(s) = stream.with_value(|s| s.as_ref().map(|s| s.0.clone())) {
                s.close();
            }
            stream.set_value(None);
            push.live.set(false);
        }
    });
}

fn open(push: Push) -> Option<Stream> {
    let source = EventSource::new("/api/events").ok()?;
    // The first event says the stream is open. Pages that read before it
    // may have missed a change stored between their read and the server
    // subscribing this stream, so they read once more; pages that read
    // only after it miss nothing. After the browser reconnects (a network
    // drop), the server's first event on the new connection is a later
    // event here and re-reads what this tab may have missed.
    let mut opened = false;
    let on_records = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        push.live.set(true);
        if std::mem::replace(&mut opened, true) || push.read_early.get_value() {
            push.pushed.update(|n| *n += 1);
        }
    });
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| push.live.set(false));
    let _ = source.add_event_listener_with_callback("records", on_records.as_ref().unchecked_ref());
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Some(SendWrapper::new((source, on_records, on_error)))
}
