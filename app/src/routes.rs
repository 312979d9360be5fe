//! One page per file.

mod admin;
mod field;
mod login;
pub mod office;

pub use admin::{AdminRetentionPage, AdminSlaPage, AdminTaxonomyPage, AdminUsersPage};
pub use field::FieldPage;
pub use login::{LoginPage, SignInFirst};
pub use office::{
    ActionsPage, AuditLogPage, CaseLibraryPage, DashboardPage, FieldRecordPage, OfficePage,
    OfficeRecordPage, RegisterPage, SurveyBuilderPage, SurveyResultsPage, SurveySendingPage,
};
