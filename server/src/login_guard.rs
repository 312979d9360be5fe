//! What stands before a password check: failed sign-ins are counted per
//! account and per client address, and a locked account or address is
//! answered 429 without hashing (so guessing costs the guesser time, not
//! the server); and only a few checks may wait for the password thread at
//! once, the rest are answered 503 at once (so a login storm cannot queue
//! minutes of argon2 work). Counts live in the database, so relays sharing
//! it count every attempt, wherever it arrived.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::storage::{Storage, StorageError};

/// Failures are counted in windows of this length.
const WINDOW_MS: i64 = 15 * 60_000;
/// Failures per window that lock an account.
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failures per window that lock a client address.
pub const ADDRESS_FAILURES: u32 = 20;
/// The first lockout; each further one doubles, up to a day.
const FIRST_LOCK_MS: i64 = 15 * 60_000;
const LONGEST_LOCK_MS: i64 = 24 * 3_600_000;

/// One account's or address's failures (a row in storage).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Strikes {
    pub window_start: i64,
    pub failures: u32,
    pub lockouts: u32,
    pub locked_until: i64,
}

impl Strikes {
    /// One more failure: `limit` within a window lock for a while, each
    /// lockout twice as long as the one before, up to a day.
    pub(crate) fn fail(&mut self, limit: u32, now_ms: i64) {
        if now_ms - self.window_start >= WINDOW_MS {
            self.window_start = now_ms;
            self.failures = 0;
        }
        self.failures += 1;
        if self.failures >= limit {
            self.lockouts += 1;
            let lock = FIRST_LOCK_MS.saturating_mul(1 << self.lockouts.min(8).saturating_sub(1));
            self.locked_until = now_ms + lock.min(LONGEST_LOCK_MS);
            self.failures = 0;
            self.window_start = now_ms;
        }
    }
}

/// Counts older than this (no window open, no lock running for a day)
/// no longer matter.
pub(crate) fn quiet_since(now_ms: i64) -> i64 {
    now_ms - LONGEST_LOCK_MS - WINDOW_MS
}

/// The sign-in guard in the application state.
pub(crate) struct LoginGuard {
    storage: Storage,
    queue: Arc<Semaphore>,
}

/// Why a sign-in is not even tried.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Too many failures; seconds until the lock ends.
    Locked(u64),
    /// Every password-check slot is taken; try again shortly.
    Busy,
    /// The counts could not be read.
    Storage(StorageError),
}

fn account_key(username: &str) -> String {
    format!("account:{}", username.trim().to_lowercase())
}

fn address_key(addr: IpAddr) -> String {
    format!("address:{addr}")
}

impl LoginGuard {
    /// A guard letting `queue` password checks wait or run at once.
    pub(crate) fn new(queue: usize, storage: Storage) -> Self {
        LoginGuard {
            storage,
            queue: Arc::new(Semaphore::new(queue)),
        }
    }

    /// A slot for one password check, held until the check is done; or
    /// why there is none.
    pub(crate) async fn admit(
        &self,
        username: &str,
        addr: Option<IpAddr>,
        now_ms: i64,
    ) -> Result<OwnedSemaphorePermit, Refused> {
        let mut keys = vec![account_key(username)];
        keys.extend(addr.map(address_key));
        let until = self
            .storage
            .locked_until(&keys)
            .await
            .map_err(Refused::Storage)?;
        if until > now_ms {
            let secs = (until - now_ms + 999) / 1000;
            return Err(Refused::Locked(u64::try_from(secs).unwrap_or(1)));
        }
        self.queue
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refused::Busy)
    }

    /// A wrong password (or unknown or disabled user).
    pub(crate) async fn failed(
        &self,
        username: &str,
        addr: Option<IpAddr>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let account = account_key(username);
        self.storage
            .strike(&account, ACCOUNT_FAILURES, now_ms)
            .await?;
        if let Some(a) = addr {
            self.storage
                .strike(&address_key(a), ADDRESS_FAILURES, now_ms)
                .await?;
        }
        Ok(())
    }

    /// A successful sign-in clears the account's record.
    pub(crate) async fn succeeded(&self, username: &str) -> Result<(), StorageError> {
        self.storage.clear_strikes(&account_key(username)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn five_failures_lock_and_each_lockout_lasts_longer() {
        let mut s = Strikes::default();
        for _ in 0..ACCOUNT_FAILURES - 1 {
            s.fail(ACCOUNT_FAILURES, 0);
        }
        assert_eq!(s.locked_until, 0, "four failures are fine");
        s.fail(ACCOUNT_FAILURES, 0);
        assert_eq!(s.locked_until, 15 * MIN);
        for _ in 0..ACCOUNT_FAILURES {
            s.fail(ACCOUNT_FAILURES, 15 * MIN);
        }
        assert_eq!(
            s.locked_until,
            45 * MIN,
            "the second lockout lasts twice as long"
        );
    }

    #[test]
    fn failures_spread_over_windows_do_not_lock() {
        let mut s = Strikes::default();
        for i in 0..10 {
            s.fail(ACCOUNT_FAILURES, i * 4 * MIN);
        }
        assert_eq!(s.locked_until, 0);
    }

    #[test]
    fn lockouts_stop_growing_at_a_day() {
        let mut s = Strikes::default();
        let mut now = 0;
        for _ in 0..20 {
            for _ in 0..ACCOUNT_FAILURES {
                s.fail(ACCOUNT_FAILURES, now);
            }
            assert!(s.locked_until - now <= LONGEST_LOCK_MS);
            now = s.locked_until;
        }
        assert_eq!(s.locked_until - s.window_start, LONGEST_LOCK_MS);
    }

    #[test]
    fn keys_do_not_mix_accounts_and_addresses() {
        assert_eq!(account_key(" Li "), "account:li");
        assert_eq!(address_key(IpAddr::from([10, 0, 0, 1])), "address:10.0.0.1");
    }
}
