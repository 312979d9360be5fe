//! Surveys (S003 §4): each saved version of a survey, the single-use links
//! sent to customers, and the answers. A link is consumed only by a stored
//! answer, in the same transaction; the browser's submission id makes a
//! retried submit answer "done" instead of "used". Links are kept by the
//! SHA-256 of their token, so the table cannot be read back into links.

use closeloop_shared::survey::SurveyDefinition;
use closeloop_shared::survey::answers::Answers;
use closeloop_shared::survey::defaults::default_survey;
use closeloop_shared::survey::score::{Csat, Nps};
use sqlx::Row;

use super::projection::record_facets_of;
use super::{Backend, Storage, StorageError};

/// The survey sent after a record is closed or replied, stored on first use.
pub const SATISFACTION: &str = "satisfaction";

/// A link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyLink {
    pub survey: String,
    pub version: i64,
    /// The record the survey evaluates; `None` for a campaign or anonymous link.
    pub document_id: Option<String>,
    /// The campaign that sent it, if any.
    pub campaign: Option<String>,
    /// Whom a campaign sent it to; `None` when anonymous or about a record.
    pub contact_ref: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub submission: Option<String>,
}

impl SurveyLink {
    /// A link of an anonymous campaign: about no record and no customer.
    pub fn anonymous(&self) -> bool {
        self.campaign.is_some() && self.contact_ref.is_none() && self.document_id.is_none()
    }
}

/// [`SurveyLink::anonymous`] in SQL.
const ANONYMOUS: &str = "campaign IS NOT NULL AND contact_ref IS NULL AND document_id IS NULL";

/// An anonymous link's moments are kept to the day (UTC), so they cannot
/// pair a link with the send that carried it or the answer it took.
fn day_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(24 * 3_600_000)
}

/// Binds an answer's CSAT and NPS tallies, in the columns' order
/// (`csat_answered` … `nps_detractors`).
trait BindScores {
    fn scores(self, csat: Csat, nps: Nps) -> Self;
}

impl<'q> BindScores for sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    fn scores(self, csat: Csat, nps: Nps) -> Self {
        self.bind(csat.answered as i64)
            .bind(csat.satisfied as i64)
            .bind(csat.total as i64)
            .bind(nps.promoters as i64)
            .bind(nps.passives as i64)
            .bind(nps.detractors as i64)
    }
}

/// An answer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub survey: String,
    pub version: i64,
    /// The kept answers as JSON.
    pub answers: String,
    pub dissatisfied: bool,
    pub answered_at: i64,
}

/// An answer as results read it, with what it is grouped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    pub answered_at: i64,
    /// The record answered about, if any.
    pub document_id: Option<String>,
    /// The kept answers as JSON.
    pub answers: String,
    /// Of the linked record, if any.
    pub department: Option<String>,
    pub channel: Option<String>,
    pub feedback_type: Option<String>,
}

/// Answers results read at most (newest first), so memory stays bounded.
pub const MAX_RESULT_ROWS: i64 = 200_000;

/// What storing an answer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Stored,
    /// This submission was stored before (a retry).
    AlreadyStored,
    /// Another submission used the link.
    Used,
    Expired,
    Unknown,
}

/// One answer to store, checked against its survey version by the caller.
pub struct NewAnswer<'a> {
    pub submission: &'a str,
    /// The kept answers as JSON.
    pub answers: &'a str,
    pub dissatisfied: bool,
    /// The answer's CSAT and NPS tallies, for the dashboard's sums.
    pub csat: Csat,
    pub nps: Nps,
}

/// An answer to the satisfaction survey about a seeded record.
pub struct SeededAnswer {
    pub document_id: String,
    pub answers: Answers,
    pub answered_at: i64,
}

