//! Surveys that go out on their own (S003 §4): after a record is closed or
//! replied (with head office's delay), to a campaign's segment (after a
//! release) and once per period. The contact store supplies where a link
//! goes; the customer must have agreed to surveys; a customer is asked at
//! most once per period; every send, skip and failure is in the audit of
//! sends. Driven from the database, so a restart or another relay carries
//! on where this one stopped.

pub(crate) mod outbox;
pub(crate) mod token;

use std::sync::Arc;
use std::time::Duration;

use closeloop_shared::calendar::WorkingCalendar;
use closeloop_shared::contact::ContactDetails;
use closeloop_shared::survey::sending::{
    NewCampaign, Period, Segment, SendReason, SendingRules, due_window, mask, message,
};
use tokio::sync::Notify;

use crate::state::AppState;
use crate::storage::{
    Claimed, Job, NewSend, RETRY_AFTER_MS, SendOutcome, StorageError, SurveyLink,
};
use outbox::{Address, Outbox, Outgoing};

/// Records or customers handled per trigger or campaign and run at most.
const PER_RUN: i64 = 100;
/// A periodic survey reaches customers with a record in this many days.
const PERIODIC_LOOKBACK_DAYS: i64 = 365;

pub(crate) struct SurveySending {
    pub state: AppState,
    pub outbox: Outbox,
    /// What links start with: the public URL, or the local address.
    pub base_url: String,
    /// Woken when rules change or a campaign is created.
    pub wake: Arc<Notify>,
    pub every: Duration,
    /// The periodic campaign this relay last made sure of: a run (after
    /// every stored change) does not write it again within its period.
    pub periodic_started: std::sync::Mutex<Option<String>>,
}

/// Runs whenever woken, when a change was stored (a record may just have
/// been closed) and every `every`, until shutdown.
pub(crate) fn spawn(job: SurveySending) {
    tokio::spawn(async move {
        let mut shutdown = job.state.shutdown.clone();
        let mut stored = job.state.stored.clone();
        loop {
            let storage = &job.state.storage;
            match crate::jobs::alone(storage, Job::SurveySending, job.run_once()).await {
                None | Some(Ok(0)) => {}
                Some(Ok(n)) => tracing::info!(surveys = n, "survey sending handled customers"),
                Some(Err(e)) => tracing::warn!(error = %e, "survey sending failed; it is retried"),
            }
            tokio::select! {
                () = job.wake.notified() => {}
                Ok(()) = stored.changed() => {
                    // Let a burst of changes settle into one run.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                () = tokio::time::sleep(job.every) => {}
                _ = shutdown.changed() => return,
            }
        }
    });
}

/// Someone to survey.
struct Target<'a> {
    reason: SendReason,
    survey: &'a str,
    document_id: Option<&'a str>,
    campaign: Option<&'a str>,
    anonymous: bool,
    contact_ref: Option<&'a str>,
    claim: String,
}

impl SurveySending {
    /// One pass over the triggers and campaigns; how many customers it handled.
    pub(crate) async fn run_once(&self) -> Result<usize, StorageError> {
        let storage = &self.state.storage;
        let now = self.state.now_ms();
        let rules = storage.sending_rules(now).await?;
        let calendar = self.state.sla.get().calendar.clone();
        let mut handled = 0;
        let triggers = [
            ("close", rules.after_close_hours, SendReason::AfterClose),
            ("reply", rules.after_reply_hours, SendReason::AfterReply),
        ];
        for (action, hours, reason) in triggers {
            let Some(hours) = hours else { continue };
            let (from, to) = due_window(hours, now);
            for due in storage
                .records_due_for_survey(action, from, to, PER_RUN, now)
                .await?
            {
                let target = Target {
                    reason,
                    survey: crate::storage::SATISFACTION,
                    document_id: Some(&due.document_id),
                    campaign: None,
                    anonymous: false,
                    contact_ref: due.contact_ref.as_deref(),
                    claim: format!("record:{}", due.document_id),
                };
                self.reach(&target, &rules, &calendar).await?;
                handled += 1;
            }
        }
        if let Some(period) = rules.periodic {
            self.start_periodic(period, now, &calendar).await?;
        }
        for campaign in storage.sending_campaigns().await? {
            let segment: Segment = serde_json::from_str(&campaign.segment)
                .map_err(|e| StorageError::Corrupt(format!("campaign segment: {e}")))?;
            let customers = storage
                .campaign_customers(&campaign.id, &segment, PER_RUN, now - RETRY_AFTER_MS)
                .await?;
            for customer in &customers {
                let target = Target {
                    reason: campaign.reason,
                    survey: &campaign.survey,
                    document_id: None,
                    campaign: Some(&campaign.id),
                    anonymous: campaign.anonymous,
                    contact_ref: Some(&customer.contact_ref),
                    claim: format!("campaign:{}:{}", campaign.id, customer.customer_key),
                };
                self.reach(&target, &rules, &calendar).await?;
                handled += 1;
            }
            // Done as soon as nobody is left (a failed send comes back for a retry).
            let left = storage
                .campaign_customers(&campaign.id, &segment, 1, i64::MAX)
                .await?;
            if left.is_empty() {
                storage.campaign_done(&campaign.id, now).await?;
            }
        }
        Ok(handled)
    }

