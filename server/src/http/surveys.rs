//! Surveys over HTTP. Head office issues a single-use link for a record
//! (`POST /api/records/{id}/survey-link`) and reads the answers given about
//! it; a customer's browser, with no account, reads the survey behind a
//! link (`GET /api/s/{token}`, which never consumes it: chat apps prefetch
//! links) and answers it once (`POST /api/s/{token}`). A token is 128
//! random bits ([`crate::survey_sending::token`]), and an unknown, malformed,
//! used or expired token says nothing about any other link or record.
//! Requests to links are limited per address and per link.

use axum::Router;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::routing::{get, post};
use closeloop_shared::survey::answers::Answers;
use closeloop_shared::survey::score::{Csat, Nps};
use closeloop_shared::survey::{RecordSurveyAnswer, SurveyLinkIssued, SurveyPage, SurveySubmit};

use super::auth::CurrentUser;
use super::records::{record_id, seen_record};
use crate::error::{AppError, AppJson};
use crate::state::AppState;
use crate::storage::{Answered, NewAnswer, SATISFACTION, SurveyLink};

/// Bytes of an answer's body at most (a full survey of long texts fits).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// Characters of a submission id.
const MAX_SUBMISSION_CHARS: usize = 64;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/records/{id}/survey-link", post(issue_link))
        .route("/records/{id}/survey-answers", get(record_answers))
        .route(
            "/s/{token}",
            get(open_link)
                .post(answer)
                .layer(DefaultBodyLimit::max(MAX_ANSWER_BYTES)),
        )
}

/// The stored key of a well-formed token; a malformed one is simply unknown.
fn token_hash(token: &str) -> Result<Vec<u8>, AppError> {
    crate::survey_sending::token::token_hash(token).ok_or(AppError::NotFound)
}

