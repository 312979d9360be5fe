//! Escalation (S003 §2, S000 §3): an open record whose running SLA clock
//! is past due gets an `escalate` workflow step written by the system —
//! whether or not anyone has a page open — and its owner and every
//! supervisor get an in-app notification. Each overdue clock is escalated
//! once (a step after its due moment counts).

use std::sync::Arc;
use std::time::Duration;

use closeloop_shared::access::Role;
use closeloop_shared::record;
use closeloop_shared::sync::DocumentId;
use closeloop_shared::workflow::Action;
use tokio::sync::watch;

use super::peer::{InProcessPeer, PeerError, system_account};
use crate::metrics::Metrics;
use crate::state::Clock;
use crate::storage::{Job, Overdue, Storage, StorageError};
use crate::sync::RelayHandle;

/// The account the system writes as. No user can hold this name (sign-in
/// names have no `:`), so nobody can write in the system's name.
pub(crate) const SYSTEM_USER: &str = "system:sla";

/// Records escalated per run at most; the rest wait for the next run.
const PER_RUN: i64 = 100;

/// What a notification of an escalation is called (the app translates it).
pub(crate) const ESCALATED: &str = "escalated";

/// Why a run stopped early; the next run tries again.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EscalationError {
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub(crate) struct Escalation {
    pub storage: Storage,
    pub relay: RelayHandle,
    pub clock: Arc<dyn Clock>,
    pub every: Duration,
    pub shutdown: watch::Receiver<bool>,
    pub metrics: Arc<Metrics>,
}

/// Runs the job every `every` until shutdown.
pub(crate) fn spawn(mut job: Escalation) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(job.every) => {}
                _ = job.shutdown.changed() => return,
            }
            let Some(outcome) = super::alone(&job.storage, Job::Escalation, job.run_once()).await
            else {
                continue;
            };
            match outcome {
                Ok(0) => {}
                Ok(n) => {
                    Metrics::add(&job.metrics.records_escalated, n as u64);
                    tracing::info!(records = n, "escalated overdue records");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "escalation run failed; it is retried next run")
                }
            }
            Metrics::add(&job.metrics.escalation_runs, 1);
        }
    });
}

impl Escalation {
    /// Escalates what is due now; returns how many records it escalated.
    pub(crate) async fn run_once(&self) -> Result<usize, EscalationError> {
        let now = self.clock.now_ms();
        let due = self.storage.due_for_escalation(now, PER_RUN).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let supervisors = self.storage.usernames_with_role(Role::Supervisor).await?;
        let mut peer =
            InProcessPeer::connect(&self.relay, system_account(SYSTEM_USER, Role::Supervisor))
                .await?;
        let mut escalated = 0;
        for record in due {
            match self.escalate(&mut peer, &record, now).await {
                Ok(true) => {
                    escalated += 1;
                    let mut told = supervisors.clone();
                    told.extend(record.owner.clone());
                    let id = &record.document_id;
                    let told = super::tell(&self.storage, &self.relay, &told, id, ESCALATED, now);
                    if let Err(e) = told.await {
                        tracing::warn!(document = %record.document_id, error = %e, "escalated, but notifying failed");
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(document = %record.document_id, error = %e, "escalating a record failed");
                }
            }
        }
        peer.close().await;
        Ok(escalated)
    }

    /// Writes the step unless the document (which may be ahead of the
    /// read model) shows it escalated since the due moment already.
    async fn escalate(
        &self,
        peer: &mut InProcessPeer,
        record: &Overdue,
        now: i64,
    ) -> Result<bool, PeerError> {
        let Ok(id) = record.document_id.parse::<DocumentId>() else {
            return Ok(false);
        };
        let doc = peer.fetch(id).await?;
        let current = closeloop_shared::FeedbackRecord::from_doc(doc)?;
        let done = current
            .history
            .iter()
            .any(|h| h.action == Action::Escalate && h.at_ms >= record.due_at);
        if done || current.workflow.apply(&Action::Escalate, now).is_err() {
            return Ok(false);
        }
        let note = format!("overdue since {}", record.due_at);
        peer.change(id, |d| {
            record::transition(d, &Action::Escalate, Some(&note), SYSTEM_USER, now)
        })
        .await?;
        Ok(true)
    }
}
