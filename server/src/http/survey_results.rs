//! A survey's results for head office, supervisors and admins: scored and
//! grouped (`GET /api/surveys/{survey}/results`, the rules in
//! `shared/src/survey/results.rs`) and every answer as a CSV or XLSX file
//! (`…/answers.csv`, `…/answers.xlsx`).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use closeloop_shared::access::Principal;
use closeloop_shared::stats::Dimension;
use closeloop_shared::survey::answers::Answers;
use closeloop_shared::survey::results::{AnsweredSurvey, SurveyResults, results};

use super::auth::CurrentUser;
use super::export::{FileKind, attachment};
use crate::error::{AppError, AppJson, AppQuery};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/surveys/{survey}/results", get(survey_results))
        .route("/surveys/{survey}/answers.csv", get(answers_csv))
        .route("/surveys/{survey}/answers.xlsx", get(answers_xlsx))
}

/// How results are grouped (`?by=`).
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum GroupBy {
    Month,
    #[default]
    Quarter,
    Department,
    Channel,
    Type,
}

#[derive(Debug, serde::Deserialize)]
struct ResultsQuery {
    #[serde(default)]
    by: GroupBy,
    /// Answers given from this moment (ms) …
    from: Option<i64>,
    /// … until before this one.
    to: Option<i64>,
}

/// A survey's results, for head office, supervisors and admins.
async fn survey_results(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(survey): Path<String>,
    AppQuery(q): AppQuery<ResultsQuery>,
) -> Result<AppJson<SurveyResults>, AppError> {
    if !user.role.sees_everything() {
        return Err(AppError::Forbidden);
    }
    let now = state.now_ms();
    let (_, definition) = state
        .storage
        .survey(&survey, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let (from, to) = (q.from.unwrap_or(0), q.to.unwrap_or(i64::MAX));
    let rows = state.storage.survey_result_rows(&survey, from, to).await?;
    let calendar = state.sla.get().calendar.clone();
    let answered: Vec<AnsweredSurvey> = rows
        .into_iter()
        .filter_map(|row| {
            let answers: Answers = serde_json::from_str(&row.answers)
                .inspect_err(|e| tracing::warn!(error = %e, "a stored survey answer does not read"))
                .ok()?;
            let group = match q.by {
                GroupBy::Month => Dimension::Month.period_of(row.answered_at, &calendar),
                GroupBy::Quarter => Dimension::Quarter.period_of(row.answered_at, &calendar),
                GroupBy::Department => row.department,
                GroupBy::Channel => row.channel,
                GroupBy::Type => row.feedback_type,
            };
            Some(AnsweredSurvey {
                answered_at_ms: row.answered_at,
                group,
                answers,
            })
        })
        .collect();
    Ok(AppJson(results(&definition, &answered)))
}

/// Which answers an export holds: given in `[from, to)` (ms).
#[derive(Debug, serde::Deserialize)]
struct Period {
    from: Option<i64>,
    to: Option<i64>,
}

async fn answers_csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(survey): Path<String>,
    AppQuery(p): AppQuery<Period>,
) -> Result<Response, AppError> {
    export_answers(&state, &user, &survey, &p, FileKind::Csv).await
}

async fn answers_xlsx(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(survey): Path<String>,
    AppQuery(p): AppQuery<Period>,
) -> Result<Response, AppError> {
    export_answers(&state, &user, &survey, &p, FileKind::Xlsx).await
}

/// Every answer as a row: when, the record and its department, channel
/// and type, dissatisfied or not, then each question of the newest
/// version (Chinese; answers of older versions fill the questions they share).
async fn export_answers(
    state: &AppState,
    user: &Principal,
    survey: &str,
    p: &Period,
    kind: FileKind,
) -> Result<Response, AppError> {
    if !user.role.sees_everything() {
        return Err(AppError::Forbidden);
    }
    let (_, definition) = state
        .storage
        .survey(survey, state.now_ms())
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = state
        .storage
        .survey_result_rows(survey, p.from.unwrap_or(0), p.to.unwrap_or(i64::MAX))
        .await?;
    let body = tokio::task::spawn_blocking(move || {
        let mut headings: Vec<String> = [
            "回答时间 answered (UTC)",
            "记录 record",
            "部门 department",
            "渠道 channel",
            "类型 type",
            "不满意 dissatisfied",
        ]
        .map(String::from)
        .to_vec();
        headings.extend(
            definition
                .questions
                .iter()
                .map(|q| format!("{} {}", q.text.zh, q.text.en)),
        );
        let table: Vec<Vec<String>> = rows
            .into_iter()
            .filter_map(|row| {
                let answers: Answers = serde_json::from_str(&row.answers).ok()?;
                let at = chrono::DateTime::from_timestamp_millis(row.answered_at)
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default();
                let flag = if definition.dissatisfied(&answers) {
                    "是 yes"
                } else {
                    "否 no"
                };
                let mut cells = vec![
                    at,
                    row.document_id.unwrap_or_default(),
                    row.department.unwrap_or_default(),
                    row.channel.unwrap_or_default(),
                    row.feedback_type.unwrap_or_default(),
                    flag.to_string(),
                ];
                cells.extend(definition.questions.iter().map(|q| {
                    answers
                        .get(&q.key)
                        .and_then(|a| q.line(a))
                        .map(|l| l.value.zh)
                        .unwrap_or_default()
                }));
                Some(cells)
            })
            .collect();
        let headings: Vec<&str> = headings.iter().map(String::as_str).collect();
        kind.table("问卷 Survey", &headings, &table)
    })
    .await
    .map_err(|e| AppError::Internal(format!("export task: {e}")))?
    .map_err(|e| AppError::Internal(format!("export: {e}")))?;
    let name = match kind {
        FileKind::Csv => "closeloop-survey-answers.csv",
        FileKind::Xlsx => "closeloop-survey-answers.xlsx",
    };
    Ok(attachment(kind.content_type(), name, body))
}