/// Head office, supervisors and admins send surveys about records they see.
async fn issue_link(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, AppJson<SurveyLinkIssued>), AppError> {
    let id = record_id(&id)?;
    if !user.role.sees_everything() {
        return Err(AppError::Forbidden);
    }
    let now = state.now_ms();
    seen_record(&state, &user, &id).await?;
    let (version, _) = state
        .storage
        .survey(SATISFACTION, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let (token, hash) = crate::survey_sending::token::new_token().map_err(AppError::Internal)?;
    let rules = state.storage.sending_rules(now).await?;
    let link = SurveyLink {
        survey: SATISFACTION.into(),
        version,
        document_id: Some(id.to_string()),
        campaign: None,
        contact_ref: None,
        expires_at: rules.expires_at(now),
        used_at: None,
        submission: None,
    };
    state.storage.issue_survey_link(&hash, &link, now).await?;
    Ok((
        StatusCode::CREATED,
        AppJson(SurveyLinkIssued {
            path: format!("/s/{token}"),
            expires_at: link.expires_at,
        }),
    ))
}

/// The answers a record's customer gave, for whoever sees the record.
async fn record_answers(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<AppJson<Vec<RecordSurveyAnswer>>, AppError> {
    let id = record_id(&id)?;
    seen_record(&state, &user, &id).await?;
    let mut shown = Vec::new();
    for row in state.storage.record_survey_answers(&id.to_string()).await? {
        let survey = state
            .storage
            .survey_version(&row.survey, row.version)
            .await?;
        let answers: Answers = serde_json::from_str(&row.answers)
            .map_err(|e| AppError::Internal(format!("stored survey answers: {e}")))?;
        shown.push(RecordSurveyAnswer {
            answered_at: row.answered_at,
            version: row.version,
            dissatisfied: row.dissatisfied,
            lines: survey.map(|s| s.lines(&answers)).unwrap_or_default(),
        });
    }
    Ok(AppJson(shown))
}

/// Why a link cannot be answered, as the public page says it.
fn closed(code: &'static str, message: &str) -> AppError {
    AppError::Gone {
        code,
        message: message.into(),
    }
}

/// The link with this hash (any other: not found).
async fn link_of(state: &AppState, hash: &[u8]) -> Result<SurveyLink, AppError> {
    state
        .storage
        .survey_link(hash)
        .await?
        .ok_or(AppError::NotFound)
}

/// The survey version of a link that can still be answered.
async fn usable(
    state: &AppState,
    link: &SurveyLink,
) -> Result<closeloop_shared::survey::SurveyDefinition, AppError> {
    if link.used_at.is_some() {
        return Err(closed(
            "survey_link_used",
            "this survey was already answered",
        ));
    }
    if link.expires_at <= state.now_ms() {
        return Err(closed(
            "survey_link_expired",
            "this survey link has expired",
        ));
    }
    state
        .storage
        .survey_version(&link.survey, link.version)
        .await?
        .ok_or(AppError::NotFound)
}

/// Counts a request to a link against the limits per address and per link.
async fn limit(
    state: &AppState,
    extensions: &Extensions,
    headers: &HeaderMap,
    token: &str,
) -> Result<(), AppError> {
    let addr = state.edge.client_addr(extensions, headers);
    state
        .public_limits
        .allow(addr, token, state.now_ms())
        .await
        .map_err(AppError::RateLimited)
}

/// Reading a link changes nothing.
async fn open_link(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<AppJson<SurveyPage>, AppError> {
    limit(&state, &extensions, &headers, &token).await?;
    let link = link_of(&state, &token_hash(&token)?).await?;
    let survey = usable(&state, &link).await?;
    Ok(AppJson(SurveyPage {
        version: link.version,
        survey,
        expires_at: link.expires_at,
    }))
}

/// Stores the answers, checked against the version the link asks.
async fn answer(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    Path(token): Path<String>,
    AppJson(submit): AppJson<SurveySubmit>,
) -> Result<(StatusCode, AppJson<serde_json::Value>), AppError> {
    limit(&state, &extensions, &headers, &token).await?;
    let hash = token_hash(&token)?;
    let submission = submit.submission.trim();
    if submission.is_empty() || submission.chars().count() > MAX_SUBMISSION_CHARS {
        return Err(AppError::BadRequest(format!(
            "submission: 1 to {MAX_SUBMISSION_CHARS} characters"
        )));
    }
    let link = link_of(&state, &hash).await?;
    if link.submission.as_deref() == Some(submission) {
        return Ok((
            StatusCode::OK,
            AppJson(serde_json::json!({ "answered": true })),
        ));
    }
    let survey = usable(&state, &link).await?;
    let kept = survey
        .check_answers(&submit.answers)
        .map_err(|e| AppError::Invalid {
            code: e.code(),
            message: e.to_string(),
        })?;
    let json = serde_json::to_string(&kept)
        .map_err(|e| AppError::Internal(format!("survey answers: {e}")))?;
    let dissatisfied = survey.dissatisfied(&kept);
    let stored = state
        .storage
        .answer_survey(
            &hash,
            &NewAnswer {
                submission,
                answers: &json,
                dissatisfied,
                csat: Csat::of(survey.csat_scores(&kept)),
                nps: Nps::of(survey.nps_scores(&kept)),
            },
            state.now_ms(),
        )
        .await?;
    match stored {
        Answered::Stored => {
            if dissatisfied {
                state.survey_follow_ups.notify_one();
            }
            Ok((
                StatusCode::CREATED,
                AppJson(serde_json::json!({ "answered": true })),
            ))
        }
        Answered::AlreadyStored => Ok((
            StatusCode::OK,
            AppJson(serde_json::json!({ "answered": true })),
        )),
        Answered::Used => Err(closed(
            "survey_link_used",
            "this survey was already answered",
        )),
        Answered::Expired => Err(closed(
            "survey_link_expired",
            "this survey link has expired",
        )),
        Answered::Unknown => Err(AppError::NotFound),
    }
}
