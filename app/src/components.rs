//! Pieces shared by the pages.

mod bell;
mod record_list;
mod status_badge;

pub use bell::Bell;
pub use record_list::RecordList;
pub use status_badge::StatusBadge;
