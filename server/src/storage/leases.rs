//! Work every relay schedules but only one may do at a time (escalation,
//! survey sending and follow-up, archive and retention, session purging):
//! the relay that takes a job's lease runs it; the others skip that round.
//! On PostgreSQL a lease is a session advisory lock, and all of a relay's
//! leases live on one connection of its own: a relay that dies mid-run —
//! killed, or cut off from the database — loses them with the connection,
//! and the next relay whose round comes takes over where the work stands
//! (every job reads what is still due, so it resumes rather than repeats).
//! Alone on SQLite, the one relay always holds them.

use std::sync::Arc;

use sqlx::{AnyConnection, Connection};
use tokio::sync::Mutex;

use super::{Backend, Storage, StorageError};

/// A job that runs on one relay at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Escalation,
    SurveyFollowUp,
    SurveySending,
    RecordKeeping,
    SessionPurge,
}

impl Job {
    /// The job's advisory lock key ("cljob" and a number).
    fn lock_key(self) -> i64 {
        let n = match self {
            Job::Escalation => 1,
            Job::SurveyFollowUp => 2,
            Job::SurveySending => 3,
            Job::RecordKeeping => 4,
            Job::SessionPurge => 5,
        };
        0x636c_6a6f_6200 + n
    }
}

/// The connection a relay's leases live on, opened when first needed and
/// again after it failed.
pub(super) type LeaseConnection = Arc<Mutex<Option<AnyConnection>>>;

/// Held while a job runs; released by [`JobLease::release`] (or, if the
/// relay dies, by the database when the connection goes).
pub struct JobLease {
    held: Option<(LeaseConnection, i64)>,
}

impl JobLease {
    pub async fn release(mut self) {
        if let Some((conn, key)) = self.held.take() {
            unlock(&conn, key).await;
        }
    }
}

impl Drop for JobLease {
    /// A job whose future was dropped mid-run still gives its lease back.
    fn drop(&mut self) {
        if let Some((conn, key)) = self.held.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move { unlock(&conn, key).await });
        }
    }
}

async fn unlock(conn: &LeaseConnection, key: i64) {
    let mut guard = conn.lock().await;
    if let Some(c) = guard.as_mut() {
        let done = sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
            .bind(key)
            .fetch_one(&mut *c)
            .await;
        if done.is_err() {
            // Closing the session releases whatever it held.
            if let Some(c) = guard.take() {
                let _ = c.close().await;
            }
        }
    }
}

impl Storage {
    /// The job's lease, or `None` while another relay holds it.
    pub async fn try_lease(&self, job: Job) -> Result<Option<JobLease>, StorageError> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(JobLease { held: None }));
        }
        let key = job.lock_key();
        let mut guard = self.lease_conn.lock().await;
        if guard.is_none() {
            *guard = Some(self.pool.acquire().await?.detach());
        }
        let Some(conn) = guard.as_mut() else {
            return Ok(None);
        };
        match sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await
        {
            Ok(true) => Ok(Some(JobLease {
                held: Some((self.lease_conn.clone(), key)),
            })),
            Ok(false) => Ok(None),
            Err(e) => {
                // A broken connection held nothing any more: open another next time.
                *guard = None;
                Err(e.into())
            }
        }
    }
}
