//! Demo records for `cargo xtask serve`, so a first look shows a working ledger.

use automerge::Automerge;
use closeloop_shared::FeedbackDraft;
use closeloop_shared::sync::DocumentId;
use closeloop_shared::taxonomy::Taxonomy;

use crate::storage::{Storage, StorageError};

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

/// Stores the demo records when the database holds no documents at all.
pub async fn seed_if_empty(storage: &Storage, now_ms: i64) -> Result<usize, StorageError> {
    if !storage.changed_after(0, 1).await?.is_empty() {
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
        let received = now_ms - (DEMO.len() - i) as i64 * 3_600_000;
        if draft
            .write_new(&mut doc, &taxonomy, "demo", received)
            .is_err()
        {
            continue;
        }
        let mut id = [0u8; 16];
        let _ = getrandom::fill(&mut id);
        storage
            .append(&DocumentId::from_bytes(id), &doc.save(), now_ms)
            .await?;
    }
    Ok(DEMO.len())
}
