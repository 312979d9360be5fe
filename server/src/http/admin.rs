//! `/api/admin/users…`: the `user` command's operations for administrators
//! in the browser. Every call checks the caller's role anew (the session is
//! read on each request), so a demoted admin loses access at once.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use closeloop_shared::access::Role;
use closeloop_shared::api::{NewPassword, NewUser, RoleChange, UserList};
use closeloop_shared::audit::AuditAction;

use super::auth::CurrentUser;
use crate::error::{AppError, AppJson};
use crate::state::AppState;
use crate::storage::{AuditNote, UserError};

/// A signed-in administrator; anyone else gets 403 (401 if not signed in).
pub(crate) struct Admin(pub(crate) String);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.role != Role::Admin {
            return Err(AppError::Forbidden);
        }
        Ok(Admin(user.username))
    }
}

impl Admin {
    /// Writes what this administrator did to the audit log.
    pub(crate) async fn audit(
        &self,
        state: &AppState,
        action: AuditAction,
        subject: &str,
        detail: Option<String>,
    ) -> Result<(), AppError> {
        let note = AuditNote {
            actor: &self.0,
            action,
            subject: Some(subject),
            detail,
        };
        Ok(state.storage.audit(note, state.now_ms()).await?)
    }
}

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(users_list).post(users_create))
        .route("/admin/users/{username}/disable", post(users_disable))
        .route("/admin/users/{username}/enable", post(users_enable))
        .route(
            "/admin/users/{username}/reset-password",
            post(users_reset_password),
        )
        .route(
            "/admin/users/{username}/revoke-sessions",
            post(users_revoke_sessions),
        )
        .route("/admin/users/{username}/role", put(users_set_role))
}

impl From<UserError> for AppError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Unknown(_) => AppError::NotFound,
            UserError::Storage(e) => AppError::Storage(e),
            other => AppError::Invalid {
                code: match other {
                    UserError::BadUsername => "bad_username",
                    UserError::WeakPassword => "weak_password",
                    UserError::MissingTeam => "missing_team",
                    _ => "user_exists",
                },
                message: other.to_string(),
            },
        }
    }
}

fn done(state: &AppState) -> Json<serde_json::Value> {
    // Sockets of sessions this ended close now, not at the next check.
    state.sessions.check_now();
    Json(serde_json::json!({ "ok": true }))
}

async fn users_list(State(state): State<AppState>, _: Admin) -> Result<Json<UserList>, AppError> {
    let users = state.storage.list_users(state.now_ms()).await?;
    Ok(Json(UserList { users }))
}

async fn users_create(
    State(state): State<AppState>,
    admin: Admin,
    AppJson(new): AppJson<NewUser>,
) -> Result<Json<serde_json::Value>, AppError> {
    let team = new.team.as_deref().map(str::trim).filter(|t| !t.is_empty());
    state
        .storage
        .add_user(
            new.username.trim(),
            &new.password,
            new.role,
            team,
            state.now_ms(),
        )
        .await?;
    let detail = format!("role {}, team {}", new.role.key(), team.unwrap_or("-"));
    admin
        .audit(
            &state,
            AuditAction::UserCreated,
            new.username.trim(),
            Some(detail),
        )
        .await?;
    Ok(Json(serde_json::json!({ "ok": true })))
}

async fn users_disable(
    State(state): State<AppState>,
    admin: Admin,
    Path(username): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    state.storage.set_disabled(&username, true).await?;
    admin
        .audit(&state, AuditAction::UserDisabled, &username, None)
        .await?;
    Ok(done(&state))
}

async fn users_enable(
    State(state): State<AppState>,
    admin: Admin,
    Path(username): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    state.storage.set_disabled(&username, false).await?;
    admin
        .audit(&state, AuditAction::UserEnabled, &username, None)
        .await?;
    Ok(done(&state))
}

async fn users_reset_password(
    State(state): State<AppState>,
    admin: Admin,
    Path(username): Path<String>,
    AppJson(body): AppJson<NewPassword>,
) -> Result<Json<serde_json::Value>, AppError> {
    state
        .storage
        .reset_password(&username, &body.password)
        .await?;
    admin
        .audit(&state, AuditAction::PasswordReset, &username, None)
        .await?;
    Ok(done(&state))
}

async fn users_revoke_sessions(
    State(state): State<AppState>,
    admin: Admin,
    Path(username): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    state.storage.revoke_sessions(&username).await?;
    admin
        .audit(&state, AuditAction::SessionsRevoked, &username, None)
        .await?;
    Ok(done(&state))
}

async fn users_set_role(
    State(state): State<AppState>,
    admin: Admin,
    Path(username): Path<String>,
    AppJson(body): AppJson<RoleChange>,
) -> Result<Json<serde_json::Value>, AppError> {
    state
        .storage
        .set_role(&username, body.role, body.team.as_deref())
        .await?;
    let detail = format!(
        "role {}, team {}",
        body.role.key(),
        body.team.as_deref().unwrap_or("-")
    );
    admin
        .audit(&state, AuditAction::RoleChanged, &username, Some(detail))
        .await?;
    Ok(done(&state))
}
