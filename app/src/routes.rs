//! One page per file.

mod field;
mod office;

pub use field::FieldPage;
pub use office::OfficePage;