    /// The periodic campaign of the current period, created once.
    async fn start_periodic(
        &self,
        period: Period,
        now: i64,
        calendar: &WorkingCalendar,
    ) -> Result<(), StorageError> {
        let key = period.key(now, calendar);
        let id = format!("periodic-{key}");
        let done = |started: &Option<String>| started.as_deref() == Some(id.as_str());
        if self.periodic_started.lock().is_ok_and(|s| done(&s)) {
            return Ok(());
        }
        let campaign = NewCampaign {
            name: format!("定期调查 {key} / Periodic survey {key}"),
            segment: Segment {
                received_from_ms: Some(now - PERIODIC_LOOKBACK_DAYS * 24 * 3_600_000),
                ..Segment::default()
            },
            anonymous: false,
        };
        self.state
            .storage
            .create_campaign(
                &id,
                crate::storage::SATISFACTION,
                &campaign,
                SendReason::Periodic,
                "system:survey",
                now,
            )
            .await?;
        if let Ok(mut started) = self.periodic_started.lock() {
            *started = Some(id);
        }
        Ok(())
    }

    /// Sends one survey, or writes why not.
    async fn reach(
        &self,
        target: &Target<'_>,
        rules: &SendingRules,
        calendar: &WorkingCalendar,
    ) -> Result<(), StorageError> {
        let storage = &self.state.storage;
        let now = self.state.now_ms();
        let contact = match target.contact_ref {
            Some(r) => storage.survey_contact(r).await?.map(|c| (r, c)),
            None => None,
        };
        let mut send = NewSend {
            reason: target.reason,
            survey: target.survey,
            document_id: target.document_id,
            campaign: target.campaign,
            customer_key: None,
            claim: &target.claim,
            period_slot: None,
        };
        let Some((contact_ref, contact)) = &contact else {
            return self.skip(&send, "no_contact", now).await;
        };
        send.customer_key = Some(&contact.customer_key);
        if !contact.survey_consent {
            return self.skip(&send, "no_consent", now).await;
        }
        let address = match self.address(contact_ref, &contact.sealed, &contact.wrapped_key) {
            Ok(Some(a)) => a,
            Ok(None) => return self.skip(&send, "no_address", now).await,
            Err(e) => {
                tracing::warn!(error = %e, "a contact did not open for a survey");
                return self.skip(&send, "contact_unreadable", now).await;
            }
        };
        let slot = format!(
            "{}|{}",
            contact.customer_key,
            rules.once_per.key(now, calendar)
        );
        send.period_slot = Some(&slot);
        let Claimed::Yes(id) = storage.claim_send(&send, now).await? else {
            return Ok(());
        };
        let recipient = mask(address.text());
        let channel = address.channel();
        let finish = |status, detail: Option<String>| async move {
            storage
                .finish_send(
                    id,
                    &SendOutcome {
                        status,
                        channel: Some(channel),
                        recipient: Some(&recipient),
                        detail: detail.as_deref(),
                    },
                )
                .await
        };
        let Some((version, survey)) = storage.survey(target.survey, now).await? else {
            return finish("failed", Some("unknown_survey".into())).await;
        };
        let (token, hash) = match token::new_token() {
            Ok(t) => t,
            Err(e) => return finish("failed", Some(e)).await,
        };
        let link = SurveyLink {
            survey: target.survey.into(),
            version,
            document_id: target.document_id.map(str::to_string),
            campaign: target.campaign.map(str::to_string),
            contact_ref: (target.campaign.is_some() && !target.anonymous)
                .then(|| contact_ref.to_string()),
            expires_at: rules.expires_at(now),
            used_at: None,
            submission: None,
        };
        storage.issue_survey_link(&hash, &link, now).await?;
        let url = format!("{}/s/{token}", self.base_url.trim_end_matches('/'));
        let (subject, body) = message(&survey.title, &url);
        let sent = self
            .outbox
            .send(&Outgoing {
                to: address.clone(),
                subject,
                body,
            })
            .await;
        match sent {
            Ok(()) => finish("sent", None).await,
            Err(e) => {
                tracing::warn!(error = %e, channel = address.channel(), "a survey was not sent");
                // The link never left: a retry sends a new one.
                storage.withdraw_survey_link(&hash).await?;
                finish("failed", Some(e.to_string())).await
            }
        }
    }

    /// Claims the send as skipped, saying why.
    async fn skip(&self, send: &NewSend<'_>, why: &str, now: i64) -> Result<(), StorageError> {
        if let Claimed::Yes(id) = self.state.storage.claim_send(send, now).await? {
            let outcome = SendOutcome {
                status: "skipped",
                channel: None,
                recipient: None,
                detail: Some(why),
            };
            self.state.storage.finish_send(id, &outcome).await?;
        }
        Ok(())
    }

    /// Where the link goes: email first, else a text message.
    fn address(
        &self,
        contact_ref: &str,
        sealed: &[u8],
        wrapped: &[u8],
    ) -> Result<Option<Address>, String> {
        let plain = self
            .state
            .vault
            .customer_key(contact_ref, wrapped)
            .and_then(|k| k.open(contact_ref, sealed))
            .map_err(|e| e.to_string())?;
        let details: ContactDetails =
            serde_json::from_slice(&plain).map_err(|e| format!("sealed contact: {e}"))?;
        Ok(details
            .email
            .map(Address::Email)
            .or(details.phone.map(Address::Sms)))
    }
}
