//! `GET /api/events`: server push for open inboxes. Whenever the relay (or
//! another relay sharing the database) stores a change, each stream gets a
//! `records` event and the page re-reads its list: live without polling.
//!
//! The event says only that something changed, never which record, so it
//! tells nobody about records they may not see. Bursts are coalesced (at
//! most one event per [`COALESCE`], the first at once); the session is checked again before
//! each event, so a signed-out or revoked session's stream ends.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use tokio::sync::watch;

use super::auth::{CurrentUser, principal_for, token_from};
use crate::error::AppError;
use crate::state::AppState;
use crate::sync::SocketClaim;

/// At most one event per this long: a burst of stored changes is one
/// re-read per open inbox, not one per change.
const COALESCE: Duration = Duration::from_millis(250);

/// The route, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/events", get(events))
}

/// What one stream holds between events.
struct Listener {
    state: AppState,
    token: Option<String>,
    stored: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    /// Counted with the user's sync sockets, so streams are bounded too.
    _claim: SocketClaim,
    first: bool,
}

async fn events(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let claim = state
        .relay
        .claim_socket(user.user_id)
        .ok_or(AppError::TooManyConnections)?;
    let listener = Listener {
        token: token_from(&headers),
        stored: state.stored.clone(),
        shutdown: state.shutdown.clone(),
        state,
        _claim: claim,
        first: true,
    };
    let stream = futures_util::stream::unfold(listener, |mut l| async move {
        if l.first {
            // Tells the page the stream is live (it re-reads once, in case
            // something was stored while it connected).
            l.first = false;
            let seen = *l.stored.borrow_and_update();
            return Some((Ok(records_event(seen)), l));
        }
        // At most one event per COALESCE: what is stored meanwhile is
        // marked changed and answered right after (leading edge, so a lone
        // change is pushed at once).
        tokio::select! {
            () = tokio::time::sleep(COALESCE) => {}
            _ = l.shutdown.changed() => return None,
        }
        tokio::select! {
            changed = l.stored.changed() => changed.ok()?,
            _ = l.shutdown.changed() => return None,
        }
        let seen = *l.stored.borrow_and_update();
        principal_for(&l.state, l.token.clone()).await.ok()?;
        Some((Ok(records_event(seen)), l))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn records_event(seen: u64) -> Event {
    Event::default().event("records").data(seen.to_string())
}
