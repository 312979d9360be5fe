//! What stands before a password check: failed sign-ins are counted per
//! account and per client address, and a locked account or address is
//! answered 429 without hashing (so guessing costs the guesser time, not
//! the server); and only a few checks may wait for the password thread at
//! once, the rest are answered 503 at once (so a login storm cannot queue
//! minutes of argon2 work). Counts live in this process's memory: several
//! relays each count their own.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Failures are counted in windows of this length.
const WINDOW_MS: i64 = 15 * 60_000;
/// Failures per window that lock an account.
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failures per window that lock a client address.
pub const ADDRESS_FAILURES: u32 = 20;
/// The first lockout; each further one doubles, up to a day.
const FIRST_LOCK_MS: i64 = 15 * 60_000;
const LONGEST_LOCK_MS: i64 = 24 * 3_600_000;
/// Past this many tracked accounts or addresses, quiet ones are forgotten.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone, Copy, Default)]
struct Strikes {
    window_start: i64,
    failures: u32,
    lockouts: u32,
    locked_until: i64,
}

impl Strikes {
    fn fail(&mut self, limit: u32, now_ms: i64) {
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

    /// Whether it still matters: locked, counting, or with lockouts that
    /// make the next one longer (forgotten a day after the last).
    fn active(&self, now_ms: i64) -> bool {
        self.locked_until > now_ms
            || now_ms - self.window_start < WINDOW_MS
            || (self.lockouts > 0 && now_ms - self.locked_until < LONGEST_LOCK_MS)
    }
}

fn record<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Strikes>, key: K, limit: u32, now_ms: i64) {
    if map.len() >= MAX_TRACKED {
        map.retain(|_, s| s.active(now_ms));
    }
    map.entry(key).or_default().fail(limit, now_ms);
}

/// Failed sign-ins per account and per address.
#[derive(Default)]
struct Throttle {
    accounts: HashMap<String, Strikes>,
    addresses: HashMap<IpAddr, Strikes>,
}

/// The sign-in guard in the application state.
pub(crate) struct LoginGuard {
    throttle: Mutex<Throttle>,
    queue: Arc<Semaphore>,
}

/// Why a sign-in is not even tried.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Too many failures; seconds until the lock ends.
    Locked(u64),
    /// Every password-check slot is taken; try again shortly.
    Busy,
}

fn account_key(username: &str) -> String {
    username.trim().to_lowercase()
}

impl LoginGuard {
    /// A guard letting `queue` password checks wait or run at once.
    pub(crate) fn new(queue: usize) -> Self {
        LoginGuard {
            throttle: Mutex::new(Throttle::default()),
            queue: Arc::new(Semaphore::new(queue)),
        }
    }

    /// A slot for one password check, held until the check is done; or
    /// why there is none.
    pub(crate) fn admit(
        &self,
        username: &str,
        addr: Option<IpAddr>,
        now_ms: i64,
    ) -> Result<OwnedSemaphorePermit, Refused> {
        if let Ok(t) = self.throttle.lock() {
            let account = t.accounts.get(&account_key(username));
            let address = addr.and_then(|a| t.addresses.get(&a));
            let until = account
                .into_iter()
                .chain(address)
                .map(|s| s.locked_until)
                .max()
                .unwrap_or(0);
            if until > now_ms {
                let secs = (until - now_ms + 999) / 1000;
                return Err(Refused::Locked(u64::try_from(secs).unwrap_or(1)));
            }
        }
        self.queue
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refused::Busy)
    }

    /// A wrong password (or unknown or disabled user).
    pub(crate) fn failed(&self, username: &str, addr: Option<IpAddr>, now_ms: i64) {
        if let Ok(mut t) = self.throttle.lock() {
            record(
                &mut t.accounts,
                account_key(username),
                ACCOUNT_FAILURES,
                now_ms,
            );
            if let Some(a) = addr {
                record(&mut t.addresses, a, ADDRESS_FAILURES, now_ms);
            }
        }
    }

    /// A successful sign-in clears the account's record.
    pub(crate) fn succeeded(&self, username: &str) {
        if let Ok(mut t) = self.throttle.lock() {
            t.accounts.remove(&account_key(username));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn five_failures_lock_an_account_and_each_lockout_lasts_longer() {
        let guard = LoginGuard::new(4);
        let addr = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..ACCOUNT_FAILURES - 1 {
            guard.failed("Li", addr, 0);
        }
        assert!(guard.admit("li", addr, 0).is_ok(), "four failures are fine");
        guard.failed("li", addr, 0);
        assert_eq!(guard.admit("LI", None, 0).err(), Some(Refused::Locked(900)));
        assert!(guard.admit("wang", addr, 0).is_ok(), "only that account");
        assert!(guard.admit("li", None, 15 * MIN).is_ok(), "the lock ends");
        for _ in 0..ACCOUNT_FAILURES {
            guard.failed("li", None, 15 * MIN);
        }
        assert_eq!(
            guard.admit("li", None, 15 * MIN).err(),
            Some(Refused::Locked(1800)),
            "the second lockout lasts twice as long"
        );
    }

    #[test]
    fn failures_spread_over_windows_do_not_lock() {
        let guard = LoginGuard::new(4);
        for i in 0..10 {
            guard.failed("li", None, i * 4 * MIN);
        }
        assert!(guard.admit("li", None, 40 * MIN).is_ok());
    }

    #[test]
    fn an_address_failing_on_many_accounts_is_locked() {
        let guard = LoginGuard::new(4);
        let addr = Some(IpAddr::from([10, 0, 0, 2]));
        for i in 0..ADDRESS_FAILURES {
            guard.failed(&format!("user{i}"), addr, 0);
        }
        assert!(matches!(
            guard.admit("someone", addr, 0),
            Err(Refused::Locked(_))
        ));
        assert!(guard.admit("someone", None, 0).is_ok());
    }

    #[test]
    fn a_full_queue_is_busy_until_a_slot_is_returned() {
        let guard = LoginGuard::new(1);
        let held = guard.admit("a", None, 0).unwrap();
        assert_eq!(guard.admit("b", None, 0).err(), Some(Refused::Busy));
        drop(held);
        assert!(guard.admit("b", None, 0).is_ok());
    }
}
