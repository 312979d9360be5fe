//! Sessions: opened at login, ended by logout, expiry (30 days), idleness
//! (12 hours without a request or an open sync socket), a disabled user or
//! an administrator. Tokens are stored only as SHA-256 digests; the hex of
//! a digest is the session's *id*, which names it in memory and logs
//! without being able to open it.

use base64::Engine;
use closeloop_shared::access::Principal;
use sqlx::Row;

use super::users::{digest, principal};
use super::{Sql, Storage, StorageError};
use crate::random::to_hex;

/// How long a login lasts: long enough for a tablet to stay signed in
/// through weeks of offline field work.
pub const SESSION_DAYS: i64 = 30;
/// A session unused this long ends, whatever its expiry.
pub const SESSION_IDLE_HOURS: i64 = 12;
const DAY_MS: i64 = 86_400_000;
const IDLE_MS: i64 = SESSION_IDLE_HOURS * 3_600_000;
/// `last_seen_at` is written at most this often per session, so busy
/// clients do not turn every read into a write.
const SEEN_EVERY_MS: i64 = 60_000;
/// Session ids per statement when checking many (well under every
/// database's limit on bound values).
const IDS_PER_QUERY: usize = 500;

/// The id of the session a token opens: hex of the stored digest.
pub fn session_id(token: &str) -> String {
    to_hex(&digest(token))
}

/// A session as storage has it, for deciding whether it still holds.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub principal: Principal,
    pub disabled: bool,
    pub expires_at: i64,
    pub last_seen_at: i64,
}

impl SessionRow {
    /// Why this session no longer holds at `now_ms`, if it does not.
    pub fn ended(&self, now_ms: i64) -> Option<&'static str> {
        if self.disabled {
            Some("the account was disabled")
        } else if self.expires_at <= now_ms {
            Some("the session expired")
        } else if self.last_seen_at + IDLE_MS <= now_ms {
            Some("the session was idle too long")
        } else {
            None
        }
    }
}

/// Binds the valid session ids of `chunk` as the items of an `IN (` list
/// already opened, and closes it; false if there was none.
fn bind_ids(q: &mut Sql<'_>, chunk: &[String]) -> bool {
    let mut any = false;
    for id in chunk.iter().filter_map(|id| from_hex(id)) {
        if any {
            q.push(", ");
        }
        q.bind(id);
        any = true;
    }
    q.push(")");
    any
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Storage {
    /// Opens a session and returns its token (shown to the client once).
    pub async fn create_session(&self, user_id: i64, now_ms: i64) -> Result<String, StorageError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StorageError::Crypto(e.to_string()))?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, expires_at, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(digest(&token))
        .bind(user_id)
        .bind(now_ms + SESSION_DAYS * DAY_MS)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// The user behind a session token, if the session holds (not expired,
    /// not idle, user not disabled); marks it seen.
    pub async fn session(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<Principal>, StorageError> {
        let hash = digest(token);
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.team, s.last_seen_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3
               AND u.disabled = 0",
        )
        .bind(hash.clone())
        .bind(now_ms)
        .bind(now_ms - IDLE_MS)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let seen: i64 = row.try_get("last_seen_at")?;
        if seen + SEEN_EVERY_MS <= now_ms {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(now_ms)
                .bind(hash)
                .execute(&self.pool)
                .await?;
        }
        principal(&row).map(Some)
    }

    /// Whether an administrator ended the session a token opened (revoked
    /// it, or disabled its user), as opposed to expiry, idleness or logout.
    pub async fn session_revoked(&self, token: &str) -> Result<bool, StorageError> {
        let found = sqlx::query("SELECT 1 AS one FROM revoked_sessions WHERE token_hash = $1")
            .bind(digest(token))
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// Ends a session.
    pub async fn delete_session(&self, token: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(digest(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The sessions among `ids` that storage still has, with their users;
    /// a missing one was deleted (logout, revoked, purged).
    pub async fn sessions_by_id(&self, ids: &[String]) -> Result<Vec<SessionRow>, StorageError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let mut q = self.sql(
                "SELECT s.token_hash, s.expires_at, s.last_seen_at, u.disabled,
                        u.id, u.username, u.role, u.team
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash IN (",
            );
            if !bind_ids(&mut q, chunk) {
                continue;
            }
            for row in q.fetch_all(&self.pool).await? {
                let hash: Vec<u8> = row.try_get("token_hash")?;
                found.push(SessionRow {
                    id: to_hex(&hash),
                    principal: principal(&row)?,
                    disabled: row.try_get::<i64, _>("disabled")? != 0,
                    expires_at: row.try_get("expires_at")?,
                    last_seen_at: row.try_get("last_seen_at")?,
                });
            }
        }
        Ok(found)
    }

    /// Marks sessions with an open sync socket as seen: a connected tablet
    /// is in use even when it makes no HTTP request for hours.
    pub async fn touch_sessions(&self, ids: &[String], now_ms: i64) -> Result<(), StorageError> {
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let mut q = self.sql("UPDATE sessions SET last_seen_at = ");
            q.bind(now_ms);
            q.push(" WHERE last_seen_at <= ");
            q.bind(now_ms - SEEN_EVERY_MS);
            q.push(" AND expires_at > ");
            q.bind(now_ms);
            q.push(" AND token_hash IN (");
            if bind_ids(&mut q, chunk) {
                q.execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    /// Deletes expired and idle sessions, and revocation markers of
    /// sessions that would have expired by now; how many sessions.
    pub async fn purge_sessions(&self, now_ms: i64) -> Result<u64, StorageError> {
        sqlx::query("DELETE FROM revoked_sessions WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
                .bind(now_ms)
                .bind(now_ms - IDLE_MS)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_the_hex_of_the_stored_digest() {
        let id = session_id("token");
        assert_eq!(id.len(), 64);
        assert_eq!(from_hex(&id), Some(digest("token")));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
    }
}
