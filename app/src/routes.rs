//! One page per file.

mod field;
mod login;
mod office;

pub use field::FieldPage;
pub use login::LoginPage;
pub use office::{OfficePage, OfficeRecordPage, RegisterPage};
