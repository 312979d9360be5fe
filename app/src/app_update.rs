//! A new version of the app, and the browser's keeping of this device's
//! data. The app's files carry a content hash in their names (Trunk), so
//! the version running is the script this page loaded; the one on the
//! server is what `/index.html` names now. When they differ the page says
//! "update available" and reloads only when the user asks: every record,
//! file and draft is in IndexedDB or localStorage, which an update never
//! touches (the database only ever gains stores). The browser is asked to
//! keep this origin's storage (`navigator.storage.persist()`); how much is
//! used of what is available is shown, with a warning while the browser
//! may still evict it or space runs short.

use js_sys::Reflect;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::i18n::t;
use closeloop_shared::bundle::Bundle;

/// How often an open page looks for a new version (also whenever it reaches the relay).
const CHECK_EVERY_MS: u64 = 10 * 60_000;
/// Share of the quota above which the page warns that space runs short.
const NEARLY_FULL: f64 = 0.8;

/// The app's script named in an `index.html` (its content-hashed file name).
pub fn script_named_in(html: &str) -> Option<String> {
    let at = html.find("rel=\"modulepreload\" href=\"")? + "rel=\"modulepreload\" href=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The script this page runs.
fn running_script() -> Option<String> {
    let doc = web_sys::window()?.document()?;
    let link = doc.query_selector("link[rel=modulepreload]").ok()??;
    let href = link.get_attribute("href")?;
    Some(href)
}

/// The `index.html` of the build running `script`: head office's build
/// is served under `/office/`.
fn index_of(script: &str) -> &'static str {
    let bundle = if script.starts_with("/office/") {
        Bundle::Office
    } else {
        Bundle::Field
    };
    bundle.index_path()
}

/// The script the server's `index` names now (`None` offline).
async fn served_script(index: &str) -> Option<String> {
    let init = web_sys::RequestInit::new();
    init.set_cache(web_sys::RequestCache::NoStore);
    let window = web_sys::window()?;
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(index, &init))
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    if !resp.ok() {
        return None;
    }
    let text = JsFuture::from(resp.text().ok()?).await.ok()?.as_string()?;
    script_named_in(&text)
}

/// "Update available" with a reload button, once the server has a newer
/// version than this page runs; checked whenever the relay is reached
/// (start-up, back online) and every few minutes.
#[component]
pub fn UpdateBanner() -> impl IntoView {
    let available = RwSignal::new(false);
    let check = move || {
        spawn_local(async move {
            let Some(running) = running_script() else {
                return;
            };
            if let Some(served) = served_script(index_of(&running)).await
                && running != served
            {
                available.set(true);
            }
        });
    };
    // At start, and each time the relay is reached again.
    let status = expect_context::<crate::repo::Repo>().status;
    Effect::new(move |_| {
        if status.get() == crate::repo::SyncStatus::Online {
            check();
        }
    });
    let timer =
        set_interval_with_handle(check, std::time::Duration::from_millis(CHECK_EVERY_MS)).ok();
    on_cleanup(move || {
        if let Some(t) = timer {
            t.clear();
        }
    });
    let reload = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.location().reload();
        }
    };
    view! {
        <Show when=move || available.get()>
            <div class="update-banner" role="status" data-testid="update-available">
                <span>{move || t("update.available")}</span>
                <button type="button" data-testid="update-reload" on:click=reload>{move || t("update.reload")}</button>
            </div>
        </Show>
    }
}

/// How the browser keeps this origin's data.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Kept {
    persisted: bool,
    usage: f64,
    quota: f64,
}

/// Asks once for persistent storage, then shows use and quota.
#[component]
pub fn StorageLine() -> impl IntoView {
    let kept = RwSignal::new(None::<Kept>);
    let read = move |ask: bool| {
        spawn_local(async move {
            if let Some(k) = storage_state(ask).await {
                kept.set(Some(k));
            }
        });
    };
    read(true);
    let timer =
        set_interval_with_handle(move || read(false), std::time::Duration::from_secs(60)).ok();
    on_cleanup(move || {
        if let Some(t) = timer {
            t.clear();
        }
    });
    move || {
        kept.get().map(|k| {
            let full = k.quota > 0.0 && k.usage / k.quota > NEARLY_FULL;
            let warn = full || !k.persisted;
            view! {
                <p class=if warn { "storage-line warn" } else { "storage-line" }
                    data-testid="storage-line"
                    data-persisted=k.persisted.to_string()
                    data-usage=k.usage.to_string()
                    data-quota=k.quota.to_string()>
                    {move || t("storage.used")} " " {size(k.usage)} " / " {size(k.quota)}
                    " · "
                    {move || if k.persisted { t("storage.persisted") } else { t("storage.not_persisted") }}
                    {full.then(|| view! { " · " <strong>{move || t("storage.nearly_full")}</strong> })}
                </p>
            }
        })
    }
}

fn size(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

async fn storage_state(ask: bool) -> Option<Kept> {
    let storage = web_sys::window()?.navigator().storage();
    let mut persisted = JsFuture::from(storage.persisted().ok()?)
        .await
        .ok()?
        .as_bool()
        .unwrap_or(false);
    if !persisted && ask {
        persisted = JsFuture::from(storage.persist().ok()?)
            .await
            .ok()?
            .as_bool()
            .unwrap_or(false);
    }
    let estimate = JsFuture::from(storage.estimate().ok()?).await.ok()?;
    let number = |k: &str| {
        Reflect::get(&estimate, &JsValue::from_str(k))
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    };
    Some(Kept {
        persisted,
        usage: number("usage"),
        quota: number("quota"),
    })
}

#[cfg(test)]
mod tests {
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_script_is_read_from_trunks_index() {
        let html =
            r#"<link rel="modulepreload" href="/closeloop-app-4f2a.js" crossorigin="anonymous">"#;
        assert_eq!(
            super::script_named_in(html).as_deref(),
            Some("/closeloop-app-4f2a.js")
        );
        assert_eq!(super::script_named_in("<html></html>"), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn each_build_looks_for_its_own_newer_version() {
        assert_eq!(super::index_of("/closeloop-app-4f2a.js"), "/index.html");
        assert_eq!(
            super::index_of("/office/closeloop-office-9b1c.js"),
            "/office/index.html"
        );
    }
}
