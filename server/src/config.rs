//! Typed configuration: flags, with environment variables as fallback.

use std::net::IpAddr;
use std::path::PathBuf;

/// How to run the server; every field has a default that works on a laptop.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "closeloop-server",
    version,
    about = "Closeloop relay, API and PWA"
)]
pub struct Config {
    /// Address to listen on; loopback by default so nothing is exposed by accident.
    #[arg(long, env = "CLOSELOOP_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one (tests use this).
    #[arg(long, env = "CLOSELOOP_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Directory holding the SQLite database and attachments; created if missing.
    #[arg(long, env = "CLOSELOOP_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// A `postgres://user:password@host:port/db` URL to store documents in
    /// PostgreSQL (needed for several relays side by side); SQLite in the
    /// data directory without it.
    #[arg(long, env = "CLOSELOOP_DATABASE")]
    pub database: Option<String>,
    /// The built PWA (Trunk's output) to serve at `/`.
    #[arg(long, env = "CLOSELOOP_DIST_DIR", default_value = "dist")]
    pub dist_dir: PathBuf,
    /// Store a few demo records if the database is empty.
    #[arg(long, env = "CLOSELOOP_DEMO_DATA")]
    pub demo_data: bool,
    /// Log filter in `tracing` syntax, e.g. `info,closeloop_server=debug`.
    #[arg(long, env = "CLOSELOOP_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    /// A config for tests and tools: loopback, a free port, the given directories.
    pub fn for_test(data_dir: PathBuf, dist_dir: PathBuf) -> Self {
        Config {
            host: [127, 0, 0, 1].into(),
            port: 0,
            data_dir,
            database: None,
            dist_dir,
            demo_data: false,
            log: "warn".into(),
        }
    }
}
