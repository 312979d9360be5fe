//! Improvement actions over HTTP (S000 §3, S001 §6, S002 6.2): head office,
//! supervisors and admins open an action from a chart, a case or a group of
//! records (`POST /api/improvement-actions`), follow it
//! (`GET /api/improvement-actions?open=&record=`), change its status, owner,
//! deadline or plan (`PUT …/{id}`), and read its effect: the figure before
//! and after (`GET …/{id}`).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use closeloop_shared::actions::{
    ActionChange, ActionDetail, ActionError, Effect, ImprovementAction, NewAction,
};
use closeloop_shared::analytics::DashboardFilter;

use super::auth::{CurrentUser, head_office};
use crate::error::{AppError, AppJson, AppQuery};
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/improvement-actions", get(list).post(create))
        .route("/improvement-actions/{id}", get(detail).put(change))
}

fn refused(e: ActionError) -> AppError {
    AppError::Invalid {
        code: e.code(),
        message: e.to_string(),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    open: Option<bool>,
    record: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<AppJson<Vec<ImprovementAction>>, AppError> {
    head_office(&user)?;
    if q.record.as_ref().is_some_and(|r| r.len() > 64) {
        return Err(AppError::BadRequest(
            "a record id is at most 64 characters".into(),
        ));
    }
    let actions = state
        .storage
        .actions(q.open.unwrap_or(false), q.record.as_deref())
        .await?;
    Ok(AppJson(actions))
}

async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppJson(new): AppJson<NewAction>,
) -> Result<AppJson<ImprovementAction>, AppError> {
    head_office(&user)?;
    let new = new.checked().map_err(refused)?;
    let id = crate::random::hex::<8>().map_err(|e| AppError::Internal(e.to_string()))?;
    state
        .storage
        .create_action(&id, &new, &user.username, state.now_ms())
        .await?;
    let stored = state.storage.action(&id).await?.ok_or(AppError::NotFound)?;
    Ok(AppJson(stored))
}

async fn change(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    AppJson(c): AppJson<ActionChange>,
) -> Result<AppJson<ImprovementAction>, AppError> {
    head_office(&user)?;
    let c = c.checked().map_err(refused)?;
    if id.len() > 64 || !state.storage.change_action(&id, &c, state.now_ms()).await? {
        return Err(AppError::NotFound);
    }
    let stored = state.storage.action(&id).await?.ok_or(AppError::NotFound)?;
    Ok(AppJson(stored))
}

/// The action and its figure before and after, on the dashboard's own
/// computation over the action's filters.
async fn detail(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<AppJson<ActionDetail>, AppError> {
    head_office(&user)?;
    let action = match id.len() <= 64 {
        true => state.storage.action(&id).await?,
        false => None,
    }
    .ok_or(AppError::NotFound)?;
    let now = state.now_ms();
    let sla = state.sla.get();
    let (before, after) = action.effect_periods(now);
    let measure = |(from_ms, to_ms): (i64, i64)| {
        let filter = DashboardFilter {
            from_ms,
            to_ms,
            department: action.department.clone(),
            channel: action.channel.clone(),
            feedback_type: action.feedback_type.clone(),
        };
        let (storage, sla) = (state.storage.clone(), sla.clone());
        async move { storage.dashboard(&filter, &sla, now).await }
    };
    let before_value = action.metric.of(&measure(before).await?);
    let after_value = match after {
        Some(p) => action.metric.of(&measure(p).await?),
        None => None,
    };
    let effect = Effect {
        metric: action.metric,
        before: before_value,
        before_period: before,
        after: after_value,
        after_period: after,
    };
    Ok(AppJson(ActionDetail { action, effect }))
}
