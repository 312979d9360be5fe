//! Work the server does on its own, on a schedule: escalating overdue
//! records, following up dissatisfied survey answers, archiving and retention. Jobs change documents only as a sync peer
//! ([`peer::InProcessPeer`]), so every rule that holds for clients holds
//! for them too.

pub(crate) mod escalation;
pub(crate) mod housekeeping;
pub(crate) mod peer;
pub(crate) mod survey_follow_up;
