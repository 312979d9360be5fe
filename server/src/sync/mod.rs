//! The sync side: the WebSocket endpoint, the relay task that executes the
//! relay core's tasks (`closeloop_shared::relay`), and the listener for
//! changes other relays store in a shared PostgreSQL database.

pub(crate) mod other_relays;
mod relay;
pub(crate) mod sessions;
pub(crate) mod socket;

pub(crate) use relay::{
    OUTBOX_FRAMES, Outgoing, RelayHandle, RelayInput, RelayParts, SocketClaim, spawn,
};
pub(crate) use sessions::SessionWatch;

/// At most `max_bytes` of `s`, cut at a character boundary: close reasons
/// must fit the WebSocket limit, client-chosen text in logs stays short.
pub(crate) fn cut(s: &str, max_bytes: usize) -> &str {
    let mut end = s.len().min(max_bytes);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
