//! Logging, set up once per process.

use tracing_subscriber::EnvFilter;

/// Structured logs to stderr with the given filter; `RUST_LOG` wins if set.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
