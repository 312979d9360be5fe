//! The taxonomy the forms offer: the server's, as admins last saved it,
//! kept on the device so the forms work offline with what was last read;
//! the shipped defaults until the first successful read.

use std::sync::Arc;

use closeloop_shared::taxonomy::Taxonomy;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::session::{self, Session};

const KEY: &str = "closeloop.taxonomy";

/// What this device last read, if it is still a valid taxonomy.
pub fn cached() -> Taxonomy {
    session::local_storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|json| serde_json::from_str::<Taxonomy>(&json).ok())
        .filter(|t| t.validate().is_ok())
        .unwrap_or_default()
}

/// Reads the server's taxonomy whenever the user signs in, and keeps it.
pub fn refresh_on_sign_in(session: RwSignal<Session>, taxonomy: RwSignal<Arc<Taxonomy>>) {
    Effect::new(move |_| {
        if !matches!(session.get(), Session::SignedIn { .. }) {
            return;
        }
        spawn_local(async move {
            let Ok((200, body)) = session::call("GET", "/api/taxonomy", None).await else {
                return;
            };
            let Some(read) = serde_json::from_str::<Taxonomy>(&body)
                .ok()
                .filter(|t| t.validate().is_ok())
            else {
                return;
            };
            if let Some(s) = session::local_storage() {
                let _ = s.set_item(KEY, &body);
            }
            if *taxonomy.get_untracked() != read {
                taxonomy.set(Arc::new(read));
            }
        });
    });
}
