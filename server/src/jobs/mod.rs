//! Work the server does on its own, on a schedule: escalating overdue
//! records, archiving and retention. Jobs change documents only as a sync peer
//! ([`peer::InProcessPeer`]), so every rule that holds for clients holds
//! for them too.

pub(crate) mod escalation;
pub(crate) mod housekeeping;
mod peer;
