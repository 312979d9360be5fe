//! Surveys sent on their own (S003 §4) and their audit. A send is claimed
//! before anything leaves: the claim is unique per record (or per campaign
//! and customer), so relays sharing the database send each survey once,
//! and the period slot is unique per customer and period. A send that
//! fails gives both back so a later run retries it; one interrupted while
//! sending keeps them, so a customer is never asked twice.

use closeloop_shared::survey::sending::{CampaignView, NewCampaign, SendReason, SendView};
use sqlx::Row;

use super::{Storage, StorageError};

/// Failed sends about one record before its survey is given up.
pub const MAX_ATTEMPTS: i64 = 3;
/// How long after a failed send it is tried again: an outage of the mail
/// server does not use up every attempt at once.
pub const RETRY_AFTER_MS: i64 = 15 * 60_000;

/// A record due for a survey, and where its customer's details are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRecord {
    pub document_id: String,
    pub contact_ref: Option<String>,
}

/// A customer a campaign reaches: their contact, and the record found
/// matching the segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignCustomer {
    pub customer_key: String,
    pub contact_ref: String,
}

/// A customer's contact as sending needs it.
#[derive(Debug, Clone)]
pub struct SurveyContact {
    pub sealed: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    /// The same for every contact of one phone or email (a keyed hash).
    pub customer_key: String,
    pub survey_consent: bool,
}

/// A campaign still reaching customers.
#[derive(Debug, Clone)]
pub struct SendingCampaign {
    pub id: String,
    pub survey: String,
    pub reason: SendReason,
    pub anonymous: bool,
    /// The segment as JSON.
    pub segment: String,
}

/// A send about to be made.
pub struct NewSend<'a> {
    pub reason: SendReason,
    pub survey: &'a str,
    pub document_id: Option<&'a str>,
    pub campaign: Option<&'a str>,
    pub customer_key: Option<&'a str>,
    pub claim: &'a str,
    /// `customer|period`, or `None` for a send that is skipped anyway.
    pub period_slot: Option<&'a str>,
}

/// What claiming a send did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// Ours to send; the row's id.
    Yes(i64),
    /// Someone else claimed it (another relay, an earlier run).
    Taken,
    /// The customer was surveyed in this period already.
    PeriodTaken,
}

/// How a send ended.
pub struct SendOutcome<'a> {
    /// `sent`, `failed` or `skipped`.
    pub status: &'a str,
    pub channel: Option<&'a str>,
    pub recipient: Option<&'a str>,
    pub detail: Option<&'a str>,
}

