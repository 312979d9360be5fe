//! Logins that ended: their connections close. The server decides which
//! sessions ended (it asks storage); the core only knows which connection
//! belongs to which session.

use std::collections::HashSet;

use super::{RelayCore, Task};
use crate::sync::ConnectionId;

impl RelayCore {
    /// Closes and forgets every connection opened with one of `sessions`.
    /// Work is proportional to the open connections, once per call (the
    /// server calls it only when something ended).
    pub(super) fn end_sessions(&mut self, sessions: &[String], reason: &str, out: &mut Vec<Task>) {
        let ended: HashSet<&str> = sessions.iter().map(String::as_str).collect();
        let mut conns: Vec<ConnectionId> = self
            .sessions
            .iter()
            .filter(|(_, s)| ended.contains(s.as_str()))
            .map(|(conn, _)| *conn)
            .collect();
        conns.sort_unstable();
        for conn in conns {
            self.deliver(
                Task::Close {
                    conn,
                    reason: reason.to_string(),
                },
                out,
            );
            self.forget_connection(conn);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::access::{Principal, Role};
    use crate::relay::{Input, RelayCore, Task};

    fn connect(conn: u64, session: &str) -> Input {
        Input::Connect {
            conn,
            principal: Principal {
                user_id: 1,
                username: "north".into(),
                role: Role::FieldStaff,
                team: Some("north".into()),
            },
            session: session.into(),
            assigned: Vec::new(),
        }
    }

    #[test]
    fn an_ended_session_closes_exactly_its_connections() {
        let mut core = RelayCore::new("relay".into(), 10, 60_000);
        core.batch(vec![connect(1, "a"), connect(2, "b"), connect(3, "a")], 0);
        assert_eq!(core.connection_count(), 3);
        let tasks = core.batch(
            vec![Input::SessionsEnded {
                sessions: vec!["a".into(), "gone".into()],
                reason: "signed out".into(),
            }],
            1,
        );
        let closed: Vec<u64> = tasks
            .iter()
            .filter_map(|t| match t {
                Task::Close { conn, reason } if reason == "signed out" => Some(*conn),
                _ => None,
            })
            .collect();
        assert_eq!(closed, vec![1, 3]);
        assert_eq!(core.connection_count(), 1);
        // Ending it again finds nothing: the connections are forgotten.
        let again = core.batch(
            vec![Input::SessionsEnded {
                sessions: vec!["a".into()],
                reason: "signed out".into(),
            }],
            2,
        );
        assert!(!again.iter().any(|t| matches!(t, Task::Close { .. })));
    }
}
