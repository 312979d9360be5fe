//! Sessions that end close their sync sockets. Every open socket is
//! registered here with its session id and the principal it was opened
//! with; twice a second (and at once after a logout) one query checks them
//! all against storage. A deleted, expired or idle session, a disabled
//! user, or a role or team that differs from the socket's principal ends
//! the session: the relay core closes its connections. Storage is the
//! only source, so a change made by another process (the `user` command,
//! another relay) is noticed just the same.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use closeloop_shared::access::Principal;
use closeloop_shared::sync::ConnectionId;
use tokio::sync::{Notify, watch};

use super::relay::{RelayHandle, RelayInput};
use crate::state::Clock;
use crate::storage::{Job, SessionRow, Storage};

/// How often open sockets' sessions are checked.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// How often sessions with an open socket are marked seen.
const TOUCH_EVERY_MS: i64 = 60_000;
/// How often expired and idle sessions are deleted.
const PURGE_EVERY_MS: i64 = 10 * 60_000;

struct Open {
    session: String,
    principal: Principal,
}

#[derive(Default)]
struct Inner {
    open: Mutex<HashMap<ConnectionId, Open>>,
    wake: Notify,
}

/// The sessions of open sync sockets; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct SessionWatch {
    inner: Arc<Inner>,
}

impl SessionWatch {
    /// A socket opened with `session` as `principal` (after the relay was
    /// told of it, so an end found later reaches the relay after the connect).
    pub(crate) fn opened(&self, conn: ConnectionId, session: String, principal: Principal) {
        if let Ok(mut open) = self.inner.open.lock() {
            open.insert(conn, Open { session, principal });
        }
    }

    /// A socket closed.
    pub(crate) fn closed(&self, conn: ConnectionId) {
        if let Ok(mut open) = self.inner.open.lock() {
            open.remove(&conn);
        }
    }

    /// Checks now rather than at the next tick (after a logout).
    pub(crate) fn check_now(&self) {
        self.inner.wake.notify_one();
    }

    fn snapshot(&self) -> Vec<(ConnectionId, String, Principal)> {
        self.inner.open.lock().map_or_else(
            |_| Vec::new(),
            |open| {
                open.iter()
                    .map(|(c, o)| (*c, o.session.clone(), o.principal.clone()))
                    .collect()
            },
        )
    }
}

/// Why the socket opened as `principal` must close, given its session as
/// storage has it (`None`: deleted by logout, revocation or a purge).
fn ended(row: Option<&SessionRow>, principal: &Principal, now_ms: i64) -> Option<&'static str> {
    let Some(row) = row else {
        return Some("signed out or sessions revoked");
    };
    if let Some(reason) = row.ended(now_ms) {
        return Some(reason);
    }
    let now = &row.principal;
    (now.role != principal.role || now.team != principal.team)
        .then_some("the account's role or team changed; reconnect")
}

/// What the checking task works with.
pub(crate) struct Checker {
    pub watch: SessionWatch,
    pub storage: Storage,
    pub relay: RelayHandle,
    pub clock: Arc<dyn Clock>,
    pub shutdown: watch::Receiver<bool>,
}

/// Starts the checking task; it ends at shutdown, dropping its relay handle
/// so the relay can drain and stop.
pub(crate) fn spawn(checker: Checker) {
    tokio::spawn(checker.run());
}

impl Checker {
    async fn run(self) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let (mut touched_at, mut purged_at) = (i64::MIN, i64::MIN);
        let mut stop = self.shutdown.clone();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.watch.inner.wake.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let now = self.clock.now_ms();
            // Checked before the purge, so a socket learns why its session ended.
            let alive = self.check(now).await;
            if !alive.is_empty() && now.saturating_sub(touched_at) >= TOUCH_EVERY_MS {
                touched_at = now;
                if let Err(e) = self.storage.touch_sessions(&alive, now).await {
                    tracing::warn!(error = %e, "marking connected sessions seen failed");
                }
            }
            if now.saturating_sub(purged_at) >= PURGE_EVERY_MS {
                purged_at = now;
                let purge = async {
                    let quiet = crate::login_guard::quiet_since(now);
                    self.storage.forget_strikes(quiet).await?;
                    self.storage.forget_request_counts(quiet).await?;
                    self.storage.purge_sessions(now).await
                };
                match crate::jobs::alone(&self.storage, Job::SessionPurge, purge).await {
                    None | Some(Ok(0)) => {}
                    Some(Ok(purged)) => tracing::info!(purged, "deleted expired and idle sessions"),
                    Some(Err(e)) => tracing::warn!(error = %e, "purging sessions failed"),
                }
            }
        }
    }

    /// Ends the sessions that no longer hold; returns those that do.
    async fn check(&self, now: i64) -> Vec<String> {
        let open = self.watch.snapshot();
        if open.is_empty() {
            return Vec::new();
        }
        let mut ids: Vec<String> = open.iter().map(|(_, s, _)| s.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = match self.storage.sessions_by_id(&ids).await {
            Ok(rows) => rows,
            Err(e) => {
                // Sockets stay open while storage cannot say; checked again next tick.
                tracing::warn!(error = %e, "checking the sessions of open sockets failed");
                return Vec::new();
            }
        };
        let rows: HashMap<&str, &SessionRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
        let mut ending: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for (conn, session, principal) in &open {
            if let Some(reason) = ended(rows.get(session.as_str()).copied(), principal, now) {
                self.watch.closed(*conn);
                ending.entry(reason).or_default().push(session.clone());
            }
        }
        for (reason, mut sessions) in ending {
            sessions.sort_unstable();
            sessions.dedup();
            tracing::info!(
                sessions = sessions.len(),
                reason,
                "closing sockets of ended sessions"
            );
            let input = RelayInput::SessionsEnded {
                sessions,
                reason: reason.to_string(),
            };
            if !self.relay.send(input).await {
                return Vec::new();
            }
        }
        ids.retain(|id| {
            rows.get(id.as_str())
                .is_some_and(|r| r.ended(now).is_none())
        });
        ids
    }
}
