//! Closeloop's server: the automerge-repo relay over WebSocket, durable
//! document storage in SQLite, a small JSON API, and the PWA's static files,
//! in one process so a deployment is one binary and one data directory.

mod api;
mod attachments;
pub mod auth;
mod config;
mod demo;
mod error;
mod export;
mod fanout;
pub mod metrics;
mod records;
mod relay;
mod residency;
mod startup;
mod static_files;
mod stats;
pub mod storage;
pub mod telemetry;
mod ws;

pub use config::Config;
pub use error::AppError;
pub use export::export_records;
pub use relay::now_ms;
pub use startup::{AppState, Application, StartError, app};
