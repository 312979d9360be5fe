//! Login, sessions and the [`CurrentUser`] extractor: a handler that takes
//! `CurrentUser` is closed to anyone not signed in.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use closeloop_shared::access::Principal;

use crate::error::AppError;
use crate::relay::now_ms;
use crate::startup::AppState;
use crate::storage::SESSION_DAYS;

/// Name of the HttpOnly session cookie.
pub const SESSION_COOKIE: &str = "closeloop_session";

/// The signed-in user of a request.
pub struct CurrentUser(pub Principal);

/// The session token a request carries: the cookie, or `Authorization: Bearer`
/// (for clients that are not browsers).
pub(crate) fn token_from(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookies| {
            cookies.split(';').find_map(|c| {
                let (name, value) = c.trim().split_once('=')?;
                (name == SESSION_COOKIE).then(|| value.to_string())
            })
        })
}

/// Resolves a token to its user, if the session is valid.
pub(crate) async fn principal_for(
    state: &AppState,
    token: Option<String>,
) -> Result<Principal, AppError> {
    let token = token.ok_or(AppError::Unauthorized)?;
    state
        .storage
        .session(&token, now_ms())
        .await?
        .ok_or(AppError::Unauthorized)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        principal_for(state, token_from(&parts.headers))
            .await
            .map(CurrentUser)
    }
}

/// For a field user, the `(team, username)` that limits what they see
/// (their team's records and those assigned to them); `None` sees everything.
pub(crate) fn field_scope(user: &Principal) -> Option<(&str, &str)> {
    // A field user without a team matches no team (NUL is never a team name).
    (!user.role.sees_everything()).then(|| {
        (
            user.team.as_deref().unwrap_or("\u{0}"),
            user.username.as_str(),
        )
    })
}

/// `/api/login`, `/api/logout`, `/api/me`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
}

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(serde::Serialize)]
struct SignedIn {
    user: Principal,
    /// For clients that cannot hold cookies (sent as a bearer token).
    token: String,
}

async fn login(
    State(state): State<AppState>,
    body: Result<Json<Credentials>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, AppError> {
    let Json(c) = body.map_err(|e| AppError::BadRequest(e.body_text()))?;
    if c.username.len() > 100 || c.password.len() > 1000 {
        return Err(AppError::Unauthorized);
    }
    let user = state
        .storage
        .verify_login(c.username.trim(), &c.password)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let token = state.storage.create_session(user.user_id, now_ms()).await?;
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_DAYS * 86_400
    );
    let mut resp = Json(SignedIn { user, token }).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if let Some(token) = token_from(&headers) {
        state.storage.delete_session(&token).await?;
    }
    let mut resp = Json(serde_json::json!({ "signed_out": true })).into_response();
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn me(CurrentUser(user): CurrentUser) -> Json<Principal> {
    Json(user)
}
