//! One page per file.

mod field;
mod login;
pub mod office;

pub use field::FieldPage;
pub use login::LoginPage;
pub use office::{OfficePage, OfficeRecordPage, RegisterPage};