impl Storage {
    /// Records with `action` (close or reply) in `[from, to]` that were not
    /// surveyed yet (sent, or a link created on the record's page), given
    /// up on, or failed within [`RETRY_AFTER_MS`], oldest first.
    pub async fn records_due_for_survey(
        &self,
        action: &str,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
        now_ms: i64,
    ) -> Result<Vec<DueRecord>, StorageError> {
        let rows = sqlx::query(
            "SELECT r.document_id, r.contact_ref, MIN(h.at) AS at
             FROM record_history h JOIN records r ON r.document_id = h.document_id
             WHERE h.action = $1 AND h.at >= $2 AND h.at <= $3 AND r.archived_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM survey_sends s
                               WHERE s.document_id = r.document_id AND s.claim IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM survey_links l WHERE l.document_id = r.document_id)
               AND (SELECT COUNT(*) FROM survey_sends s
                    WHERE s.document_id = r.document_id AND s.status = 'failed') < $4
               AND NOT EXISTS (SELECT 1 FROM survey_sends s WHERE s.document_id = r.document_id
                               AND s.status = 'failed' AND s.at > $6)
             GROUP BY r.document_id, r.contact_ref ORDER BY at LIMIT $5",
        )
        .bind(action)
        .bind(from_ms)
        .bind(to_ms)
        .bind(MAX_ATTEMPTS)
        .bind(limit)
        .bind(now_ms - RETRY_AFTER_MS)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DueRecord {
                    document_id: r.try_get("document_id")?,
                    contact_ref: r.try_get("contact_ref")?,
                })
            })
            .collect()
    }

    /// A contact's sealed details, customer key and survey consent; `None`
    /// when unknown or erased.
    pub async fn survey_contact(
        &self,
        contact_ref: &str,
    ) -> Result<Option<SurveyContact>, StorageError> {
        let row = sqlx::query(
            "SELECT c.sealed, k.wrapped, COALESCE(c.email_lookup, c.phone_lookup, c.contact_ref) AS customer,
                    (SELECT COUNT(*) FROM contact_consents p
                     WHERE p.contact_ref = c.contact_ref AND p.purpose = 'survey') AS consent
             FROM contacts c JOIN contact_keys k ON k.contact_ref = c.contact_ref
             WHERE c.contact_ref = $1 AND c.erased_at IS NULL AND c.sealed IS NOT NULL",
        )
        .bind(contact_ref)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SurveyContact {
                sealed: r.try_get("sealed")?,
                wrapped_key: r.try_get("wrapped")?,
                customer_key: r.try_get("customer")?,
                survey_consent: r.try_get::<i64, _>("consent")? > 0,
            })
        })
        .transpose()
    }

    /// Claims a send (see the module's note).
    pub async fn claim_send(
        &self,
        send: &NewSend<'_>,
        now_ms: i64,
    ) -> Result<Claimed, StorageError> {
        let insert = |period_slot: Option<&str>, status: &'static str, detail: Option<&str>| {
            sqlx::query(
                "INSERT INTO survey_sends
                 (at, reason, survey, document_id, campaign, customer_key, claim, period_slot, status, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(now_ms)
            .bind(send.reason.key())
            .bind(send.survey)
            .bind(send.document_id)
            .bind(send.campaign)
            .bind(send.customer_key)
            .bind(send.claim)
            .bind(period_slot.map(str::to_string))
            .bind(status)
            .bind(detail.map(str::to_string))
        };
        let status = if send.period_slot.is_some() {
            "sending"
        } else {
            "skipped"
        };
        if let Some(id) = insert(send.period_slot, status, None)
            .fetch_optional(&self.pool)
            .await?
        {
            return Ok(Claimed::Yes(id.try_get("id")?));
        }
        if send.period_slot.is_none() {
            return Ok(Claimed::Taken);
        }
        // The claim or the period was taken: try the claim alone, kept as skipped.
        let skipped = insert(None, "skipped", Some("surveyed_this_period"))
            .fetch_optional(&self.pool)
            .await?;
        Ok(if skipped.is_some() {
            Claimed::PeriodTaken
        } else {
            Claimed::Taken
        })
    }

    /// Writes how a claimed send ended; a failed one gives its claim back.
    pub async fn finish_send(
        &self,
        id: i64,
        outcome: &SendOutcome<'_>,
    ) -> Result<(), StorageError> {
        let failed = outcome.status == "failed";
        sqlx::query(
            "UPDATE survey_sends SET status = $2, channel = $3, recipient = $4, detail = $5,
                    claim = CASE WHEN $6 THEN NULL ELSE claim END,
                    period_slot = CASE WHEN $6 OR $2 = 'skipped' THEN NULL ELSE period_slot END
             WHERE id = $1",
        )
        .bind(id)
        .bind(outcome.status)
        .bind(outcome.channel)
        .bind(outcome.recipient)
        .bind(outcome.detail)
        .bind(failed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest sends, for the audit; about one record when given.
    pub async fn survey_sends(
        &self,
        document_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SendView>, StorageError> {
        let rows = sqlx::query(
            "SELECT at, reason, survey, document_id, campaign, channel, recipient, status, detail
             FROM survey_sends WHERE ($1 IS NULL OR document_id = $1)
             ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(document_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let reason: String = r.try_get("reason")?;
                Ok(SendView {
                    at: r.try_get("at")?,
                    reason: SendReason::from_key(&reason)
                        .ok_or_else(|| StorageError::Corrupt(format!("send reason {reason}")))?,
                    survey: r.try_get("survey")?,
                    document_id: r.try_get("document_id")?,
                    campaign: r.try_get("campaign")?,
                    channel: r.try_get("channel")?,
                    recipient: r.try_get("recipient")?,
                    status: r.try_get("status")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}

impl Storage {
    /// Stores a campaign; it is sent by the sending job.
    pub async fn create_campaign(
        &self,
        id: &str,
        survey: &str,
        campaign: &NewCampaign,
        reason: SendReason,
        by: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let segment = serde_json::to_string(&campaign.segment)
            .map_err(|e| StorageError::Corrupt(format!("campaign segment: {e}")))?;
        let done = sqlx::query(
            "INSERT INTO survey_campaigns (id, survey, name, segment, anonymous, reason, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(survey)
        .bind(campaign.name.trim())
        .bind(segment)
        .bind(i64::from(campaign.anonymous))
        .bind(reason.key())
        .bind(by)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Campaigns still reaching customers, oldest first.
    pub async fn sending_campaigns(&self) -> Result<Vec<SendingCampaign>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, survey, reason, anonymous, segment FROM survey_campaigns
             WHERE done_at IS NULL ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let reason: String = r.try_get("reason")?;
                let anonymous: i64 = r.try_get("anonymous")?;
                Ok(SendingCampaign {
                    id: r.try_get("id")?,
                    survey: r.try_get("survey")?,
                    reason: SendReason::from_key(&reason).ok_or_else(|| {
                        StorageError::Corrupt(format!("campaign reason {reason}"))
                    })?,
                    anonymous: anonymous != 0,
                    segment: r.try_get("segment")?,
                })
            })
            .collect()
    }

    /// Customers with survey consent and a record in the segment whom the
    /// campaign has not reached yet, one contact each; not those whose send
    /// failed after `failed_after` (`i64::MAX`: every one still to reach).
    pub async fn campaign_customers(
        &self,
        campaign: &str,
        segment: &closeloop_shared::survey::sending::Segment,
        limit: i64,
        failed_after: i64,
    ) -> Result<Vec<CampaignCustomer>, StorageError> {
        let rows = sqlx::query(
            "SELECT COALESCE(c.email_lookup, c.phone_lookup, c.contact_ref) AS customer,
                    MAX(c.contact_ref) AS contact_ref
             FROM records r JOIN contacts c ON c.contact_ref = r.contact_ref
             JOIN contact_consents p ON p.contact_ref = c.contact_ref AND p.purpose = 'survey'
             WHERE c.erased_at IS NULL AND r.archived_at IS NULL
               AND ($2 IS NULL OR r.feedback_type = $2)
               AND ($3 IS NULL OR r.department = $3)
               AND ($4 IS NULL OR r.channel = $4)
               AND ($5 IS NULL OR r.received_at >= $5)
               AND ($6 IS NULL OR r.received_at < $6)
               AND NOT EXISTS (SELECT 1 FROM survey_sends s WHERE s.campaign = $1
                   AND s.customer_key = COALESCE(c.email_lookup, c.phone_lookup, c.contact_ref)
                   AND s.claim IS NOT NULL)
               AND (SELECT COUNT(*) FROM survey_sends s WHERE s.campaign = $1
                   AND s.customer_key = COALESCE(c.email_lookup, c.phone_lookup, c.contact_ref)
                   AND s.status = 'failed') < $8
               AND NOT EXISTS (SELECT 1 FROM survey_sends s WHERE s.campaign = $1
                   AND s.customer_key = COALESCE(c.email_lookup, c.phone_lookup, c.contact_ref)
                   AND s.status = 'failed' AND s.at > $9)
             GROUP BY COALESCE(c.email_lookup, c.phone_lookup, c.contact_ref)
             ORDER BY customer LIMIT $7",
        )
        .bind(campaign)
        .bind(segment.feedback_type.as_deref())
        .bind(segment.department.as_deref())
        .bind(segment.channel.as_deref())
        .bind(segment.received_from_ms)
        .bind(segment.received_to_ms)
        .bind(limit)
        .bind(MAX_ATTEMPTS)
        .bind(failed_after)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CampaignCustomer {
                    customer_key: r.try_get("customer")?,
                    contact_ref: r.try_get("contact_ref")?,
                })
            })
            .collect()
    }

    /// Marks a campaign as having reached everyone it could.
    pub async fn campaign_done(&self, id: &str, now_ms: i64) -> Result<(), StorageError> {
        sqlx::query("UPDATE survey_campaigns SET done_at = $2 WHERE id = $1 AND done_at IS NULL")
            .bind(id)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A survey's campaigns with what they did, newest first.
    pub async fn campaigns(&self, survey: &str) -> Result<Vec<CampaignView>, StorageError> {
        let rows = sqlx::query(
            "SELECT k.id, k.name, k.anonymous, k.created_by, k.created_at, k.done_at,
               (SELECT COUNT(*) FROM survey_sends s WHERE s.campaign = k.id AND s.status = 'sent') AS sent,
               (SELECT COUNT(*) FROM survey_sends s WHERE s.campaign = k.id AND s.status = 'skipped') AS skipped,
               (SELECT COUNT(*) FROM survey_sends s WHERE s.campaign = k.id AND s.status = 'failed') AS failed,
               (SELECT COUNT(*) FROM survey_answers a WHERE a.campaign = k.id) AS answered
             FROM survey_campaigns k WHERE k.survey = $1 ORDER BY k.created_at DESC, k.id",
        )
        .bind(survey)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let anonymous: i64 = r.try_get("anonymous")?;
                let done: Option<i64> = r.try_get("done_at")?;
                Ok(CampaignView {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    anonymous: anonymous != 0,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                    sending: done.is_none(),
                    sent: r.try_get("sent")?,
                    skipped: r.try_get("skipped")?,
                    failed: r.try_get("failed")?,
                    answered: r.try_get("answered")?,
                })
            })
            .collect()
    }
}
