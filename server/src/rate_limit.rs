//! Request limits for what anyone may call without an account (the
//! customer's survey links, the website's feedback form): at most so many
//! requests per window per key. Each relay counts in its own memory first
//! (cheap, and it stops a flood before the database sees it); relays
//! sharing a database then count what passed there too, so a limit holds
//! however a balancer spreads the requests. Past a bound on keys tracked
//! in memory, keys whose window ended are forgotten, and if all are
//! current the oldest window goes: memory stays bounded under a flood of
//! new addresses.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::storage::Storage;

/// Keys a limiter remembers at most.
const MAX_TRACKED: usize = 10_000;

/// A fixed-window counter per key.
pub(crate) struct Limiter<K> {
    limit: u32,
    window_ms: i64,
    seen: Mutex<HashMap<K, (i64, u32)>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub(crate) fn new(limit: u32, window_ms: i64) -> Self {
        Self {
            limit,
            window_ms,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request; `Err(seconds)` until the window ends when over the limit.
    pub(crate) fn allow(&self, key: &K, now_ms: i64) -> Result<(), u64> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= MAX_TRACKED && !seen.contains_key(key) {
            let window = self.window_ms;
            seen.retain(|_, (start, _)| now_ms - *start < window);
            if seen.len() >= MAX_TRACKED
                && let Some(oldest) = seen
                    .iter()
                    .min_by_key(|(_, (s, _))| *s)
                    .map(|(k, _)| k.clone())
            {
                seen.remove(&oldest);
            }
        }
        let entry = seen.entry(key.clone()).or_insert((now_ms, 0));
        if now_ms - entry.0 >= self.window_ms {
            *entry = (now_ms, 0);
        }
        if entry.1 >= self.limit {
            let left_ms = entry.0 + self.window_ms - now_ms;
            return Err((left_ms.max(1000) / 1000) as u64);
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Requests to survey links, per 10 minutes.
const WINDOW_MS: i64 = 10 * 60_000;
/// From one address: a customer opens a link a few times and answers once;
/// many customers may share a carrier's address.
pub(crate) const PER_ADDRESS: u32 = 120;
/// To one link.
pub(crate) const PER_LINK: u32 = 60;

/// Feedback sent from one address through the website's form, per hour.
pub(crate) const FEEDBACK_PER_ADDRESS: u32 = 10;

/// Feedback forms, per hour.
const FEEDBACK_WINDOW_MS: i64 = 3_600_000;

/// The limits on the public endpoints.
pub(crate) struct PublicLimits {
    addresses: Limiter<IpAddr>,
    links: Limiter<String>,
    feedback: Limiter<IpAddr>,
    /// The database relays share, where counts hold across them.
    shared: Option<Storage>,
}

impl PublicLimits {
    /// Limits counted in memory, and in `storage` too when relays share it.
    pub(crate) fn new(storage: &Storage) -> Self {
        Self {
            addresses: Limiter::new(PER_ADDRESS, WINDOW_MS),
            links: Limiter::new(PER_LINK, WINDOW_MS),
            feedback: Limiter::new(FEEDBACK_PER_ADDRESS, FEEDBACK_WINDOW_MS),
            shared: storage.shared_url().map(|_| storage.clone()),
        }
    }

    /// Counts a request to `link` from `addr` (unknown in-process); `Err(seconds)` when over.
    pub(crate) async fn allow(
        &self,
        addr: Option<IpAddr>,
        link: &str,
        now_ms: i64,
    ) -> Result<(), u64> {
        // Only the start of a link is kept as its key: enough to tell links apart.
        let key: String = link.chars().take(32).collect();
        if let Some(a) = addr {
            self.addresses.allow(&a, now_ms)?;
        }
        self.links.allow(&key, now_ms)?;
        if let Some(a) = addr {
            self.everywhere(&format!("address:{a}"), PER_ADDRESS, WINDOW_MS, now_ms)
                .await?;
        }
        self.everywhere(&format!("link:{key}"), PER_LINK, WINDOW_MS, now_ms)
            .await
    }

    /// Counts a feedback form sent from `addr`; `Err(seconds)` when over.
    pub(crate) async fn allow_feedback(
        &self,
        addr: Option<IpAddr>,
        now_ms: i64,
    ) -> Result<(), u64> {
        let Some(a) = addr else { return Ok(()) };
        self.feedback.allow(&a, now_ms)?;
        let key = format!("feedback:{a}");
        self.everywhere(&key, FEEDBACK_PER_ADDRESS, FEEDBACK_WINDOW_MS, now_ms)
            .await
    }

    /// The count across relays, where they share a database. If it cannot
    /// be read the request passes on this relay's own count.
    async fn everywhere(
        &self,
        key: &str,
        limit: u32,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<(), u64> {
        let Some(storage) = &self.shared else {
            return Ok(());
        };
        match storage.count_request(key, window_ms, now_ms).await {
            Ok((n, start)) if n > i64::from(limit) => {
                let left_ms = start + window_ms - now_ms;
                Err((left_ms.max(1000) / 1000) as u64)
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "counting a public request across relays failed");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_limit_per_window_and_others_are_apart() {
        let l = Limiter::new(3, 1_000);
        for _ in 0..3 {
            assert_eq!(l.allow(&"a", 0), Ok(()));
        }
        assert_eq!(l.allow(&"a", 500), Err(1));
        assert_eq!(l.allow(&"b", 500), Ok(()), "another key counts apart");
        assert_eq!(l.allow(&"a", 1_000), Ok(()), "a new window");
    }

    #[test]
    fn memory_stays_bounded_under_many_keys() {
        let l = Limiter::new(1, 60_000);
        for n in 0..(MAX_TRACKED as u32 + 50) {
            assert_eq!(l.allow(&n, i64::from(n)), Ok(()));
        }
        let tracked = l.seen.lock().unwrap().len();
        assert!(tracked <= MAX_TRACKED, "{tracked}");
        let newest = MAX_TRACKED as u32 + 49;
        assert!(
            l.allow(&newest, i64::from(newest)).is_err(),
            "recent keys are still counted"
        );
    }
}
