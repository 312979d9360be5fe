//! The audit log (S002 §6): who signed in or failed to, who saw a
//! customer's contact details, exported records, erased a customer, changed
//! a role or a setting, and the archive and purge runs. Append-only; read,
//! filtered and exported by supervisors and administrators.

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Login,
    LoginFailed,
    Logout,
    ContactCreated,
    ContactViewed,
    ContactErased,
    RecordsExported,
    AuditExported,
    UserCreated,
    UserDisabled,
    UserEnabled,
    PasswordReset,
    SessionsRevoked,
    RoleChanged,
    SettingsChanged,
    ArchiveRun,
    PurgeRun,
}

impl AuditAction {
    pub const ALL: [AuditAction; 17] = [
        AuditAction::Login,
        AuditAction::LoginFailed,
        AuditAction::Logout,
        AuditAction::ContactCreated,
        AuditAction::ContactViewed,
        AuditAction::ContactErased,
        AuditAction::RecordsExported,
        AuditAction::AuditExported,
        AuditAction::UserCreated,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::PasswordReset,
        AuditAction::SessionsRevoked,
        AuditAction::RoleChanged,
        AuditAction::SettingsChanged,
        AuditAction::ArchiveRun,
        AuditAction::PurgeRun,
    ];

    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::Logout => "logout",
            AuditAction::ContactCreated => "contact_created",
            AuditAction::ContactViewed => "contact_viewed",
            AuditAction::ContactErased => "contact_erased",
            AuditAction::RecordsExported => "records_exported",
            AuditAction::AuditExported => "audit_exported",
            AuditAction::UserCreated => "user_created",
            AuditAction::UserDisabled => "user_disabled",
            AuditAction::UserEnabled => "user_enabled",
            AuditAction::PasswordReset => "password_reset",
            AuditAction::SessionsRevoked => "sessions_revoked",
            AuditAction::RoleChanged => "role_changed",
            AuditAction::SettingsChanged => "settings_changed",
            AuditAction::ArchiveRun => "archive_run",
            AuditAction::PurgeRun => "purge_run",
        }
    }

    pub fn from_key(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.key() == s)
    }
}

/// Who did it: a user, or the server itself (scheduled jobs).
pub const SYSTEM_ACTOR: &str = "(system)";

/// One entry as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    /// A username, [`SYSTEM_ACTOR`], or for a failed sign-in the name tried.
    pub actor: String,
    pub action: AuditAction,
    /// What it concerned: a username, a contact reference, a setting.
    pub subject: Option<String>,
    /// Short facts (a filter, a row count, the client address); never
    /// contact details or passwords.
    pub detail: Option<String>,
}

/// `GET /api/audit` query: newest first, pages of `limit` before `before_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub action: Option<AuditAction>,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub before_id: Option<i64>,
    pub limit: Option<u32>,
}

/// Largest page of audit entries.
pub const MAX_AUDIT_PAGE: u32 = 500;

/// `GET /api/audit`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before_id` for the next page; `None` at the end.
    pub next_before_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::AuditAction;

    #[test]
    fn every_action_has_a_distinct_key_that_reads_back() {
        let mut keys: Vec<_> = AuditAction::ALL.iter().map(|a| a.key()).collect();
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::from_key(a.key()), Some(a));
            // The serde name is the stored key.
            assert_eq!(
                serde_json::to_string(&a).ok(),
                Some(format!("\"{}\"", a.key()))
            );
        }
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), AuditAction::ALL.len());
    }
}
