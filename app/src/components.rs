//! Pieces shared by the pages.

mod attachments;
mod bell;
pub mod choices;
mod contact_fields;
mod personal_data;
mod record_list;
mod status_badge;

pub use attachments::{AddFiles, AttachmentPicker, AttachmentThumb};
pub use bell::Bell;
pub use contact_fields::{CheckedContact, ContactForm, ContactSection};
pub use personal_data::PersonalDataWarning;
pub use record_list::RecordList;
pub use status_badge::StatusBadge;
