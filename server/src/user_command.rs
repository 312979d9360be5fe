//! `closeloop-server user …`: managing users from the operator's shell, on
//! the same database as the running server. A change here reaches the
//! server through storage: its session check closes affected sync sockets
//! within a second.

use std::io::BufRead;

use clap::Subcommand;
use closeloop_server::storage::{Storage, UserError};
use closeloop_server::{Clock, Config, SystemClock};
use closeloop_shared::access::Role;

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user; the password is read from CLOSELOOP_PASSWORD or the first line of stdin.
    Add {
        username: String,
        /// field_staff, head_office, supervisor or admin.
        #[arg(long)]
        role: String,
        /// The field team (required for field_staff).
        #[arg(long)]
        team: Option<String>,
    },
    /// List users: role, team, disabled, open sessions.
    List,
    /// Refuse a user's sign-ins and end every session (sync sockets close).
    Disable { username: String },
    /// Let a disabled user sign in again.
    Enable { username: String },
    /// Set a new password (CLOSELOOP_PASSWORD or stdin) and end every session.
    ResetPassword { username: String },
    /// End every session of a user (sync sockets close); the account stays.
    RevokeSessions { username: String },
    /// Change a user's role and team; sockets opened under the old ones close.
    SetRole {
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        team: Option<String>,
    },
}

fn role(key: &str) -> Result<Role, String> {
    Role::from_key(key).ok_or_else(|| {
        format!("unknown role `{key}`: use field_staff, head_office, supervisor or admin")
    })
}

fn password() -> Result<String, String> {
    if let Ok(p) = std::env::var("CLOSELOOP_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs one user command against the configured database.
pub(crate) async fn run(config: &Config, command: UserCommand) -> Result<(), String> {
    // Checked before the database is opened: a typo changes nothing.
    if let UserCommand::Add { role: r, .. } | UserCommand::SetRole { role: r, .. } = &command {
        role(r)?;
    }
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let storage = Storage::connect(config.database.as_deref(), &config.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let result = execute(&storage, command).await;
    storage.close().await;
    result
}

async fn execute(storage: &Storage, command: UserCommand) -> Result<(), String> {
    let now = SystemClock.now_ms();
    let said = |e: UserError| e.to_string();
    match command {
        UserCommand::Add {
            username,
            role: r,
            team,
        } => {
            let r = role(&r)?;
            let password = password()?;
            let id = storage
                .add_user(&username, &password, r, team.as_deref(), now)
                .await
                .map_err(said)?;
            println!("created user {username} (id {id}, {})", r.key());
        }
        UserCommand::List => {
            let users = storage.list_users(now).await.map_err(|e| e.to_string())?;
            println!(
                "{:<24} {:<12} {:<12} {:<9} sessions",
                "user", "role", "team", "status"
            );
            for u in users {
                println!(
                    "{:<24} {:<12} {:<12} {:<9} {}",
                    u.username,
                    u.role.key(),
                    u.team.as_deref().unwrap_or("-"),
                    if u.disabled { "disabled" } else { "active" },
                    u.sessions
                );
            }
        }
        UserCommand::Disable { username } => {
            storage.set_disabled(&username, true).await.map_err(said)?;
            println!("disabled {username} and ended its sessions");
        }
        UserCommand::Enable { username } => {
            storage.set_disabled(&username, false).await.map_err(said)?;
            println!("enabled {username}");
        }
        UserCommand::ResetPassword { username } => {
            let password = password()?;
            storage
                .reset_password(&username, &password)
                .await
                .map_err(said)?;
            println!("set a new password for {username} and ended its sessions");
        }
        UserCommand::RevokeSessions { username } => {
            let n = storage.revoke_sessions(&username).await.map_err(said)?;
            println!("ended {n} sessions of {username}");
        }
        UserCommand::SetRole {
            username,
            role: r,
            team,
        } => {
            let r = role(&r)?;
            storage
                .set_role(&username, r, team.as_deref())
                .await
                .map_err(said)?;
            println!("{username} is now {}", r.key());
        }
    }
    Ok(())
}
