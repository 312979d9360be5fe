//! The capture form's draft: every field but the customer's contact
//! details, written to this user's `localStorage` on each change (and
//! again when the page is hidden or closed), read back when the form
//! opens, removed after a save or a discard, and wiped with the user's
//! other local data at sign-out. The contact details are personal data
//! and are kept only in the page's memory, never in the draft.

use closeloop_shared::record::Attachment;
use serde::{Deserialize, Serialize};

/// The form's fields as typed; empty strings are unset choices.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub channel: String,
    pub source: String,
    pub nickname: String,
    pub description: String,
    pub order_number: String,
    /// The received time's input value, when the user changed it (else: now).
    pub received: Option<String>,
    pub at_event: bool,
    pub event_category: String,
    pub feedback_type: String,
    pub nature: String,
    pub complaint_kind: String,
    pub urgency: String,
    pub impact: String,
    pub aspects: Vec<String>,
    /// Files already kept on this device (only their references here).
    pub attachments: Vec<Attachment>,
}

impl Draft {
    /// Whether nothing was typed or chosen beyond the channel and source
    /// (those alone are no draft worth keeping).
    pub fn is_blank(&self) -> bool {
        let Draft {
            channel: _,
            source: _,
            nickname,
            description,
            order_number,
            received,
            at_event,
            event_category,
            feedback_type,
            nature,
            complaint_kind,
            urgency,
            impact,
            aspects,
            attachments,
        } = self;
        [
            nickname,
            description,
            order_number,
            event_category,
            feedback_type,
            nature,
            complaint_kind,
            urgency,
            impact,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
            && received.is_none()
            && !at_event
            && aspects.is_empty()
            && attachments.is_empty()
    }
}

fn key(username: &str) -> String {
    crate::device::user_key(username, crate::device::CAPTURE_DRAFT)
}

/// The user's saved draft, if any.
pub fn load(username: &str) -> Option<Draft> {
    let json = crate::session::local_storage()?
        .get_item(&key(username))
        .ok()
        .flatten()?;
    serde_json::from_str::<Draft>(&json)
        .ok()
        .filter(|d| !d.is_blank())
}

/// Keeps the draft (a blank one removes it); whether it is now stored.
/// Only while `username` is the device's user: a page signed out (its
/// data wiped) and then hidden or closed must not write it back.
pub fn store(username: &str, draft: &Draft) -> bool {
    let Some(s) = crate::session::local_storage() else {
        return false;
    };
    if crate::session::cached_user().is_none_or(|u| u.username != username) {
        return false;
    }
    if draft.is_blank() {
        let _ = s.remove_item(&key(username));
        return false;
    }
    match serde_json::to_string(draft) {
        Ok(json) => s.set_item(&key(username), &json).is_ok(),
        Err(_) => false,
    }
}

/// Removes the user's draft.
pub fn clear(username: &str) {
    if let Some(s) = crate::session::local_storage() {
        let _ = s.remove_item(&key(username));
    }
}
