//! Record-keeping on a schedule (S002 5.4, S002 §6): closed records are
//! archived once the retention settings say so (a mark written into the
//! document as the archive job's account, after which the write rule makes
//! it read-only); archived records past their retention are anonymised or
//! deleted; audit entries past theirs go. Every run that did something
//! leaves an audit entry. Each run also refreshes the query planner's
//! statistics.

use std::time::Duration;

use closeloop_shared::access::Role;
use closeloop_shared::audit::{AuditAction, SYSTEM_ACTOR};
use closeloop_shared::record;
use closeloop_shared::retention::{AtRetentionEnd, RetentionPolicy};
use closeloop_shared::sync::DocumentId;
use closeloop_shared::workflow::Status;

use super::peer::{InProcessPeer, PeerError, system_account};
use crate::erasure::{Removed, remove};
use crate::error::AppError;
use crate::state::AppState;
use crate::storage::{AuditNote, Job};

/// The account the archive job writes as (no sign-in name holds a `:`).
const ARCHIVE_USER: &str = "system:archive";
/// Records handled per run at most; the rest wait for the next run.
const PER_RUN: i64 = 200;
/// Dashboard months summed per run at most (each a month's records read
/// once, in its own transaction).
const MONTHS_PER_RUN: usize = 12;

/// Runs every `every` until shutdown.
pub(crate) fn spawn(state: AppState, every: Duration) {
    let mut shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => return,
            }
            if let Some(Err(e)) =
                super::alone(&state.storage, Job::RecordKeeping, run_once(&state)).await
            {
                tracing::warn!(error = %e, "record-keeping run failed; it is retried next run");
            }
        }
    });
}

/// How long an uploaded attachment may wait for a record to show it (a
/// tablet uploads before the record syncs, and may go offline between).
const UNATTACHED_KEPT_MS: i64 = 30 * 86_400_000;

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kept {
    pub archived: usize,
    pub ended: usize,
    pub audit_purged: u64,
}

/// Archives, ends retention and purges the audit log once.
pub(crate) async fn run_once(state: &AppState) -> Result<Kept, AppError> {
    let now = state.now_ms();
    let policy = state.storage.retention(now).await?;
    let archived = archive(state, &policy, now).await?;
    let ended = end_retention(state, &policy).await?;
    let audit_purged = state
        .storage
        .purge_audit(policy.keep_audit_after(now))
        .await?;
    if audit_purged > 0 {
        note(
            state,
            AuditAction::PurgeRun,
            "audit_log",
            format!("{audit_purged} audit entries past retention deleted"),
        )
        .await?;
    }
    // Uploads a tablet never finished (it was wiped, or gave up).
    let before = now - crate::http::attachments::UNFINISHED_KEPT_MS;
    let swept = crate::http::attachments::sweep_unfinished(state, before).await;
    if swept > 0 {
        tracing::info!(swept, "unfinished uploads older than a week removed");
    }
    // Attachments no record shows: left by an erased or deleted record, or
    // uploaded and never attached in a month.
    let unattached = state
        .storage
        .unreferenced_blobs(now - UNATTACHED_KEPT_MS, PER_RUN)
        .await?;
    let forgotten = state.storage.forget_blobs(&unattached).await?;
    state.blobs.discard(&forgotten).await;
    if !forgotten.is_empty() {
        tracing::info!(
            removed = forgotten.len(),
            "attachments no record shows removed"
        );
    }
    // The dashboard's summed months: past months not summed yet or changed
    // since, a few per run.
    let calendar = state.sla.get().calendar.clone();
    state
        .storage
        .sum_dashboard_months(&calendar, now, MONTHS_PER_RUN)
        .await?;
    state.storage.refresh_statistics().await?;
    Ok(Kept {
        archived,
        ended,
        audit_purged,
    })
}

async fn archive(state: &AppState, policy: &RetentionPolicy, now: i64) -> Result<usize, AppError> {
    let due = state
        .storage
        .due_for_archive(policy.archive_closed_before(now), PER_RUN)
        .await?;
    if due.is_empty() {
        return Ok(0);
    }
    let job = system_account(ARCHIVE_USER, Role::Supervisor);
    let mut peer = InProcessPeer::connect(&state.relay, job)
        .await
        .map_err(peer_error)?;
    let mut archived = 0;
    for id in due {
        match archive_one(&mut peer, id, now).await {
            Ok(true) => archived += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(document = %id, error = %e, "archiving a record failed"),
        }
    }
    peer.close().await;
    if archived > 0 {
        note(
            state,
            AuditAction::ArchiveRun,
            "records",
            format!("{archived} closed records archived"),
        )
        .await?;
    }
    Ok(archived)
}

/// Archives one record unless the document (which may be ahead of the read
/// model) shows it reopened or archived already.
async fn archive_one(
    peer: &mut InProcessPeer,
    id: DocumentId,
    now: i64,
) -> Result<bool, PeerError> {
    let current = closeloop_shared::FeedbackRecord::from_doc(peer.fetch(id).await?)?;
    if current.workflow.status != Status::Closed || current.archived_at_ms.is_some() {
        return Ok(false);
    }
    peer.change(id, |d| record::archive(d, now)).await?;
    Ok(true)
}

async fn end_retention(state: &AppState, policy: &RetentionPolicy) -> Result<usize, AppError> {
    let cutoff = policy.keep_received_after(state.now_ms());
    let due = state
        .storage
        .due_for_retention_end(cutoff, policy.at_end, PER_RUN)
        .await?;
    let mut ended = 0;
    for (id, contact_ref) in due {
        if remove(state, &id, policy.at_end).await? != Removed::Gone {
            ended += 1;
        }
        // A contact no record refers to any more has served its purpose.
        if let Some(contact) = contact_ref
            && state
                .storage
                .records_with_contact(&contact)
                .await?
                .is_empty()
        {
            state
                .storage
                .erase_contact(&contact, SYSTEM_ACTOR, state.now_ms())
                .await?;
        }
    }
    if ended > 0 {
        let done = match policy.at_end {
            AtRetentionEnd::Anonymise => "anonymised",
            AtRetentionEnd::Delete => "deleted",
        };
        state.storage.scrub().await?;
        note(
            state,
            AuditAction::PurgeRun,
            "records",
            format!("{ended} records past retention {done}"),
        )
        .await?;
    }
    Ok(ended)
}

async fn note(
    state: &AppState,
    action: AuditAction,
    subject: &str,
    detail: String,
) -> Result<(), AppError> {
    let entry = AuditNote {
        actor: SYSTEM_ACTOR,
        action,
        subject: Some(subject),
        detail: Some(detail),
    };
    Ok(state.storage.audit(entry, state.now_ms()).await?)
}

fn peer_error(e: PeerError) -> AppError {
    AppError::Internal(format!("archive job: {e}"))
}
