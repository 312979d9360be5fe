//! Fixed-window request counts in the database, for limits that must hold
//! across relays sharing it (the public endpoints): one statement counts a
//! request and says where its window stands, so relays never lose a count.

use sqlx::Row;

use super::{Storage, StorageError};

impl Storage {
    /// Counts a request against `key` at `now_ms` in windows of
    /// `window_ms`; the requests counted in the current window (this one
    /// included) and when that window began.
    pub(crate) async fn count_request(
        &self,
        key: &str,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<(i64, i64), StorageError> {
        let row = sqlx::query(
            "INSERT INTO request_counts (key, window_start, n) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             n = CASE WHEN request_counts.window_start <= $3 THEN 1 ELSE request_counts.n + 1 END, \
             window_start = CASE WHEN request_counts.window_start <= $3 THEN $2 \
             ELSE request_counts.window_start END \
             RETURNING n, window_start",
        )
        .bind(key)
        .bind(now_ms)
        .bind(now_ms.saturating_sub(window_ms))
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get("n")?, row.try_get("window_start")?))
    }

    /// Forgets counts whose window began before `before_ms`.
    pub(crate) async fn forget_request_counts(&self, before_ms: i64) -> Result<u64, StorageError> {
        Ok(
            sqlx::query("DELETE FROM request_counts WHERE window_start < $1")
                .bind(before_ms)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
