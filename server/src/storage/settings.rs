//! Deployment settings kept in the database, so every relay sharing it
//! uses the same ones: the SLA policy and working calendar, and the
//! taxonomy records are classified with. The defaults are stored on first
//! use, so an admin edits a row, not the code.

use closeloop_shared::retention::RetentionPolicy;
use closeloop_shared::sla::SlaConfig;
use closeloop_shared::survey::sending::SendingRules;
use closeloop_shared::taxonomy::Taxonomy;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{SETTINGS_NOTICE, Storage, StorageError};

const SLA_KEY: &str = "sla";
const TAXONOMY_KEY: &str = "taxonomy";
const CONTACT_KEY_CHECK: &str = "contact_key_check";
const RETENTION_KEY: &str = "retention";
const SURVEY_SENDING_KEY: &str = "survey_sending";

impl Storage {
    /// The SLA policy and calendar.
    pub async fn sla_config(&self, now_ms: i64) -> Result<SlaConfig, StorageError> {
        self.setting(SLA_KEY, now_ms).await
    }

    /// Saves the SLA policy and calendar (checked by the caller).
    pub async fn set_sla_config(&self, sla: &SlaConfig, now_ms: i64) -> Result<(), StorageError> {
        self.put_setting(SLA_KEY, sla, now_ms).await
    }

    /// The taxonomy: channels, sources, types, natures and the other lists.
    pub async fn taxonomy(&self, now_ms: i64) -> Result<Taxonomy, StorageError> {
        self.setting(TAXONOMY_KEY, now_ms).await
    }

    /// Saves the taxonomy (checked by the caller).
    pub async fn set_taxonomy(&self, taxonomy: &Taxonomy, now_ms: i64) -> Result<(), StorageError> {
        self.put_setting(TAXONOMY_KEY, taxonomy, now_ms).await
    }

    /// When records are archived, how long they and the audit log are kept.
    pub async fn retention(&self, now_ms: i64) -> Result<RetentionPolicy, StorageError> {
        self.setting(RETENTION_KEY, now_ms).await
    }

    /// Saves the retention settings (checked by the caller).
    pub async fn set_retention(
        &self,
        policy: &RetentionPolicy,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.put_setting(RETENTION_KEY, policy, now_ms).await
    }

    /// When surveys go out on their own.
    pub async fn sending_rules(&self, now_ms: i64) -> Result<SendingRules, StorageError> {
        self.setting(SURVEY_SENDING_KEY, now_ms).await
    }

    /// Saves the sending rules (checked by the caller).
    pub async fn set_sending_rules(
        &self,
        rules: &SendingRules,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.put_setting(SURVEY_SENDING_KEY, rules, now_ms).await
    }

    /// Whether `check` identifies the contact master key this database was
    /// set up with (the first relay to start records its own).
    pub async fn same_contact_key(&self, check: &str, now_ms: i64) -> Result<bool, StorageError> {
        let stored: String = self
            .setting_or(CONTACT_KEY_CHECK, &check.to_string(), now_ms)
            .await?;
        Ok(stored == check)
    }

    async fn setting<T: Serialize + DeserializeOwned + Default>(
        &self,
        key: &str,
        now_ms: i64,
    ) -> Result<T, StorageError> {
        self.setting_or(key, &T::default(), now_ms).await
    }

    /// A setting, storing `initial` first if none is stored yet; when relays
    /// race to store theirs, every one reads back the value stored first.
    async fn setting_or<T: Serialize + DeserializeOwned>(
        &self,
        key: &str,
        initial: &T,
        now_ms: i64,
    ) -> Result<T, StorageError> {
        let read = || async {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
            stored
                .map(|json| {
                    serde_json::from_str(&json).map_err(|e| {
                        StorageError::Corrupt(format!("the stored {key} settings: {e}"))
                    })
                })
                .transpose()
        };
        if let Some(value) = read().await? {
            return Ok(value);
        }
        let json = serde_json::to_string(initial)
            .map_err(|e| StorageError::Corrupt(format!("the default {key} settings: {e}")))?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(json)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        read()
            .await?
            .ok_or_else(|| StorageError::Corrupt(format!("the {key} settings vanished")))
    }

    async fn put_setting<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let json = serde_json::to_string(value)
            .map_err(|e| StorageError::Corrupt(format!("the {key} settings: {e}")))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(json)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        // Relays sharing the database reload their settings at commit.
        self.announce(&mut tx, SETTINGS_NOTICE).await?;
        tx.commit().await?;
        Ok(())
    }
}
