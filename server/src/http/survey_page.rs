//! The customer's survey page, `/s/<token>`: a small HTML page with its own
//! script and style, built into the server, so a customer's phone downloads
//! a few kilobytes and none of the PWA. The page reads and answers the
//! survey through `/api/s/<token>` ([`super::surveys`]).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const PAGE: &str = include_str!("survey_page/page.html");
const SCRIPT: &str = include_str!("survey_page/page.js");
const STYLE: &str = include_str!("survey_page/page.css");

/// Own script, style and API only; nothing inline, nothing from elsewhere.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/s/{token}",
            get(|| served("text/html; charset=utf-8", PAGE)),
        )
        .route(
            "/survey-page.js",
            get(|| served("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/survey-page.css",
            get(|| served("text/css; charset=utf-8", STYLE)),
        )
}

async fn served(kind: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(POLICY),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
}
