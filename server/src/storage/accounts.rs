//! What administrators do to users (CLI and `/api/admin/users`): list,
//! disable, enable, reset a password, revoke sessions, change role or team.
//! Each is one statement or one transaction on the shared database, so a
//! relay notices within its next session check (see `sync/sessions.rs`),
//! whichever process made the change.

use closeloop_shared::access::Role;
use closeloop_shared::api::UserSummary;
use sqlx::Row;

use super::users::{check_password, checked_team};
use super::{Storage, StorageError, UserError, passwords};

impl Storage {
    /// Every user with the number of its unexpired sessions.
    pub async fn list_users(&self, now_ms: i64) -> Result<Vec<UserSummary>, StorageError> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.role, u.team, u.disabled,
                    COUNT(s.user_id) AS sessions, MAX(s.last_seen_at) AS last_seen_at
             FROM users u LEFT JOIN sessions s ON s.user_id = u.id AND s.expires_at > $1
             GROUP BY u.id, u.username, u.role, u.team, u.disabled
             ORDER BY u.username",
        )
        .bind(now_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(UserSummary {
                    user_id: r.try_get("id")?,
                    username: r.try_get("username")?,
                    role: Role::from_key(&role)
                        .ok_or_else(|| StorageError::Corrupt(format!("unknown role {role}")))?,
                    team: r.try_get("team")?,
                    disabled: r.try_get::<i64, _>("disabled")? != 0,
                    sessions: r.try_get("sessions")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                })
            })
            .collect()
    }

    /// Disables (ending every session) or enables a user.
    pub async fn set_disabled(&self, username: &str, disabled: bool) -> Result<(), UserError> {
        let mut tx = self.pool.begin().await.map_err(StorageError::from)?;
        let id = sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2 RETURNING id")
            .bind(i64::from(disabled))
            .bind(username)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StorageError::from);
        let id = user_id_of(id, username)?;
        if disabled {
            revoke(&mut tx, id).await?;
        }
        tx.commit().await.map_err(StorageError::from)?;
        Ok(())
    }

    /// Sets a new password and ends every session of the user.
    pub async fn reset_password(&self, username: &str, password: &str) -> Result<(), UserError> {
        check_password(password)?;
        let hash = passwords::hash(password.to_string()).await?;
        let mut tx = self.pool.begin().await.map_err(StorageError::from)?;
        let id =
            sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2 RETURNING id")
                .bind(hash)
                .bind(username)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StorageError::from);
        let id = user_id_of(id, username)?;
        delete_sessions(&mut tx, id).await?;
        tx.commit().await.map_err(StorageError::from)?;
        Ok(())
    }

    /// Ends every session of the user, as revoked (their devices wipe
    /// the user's local data at their next contact); how many there were.
    pub async fn revoke_sessions(&self, username: &str) -> Result<u64, UserError> {
        let id = self.user_id(username).await?;
        let mut tx = self.pool.begin().await.map_err(StorageError::from)?;
        let n = revoke(&mut tx, id).await?;
        tx.commit().await.map_err(StorageError::from)?;
        Ok(n)
    }

    /// Changes a user's role and team. Sessions stay; sync sockets opened
    /// under the old role or team are closed, and reconnect under the new.
    pub async fn set_role(
        &self,
        username: &str,
        role: Role,
        team: Option<&str>,
    ) -> Result<(), UserError> {
        let team = checked_team(role, team)?;
        let changed = sqlx::query("UPDATE users SET role = $1, team = $2 WHERE username = $3")
            .bind(role.key())
            .bind(team)
            .bind(username)
            .execute(&self.pool)
            .await
            .map_err(StorageError::from)?
            .rows_affected();
        if changed == 0 {
            return Err(UserError::Unknown(username.into()));
        }
        Ok(())
    }

    async fn user_id(&self, username: &str) -> Result<i64, UserError> {
        let row = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(StorageError::from);
        user_id_of(row, username)
    }
}

/// The `id` of the user row a statement found, or "no such user".
fn user_id_of(
    row: Result<Option<sqlx::any::AnyRow>, StorageError>,
    username: &str,
) -> Result<i64, UserError> {
    row?.ok_or_else(|| UserError::Unknown(username.into()))?
        .try_get("id")
        .map_err(|e| StorageError::from(e).into())
}

/// Ends every session of a user as revoked: a marker per session stays
/// until it would have expired (see `Storage::session_revoked`); how many.
async fn revoke(conn: &mut sqlx::AnyConnection, user_id: i64) -> Result<u64, StorageError> {
    sqlx::query(
        "INSERT INTO revoked_sessions (token_hash, user_id, expires_at)
         SELECT token_hash, user_id, expires_at FROM sessions WHERE user_id = $1",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    delete_sessions(conn, user_id).await
}

/// Ends every session of a user; how many there were.
async fn delete_sessions(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
) -> Result<u64, StorageError> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected())
}
