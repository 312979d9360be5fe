//! Deployment settings kept in the database, so every relay sharing it
//! uses the same ones: the SLA policy and working calendar.

use closeloop_shared::sla::SlaConfig;

use super::{Storage, StorageError};

const SLA_KEY: &str = "sla";

impl Storage {
    /// The SLA policy and calendar; the defaults (S003, shipped calendar)
    /// are stored on first use, so an admin edits a row, not the code.
    pub async fn sla_config(&self, now_ms: i64) -> Result<SlaConfig, StorageError> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(SLA_KEY)
                .fetch_optional(&self.pool)
                .await?;
        if let Some(json) = stored {
            return serde_json::from_str(&json)
                .map_err(|e| StorageError::Corrupt(format!("the stored SLA settings: {e}")));
        }
        let defaults = SlaConfig::default();
        let json = serde_json::to_string(&defaults)
            .map_err(|e| StorageError::Corrupt(format!("the default SLA settings: {e}")))?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(SLA_KEY)
        .bind(json)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(defaults)
    }
}
