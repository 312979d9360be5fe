//! Demo records for `cargo xtask serve`, so a first look shows a working ledger.

use automerge::Automerge;
use closeloop_shared::sync::DocumentId;
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::{FeedbackDraft, FeedbackRecord};

use closeloop_shared::access::{Role, Visibility};
use closeloop_shared::sla::SlaConfig;

use crate::storage::{Storage, StorageError, UserError};

const HOUR_MS: i64 = 3_600_000;

const DEMO: &[(&str, &str, &str)] = &[
    (
        "face_to_face",
        "王女士",
        "门店空调温度太低，等候区座位不够，希望增加座椅。",
    ),
    (
        "store_box",
        "会员 8812",
        "收银台排队超过二十分钟，只开了一个收银口。",
    ),
    (
        "phone",
        "李先生",
        "上周购买的电水壶把手松动，想了解如何换货。",
    ),
];

/// The team the demo records and the first demo tablet belong to.
pub const DEMO_TEAM: &str = "north";
/// Every demo user's password.
pub const DEMO_PASSWORD: &str = "closeloop-demo";
/// `(username, role, team)` of the demo users.
pub const DEMO_USERS: &[(&str, Role, Option<&str>)] = &[
    ("field-north", Role::FieldStaff, Some("north")),
    ("field-south", Role::FieldStaff, Some("south")),
    ("office", Role::HeadOffice, None),
    ("supervisor", Role::Supervisor, None),
    ("admin", Role::Admin, None),
];

/// Creates the demo users on a server that has no users yet.
pub async fn seed_users_if_none(storage: &Storage, now_ms: i64) -> Result<bool, UserError> {
    if storage.has_users().await? {
        return Ok(false);
    }
    for (name, role, team) in DEMO_USERS {
        storage
            .add_user(name, DEMO_PASSWORD, *role, *team, now_ms)
            .await?;
    }
    Ok(true)
}

/// Stores the demo records when the database holds no documents at all.
pub async fn seed_if_empty(
    storage: &Storage,
    now_ms: i64,
    sla: &SlaConfig,
) -> Result<usize, StorageError> {
    if !storage
        .changed_after(0, 1, Visibility::Everything)
        .await?
        .is_empty()
    {
        return Ok(0);
    }
    let taxonomy = Taxonomy::default();
    for (i, (channel, nickname, text)) in DEMO.iter().enumerate() {
        let draft = FeedbackDraft {
            channel: (*channel).into(),
            nickname: (*nickname).into(),
            description: (*text).into(),
            ..FeedbackDraft::default()
        };
        let mut doc = Automerge::new();
        // One an hour, the newest an hour ago.
        let received = now_ms - (DEMO.len() - i) as i64 * HOUR_MS;
        if draft
            .write_new(&mut doc, &taxonomy, "demo", received)
            .is_err()
        {
            continue;
        }
        let id = crate::random::bytes::<16>()
            .map_err(|e| StorageError::Crypto(format!("no random source for record ids: {e}")))?;
        storage
            .append(
                &DocumentId::from_bytes(id),
                &doc.save(),
                now_ms,
                Some(DEMO_TEAM),
                FeedbackRecord::from_doc(&doc).ok().as_ref(),
                sla,
            )
            .await?;
    }
    Ok(DEMO.len())
}
