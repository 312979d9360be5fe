//! Closing the loop on a survey (S003 §3–4): a dissatisfied answer (CSAT
//! ≤ 2 or NPS ≤ 6) about a record is written into the record as the
//! customer's answer "still has questions", in the customer's words; a
//! resolved, replied or closed record is reopened; and its owner and the
//! supervisors are told. The work is driven from the stored answers, so an
//! answer stored just before a crash is followed up after the restart.

use std::sync::Arc;
use std::time::Duration;

use closeloop_shared::access::Role;
use closeloop_shared::record::{self, CustomerAnswer, MAX_TEXT_CHARS};
use closeloop_shared::sync::DocumentId;
use closeloop_shared::workflow::Action;
use tokio::sync::{Notify, watch};

use super::peer::{InProcessPeer, PeerError, system_account};
use crate::state::Clock;
use crate::storage::{Job, PendingFollowUp, Storage, StorageError};
use crate::sync::RelayHandle;

/// The account the follow-up writes as, a supervisor (reopening is head
/// office's step).
pub(crate) const SYSTEM_USER: &str = "system:survey";
/// What the notification is called (the app translates it).
pub(crate) const DISSATISFIED: &str = "survey_dissatisfied";
/// Answers followed up per run at most.
const PER_RUN: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub(crate) enum FollowUpError {
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub(crate) struct SurveyFollowUp {
    pub storage: Storage,
    pub relay: RelayHandle,
    pub clock: Arc<dyn Clock>,
    /// Woken when an answer was stored; also runs every `every`.
    pub wake: Arc<Notify>,
    pub every: Duration,
    pub shutdown: watch::Receiver<bool>,
}

/// Runs the follow-up whenever woken and every `every`, until shutdown.
pub(crate) fn spawn(mut job: SurveyFollowUp) {
    tokio::spawn(async move {
        loop {
            match super::alone(&job.storage, Job::SurveyFollowUp, job.run_once()).await {
                None | Some(Ok(0)) => {}
                Some(Ok(n)) => {
                    tracing::info!(answers = n, "followed up dissatisfied survey answers")
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "survey follow-up failed; it is retried")
                }
            }
            tokio::select! {
                () = job.wake.notified() => {}
                () = tokio::time::sleep(job.every) => {}
                _ = job.shutdown.changed() => return,
            }
        }
    });
}

impl SurveyFollowUp {
    /// Follows up what is pending; how many answers it followed up.
    pub(crate) async fn run_once(&self) -> Result<usize, FollowUpError> {
        let pending = self.storage.pending_survey_follow_ups(PER_RUN).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let supervisors = self.storage.usernames_with_role(Role::Supervisor).await?;
        let mut peer =
            InProcessPeer::connect(&self.relay, system_account(SYSTEM_USER, Role::Supervisor))
                .await?;
        let mut done = 0;
        for answer in pending {
            let now = self.clock.now_ms();
            match self.follow_up(&mut peer, &answer, now).await {
                Ok(owner) => {
                    let mut told = supervisors.clone();
                    told.extend(owner);
                    let id = &answer.document_id;
                    super::tell(&self.storage, &self.relay, &told, id, DISSATISFIED, now).await?;
                    self.storage.mark_followed_up(answer.id, now).await?;
                    done += 1;
                }
                // An erased record: nothing left to follow up, and it must
                // not hold back the answers after it.
                Err(PeerError::Unavailable(_)) => {
                    self.storage.mark_followed_up(answer.id, now).await?;
                }
                Err(e) => {
                    tracing::warn!(document = %answer.document_id, error = %e, "following up a survey answer failed");
                }
            }
        }
        peer.close().await;
        Ok(done)
    }

    /// Writes the answer into the record and reopens it if it was done;
    /// the record's owner.
    async fn follow_up(
        &self,
        peer: &mut InProcessPeer,
        answer: &PendingFollowUp,
        now: i64,
    ) -> Result<Option<String>, PeerError> {
        let Ok(id) = answer.document_id.parse::<DocumentId>() else {
            return Ok(None);
        };
        let doc = peer.fetch(id).await?;
        let current = closeloop_shared::FeedbackRecord::from_doc(doc)?;
        let reopen = current.workflow.apply(&Action::Reopen, now).is_ok();
        let summary = match self
            .storage
            .survey_version(&answer.survey, answer.version)
            .await
        {
            Ok(Some(def)) => serde_json::from_str(&answer.answers)
                .map(|a| def.summary(&a))
                .unwrap_or_default(),
            _ => String::new(),
        };
        let words: String = format!("满意度调查 · {summary}")
            .chars()
            .take(MAX_TEXT_CHARS)
            .collect();
        peer.change(id, |d| {
            record::record_answer(d, CustomerAnswer::HasQuestions, &words, SYSTEM_USER, now)?;
            if reopen {
                let note = "客户在满意度调查中表示不满意";
                record::transition(d, &Action::Reopen, Some(note), SYSTEM_USER, now)?;
            }
            Ok(())
        })
        .await?;
        Ok(current.workflow.owner.clone())
    }
}
