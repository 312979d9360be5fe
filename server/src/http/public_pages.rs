//! The pages customers open without an account: a survey link
//! (`/s/<token>`) and the website's feedback form (`/feedback`). Each is a
//! small HTML page with its own script and a shared script and style, built into the
//! server, so a customer's phone downloads a few kilobytes and none of the
//! PWA. They talk to `/api/s/<token>` ([`super::surveys`]) and
//! `/api/feedback` ([`super::public_feedback`]).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

const SURVEY: &str = include_str!("public_pages/survey.html");
const SURVEY_SCRIPT: &str = include_str!("public_pages/survey.js");
const FEEDBACK: &str = include_str!("public_pages/feedback.html");
const FEEDBACK_SCRIPT: &str = include_str!("public_pages/feedback.js");
const STYLE: &str = include_str!("public_pages/page.css");
const COMMON_SCRIPT: &str = include_str!("public_pages/common.js");

const HTML: &str = "text/html; charset=utf-8";
const SCRIPT: &str = "text/javascript; charset=utf-8";

/// Own script, style and API only; nothing inline, nothing from elsewhere.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/s/{token}", get(|| served(HTML, SURVEY)))
        .route("/survey.js", get(|| served(SCRIPT, SURVEY_SCRIPT)))
        .route("/feedback", get(|| served(HTML, FEEDBACK)))
        .route("/feedback.js", get(|| served(SCRIPT, FEEDBACK_SCRIPT)))
        .route("/public-page.js", get(|| served(SCRIPT, COMMON_SCRIPT)))
        .route(
            "/public-page.css",
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
