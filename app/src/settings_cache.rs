//! Settings the forms and lists use offline: the taxonomy the forms offer
//! and the SLA policy and calendar lists compute due moments with. Each is
//! the server's as admins last saved it, kept on the device so the tablet
//! works offline with what was last read; the shipped defaults until the
//! first successful read.

use std::sync::Arc;

use closeloop_shared::sla::SlaConfig;
use closeloop_shared::taxonomy::Taxonomy;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;

use crate::session::{self, Session};

/// One kept setting: where the server serves it, where the device keeps it.
pub trait Kept: DeserializeOwned + Default + PartialEq + Send + Sync + 'static {
    const PATH: &'static str;
    const KEY: &'static str;
    /// Whether a read value may be used (a damaged copy is not).
    fn usable(&self) -> bool;
}

impl Kept for Taxonomy {
    const PATH: &'static str = "/api/taxonomy";
    const KEY: &'static str = "closeloop.taxonomy";
    fn usable(&self) -> bool {
        self.validate().is_ok()
    }
}

impl Kept for SlaConfig {
    const PATH: &'static str = "/api/sla";
    const KEY: &'static str = "closeloop.sla";
    fn usable(&self) -> bool {
        self.validate().is_ok()
    }
}

/// What this device last read, if it is still usable; else the defaults.
pub fn cached<T: Kept>() -> T {
    session::local_storage()
        .and_then(|s| s.get_item(T::KEY).ok().flatten())
        .and_then(|json| serde_json::from_str::<T>(&json).ok())
        .filter(T::usable)
        .unwrap_or_default()
}

/// The kept value, read from the server again whenever the user signs in.
pub fn kept<T: Kept>(session: RwSignal<Session>) -> RwSignal<Arc<T>> {
    let value = RwSignal::new(Arc::new(cached::<T>()));
    Effect::new(move |_| {
        if !matches!(session.get(), Session::SignedIn { .. }) {
            return;
        }
        spawn_local(async move {
            let Ok((200, body)) = session::call("GET", T::PATH, None).await else {
                return;
            };
            let Some(read) = serde_json::from_str::<T>(&body).ok().filter(T::usable) else {
                return;
            };
            if let Some(s) = session::local_storage() {
                let _ = s.set_item(T::KEY, &body);
            }
            if *value.get_untracked() != read {
                value.set(Arc::new(read));
            }
        });
    });
    value
}
