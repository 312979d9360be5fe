//! The website's feedback form (S000 §2: the website channel): anyone may
//! send feedback without an account (`POST /api/feedback`), and it becomes
//! a record in head office's inbox (channel `web_form`, source external
//! customer), written by the system account `system:website` through the
//! in-process sync peer like any other capture. Abuse is bounded: requests
//! per address, a size limit, and a honeypot field people never see (a
//! filled one is answered as if accepted and stores nothing).

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::routing::post;
use closeloop_shared::FeedbackDraft;
use closeloop_shared::access::Role;
use closeloop_shared::record::RecordError;
use closeloop_shared::sync::DocumentId;

use crate::error::{AppError, AppJson};
use crate::jobs::peer::{InProcessPeer, system_account};
use crate::state::AppState;

/// The account website feedback is written as (no sign-in name has a `:`).
pub(crate) const SYSTEM_USER: &str = "system:website";
/// The taxonomy's website channel.
const CHANNEL: &str = "web_form";
/// Bytes of a submission at most.
const MAX_BYTES: usize = 16 * 1024;
/// Characters of what happened, as the form says (less than a capture may hold).
const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// What the form sends.
#[derive(Debug, serde::Deserialize)]
struct Submitted {
    description: String,
    #[serde(default)]
    nickname: String,
    #[serde(default)]
    order_number: Option<String>,
    /// The honeypot: hidden from people, filled by form robots.
    #[serde(default)]
    website: String,
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route(
        "/feedback",
        post(submit).layer(DefaultBodyLimit::max(MAX_BYTES)),
    )
}

/// The reference the customer is shown: the start of the record's id.
fn reference(id: &DocumentId) -> String {
    id.to_string()
        .chars()
        .take(8)
        .collect::<String>()
        .to_uppercase()
}

async fn submit(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    AppJson(form): AppJson<Submitted>,
) -> Result<(StatusCode, AppJson<serde_json::Value>), AppError> {
    let addr = state.edge.client_addr(&extensions, &headers);
    let now = state.now_ms();
    state
        .public_limits
        .allow_feedback(addr, now)
        .await
        .map_err(AppError::RateLimited)?;
    let id = DocumentId::from_bytes(
        crate::random::bytes::<16>()
            .map_err(|e| AppError::Internal(format!("no randomness for a record id: {e}")))?,
    );
    if !form.website.is_empty() {
        tracing::info!(
            ?addr,
            "website feedback with the honeypot filled: not stored"
        );
        return Ok(accepted(&id));
    }
    if form.description.trim().chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(refused(RecordError::DescriptionTooLong));
    }
    let nickname = match form.nickname.trim() {
        "" => "网站访客".to_string(),
        given => given.to_string(),
    };
    let draft = FeedbackDraft {
        channel: CHANNEL.into(),
        nickname,
        description: form.description,
        order_number: form.order_number,
        ..FeedbackDraft::default()
    };
    let taxonomy = state.taxonomy.get();
    let draft = draft.validate(&taxonomy).map_err(refused)?;
    let mut peer =
        InProcessPeer::connect(&state.relay, system_account(SYSTEM_USER, Role::HeadOffice))
            .await
            .map_err(|e| AppError::Internal(format!("website feedback: {e}")))?;
    let written = peer
        .change(id, |d| draft.write_new(d, &taxonomy, SYSTEM_USER, now))
        .await;
    peer.close().await;
    written.map_err(|e| AppError::Internal(format!("website feedback: {e}")))?;
    Ok(accepted(&id))
}

fn accepted(id: &DocumentId) -> (StatusCode, AppJson<serde_json::Value>) {
    (
        StatusCode::CREATED,
        AppJson(serde_json::json!({ "reference": reference(id) })),
    )
}

/// A form error in words the page translates by code.
fn refused(e: RecordError) -> AppError {
    let code = match e {
        RecordError::DescriptionEmpty => "description_empty",
        RecordError::DescriptionTooLong => "description_too_long",
        RecordError::NicknameTooLong => "nickname_too_long",
        _ => "feedback_invalid",
    };
    AppError::Invalid {
        code,
        message: e.to_string(),
    }
}
