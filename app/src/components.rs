//! Pieces shared by the pages.

mod record_list;
mod status_badge;

pub use record_list::RecordList;
pub use status_badge::StatusBadge;
