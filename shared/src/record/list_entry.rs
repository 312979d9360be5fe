//! What a device's record list shows of a record, kept beside its
//! document: the tablet opens its list of thousands of records from these
//! without loading a single document, and searches and filters them.

use serde::{Deserialize, Serialize};

use super::FeedbackRecord;
use crate::sla::{Priority, SlaFacts};
use crate::workflow::Status;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntry {
    pub customer: String,
    pub description: String,
    pub channel: String,
    pub received_at_ms: i64,
    pub status: Status,
    pub priority: Option<Priority>,
    pub owner: Option<String>,
    pub captured_by: Option<String>,
    pub first_response_at_ms: Option<i64>,
    pub resolved_at_ms: Option<i64>,
    pub pauses: Vec<(i64, Option<i64>)>,
    /// The reference of the customer's contact details (never the details).
    #[serde(default)]
    pub contact_ref: Option<String>,
}

impl ListEntry {
    pub fn of(r: &FeedbackRecord) -> Self {
        ListEntry {
            customer: r.customer.clone(),
            description: r.description.clone(),
            channel: r.channel.clone(),
            received_at_ms: r.received_at_ms,
            status: r.workflow.status,
            priority: r.priority,
            owner: r.owner.clone(),
            captured_by: r.captured_by.clone(),
            first_response_at_ms: r.workflow.first_response_at_ms,
            resolved_at_ms: r.workflow.resolved_at_ms,
            pauses: r.workflow.pauses.clone(),
            contact_ref: r.contact_ref.clone(),
        }
    }

    /// The same facts [`FeedbackRecord::sla_facts`] gives.
    pub fn sla_facts(&self) -> SlaFacts {
        SlaFacts {
            received_at_ms: self.received_at_ms,
            first_response_at_ms: self.first_response_at_ms,
            resolved_at_ms: self.resolved_at_ms,
            pauses: self.pauses.clone(),
        }
    }

    /// Whether a search (lower-cased, trimmed) finds it: by nickname or text.
    pub fn matches(&self, needle: &str) -> bool {
        needle.is_empty()
            || self.customer.to_lowercase().contains(needle)
            || self.description.to_lowercase().contains(needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::FeedbackDraft;
    use crate::taxonomy::Taxonomy;

    #[test]
    fn an_entry_says_what_the_record_says_and_survives_json() {
        let taxonomy = Taxonomy::default();
        let mut doc = automerge::Automerge::new();
        let draft = FeedbackDraft {
            channel: "store_box".into(),
            nickname: "王先生".into(),
            description: "Fitting rooms are too few".into(),
            ..FeedbackDraft::default()
        };
        draft
            .write_new(&mut doc, &taxonomy, "field-north", 1_000)
            .unwrap();
        let record = FeedbackRecord::from_doc(&doc).unwrap();
        let entry = ListEntry::of(&record);
        assert_eq!(entry.customer, "王先生");
        assert_eq!(entry.captured_by.as_deref(), Some("field-north"));
        assert_eq!(entry.sla_facts(), record.sla_facts());
        assert!(entry.matches("fitting"));
        assert!(entry.matches("王"));
        assert!(!entry.matches("invoice"));
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<ListEntry>(&json).unwrap(), entry);
        // Entries stored before they named the contact still read.
        let mut older: serde_json::Value = serde_json::from_str(&json).unwrap();
        older.as_object_mut().unwrap().remove("contact_ref");
        assert_eq!(serde_json::from_value::<ListEntry>(older).unwrap(), entry);
    }
}
