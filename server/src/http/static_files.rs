//! Serves the built PWA with a Content-Security-Policy that allows exactly
//! its own scripts: the inline loader Trunk writes is allowed by its hash.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse};
use base64::Engine;
use sha2::{Digest, Sha256};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

/// Static files at `/`, unknown paths answered with `index.html` so the
/// client-side router handles them (and works offline through the service worker).
pub(crate) fn router(dist: &Path) -> Router<AppState> {
    let index = dist.join("index.html");
    let csp = content_security_policy(std::fs::read_to_string(&index).ok().as_deref());
    let csp = HeaderValue::from_str(&csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"));
    let router = if index.is_file() {
        let files = ServeDir::new(dist).fallback(ServeFile::new(index));
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
