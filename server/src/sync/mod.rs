//! The sync side: the WebSocket endpoint, the relay task that executes the
//! relay core's tasks (`closeloop_shared::relay`), and the listener for
//! changes other relays store in a shared PostgreSQL database.

pub(crate) mod other_relays;
mod relay;
pub(crate) mod socket;

pub(crate) use relay::{RelayHandle, RelayParts, spawn};
