//! The sync side: the WebSocket endpoint, the relay task that owns the
//! sync hub, which documents stay in memory, and the listener for changes
//! other relays store in a shared PostgreSQL database.

pub(crate) mod other_relays;
mod relay;
mod residency;
pub(crate) mod socket;

pub(crate) use relay::{RelayHandle, RelayParts, spawn};
pub(crate) use residency::Residency;
