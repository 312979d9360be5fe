//! What the capture form hands over, and the customer's contact details,
//! which are personal data and so never written into the document.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, ObjType, ROOT};

use super::{MAX_DESCRIPTION_CHARS, MAX_NICKNAME_CHARS, RecordError, SCHEMA_VERSION, timestamp};
use crate::taxonomy::{Taxonomy, TermList};

/// A new record as captured. Contact details are not part of it: the IO
/// layer stores them apart and passes only their key as `contact_ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackDraft {
    pub channel: String,
    /// Customer nickname or id; no real name needed (S003).
    pub nickname: String,
    /// The problem as the customer said it.
    pub description: String,
    /// External customer, internal staff or partner (S001).
    pub source: String,
    pub order_number: Option<String>,
    pub contact_ref: Option<String>,
    /// When the feedback really arrived, if before it is entered: a phone
    /// call or a platform message registered later at head office, a
    /// suggestion-box slip read later (S002 5.1). `None`: now.
    pub received_at_ms: Option<i64>,
}

/// How far ahead of the device's clock a received time may be (clocks
/// of tablets and browsers drift).
pub const RECEIVED_AHEAD_MS: i64 = 5 * 60_000;
/// How far back a received time may go: a year (records are kept three,
/// S002 5.4; older feedback is no longer an SLA matter).
pub const RECEIVED_BACK_MS: i64 = 366 * 86_400_000;

impl Default for FeedbackDraft {
    fn default() -> Self {
        FeedbackDraft {
            channel: String::new(),
            nickname: String::new(),
            description: String::new(),
            source: "external_customer".into(),
            order_number: None,
            contact_ref: None,
            received_at_ms: None,
        }
    }
}

impl FeedbackDraft {
    /// Checks the draft as the form should, trimming surrounding blanks.
    pub fn validate(&self, taxonomy: &Taxonomy) -> Result<FeedbackDraft, RecordError> {
        let nickname = self.nickname.trim();
        let description = self.description.trim();
        if taxonomy.channel(&self.channel).is_none() {
            return Err(RecordError::UnknownChannel(self.channel.clone()));
        }
        if !taxonomy.has(TermList::Source, &self.source) {
            return Err(RecordError::UnknownValue {
                field: "source",
                value: self.source.clone(),
            });
        }
        if nickname.is_empty() {
            return Err(RecordError::NicknameEmpty);
        }
        if nickname.chars().count() > MAX_NICKNAME_CHARS {
            return Err(RecordError::NicknameTooLong);
        }
        if description.is_empty() {
            return Err(RecordError::DescriptionEmpty);
        }
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(RecordError::DescriptionTooLong);
        }
        let order_number = self
            .order_number
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty());
        if order_number.is_some_and(|o| o.chars().count() > super::MAX_ORDER_NUMBER_CHARS) {
            return Err(RecordError::UnknownValue {
                field: "order number",
                value: order_number.unwrap_or_default().into(),
            });
        }
        Ok(FeedbackDraft {
            channel: self.channel.clone(),
            nickname: nickname.into(),
            description: description.into(),
            source: self.source.clone(),
            order_number: order_number.map(str::to_string),
            contact_ref: self.contact_ref.clone(),
            received_at_ms: self.received_at_ms,
        })
    }

    /// Validates, then writes a new, empty document as one change by `by`
    /// at `now_ms` (passed in: the domain reads no clock).
    pub fn write_new(
        &self,
        doc: &mut Automerge,
        taxonomy: &Taxonomy,
        by: &str,
        now_ms: i64,
    ) -> Result<(), RecordError> {
        let d = self.validate(taxonomy)?;
        let received = d.received_at_ms.unwrap_or(now_ms);
        if received > now_ms + RECEIVED_AHEAD_MS {
            return Err(RecordError::ReceivedInFuture);
        }
        if received < now_ms - RECEIVED_BACK_MS {
            return Err(RecordError::ReceivedTooLongAgo);
        }
        doc.transact_with::<_, _, RecordError, _>(
            |_| {
                CommitOptions::default()
                    .with_time(now_ms / 1000)
                    .with_message("capture".to_string())
            },
            |tx| {
                tx.put(ROOT, "schemaVersion", SCHEMA_VERSION)?;
                tx.put(ROOT, "receivedAt", timestamp(received))?;
                tx.put(ROOT, "capturedBy", by)?;
                tx.put(ROOT, "channel", d.channel.as_str())?;
                tx.put(ROOT, "source", d.source.as_str())?;
                tx.put(ROOT, "customer", d.nickname.as_str())?;
                if let Some(o) = &d.order_number {
                    tx.put(ROOT, "orderNumber", o.as_str())?;
                }
                if let Some(c) = &d.contact_ref {
                    tx.put(ROOT, "contactRef", c.as_str())?;
                }
                let text = tx.put_object(ROOT, "description", ObjType::Text)?;
                tx.splice_text(&text, 0, 0, &d.description)?;
                tx.put_object(ROOT, "solution", ObjType::Text)?;
                tx.put_object(ROOT, "aspects", ObjType::Map)?;
                tx.put_object(ROOT, "attachments", ObjType::List)?;
                tx.put_object(ROOT, "history", ObjType::List)?;
                tx.put_object(ROOT, "log", ObjType::List)?;
                Ok(())
            },
        )
        .map(|_| ())
        .map_err(|f| f.error)
    }
}
