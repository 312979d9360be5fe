//! Users and sessions. Passwords are stored as argon2id hashes; session
//! tokens only as SHA-256 digests, so a copied database opens no session.

use base64::Engine;
use closeloop_shared::access::{Principal, Role};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Storage, StorageError, passwords};

/// How long a login lasts: long enough for a tablet to stay signed in
/// through weeks of offline field work.
pub const SESSION_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

/// Why a user cannot be created.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("username must be 2–40 characters of letters, digits, `.`, `_` or `-`")]
    BadUsername,
    #[error("password must be at least 10 characters")]
    WeakPassword,
    #[error("field staff need a team")]
    MissingTeam,
    #[error("user `{0}` already exists")]
    Exists(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn principal(row: &sqlx::any::AnyRow) -> Result<Principal, StorageError> {
    let role: String = row.try_get("role")?;
    Ok(Principal {
        user_id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: Role::from_key(&role)
            .ok_or_else(|| StorageError::Crypto(format!("unknown role {role}")))?,
        team: row.try_get("team")?,
    })
}

impl Storage {
    /// Creates a user with an argon2id password hash.
    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
        team: Option<&str>,
        now_ms: i64,
    ) -> Result<i64, UserError> {
        let ok_name = (2..=40).contains(&username.chars().count())
            && username
                .chars()
                .all(|c| c.is_alphanumeric() || "._-".contains(c));
        if !ok_name {
            return Err(UserError::BadUsername);
        }
        if password.chars().count() < 10 {
            return Err(UserError::WeakPassword);
        }
        let team = team.map(str::trim).filter(|t| !t.is_empty());
        if role == Role::FieldStaff && team.is_none() {
            return Err(UserError::MissingTeam);
        }
        let password = password.to_string();
        let hash = passwords::hash(password).await?;
        let inserted = sqlx::query(
            "INSERT INTO users (username, password_hash, role, team, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(username)
        .bind(hash)
        .bind(role.key())
        .bind(team)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(StorageError::from)?;
        match inserted {
            Some(row) => Ok(row.try_get("id").map_err(StorageError::from)?),
            None => Err(UserError::Exists(username.into())),
        }
    }

    /// Whether any user exists (demo data is only added to an empty server).
    pub async fn has_users(&self) -> Result<bool, StorageError> {
        Ok(sqlx::query("SELECT 1 FROM users LIMIT 1")
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }

    /// Checks a password; `None` for an unknown user or a wrong password alike.
    pub async fn verify_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Principal>, StorageError> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, role, team FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        let stored: Option<String> = match &row {
            Some(r) => Some(r.try_get("password_hash")?),
            None => None,
        };
        let matches = passwords::matches(password.to_string(), stored).await?;
        match row {
            Some(r) if matches => Ok(Some(principal(&r)?)),
            _ => Ok(None),
        }
    }

    /// Opens a session and returns its token (shown to the client once).
    pub async fn create_session(&self, user_id: i64, now_ms: i64) -> Result<String, StorageError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StorageError::Crypto(e.to_string()))?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(digest(&token))
            .bind(user_id)
            .bind(now_ms + SESSION_DAYS * DAY_MS)
            .execute(&self.pool)
            .await?;
        Ok(token)
    }

    /// The user behind a session token, if it is valid and not expired.
    pub async fn session(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<Principal>, StorageError> {
        let row = sqlx::query(
            "SELECT u.id, u.username, u.role, u.team FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(digest(token))
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(principal).transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, token: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(digest(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
