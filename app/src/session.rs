//! Signing in and out against the server's `/api/login`, `/api/logout` and
//! `/api/me`. The session itself is an HttpOnly cookie the page never sees.

use closeloop_shared::access::Principal;
use closeloop_shared::api::{Credentials, ErrorBody, SignedIn};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// What the page knows about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// Not checked yet, or the server is unreachable (offline).
    Unknown,
    SignedIn {
        username: String,
        role: String,
    },
    SignedOut,
}

/// Why signing in failed, for the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    WrongCredentials,
    Unreachable,
}

/// An API refusal in the user's words: `forbidden` for a 403, what
/// `known` says of a status and error code it knows, else that the answer
/// was not understood.
pub(crate) fn refusal(
    l: crate::i18n::Lang,
    status: u16,
    body: &str,
    forbidden: &str,
    known: impl Fn(u16, &str) -> Option<String>,
) -> String {
    if status == 403 {
        return crate::i18n::tr(l, forbidden).into();
    }
    let code = serde_json::from_str::<ErrorBody>(body)
        .map(|e| e.code)
        .unwrap_or_default();
    known(status, &code).unwrap_or_else(|| crate::i18n::tr(l, "inbox.bad_answer").into())
}

/// One API call with the session cookie: the status and the body text;
/// `Err` when the server cannot be reached.
pub(crate) async fn call(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, String), ()> {
    let json = body.map(|b| wasm_bindgen::JsValue::from_str(&b));
    send(method, path, json.as_ref(), "application/json").await
}

/// The same with any body (a file's piece) of `media_type`.
pub(crate) async fn send(
    method: &str,
    path: &str,
    body: Option<&wasm_bindgen::JsValue>,
    media_type: &str,
) -> Result<(u16, String), ()> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = body {
        init.set_body(b);
    }
    let req = Request::new_with_str_and_init(path, &init).map_err(|_| ())?;
    if body.is_some() {
        req.headers()
            .set("Content-Type", media_type)
            .map_err(|_| ())?;
    }
    let window = web_sys::window().ok_or(())?;
    let resp: Response = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())?;
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((resp.status(), text))
}

/// Where the device's user is kept (not secret: a name and a role), so a
/// tablet offline all day opens that user's data, writes records in their
/// name and checks the same rules. Set at sign-in, kept through an
/// expired session, removed at sign-out and when a revoked session wipes.
const USER_KEY: &str = "closeloop.user";

pub(crate) fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The device's user (the one last signed in and not signed out), if any.
pub fn cached_user() -> Option<Principal> {
    let json = local_storage()?.get_item(USER_KEY).ok().flatten()?;
    serde_json::from_str(&json).ok()
}

fn remember(user: &Principal) {
    if let (Some(s), Ok(json)) = (local_storage(), serde_json::to_string(user)) {
        let _ = s.set_item(USER_KEY, &json);
    }
}

/// Forgets the device's user (signed out, or their data wiped).
pub(crate) fn forget() {
    if let Some(s) = local_storage() {
        let _ = s.remove_item(USER_KEY);
    }
}

fn signed_in(user: Principal) -> Session {
    remember(&user);
    Session::SignedIn {
        username: user.username,
        role: user.role.key().to_string(),
    }
}

/// An administrator ended the session (revoked it, or disabled the
/// user): the server answers `session_revoked`, and the device wipes the
/// user's local data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked;

/// Asks the server who is signed in. An expired or unknown session is
/// [`Session::SignedOut`]; the device's user is remembered still, so
/// their local data waits for them to sign in again.
pub async fn check() -> Result<Session, Revoked> {
    match call("GET", "/api/me", None).await {
        Ok((200, body)) => Ok(match serde_json::from_str::<Principal>(&body) {
            Ok(user) => signed_in(user),
            Err(_) => Session::Unknown,
        }),
        Ok((401, body)) => match serde_json::from_str::<ErrorBody>(&body) {
            Ok(e) if e.code == "session_revoked" => Err(Revoked),
            _ => Ok(Session::SignedOut),
        },
        _ => Ok(Session::Unknown),
    }
}

/// Signs in; the server sets the session cookie.
pub async fn sign_in(username: &str, password: &str) -> Result<Session, SignInError> {
    let credentials = Credentials {
        username: username.to_string(),
        password: password.to_string(),
    };
    let body = serde_json::to_string(&credentials).map_err(|_| SignInError::Unreachable)?;
    match call("POST", "/api/login", Some(body)).await {
        Ok((200, body)) => serde_json::from_str::<SignedIn>(&body)
            .map(|s| signed_in(s.user))
            .map_err(|_| SignInError::Unreachable),
        Ok((400 | 401, _)) => Err(SignInError::WrongCredentials),
        _ => Err(SignInError::Unreachable),
    }
}

/// Signs out on the server (best effort: offline, the cookie simply stays
/// until it expires) and forgets the device's user.
pub async fn sign_out() {
    forget();
    let _ = call("POST", "/api/logout", None).await;
}
