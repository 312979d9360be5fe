//! Head office: every record the relay holds, kept live. The change feed
//! (`/api/documents`) says which documents exist or changed; each is then
//! fetched and followed over sync.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use closeloop_shared::api::Feed;
use closeloop_shared::sync::DocumentId;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::components::RecordList;
use crate::repo::Repo;

/// How often the change feed is polled for new documents.
const POLL_MS: i32 = 1000;

/// All records, updating as tablets sync.
#[component]
pub fn OfficePage() -> impl IntoView {
    let repo = expect_context::<Repo>();
    let stopped = Arc::new(AtomicBool::new(false));
    let stop = stopped.clone();
    on_cleanup(move || stop.store(true, Ordering::Relaxed));
    spawn_local(follow_feed(repo, stopped));
    view! { <RecordList title_key="list.all" editable=false /> }
}

async fn follow_feed(repo: Repo, stopped: Arc<AtomicBool>) {
    let mut after = 0i64;
    while !stopped.load(Ordering::Relaxed) {
        match fetch_feed(after).await {
            Ok(feed) => {
                for entry in &feed.documents {
                    if let Ok(id) = entry.id.parse::<DocumentId>() {
                        repo.request(id);
                    }
                }
                after = feed.next;
            }
            // Offline or relay down: keep showing what this device has.
            Err(e) => leptos::logging::debug_warn!("change feed: {e}"),
        }
        sleep(POLL_MS).await;
    }
}

async fn fetch_feed(after: i64) -> Result<Feed, String> {
    let window = web_sys::window().ok_or("no window")?;
    let resp =
        JsFuture::from(window.fetch_with_str(&format!("/api/documents?after={after}&limit=1000")))
            .await
            .map_err(|e| format!("{e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
    if !resp.ok() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?)
        .await
        .map_err(|e| format!("{e:?}"))?;
    serde_json::from_str(&text.as_string().unwrap_or_default()).map_err(|e| e.to_string())
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}
