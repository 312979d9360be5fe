//! Failed sign-ins as the database counts them, so relays sharing it lock
//! an account or address after the same number of attempts wherever they
//! arrive. What a failure does to the count is [`Strikes::fail`]'s rule.

use sqlx::Row;

use super::{Storage, StorageError};
use crate::login_guard::Strikes;

impl Storage {
    /// The latest moment any of `keys` is locked until (0: not locked).
    pub(crate) async fn locked_until(&self, keys: &[String]) -> Result<i64, StorageError> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut q =
            self.sql("SELECT COALESCE(MAX(locked_until), 0) FROM login_strikes WHERE key IN (");
        q.in_list(keys.iter().map(String::as_str));
        Ok(q.fetch_i64(&self.pool).await?)
    }

    /// Counts a failure against `key` (`limit` failures per window lock it),
    /// the row locked meanwhile so two relays' failures both count.
    pub(crate) async fn strike(
        &self,
        key: &str,
        limit: u32,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO login_strikes (key, window_start, failures, lockouts, locked_until) \
             VALUES ($1, 0, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&self.locking(
            "SELECT window_start, failures, lockouts, locked_until FROM login_strikes WHERE key = $1",
        ))
        .bind(key)
        .fetch_one(&mut *tx)
        .await?;
        let count = |c: &str| -> Result<u32, StorageError> {
            let n: i64 = row.try_get(c)?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        };
        let mut strikes = Strikes {
            window_start: row.try_get("window_start")?,
            failures: count("failures")?,
            lockouts: count("lockouts")?,
            locked_until: row.try_get("locked_until")?,
        };
        strikes.fail(limit, now_ms);
        sqlx::query(
            "UPDATE login_strikes SET window_start = $2, failures = $3, lockouts = $4, \
             locked_until = $5 WHERE key = $1",
        )
        .bind(key)
        .bind(strikes.window_start)
        .bind(i64::from(strikes.failures))
        .bind(i64::from(strikes.lockouts))
        .bind(strikes.locked_until)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets `key`'s failures (a successful sign-in).
    pub(crate) async fn clear_strikes(&self, key: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM login_strikes WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets counts that no longer matter (see [`Strikes::active`]).
    pub(crate) async fn forget_strikes(&self, quiet_since_ms: i64) -> Result<u64, StorageError> {
        Ok(
            sqlx::query("DELETE FROM login_strikes WHERE window_start < $1 AND locked_until < $1")
                .bind(quiet_since_ms)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
