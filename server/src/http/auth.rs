//! Login, sessions and the [`CurrentUser`] extractor: a handler that takes
//! `CurrentUser` is closed to anyone not signed in.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use closeloop_shared::access::Principal;
use closeloop_shared::api::{Credentials, SignedIn};
use closeloop_shared::audit::AuditAction;

use crate::error::{AppError, AppJson};
use crate::login_guard::Refused;
use crate::state::AppState;
use crate::storage::{AuditNote, SESSION_DAYS, session_id};

/// Name of the HttpOnly session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "closeloop_session";
/// Its name over HTTPS: the `__Host-` prefix makes browsers accept it only
/// with `Secure`, `Path=/` and no `Domain`, so a sibling subdomain cannot
/// plant or overwrite it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-closeloop_session";

/// Longer sign-in input is refused before any hashing.
const MAX_USERNAME_BYTES: usize = 100;
const MAX_PASSWORD_BYTES: usize = 1000;

/// The signed-in user of a request.
pub struct CurrentUser(pub Principal);

/// The session token a request carries: the cookie, or `Authorization: Bearer`
/// (for clients that are not browsers).
/// Head office, supervisors and admins (who see every record) only.
pub(crate) fn head_office(user: &Principal) -> Result<(), AppError> {
    if user.role.sees_everything() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

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
                (name == SECURE_SESSION_COOKIE || name == SESSION_COOKIE).then(|| value.to_string())
            })
        })
}

/// Resolves a token to its user, if the session is valid; a session an
/// administrator ended answers [`AppError::SessionRevoked`], any other
/// [`AppError::Unauthorized`].
pub(crate) async fn principal_for(
    state: &AppState,
    token: Option<String>,
) -> Result<Principal, AppError> {
    let token = token.ok_or(AppError::Unauthorized)?;
    if let Some(user) = state.storage.session(&token, state.now_ms()).await? {
        return Ok(user);
    }
    // Only a token that held a session reaches this second look-up.
    if state.storage.session_revoked(&token).await? {
        return Err(AppError::SessionRevoked);
    }
    Err(AppError::Unauthorized)
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

/// `/api/login`, `/api/logout`, `/api/me`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
}

async fn login(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    AppJson(c): AppJson<Credentials>,
) -> Result<Response, AppError> {
    if c.username.len() > MAX_USERNAME_BYTES || c.password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::Unauthorized);
    }
    let addr = state.edge.client_addr(&extensions, &headers);
    let username = c.username.trim();
    let slot = state
        .logins
        .admit(username, addr, state.now_ms())
        .await
        .map_err(|refused| match refused {
            Refused::Locked(secs) => AppError::TooManyRequests(secs),
            Refused::Busy => AppError::Busy(1),
            Refused::Storage(e) => AppError::Storage(e),
        })?;
    let verified = state.storage.verify_login(username, &c.password).await?;
    drop(slot);
    let attempt = |action| AuditNote {
        actor: username,
        action,
        subject: None,
        detail: addr.map(|a| format!("from {a}")),
    };
    let Some(user) = verified else {
        state.logins.failed(username, addr, state.now_ms()).await?;
        state
            .storage
            .audit(attempt(AuditAction::LoginFailed), state.now_ms())
            .await?;
        tracing::info!(
            user = %crate::sync::cut(username, 40),
            ?addr,
            "failed sign-in"
        );
        return Err(AppError::Unauthorized);
    };
    state.logins.succeeded(username).await?;
    state
        .storage
        .audit(attempt(AuditAction::Login), state.now_ms())
        .await?;
    let token = state
        .storage
        .create_session(user.user_id, state.now_ms())
        .await?;
    let cookie = session_cookie(&state, &token, SESSION_DAYS * 86_400);
    let mut resp = Json(SignedIn { user, token }).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if let Some(token) = token_from(&headers) {
        if let Ok(user) = principal_for(&state, Some(token.clone())).await {
            let note = AuditNote {
                actor: &user.username,
                action: AuditAction::Logout,
                subject: None,
                detail: None,
            };
            state.storage.audit(note, state.now_ms()).await?;
        }
        state.storage.delete_session(&token).await?;
        // This relay's sockets of the session are ended before the answer:
        // the relay handles its inputs in order, so a frame a client sends
        // once it has the answer finds the connection gone and is dropped.
        // (A check only, racing the client, let such a change be stored.)
        crate::sync::socket::end_session(
            &state,
            session_id(&token),
            "signed out or sessions revoked",
        )
        .await;
        // The watch forgets them; other relays sharing the database notice
        // at their next check.
        state.sessions.check_now();
    }
    let mut resp = Json(serde_json::json!({ "signed_out": true })).into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&state, "", 0)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The `Set-Cookie` value carrying `token` for `max_age` seconds (0 clears).
fn session_cookie(state: &AppState, token: &str, max_age: i64) -> String {
    let (name, secure) = if state.edge.https {
        (SECURE_SESSION_COOKIE, "; Secure")
    } else {
        (SESSION_COOKIE, "")
    };
    format!("{name}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

async fn me(CurrentUser(user): CurrentUser) -> Json<Principal> {
    Json(user)
}
