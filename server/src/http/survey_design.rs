//! What head office designs about surveys: the survey itself, saved in
//! versions (`GET`/`PUT /api/surveys/{survey}`), when surveys go out on
//! their own (`/api/survey-sending`), campaigns to a segment
//! (`/api/surveys/{survey}/campaigns`) and the audit of every send
//! (`GET /api/survey-sends`). Supervisors and admins change them; head
//! office reads them. Every change is in the audit log.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use closeloop_shared::access::Principal;
use closeloop_shared::audit::AuditAction;
use closeloop_shared::survey::sending::{
    CampaignView, NewCampaign, SendReason, SendView, SendingRules,
};
use closeloop_shared::survey::{SurveyDefinition, SurveyVersions, is_survey_name};

use super::auth::{CurrentUser, head_office};
use super::records::record_id;
use crate::error::{AppError, AppJson, AppQuery};
use crate::state::AppState;
use crate::storage::AuditNote;

/// Sends listed at most.
const MAX_SENDS_LISTED: i64 = 500;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/surveys/{survey}", get(read_survey).put(save_survey))
        .route(
            "/surveys/{survey}/campaigns",
            get(campaigns).post(start_campaign),
        )
        .route("/survey-sending", get(read_rules).put(save_rules))
        .route("/survey-sends", get(sends))
}

fn designer(user: &Principal) -> Result<(), AppError> {
    if user.may_design_surveys() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn survey_name(name: &str) -> Result<(), AppError> {
    if is_survey_name(name) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

async fn audit(
    state: &AppState,
    user: &Principal,
    subject: &str,
    detail: String,
) -> Result<(), AppError> {
    let note = AuditNote {
        actor: &user.username,
        action: AuditAction::SettingsChanged,
        subject: Some(subject),
        detail: Some(detail),
    };
    Ok(state.storage.audit(note, state.now_ms()).await?)
}

/// The newest version and the list of versions.
async fn read_survey(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(survey): Path<String>,
) -> Result<AppJson<SurveyVersions>, AppError> {
    head_office(&user)?;
    survey_name(&survey)?;
    let (version, definition) = state
        .storage
        .survey(&survey, state.now_ms())
        .await?
        .ok_or(AppError::NotFound)?;
    let versions = state.storage.survey_versions(&survey).await?;
    Ok(AppJson(SurveyVersions {
        survey,
        version,
        definition,
        versions,
    }))
}

/// Saves a new version; answers given to earlier ones keep theirs. The
/// same definition again saves nothing.
async fn save_survey(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(survey): Path<String>,
    AppJson(definition): AppJson<SurveyDefinition>,
) -> Result<(StatusCode, AppJson<SurveyVersions>), AppError> {
    designer(&user)?;
    survey_name(&survey)?;
    definition.validate().map_err(|e| AppError::Invalid {
        code: e.code(),
        message: e.to_string(),
    })?;
    let now = state.now_ms();
    let newest = state.storage.survey(&survey, now).await?;
    let status = if newest.as_ref().map(|(_, d)| d) == Some(&definition) {
        StatusCode::OK
    } else {
        let version = state
            .storage
            .save_survey(&survey, &definition, &user.username, now)
            .await?;
        audit(
            &state,
            &user,
            &format!("survey:{survey}"),
            format!("version {version}"),
        )
        .await?;
        StatusCode::CREATED
    };
    let AppJson(saved) = read_survey(State(state), CurrentUser(user), Path(survey)).await?;
    Ok((status, AppJson(saved)))
}

async fn read_rules(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<AppJson<SendingRules>, AppError> {
    head_office(&user)?;
    Ok(AppJson(state.storage.sending_rules(state.now_ms()).await?))
}

/// Saved for every relay; the sending job reads them on each run.
async fn save_rules(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppJson(rules): AppJson<SendingRules>,
) -> Result<AppJson<SendingRules>, AppError> {
    designer(&user)?;
    rules.validate().map_err(|e| AppError::Invalid {
        code: e.code(),
        message: e.to_string(),
    })?;
    state
        .storage
        .set_sending_rules(&rules, state.now_ms())
        .await?;
    let detail = serde_json::to_string(&rules).unwrap_or_default();
    audit(&state, &user, "survey_sending", detail).await?;
    state.survey_sending.notify_one();
    Ok(AppJson(rules))
}

async fn campaigns(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(survey): Path<String>,
) -> Result<AppJson<Vec<CampaignView>>, AppError> {
    head_office(&user)?;
    survey_name(&survey)?;
    Ok(AppJson(state.storage.campaigns(&survey).await?))
}

/// Starts a campaign; the sending job reaches its customers.
async fn start_campaign(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(survey): Path<String>,
    AppJson(campaign): AppJson<NewCampaign>,
) -> Result<(StatusCode, AppJson<serde_json::Value>), AppError> {
    designer(&user)?;
    survey_name(&survey)?;
    campaign.validate().map_err(|e| AppError::Invalid {
        code: e.code(),
        message: e.to_string(),
    })?;
    let now = state.now_ms();
    state
        .storage
        .survey(&survey, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let bytes = crate::random::bytes::<8>()
        .map_err(|e| AppError::Internal(format!("no randomness for a campaign id: {e}")))?;
    let id = format!("cp-{}", crate::random::to_hex(&bytes));
    state
        .storage
        .create_campaign(
            &id,
            &survey,
            &campaign,
            SendReason::Campaign,
            &user.username,
            now,
        )
        .await?;
    let detail = serde_json::to_string(&campaign).unwrap_or_default();
    audit(&state, &user, &format!("campaign:{id}"), detail).await?;
    state.survey_sending.notify_one();
    Ok((
        StatusCode::CREATED,
        AppJson(serde_json::json!({ "id": id })),
    ))
}

#[derive(Debug, serde::Deserialize)]
struct SendsQuery {
    /// Only the sends about this record.
    record: Option<String>,
}

/// What was sent when, skipped or failed, newest first.
async fn sends(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<SendsQuery>,
) -> Result<AppJson<Vec<SendView>>, AppError> {
    head_office(&user)?;
    let record = match &q.record {
        Some(id) => Some(record_id(id)?.to_string()),
        None => None,
    };
    Ok(AppJson(
        state
            .storage
            .survey_sends(record.as_deref(), MAX_SENDS_LISTED)
            .await?,
    ))
}
