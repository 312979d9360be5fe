//! Closeloop's server: the automerge-repo relay over WebSocket, durable
//! document storage in SQLite or PostgreSQL, a JSON API, and the PWA's
//! static files, in one process so a deployment is one binary and one data
//! directory.
//!
//! - [`http`]: one router per resource; handlers translate HTTP to storage
//!   and domain calls, nothing else.
//! - [`sync`]: the sync socket, the relay task, residency, other relays.
//! - [`storage`]: documents, the read model, users and sessions, blobs,
//!   migrations.
//! - [`state`]: what handlers reach (storage, relay, clock, SLA settings).
//! - [`vault`]: the contact store's keys (details sealed per customer).
//! - [`seed`]: many generated records for benchmarks and demos.

mod blob_store;
mod config;
mod demo;
mod erasure;
mod error;
mod http;
mod jobs;
mod login_guard;
pub mod metrics;
mod random;
mod rate_limit;
pub mod seed;
mod startup;
pub mod state;
pub mod storage;
mod survey_sending;
mod sync;
pub mod telemetry;
pub mod vault;

pub use config::Config;
pub use error::AppError;
pub use http::export::export_records;
pub use startup::{Application, StartError, app};
pub use state::{AppState, Clock, SystemClock};
