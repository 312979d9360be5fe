//! Seed JSON bodies: one of each API shape, as the server writes them.

use closeloop_shared::access::Role;
use closeloop_shared::api;
use closeloop_shared::workflow::Action;

use crate::hub::record_id;
use crate::ops::{CAPTURER, T0, principal};

pub fn bodies() -> Vec<(&'static str, String)> {
    let to = |v: &dyn erased::Json| v.text();
    let summary = api::RecordSummary {
        id: record_id().to_string(),
        received_at: T0,
        channel: "phone".into(),
        customer: "会员 3390".into(),
        description: "冰箱不制冷".into(),
        feedback_type: Some("product".into()),
        nature: Some("complaint".into()),
        priority: Some("P1".into()),
        status: "registered".into(),
        owner: Some(CAPTURER.into()),
        department: None,
        conflicts: 0,
        workflow_issues: 1,
        sla_state: None,
        due_at: Some(T0 + 3_600_000),
        remaining_ms: Some(1_800_000),
        overdue: false,
        archived_at: None,
    };
    let detail = api::RecordDetail {
        summary: summary.clone(),
        history: vec![api::HistoryItem {
            action: "register".into(),
            by: "office".into(),
            at: T0,
            from: "new".into(),
            note: None,
        }],
        log: vec![api::LogItem {
            at: T0,
            by: CAPTURER.into(),
            text: "客户已回电".into(),
            kind: None,
        }],
    };
    vec![
        (
            "credentials",
            to(&api::Credentials {
                username: "office".into(),
                password: "correct horse".into(),
            }),
        ),
        (
            "query",
            to(&api::RecordQuery {
                status: Some("new".into()),
                from: Some(T0),
                overdue: Some(true),
                sort: Some("-due".into()),
                page: Some(2),
                per_page: Some(50),
                q: Some("冰箱".into()),
                ..api::RecordQuery::default()
            }),
        ),
        (
            "new-password",
            to(&api::NewPassword {
                password: "another long one".into(),
            }),
        ),
        (
            "role-change",
            to(&api::RoleChange {
                role: Role::FieldStaff,
                team: Some("north".into()),
            }),
        ),
        (
            "signed-in",
            to(&api::SignedIn {
                user: principal(2),
                token: "t0k3n".into(),
            }),
        ),
        (
            "feed",
            to(&api::Feed {
                documents: vec![api::DocumentChange {
                    id: record_id().to_string(),
                    seq: 7,
                }],
                next: 7,
            }),
        ),
        (
            "record-page",
            to(&api::RecordPage {
                records: vec![summary],
                total: 1,
                page: 1,
                per_page: 50,
            }),
        ),
        ("record-detail", to(&detail)),
        (
            "error",
            to(&api::ErrorBody {
                code: "not_found".into(),
                message: "no such record".into(),
            }),
        ),
        (
            "change-item",
            to(&api::ChangeItem {
                hash: "ab".repeat(32),
                by: Some(CAPTURER.into()),
                session: None,
                stored_at: T0,
            }),
        ),
        (
            "action",
            to(&Action::Assign {
                owner: CAPTURER.into(),
                department: "after_sales".into(),
            }),
        ),
    ]
}

/// Serialising different types through one list.
mod erased {
    pub trait Json {
        fn text(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn text(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}
