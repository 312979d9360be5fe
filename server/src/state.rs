//! What every handler and the relay can reach: storage, the relay handle,
//! the clock and the SLA configuration. Nothing here imports a handler, so
//! handlers depend on this module and never the other way round.

use std::sync::Arc;

use closeloop_shared::sla::SlaConfig;
use closeloop_shared::taxonomy::Taxonomy;
use tokio::sync::watch;

use crate::http::web_edge::WebEdge;
use crate::login_guard::LoginGuard;
use crate::metrics::Metrics;
use crate::storage::Storage;
use crate::sync::{RelayHandle, SessionWatch};

/// Where "now" comes from: the system clock in production, a fixed or
/// stepped one in tests, so time-dependent answers are testable.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or_default()
    }
}

/// A setting admins change while the server runs: readers take the value
/// current at that moment; a change replaces it for every reader at once,
/// without a restart.
pub struct Live<T>(Arc<std::sync::RwLock<Arc<T>>>);

impl<T> Clone for Live<T> {
    fn clone(&self) -> Self {
        Live(self.0.clone())
    }
}

impl<T> Live<T> {
    pub fn new(value: T) -> Self {
        Live(Arc::new(std::sync::RwLock::new(Arc::new(value))))
    }

    /// The current value.
    pub fn get(&self) -> Arc<T> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn set(&self, value: T) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(value);
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Where attachments' bytes live: files beside SQLite, or the shared database.
    pub(crate) blobs: crate::blob_store::BlobStore,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) relay: RelayHandle,
    /// The sessions of open sync sockets, closed when they end.
    pub(crate) sessions: SessionWatch,
    pub(crate) storage: Storage,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The SLA policy and calendar, as admins last saved them.
    pub(crate) sla: Live<SlaConfig>,
    /// The terms records are classified with, as admins last saved them.
    pub(crate) taxonomy: Live<Taxonomy>,
    /// Sign-in throttling and the bound on waiting password checks.
    pub(crate) logins: Arc<LoginGuard>,
    /// The public origin, HTTPS or not, the metrics token.
    pub(crate) edge: Arc<WebEdge>,
    /// Moves whenever the relay (or another relay) stored a change.
    pub(crate) stored: watch::Receiver<u64>,
    /// Seals and opens customers' contact details.
    pub(crate) vault: Arc<crate::vault::Vault>,
    /// Wakes the follow-up of dissatisfied survey answers.
    pub(crate) survey_follow_ups: Arc<tokio::sync::Notify>,
    /// Wakes the sending of surveys (rules changed, a campaign started).
    pub(crate) survey_sending: Arc<tokio::sync::Notify>,
    /// Request limits on what anyone may call without an account.
    pub(crate) public_limits: Arc<crate::rate_limit::PublicLimits>,
}

impl AppState {
    /// Now, by the server's clock.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
