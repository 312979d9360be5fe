//! Work the server does on its own, on a schedule: escalating overdue
//! records, following up dissatisfied survey answers, archiving and retention. Jobs change documents only as a sync peer
//! ([`peer::InProcessPeer`]), so every rule that holds for clients holds
//! for them too. Every relay schedules every job; each round runs on the
//! one relay holding the job's lease ([`alone`]).

pub(crate) mod escalation;
pub(crate) mod housekeeping;
pub(crate) mod peer;
pub(crate) mod survey_follow_up;

use crate::storage::{Job, Storage, StorageError};
use crate::sync::{RelayHandle, RelayInput};

/// Tells `told` about a record: stored, so other relays' open pages hear
/// of it at commit, and this relay's open pages re-read their bell.
pub(crate) async fn tell(
    storage: &Storage,
    relay: &RelayHandle,
    told: &[String],
    document_id: &str,
    kind: &str,
    now_ms: i64,
) -> Result<(), StorageError> {
    storage.notify(told, document_id, kind, now_ms).await?;
    relay.send(RelayInput::Notified).await;
    Ok(())
}

/// Runs `work` if this relay takes the job's lease; `None` when another
/// relay is running it (that relay does this round's work) or the lease
/// could not be asked for.
pub(crate) async fn alone<T>(
    storage: &Storage,
    job: Job,
    work: impl std::future::Future<Output = T>,
) -> Option<T> {
    match storage.try_lease(job).await {
        Ok(Some(lease)) => {
            let done = work.await;
            lease.release().await;
            Some(done)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(?job, error = %e, "could not ask for a job's lease; the next round tries again");
            None
        }
    }
}
