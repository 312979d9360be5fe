//! Typed configuration: flags, then environment variables, then an optional
//! TOML file (`--config`), then defaults.

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
    /// Documents the relay keeps in memory at most; the least recently used
    /// leave first (they stay in storage and reload on the next message).
    #[arg(long, env = "CLOSELOOP_MEMORY_DOCUMENTS", default_value_t = 1000)]
    pub memory_documents: usize,
    /// Seconds a document may sit unused in memory before it is evicted.
    #[arg(long, env = "CLOSELOOP_IDLE_SECONDS", default_value_t = 60)]
    pub idle_seconds: u64,
    /// Sign-ins that may wait for the password thread at once; more are
    /// answered 503 with `Retry-After`. 0 refuses every sign-in.
    #[arg(long, env = "CLOSELOOP_PASSWORD_QUEUE", default_value_t = 8)]
    pub password_queue: usize,
    /// The address users reach the server at, e.g. `https://feedback.example.com`
    /// behind a TLS proxy: browsers' `Origin` must match it (else the Host
    /// header must), and with https the session cookie is `Secure` and
    /// `__Host-`-prefixed and responses carry HSTS.
    #[arg(long, env = "CLOSELOOP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The bearer token `/metrics` asks for; without one `/metrics` is refused.
    #[arg(long, env = "CLOSELOOP_METRICS_TOKEN")]
    pub metrics_token: Option<String>,
    /// Addresses of the balancers or TLS proxies in front of this relay
    /// (comma-separated): for a request from one of them, the client is
    /// the last address in `X-Forwarded-For` that is not a proxy, so
    /// sign-in and link limits count clients, not the balancer.
    #[arg(long, env = "CLOSELOOP_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Sync sockets one user may hold open at once (tablets, browser tabs);
    /// further upgrades are refused with 429 until one closes.
    #[arg(long, env = "CLOSELOOP_SOCKETS_PER_USER", default_value_t = 8)]
    pub sockets_per_user: usize,
    /// How often overdue records are looked for and escalated, in seconds.
    #[arg(long, env = "CLOSELOOP_ESCALATION_SECONDS", default_value_t = 60)]
    pub escalation_seconds: u64,
    /// How often records are archived and retention applied, in seconds.
    #[arg(long, env = "CLOSELOOP_HOUSEKEEPING_SECONDS", default_value_t = 600)]
    pub housekeeping_seconds: u64,
    /// The master key of the contact store (64 hex digits), kept apart from
    /// the database and its backups; `contact.key` in the data directory by
    /// default, created on first start. Relays sharing a database need the
    /// same one (a relay with another refuses to start).
    #[arg(long, env = "CLOSELOOP_CONTACT_KEY_FILE")]
    pub contact_key_file: Option<PathBuf>,
    /// The SMTP server survey emails go through (`smtp://host:25`,
    /// `smtp://user:password@host:587?tls=required`, `smtps://host`);
    /// without one they are written to `outbox/email.jsonl` in the data
    /// directory, as text messages always are.
    #[arg(long, env = "CLOSELOOP_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of survey emails.
    #[arg(
        long,
        env = "CLOSELOOP_MAIL_FROM",
        default_value = "Closeloop <surveys@localhost>"
    )]
    pub mail_from: String,
    /// A TOML file with any of: host, port, data_dir, dist_dir, database,
    /// demo_data, log, memory_documents, idle_seconds, password_queue,
    /// public_url, metrics_token, trusted_proxies, contact_key_file,
    /// smtp_url, mail_from.
    /// Flags and environment variables win over it.
    #[arg(long, env = "CLOSELOOP_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The settings a config file may hold; unknown keys are an error, so a
/// typo does not silently fall back to a default.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    host: Option<IpAddr>,
    port: Option<u16>,
    data_dir: Option<PathBuf>,
    dist_dir: Option<PathBuf>,
    database: Option<String>,
    demo_data: Option<bool>,
    log: Option<String>,
    memory_documents: Option<usize>,
    idle_seconds: Option<u64>,
    password_queue: Option<usize>,
    public_url: Option<String>,
    metrics_token: Option<String>,
    trusted_proxies: Option<Vec<IpAddr>>,
    contact_key_file: Option<PathBuf>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
}

/// Whether a flag or environment variable set `id` (then the file must not).
fn given(matches: &clap::ArgMatches, id: &str) -> bool {
    matches!(
        matches.value_source(id),
        Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
    )
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
            memory_documents: 1000,
            idle_seconds: 60,
            password_queue: 8,
            public_url: None,
            metrics_token: None,
            trusted_proxies: Vec::new(),
            sockets_per_user: 8,
            escalation_seconds: 1,
            housekeeping_seconds: 1,
            contact_key_file: None,
            smtp_url: None,
            mail_from: "Closeloop <surveys@localhost>".into(),
            config: None,
        }
    }

    /// Applies `--config`'s file to every setting that no flag or
    /// environment variable set; errors name the file and the problem.
    pub fn merge_file(&mut self, matches: &clap::ArgMatches) -> Result<(), String> {
        let Some(path) = &self.config else {
            return Ok(());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("config file {}: {e}", path.display()))?;
        let file: FileConfig =
            toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))?;
        if let Some(v) = file.host.filter(|_| !given(matches, "host")) {
            self.host = v;
        }
        if let Some(v) = file.port.filter(|_| !given(matches, "port")) {
            self.port = v;
        }
        if let Some(v) = file.data_dir.filter(|_| !given(matches, "data_dir")) {
            self.data_dir = v;
        }
        if let Some(v) = file.dist_dir.filter(|_| !given(matches, "dist_dir")) {
            self.dist_dir = v;
        }
        if let Some(v) = file.database.filter(|_| !given(matches, "database")) {
            self.database = Some(v);
        }
        if let Some(v) = file.demo_data.filter(|_| !given(matches, "demo_data")) {
            self.demo_data = v;
        }
        if let Some(v) = file.log.filter(|_| !given(matches, "log")) {
            self.log = v;
        }
        if let Some(v) = file
            .memory_documents
            .filter(|_| !given(matches, "memory_documents"))
        {
            self.memory_documents = v;
        }
        if let Some(v) = file
            .idle_seconds
            .filter(|_| !given(matches, "idle_seconds"))
        {
            self.idle_seconds = v;
        }
        if let Some(v) = file
            .password_queue
            .filter(|_| !given(matches, "password_queue"))
        {
            self.password_queue = v;
        }
        if let Some(v) = file.public_url.filter(|_| !given(matches, "public_url")) {
            self.public_url = Some(v);
        }
        if let Some(v) = file
            .metrics_token
            .filter(|_| !given(matches, "metrics_token"))
        {
            self.metrics_token = Some(v);
        }
        if let Some(v) = file
            .trusted_proxies
            .filter(|_| !given(matches, "trusted_proxies"))
        {
            self.trusted_proxies = v;
        }
        if let Some(v) = file
            .contact_key_file
            .filter(|_| !given(matches, "contact_key_file"))
        {
            self.contact_key_file = Some(v);
        }
        if let Some(v) = file.smtp_url.filter(|_| !given(matches, "smtp_url")) {
            self.smtp_url = Some(v);
        }
        if let Some(v) = file.mail_from.filter(|_| !given(matches, "mail_from")) {
            self.mail_from = v;
        }
        Ok(())
    }

    /// Where the contact store's master key is.
    pub fn contact_key_path(&self) -> PathBuf {
        self.contact_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("contact.key"))
    }
}
