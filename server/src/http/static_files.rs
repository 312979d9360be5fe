//! Serves the built PWA with a Content-Security-Policy that allows exactly
//! its own scripts: the inline loaders Trunk writes are allowed by their hash.
//! There are two builds ([`Bundle`]): the tablet's at `/` and head office's
//! at `/office/`; a page's path picks the `index.html`.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse};
use base64::Engine;
use closeloop_shared::bundle::Bundle;
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

/// Static files at `/`, unknown paths answered with the `index.html` of the
/// build that has the page, so its client-side router handles them (and
/// works offline through the service worker).
pub(crate) fn router(dist: &Path) -> Router<AppState> {
    let index_file = |bundle: Bundle| dist.join(bundle.index_path().trim_start_matches('/'));
    let (field, office) = (index_file(Bundle::Field), index_file(Bundle::Office));
    let loaders: String = [&field, &office]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect();
    let csp = content_security_policy(Some(&loaders));
    let csp = HeaderValue::from_str(&csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    let router = if field.is_file() {
        let (field, office) = (ServeFile::new(field), ServeFile::new(office));
        let page = tower::service_fn(move |req: Request| {
            let index = match Bundle::serving(req.uri().path()) {
                Bundle::Field => field.clone(),
                Bundle::Office => office.clone(),
            };
            index.oneshot(req)
        });
        // `/office` is a page, not the directory of head office's build.
        let files = ServeDir::new(dist)
            .append_index_html_on_directories(false)
            .fallback(page);
        Router::new().fallback_service(files)
    } else {
        tracing::warn!(dist = %dist.display(), "no built PWA found; serving a notice instead");
        Router::new().fallback(not_built)
    };
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        // Names carry no content hash, so browsers must revalidate (cheap 304s).
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}

async fn not_built() -> impl IntoResponse {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(
            "<!doctype html><meta charset=utf-8><title>Closeloop</title>\
              <p>The Closeloop app is not built yet. Run <code>cargo xtask serve</code>.</p>",
        ),
    )
}

/// The policy for the PWA: own origin only, wasm allowed, inline scripts only
/// when their hash is in `index.html` as shipped.
fn content_security_policy(index_html: Option<&str>) -> String {
    let hashes: String = index_html
        .map(inline_scripts)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let digest = Sha256::digest(s.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

/// Bodies of `<script>` elements without `src`.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_start = &after[tag_end + 1..];
        let Some(close) = body_start.find("</script>") else {
            break;
        };
        if !tag.contains("src=") {
            found.push(&body_start[..close]);
        }
        rest = &body_start[close..];
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_get_their_hash_and_external_ones_do_not() {
        let html = r#"<script src="/a.js"></script><script type="module">init()</script>"#;
        assert_eq!(inline_scripts(html), vec!["init()"]);
        let csp = content_security_policy(Some(html));
        let want = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"init()"));
        assert!(csp.contains(&format!("'sha256-{want}'")), "{csp}");
        assert!(!content_security_policy(None).contains("sha256"));
    }
}
