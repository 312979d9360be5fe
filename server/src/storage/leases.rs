//! Work every relay schedules but only one may do at a time (escalation,
//! survey sending and follow-up, archive and retention, session purging):
//! the relay that takes a job's lease runs it; the others skip that round.
//! On PostgreSQL the lease is a session advisory lock on a connection of
//! its own, so a relay that dies mid-run — killed, or cut off from the
//! database — drops it with the connection, and the next relay whose
//! round comes takes over where the work stands (every job reads what is
//! still due, so it resumes rather than repeats). Alone on SQLite, the
//! one relay always holds it.

use sqlx::Connection;

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

/// Held while a job runs; released by [`JobLease::release`] or, if the
/// relay dies, by the database when the connection goes.
pub struct JobLease(Option<sqlx::AnyConnection>);

impl JobLease {
    pub async fn release(self) {
        if let Some(conn) = self.0 {
            // Closing the session releases its advisory locks.
            let _ = conn.close().await;
        }
    }
}

impl Storage {
    /// The job's lease, or `None` while another relay holds it.
    pub async fn try_lease(&self, job: Job) -> Result<Option<JobLease>, StorageError> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(JobLease(None)));
        }
        // A connection of its own: the lock lives as long as it does.
        let mut conn = self.pool.acquire().await?.detach();
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(job.lock_key())
            .fetch_one(&mut conn)
            .await?;
        if taken {
            Ok(Some(JobLease(Some(conn))))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }
}