impl Storage {
    /// The newest version of `survey` and its definition; the satisfaction
    /// survey is stored from the default on first use.
    pub async fn survey(
        &self,
        survey: &str,
        now_ms: i64,
    ) -> Result<Option<(i64, SurveyDefinition)>, StorageError> {
        let row = sqlx::query(
            "SELECT version, definition FROM survey_versions WHERE survey = $1
             ORDER BY version DESC LIMIT 1",
        )
        .bind(survey)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = row {
            let version: i64 = row.try_get("version")?;
            let json: String = row.try_get("definition")?;
            return Ok(Some((version, parse(survey, &json)?)));
        }
        if survey != SATISFACTION {
            return Ok(None);
        }
        let default = default_survey();
        self.save_survey(survey, &default, "closeloop", now_ms)
            .await?;
        Ok(Some((1, default)))
    }

    /// One version of `survey`, as its answers were given.
    pub async fn survey_version(
        &self,
        survey: &str,
        version: i64,
    ) -> Result<Option<SurveyDefinition>, StorageError> {
        let json: Option<String> = sqlx::query_scalar(
            "SELECT definition FROM survey_versions WHERE survey = $1 AND version = $2",
        )
        .bind(survey)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        json.map(|j| parse(survey, &j)).transpose()
    }

    /// Every saved version of `survey`, newest first.
    pub async fn survey_versions(
        &self,
        survey: &str,
    ) -> Result<Vec<closeloop_shared::survey::SavedVersion>, StorageError> {
        let rows = sqlx::query(
            "SELECT version, saved_by, saved_at FROM survey_versions WHERE survey = $1
             ORDER BY version DESC",
        )
        .bind(survey)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(closeloop_shared::survey::SavedVersion {
                    version: r.try_get("version")?,
                    saved_by: r.try_get("saved_by")?,
                    saved_at: r.try_get("saved_at")?,
                })
            })
            .collect()
    }

    /// Saves a new version of `survey` (checked by the caller); its number.
    pub async fn save_survey(
        &self,
        survey: &str,
        definition: &SurveyDefinition,
        by: &str,
        now_ms: i64,
    ) -> Result<i64, StorageError> {
        let json = serde_json::to_string(definition)
            .map_err(|e| StorageError::Corrupt(format!("survey {survey}: {e}")))?;
        let mut tx = self.begin_write().await?;
        let newest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM survey_versions WHERE survey = $1")
                .bind(survey)
                .fetch_one(&mut *tx)
                .await?;
        let version = newest.unwrap_or(0) + 1;
        // Two saves at once: the second conflicts on the key and fails,
        // rather than both writing one version number.
        sqlx::query(
            "INSERT INTO survey_versions (survey, version, definition, saved_by, saved_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(survey)
        .bind(version)
        .bind(json)
        .bind(by)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Keeps a new link, by its token's hash.
    pub async fn issue_survey_link(
        &self,
        token_hash: &[u8],
        link: &SurveyLink,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO survey_links
             (token_hash, survey, version, document_id, campaign, contact_ref, issued_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token_hash)
        .bind(&link.survey)
        .bind(link.version)
        .bind(link.document_id.as_deref())
        .bind(link.campaign.as_deref())
        .bind(link.contact_ref.as_deref())
        .bind(if link.anonymous() {
            day_of(now_ms)
        } else {
            now_ms
        })
        .bind(link.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes back a link that never reached its customer (its send failed).
    pub async fn withdraw_survey_link(&self, token_hash: &[u8]) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM survey_links WHERE token_hash = $1 AND used_at IS NULL")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The link with this token hash.
    pub async fn survey_link(&self, token_hash: &[u8]) -> Result<Option<SurveyLink>, StorageError> {
        let row = sqlx::query(
            "SELECT survey, version, document_id, campaign, contact_ref, expires_at, used_at, submission
             FROM survey_links WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SurveyLink {
                survey: r.try_get("survey")?,
                version: r.try_get("version")?,
                document_id: r.try_get("document_id")?,
                campaign: r.try_get("campaign")?,
                contact_ref: r.try_get("contact_ref")?,
                expires_at: r.try_get("expires_at")?,
                used_at: r.try_get("used_at")?,
                submission: r.try_get("submission")?,
            })
        })
        .transpose()
    }

    /// Stores an answer and consumes its link, at most once per link.
    pub async fn answer_survey(
        &self,
        token_hash: &[u8],
        answer: &NewAnswer<'_>,
        now_ms: i64,
    ) -> Result<Answered, StorageError> {
        let mut tx = self.pool.begin().await?;
        let consumed = sqlx::query(
            "UPDATE survey_links SET submission = $3,
                 used_at = CASE WHEN {ANONYMOUS} THEN $4 ELSE $2 END
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
                .replace("{ANONYMOUS}", ANONYMOUS)
                .as_str(),
        )
        .bind(token_hash)
        .bind(now_ms)
        .bind(answer.submission)
        .bind(day_of(now_ms))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if consumed != 1 {
            tx.rollback().await?;
            return Ok(match self.survey_link(token_hash).await? {
                None => Answered::Unknown,
                Some(l) if l.submission.as_deref() == Some(answer.submission) => {
                    Answered::AlreadyStored
                }
                Some(l) if l.used_at.is_some() => Answered::Used,
                Some(_) => Answered::Expired,
            });
        }
        if self.backend == Backend::Postgres {
            // The answer copies its record's facets; a relay reassigning the
            // record meanwhile waits, or is waited for, so the copy is of
            // the committed record and a later refresh sees the answer.
            // (SQLite has one writer at a time.)
            sqlx::query(
                "SELECT 1 FROM records WHERE document_id =
                 (SELECT document_id FROM survey_links WHERE token_hash = $1) FOR SHARE",
            )
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO survey_answers
             (survey, version, document_id, campaign, contact_ref, answers, dissatisfied, answered_at,
              csat_answered, csat_satisfied, csat_total, nps_promoters, nps_passives, nps_detractors,
              department, channel, feedback_type)
             SELECT survey, version, document_id, campaign, contact_ref, $2, $3,
                    CASE WHEN {ANONYMOUS} THEN $5 ELSE $4 END, $6, $7, $8, $9, $10, $11, {FACETS}
             FROM survey_links WHERE token_hash = $1"
                .replace("{ANONYMOUS}", ANONYMOUS)
                .replace("{FACETS}", &record_facets_of("survey_links.document_id"))
                .as_str(),
        )
        .bind(token_hash)
        .bind(answer.answers)
        .bind(i64::from(answer.dissatisfied))
        .bind(now_ms)
        .bind(day_of(now_ms))
        .scores(answer.csat, answer.nps)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Answered::Stored)
    }

    /// Stores answers to the satisfaction survey given outside a link —
    /// the seeded records' customers (demos and benchmarks) — in one
    /// transaction, already followed up.
    pub async fn add_seeded_answers(
        &self,
        answers: &[SeededAnswer],
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let Some((version, survey)) = self.survey(SATISFACTION, now_ms).await? else {
            return Ok(());
        };
        let mut tx = self.pool.begin().await?;
        for a in answers {
            let json = serde_json::to_string(&a.answers)
                .map_err(|e| StorageError::Corrupt(format!("seeded answers: {e}")))?;
            let (csat, nps) = (
                Csat::of(survey.csat_scores(&a.answers)),
                Nps::of(survey.nps_scores(&a.answers)),
            );
            sqlx::query(&format!(
                "INSERT INTO survey_answers (survey, version, document_id, answers, dissatisfied,
                        answered_at, followed_up_at, csat_answered, csat_satisfied, csat_total,
                        nps_promoters, nps_passives, nps_detractors, department, channel,
                        feedback_type)
                     VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12, {})",
                record_facets_of("$3")
            ))
            .bind(SATISFACTION)
            .bind(version)
            .bind(&a.document_id)
            .bind(json)
            .bind(i64::from(survey.dissatisfied(&a.answers)))
            .bind(a.answered_at)
            .scores(csat, nps)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Fills the CSAT and NPS tallies of answers stored before they were
    /// kept (once, at start-up, in batches); an answer its survey version
    /// cannot read scores nothing. Returns how many it filled.
    pub async fn score_unscored_answers(&self) -> Result<usize, StorageError> {
        let mut scored = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id, survey, version, answers FROM survey_answers
                 WHERE csat_answered IS NULL ORDER BY id LIMIT 500",
            )
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(scored);
            }
            for row in &rows {
                let (survey, version): (String, i64) =
                    (row.try_get("survey")?, row.try_get("version")?);
                let json: String = row.try_get("answers")?;
                let definition = self.survey_version(&survey, version).await?;
                let answers = serde_json::from_str::<Answers>(&json).ok();
                let (csat, nps) = match (definition, answers) {
                    (Some(d), Some(a)) => (Csat::of(d.csat_scores(&a)), Nps::of(d.nps_scores(&a))),
                    _ => (Csat::default(), Nps::default()),
                };
                sqlx::query(
                    "UPDATE survey_answers SET csat_answered = $2, csat_satisfied = $3,
                        csat_total = $4, nps_promoters = $5, nps_passives = $6, nps_detractors = $7
                     WHERE id = $1",
                )
                .bind(row.try_get::<i64, _>("id")?)
                .scores(csat, nps)
                .execute(&self.pool)
                .await?;
            }
            scored += rows.len();
        }
    }

    /// The answers given about a record, newest first.
    pub async fn record_survey_answers(
        &self,
        document_id: &str,
    ) -> Result<Vec<StoredAnswer>, StorageError> {
        let rows = sqlx::query(
            "SELECT survey, version, answers, dissatisfied, answered_at FROM survey_answers
             WHERE document_id = $1 ORDER BY answered_at DESC, id DESC",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let dissatisfied: i64 = r.try_get("dissatisfied")?;
                Ok(StoredAnswer {
                    survey: r.try_get("survey")?,
                    version: r.try_get("version")?,
                    answers: r.try_get("answers")?,
                    dissatisfied: dissatisfied != 0,
                    answered_at: r.try_get("answered_at")?,
                })
            })
            .collect()
    }
}

