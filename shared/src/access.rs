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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// The field team; head-office roles may have none.
    pub team: Option<String>,
}

impl Principal {
    /// May this user read and change a record owned by `record_team`?
    /// `None` means the record does not exist yet: anyone signed in may
    /// create one, and it then belongs to their team.
    pub fn may_access(&self, record_team: Option<Option<&str>>) -> bool {
        match record_team {
            None => true,
            Some(_) if self.role.sees_everything() => true,
            Some(team) => team.is_some() && team == self.team.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(role: Role, team: Option<&str>) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            role,
            team: team.map(str::to_string),
        }
    }

    #[test]
    fn access_table() {
        let north = user(Role::FieldStaff, Some("north"));
        let teamless = user(Role::FieldStaff, None);
        let office = user(Role::HeadOffice, None);
        // (who, record's team: None = new record, expected)
        let cases: [(&Principal, Option<Option<&str>>, bool); 9] = [
            (&north, Some(Some("north")), true),
            (&north, Some(Some("south")), false),
            (&north, Some(None), false),
            (&north, None, true),
            (&teamless, Some(None), false),
            (&teamless, Some(Some("north")), false),
            (&office, Some(Some("south")), true),
            (&office, Some(None), true),
            (&office, None, true),
        ];
        for (who, team, want) in cases {
            assert_eq!(
                who.may_access(team),
                want,
                "{:?} {:?} on {team:?}",
                who.role,
                who.team
            );
        }
        assert!(
            Role::ALL
                .iter()
                .all(|r| Role::from_key(r.key()) == Some(*r))
        );
        assert_eq!(Role::from_key("root"), None);
    }
}
