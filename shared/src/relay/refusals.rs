//! Counting refused changes. An honest client meets a refusal only when its
//! rights changed while it was offline; a client that keeps sending them is
//! closed, and a user who keeps reconnecting to do it is shut out for a
//! while, because undoing a refused change costs the relay a rebuild of the
//! document (about 0.1 s for a record with 10,000 log entries, see
//! `docs/benchmarks.md`).

use std::collections::{HashMap, HashSet};

use automerge::ChangeHash;

use crate::sync::ConnectionId;

/// Distinct refused changes one connection may send before it is closed.
pub const MAX_REFUSALS: usize = 5;
/// Distinct refused changes one user may send within [`USER_WINDOW_MS`]
/// over all connections before every connection of theirs is closed and
/// new ones are refused for [`USER_BLOCK_MS`].
pub const MAX_USER_REFUSALS: usize = 10;
pub const USER_WINDOW_MS: u64 = 10 * 60 * 1000;
pub const USER_BLOCK_MS: u64 = 10 * 60 * 1000;

#[derive(Debug, Default)]
struct UserCount {
    since_ms: u64,
    count: usize,
    blocked_until_ms: u64,
}

/// What a new refusal means for its connection and user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Changes not refused on this connection before.
    pub fresh: usize,
    /// Close this connection.
    pub close: bool,
    /// Close every connection of the user and refuse new ones for a while.
    pub block_user: bool,
}

#[derive(Debug, Default)]
pub struct Refusals {
    by_connection: HashMap<ConnectionId, HashSet<ChangeHash>>,
    by_user: HashMap<i64, UserCount>,
}

impl Refusals {
    /// Counts a refusal of `changes` sent by `user` on `conn` at `now_ms`;
    /// the same change sent again (its sender had not heard yet) counts once.
    pub fn record(
        &mut self,
        conn: ConnectionId,
        user: i64,
        changes: &[ChangeHash],
        now_ms: u64,
    ) -> Verdict {
        let seen = self.by_connection.entry(conn).or_default();
        let fresh = changes.iter().filter(|h| seen.insert(**h)).count();
        if fresh == 0 {
            return Verdict::default();
        }
        let close = seen.len() >= MAX_REFUSALS;
        let u = self.by_user.entry(user).or_default();
        if now_ms.saturating_sub(u.since_ms) > USER_WINDOW_MS {
            u.since_ms = now_ms;
            u.count = 0;
        }
        u.count += fresh;
        let block_user = u.count >= MAX_USER_REFUSALS;
        if block_user {
            u.blocked_until_ms = now_ms + USER_BLOCK_MS;
        }
        Verdict {
            fresh,
            close,
            block_user,
        }
    }

    /// Whether the user is shut out at `now_ms`.
    pub fn blocked(&self, user: i64, now_ms: u64) -> bool {
        self.by_user
            .get(&user)
            .is_some_and(|u| now_ms < u.blocked_until_ms)
    }

    pub fn forget_connection(&mut self, conn: ConnectionId) {
        self.by_connection.remove(&conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u8) -> ChangeHash {
        ChangeHash([n; 32])
    }

    #[test]
    fn a_connection_closes_after_distinct_refusals_and_a_user_is_shut_out_across_connections() {
        let mut r = Refusals::default();
        assert_eq!(r.record(1, 7, &[hash(1)], 0).fresh, 1);
        assert_eq!(
            r.record(1, 7, &[hash(1)], 0).fresh,
            0,
            "sent again: counted once"
        );
        for n in 2..MAX_REFUSALS as u8 {
            assert!(!r.record(1, 7, &[hash(n)], 0).close);
        }
        assert!(r.record(1, 7, &[hash(MAX_REFUSALS as u8)], 0).close);
        r.forget_connection(1);
        // A new connection starts afresh, the user's count does not.
        let mut blocked = false;
        for n in 0..MAX_USER_REFUSALS as u8 {
            blocked |= r.record(2, 7, &[hash(100 + n)], 1_000).block_user;
        }
        assert!(blocked);
        assert!(r.blocked(7, 1_000));
        assert!(!r.blocked(8, 1_000), "other users are not affected");
        assert!(!r.blocked(7, 1_000 + USER_BLOCK_MS), "for a while only");
    }

    #[test]
    fn the_user_count_starts_again_after_the_window() {
        let mut r = Refusals::default();
        for n in 0..MAX_USER_REFUSALS as u8 - 1 {
            r.record(n as u64, 7, &[hash(n)], 0);
        }
        assert!(!r.record(50, 7, &[hash(200)], USER_WINDOW_MS + 1).block_user);
    }
}
