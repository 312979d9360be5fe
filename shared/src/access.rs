//! Who may see and change which record (S002 §6, §8): the rule the relay
//! applies to every sync message and the API to every call.

/// What a user is allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Captures feedback on a tablet; sees only the team's records.
    FieldStaff,
    /// Service centre: triage, assignment, replies; sees every record.
    HeadOffice,
    /// Head office plus performance review and escalations.
    Supervisor,
    /// Manages users, channels, taxonomy, SLA policy and calendar.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::FieldStaff,
        Role::HeadOffice,
        Role::Supervisor,
        Role::Admin,
    ];

    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            Role::FieldStaff => "field_staff",
            Role::HeadOffice => "head_office",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored key.
    pub fn from_key(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.key() == s)
    }

    /// Sees every record, not only a team's.
    pub fn sees_everything(self) -> bool {
        !matches!(self, Role::FieldStaff)
    }
}

/// An authenticated user, as the server knows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// The field team; head-office roles may have none.
    pub team: Option<String>,
}

/// What decides who may reach an existing record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordScope<'a> {
    /// Team of the field user who created it; `None` if head office did.
    pub team: Option<&'a str>,
    /// The username it is currently assigned to.
    pub owner: Option<&'a str>,
}

/// Which existing records a user may reach: the one access rule. The relay
/// asks [`Visibility::admits`] on every sync message; every SQL query that
/// lists, counts or serves records renders the same rule from this value
/// (`server/src/storage/visibility.rs`), and a property test holds the two
/// answers equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility<'a> {
    /// Head-office roles: every record.
    Everything,
    /// Field staff: records of their team (none if they have no team) and
    /// records assigned to them (S003 §3).
    TeamOrAssigned {
        team: Option<&'a str>,
        username: &'a str,
    },
}

impl Visibility<'_> {
    /// Whether a record with this team and assignee is reachable.
    pub fn admits(&self, record: RecordScope<'_>) -> bool {
        match *self {
            Visibility::Everything => true,
            Visibility::TeamOrAssigned { team, username } => {
                (team.is_some() && record.team == team) || record.owner == Some(username)
            }
        }
    }
}

impl Principal {
    /// The records this user may reach.
    pub fn visibility(&self) -> Visibility<'_> {
        if self.role.sees_everything() {
            Visibility::Everything
        } else {
            Visibility::TeamOrAssigned {
                team: self.team.as_deref(),
                username: &self.username,
            }
        }
    }

    /// Whether records assigned to this user are pushed to their devices:
    /// field staff carry their work offline; head office's browser holds
    /// only what it opens (the inbox reads the server's lists).
    pub fn receives_assigned_work(&self) -> bool {
        self.role == Role::FieldStaff
    }

    /// May this user read and change a record? `None` means the record does
    /// not exist yet: anyone signed in may create one, and it then belongs
    /// to their team.
    pub fn may_access(&self, record: Option<RecordScope<'_>>) -> bool {
        record.is_none_or(|r| self.visibility().admits(r))
    }

    /// The server's own jobs (escalation, archive), whose names hold a `:`
    /// that no sign-in name may contain.
    pub fn is_system(&self) -> bool {
        self.username.starts_with("system:")
    }

    /// May this user see the contact details of a record owned by `owner`?
    /// Only who needs them to reach the customer (S002 §8): head office and
    /// supervisors, and the record's owner. Administrators manage accounts
    /// and settings, not customers.
    pub fn may_see_contact(&self, owner: Option<&str>) -> bool {
        self.sees_customer_files() || owner == Some(self.username.as_str())
    }

    /// May this user open customers' files (their history of feedback and
    /// replies)? Head office and supervisors, who serve the customer.
    pub fn sees_customer_files(&self) -> bool {
        matches!(self.role, Role::HeadOffice | Role::Supervisor)
    }

    /// May this user edit surveys, decide when they are sent and start
    /// campaigns? Supervisors and administrators.
    pub fn may_design_surveys(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }

    /// May this user erase a customer (a PIPL/GDPR request) or read the
    /// audit log? Supervisors and administrators.
    pub fn may_govern_records(&self) -> bool {
        matches!(self.role, Role::Supervisor | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, role: Role, team: Option<&str>) -> Principal {
        Principal {
            user_id: 1,
            username: name.into(),
            role,
            team: team.map(str::to_string),
        }
    }

    #[test]
    fn access_table() {
        let north = user("li", Role::FieldStaff, Some("north"));
        let teamless = user("zhao", Role::FieldStaff, None);
        let office = user("office", Role::HeadOffice, None);
        let scope = |team, owner| Some(RecordScope { team, owner });
        // (who, record: None = new record, expected)
        let cases: [(&Principal, Option<RecordScope>, bool); 11] = [
            (&north, scope(Some("north"), None), true),
            (&north, scope(Some("south"), None), false),
            (&north, scope(Some("south"), Some("li")), true),
            (&north, scope(Some("south"), Some("wang")), false),
            (&north, scope(None, None), false),
            (&north, None, true),
            (&teamless, scope(None, None), false),
            (&teamless, scope(Some("north"), None), false),
            (&office, scope(Some("south"), None), true),
            (&office, scope(None, None), true),
            (&office, None, true),
        ];
        for (who, record, want) in cases {
            assert_eq!(
                who.may_access(record),
                want,
                "{} on {record:?}",
                who.username
            );
        }
        assert!(
            Role::ALL
                .iter()
                .all(|r| Role::from_key(r.key()) == Some(*r))
        );
        assert_eq!(Role::from_key("root"), None);
    }

    #[test]
    fn contact_details_reach_head_office_and_the_owner_only() {
        let north = user("li", Role::FieldStaff, Some("north"));
        let admin = user("root", Role::Admin, None);
        for role in [Role::HeadOffice, Role::Supervisor] {
            assert!(user("o", role, None).may_see_contact(None));
        }
        assert!(north.may_see_contact(Some("li")));
        assert!(!north.may_see_contact(Some("wang")));
        assert!(!north.may_see_contact(None));
        assert!(!admin.may_see_contact(None));
        assert!(admin.may_govern_records());
        assert!(user("s", Role::Supervisor, None).may_govern_records());
        assert!(!user("o", Role::HeadOffice, None).may_govern_records());
        assert!(!north.may_govern_records());
    }
}