impl Storage {
    /// The answers to `survey` given in `[from, to)`, newest first, with the
    /// department, channel and type of the record each is about.
    pub async fn survey_result_rows(
        &self,
        survey: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<ResultRow>, StorageError> {
        let rows = sqlx::query(
            "SELECT a.answered_at, a.document_id, a.answers, r.department, r.channel, r.feedback_type
             FROM survey_answers a LEFT JOIN records r ON r.document_id = a.document_id
             WHERE a.survey = $1 AND a.answered_at >= $2 AND a.answered_at < $3
             ORDER BY a.answered_at DESC, a.id DESC LIMIT $4",
        )
        .bind(survey)
        .bind(from_ms)
        .bind(to_ms)
        .bind(MAX_RESULT_ROWS)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ResultRow {
                    answered_at: r.try_get("answered_at")?,
                    document_id: r.try_get("document_id")?,
                    answers: r.try_get("answers")?,
                    department: r.try_get("department")?,
                    channel: r.try_get("channel")?,
                    feedback_type: r.try_get("feedback_type")?,
                })
            })
            .collect()
    }
}

/// A dissatisfied answer about a record not yet written into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingFollowUp {
    pub id: i64,
    pub document_id: String,
    pub survey: String,
    pub version: i64,
    /// The kept answers as JSON.
    pub answers: String,
}

impl Storage {
    /// Dissatisfied answers about records that were not followed up yet, oldest first.
    pub async fn pending_survey_follow_ups(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingFollowUp>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, document_id, survey, version, answers FROM survey_answers
             WHERE dissatisfied = 1 AND document_id IS NOT NULL AND followed_up_at IS NULL
             ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingFollowUp {
                    id: r.try_get("id")?,
                    document_id: r.try_get("document_id")?,
                    survey: r.try_get("survey")?,
                    version: r.try_get("version")?,
                    answers: r.try_get("answers")?,
                })
            })
            .collect()
    }

    /// Marks an answer followed up.
    pub async fn mark_followed_up(&self, id: i64, now_ms: i64) -> Result<(), StorageError> {
        sqlx::query("UPDATE survey_answers SET followed_up_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn parse(survey: &str, json: &str) -> Result<SurveyDefinition, StorageError> {
    serde_json::from_str(json)
        .map_err(|e| StorageError::Corrupt(format!("the stored survey {survey}: {e}")))
}
