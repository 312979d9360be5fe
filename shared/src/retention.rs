//! Record-keeping (S002 5.4): closed records are archived after a while —
//! read-only, still searchable and exportable — and kept at least three
//! years; after the retention period a scheduled job anonymises or deletes
//! them, with an audit entry. The audit log has its own retention.

/// The shortest retention the process documents allow, in years.
pub const MIN_KEEP_YEARS: u32 = 3;
/// Days in a year, for retention arithmetic (leap days do not matter here).
const DAY_MS: i64 = 86_400_000;
const YEAR_MS: i64 = 365 * DAY_MS;

/// What happens to a record at the end of its retention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AtRetentionEnd {
    /// Re-created without personal data, so statistics keep it.
    #[default]
    Anonymise,
    /// Deleted entirely.
    Delete,
}

/// The retention settings, edited by administrators.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    /// Days after closing that a record is archived.
    pub archive_after_days: u32,
    /// Years a record is kept after it was received.
    pub keep_years: u32,
    pub at_end: AtRetentionEnd,
    /// Years audit entries are kept.
    pub audit_keep_years: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            archive_after_days: 30,
            keep_years: MIN_KEEP_YEARS,
            at_end: AtRetentionEnd::Anonymise,
            audit_keep_years: MIN_KEEP_YEARS,
        }
    }
}

/// Why retention settings were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    #[error("records are archived between 1 and 3650 days after closing")]
    ArchiveDays,
    #[error("records are kept at least {MIN_KEEP_YEARS} years (S002 5.4) and at most 100")]
    KeepYears,
    #[error("audit entries are kept at least {MIN_KEEP_YEARS} years and at most 100")]
    AuditYears,
}

impl RetentionPolicy {
    pub fn validate(&self) -> Result<(), RetentionError> {
        if !(1..=3650).contains(&self.archive_after_days) {
            return Err(RetentionError::ArchiveDays);
        }
        if !(MIN_KEEP_YEARS..=100).contains(&self.keep_years) {
            return Err(RetentionError::KeepYears);
        }
        if !(MIN_KEEP_YEARS..=100).contains(&self.audit_keep_years) {
            return Err(RetentionError::AuditYears);
        }
        Ok(())
    }

    /// Records closed before this moment are due for the archive.
    pub fn archive_closed_before(&self, now_ms: i64) -> i64 {
        now_ms - i64::from(self.archive_after_days) * DAY_MS
    }

    /// Records received before this moment have reached the end of retention.
    pub fn keep_received_after(&self, now_ms: i64) -> i64 {
        now_ms - i64::from(self.keep_years.max(MIN_KEEP_YEARS)) * YEAR_MS
    }

    /// Audit entries written before this moment may go.
    pub fn keep_audit_after(&self, now_ms: i64) -> i64 {
        now_ms - i64::from(self.audit_keep_years.max(MIN_KEEP_YEARS)) * YEAR_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_process_documents() {
        let p = RetentionPolicy::default();
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.archive_closed_before(31 * DAY_MS), DAY_MS);
        assert_eq!(p.keep_received_after(4 * YEAR_MS), YEAR_MS);
    }

    #[test]
    fn never_below_three_years() {
        let short = RetentionPolicy {
            keep_years: 2,
            ..RetentionPolicy::default()
        };
        assert_eq!(short.validate(), Err(RetentionError::KeepYears));
        // Even if such a value were stored, the cut-off keeps three years.
        assert_eq!(short.keep_received_after(10 * YEAR_MS), 7 * YEAR_MS);
        let audit = RetentionPolicy {
            audit_keep_years: 1,
            ..RetentionPolicy::default()
        };
        assert_eq!(audit.validate(), Err(RetentionError::AuditYears));
        let never = RetentionPolicy {
            archive_after_days: 0,
            ..RetentionPolicy::default()
        };
        assert_eq!(never.validate(), Err(RetentionError::ArchiveDays));
    }
}
