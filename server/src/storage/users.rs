//! Users and sessions. Passwords are stored as argon2id hashes; session
//! tokens only as SHA-256 digests, so a copied database opens no session.

use closeloop_shared::access::{Principal, Role};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Storage, StorageError, passwords};

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
    #[error("no user `{0}`")]
    Unknown(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// How sessions store a token: its SHA-256 digest.
pub(super) fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub(super) fn principal(row: &sqlx::any::AnyRow) -> Result<Principal, StorageError> {
    let role: String = row.try_get("role")?;
    Ok(Principal {
        user_id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: Role::from_key(&role)
            .ok_or_else(|| StorageError::Crypto(format!("unknown role {role}")))?,
        team: row.try_get("team")?,
    })
}

/// The one password rule, for new users and resets alike.
pub(super) fn check_password(password: &str) -> Result<(), UserError> {
    if password.chars().count() < 10 {
        return Err(UserError::WeakPassword);
    }
    Ok(())
}

/// The team a user of `role` gets: field staff need one, blank means none.
pub(super) fn checked_team(role: Role, team: Option<&str>) -> Result<Option<&str>, UserError> {
    let team = team.map(str::trim).filter(|t| !t.is_empty());
    if role == Role::FieldStaff && team.is_none() {
        return Err(UserError::MissingTeam);
    }
    Ok(team)
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
        check_password(password)?;
        let team = checked_team(role, team)?;
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

    /// Checks a password; `None` for an unknown user, a disabled one or a
    /// wrong password alike (each costs one hash, so timing tells nothing).
    pub async fn verify_login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Principal>, StorageError> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, role, team, disabled FROM users WHERE username = $1",
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
            Some(r) if matches && r.try_get::<i64, _>("disabled")? == 0 => Ok(Some(principal(&r)?)),
            _ => Ok(None),
        }
    }
}
