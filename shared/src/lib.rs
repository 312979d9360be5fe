//! Closeloop's domain, shared by the browser client and the relay.
//!
//! Everything here is pure: no sockets, no storage, no clocks. Time and
//! randomness come in as arguments; the sync core returns what should happen
//! as data ([`sync::Effect`]) so both IO edges stay thin and the rules are
//! tested without a browser or a network.

pub mod access;
pub mod actions;
pub mod analytics;
pub mod api;
pub mod audit;
pub mod authorize;
pub mod bundle;
pub mod calendar;
pub mod cases;
pub mod contact;
pub mod duplicates;
pub mod inbox;
pub mod personal_data;
pub mod record;
pub mod relay;
pub mod reports;
pub mod retention;
pub mod sla;
pub mod stats;
pub mod survey;
pub mod sync;
pub mod taxonomy;
pub mod workflow;

pub use record::{FeedbackDraft, FeedbackRecord, RecordError};
