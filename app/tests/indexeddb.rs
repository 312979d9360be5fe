//! The device store against the browser's real IndexedDB (headless Chromium).

use automerge::Automerge;
use closeloop_app::store::LocalStore;
use closeloop_shared::record::edit_description;
use closeloop_shared::sync::DocumentId;
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::{FeedbackDraft, FeedbackRecord};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A database name no earlier run used.
fn fresh_db() -> String {
    format!(
        "closeloop-test-{}-{}",
        js_sys::Date::now(),
        js_sys::Math::random()
    )
}

fn captured() -> Automerge {
    let mut doc = Automerge::new();
    FeedbackDraft {
        channel: "onsite_survey".into(),
        nickname: "张阿姨".into(),
        description: "活动现场指引牌太少，找不到签到处。".into(),
        ..FeedbackDraft::default()
    }
    .write_new(
        &mut doc,
        &Taxonomy::default(),
        "tablet-1",
        1_790_000_000_000,
    )
    .unwrap();
    doc
}

#[wasm_bindgen_test]
async fn a_saved_document_reopens_as_the_same_automerge_document() {
    let name = fresh_db();
    let id = DocumentId::from_bytes([7; 16]);
    let mut doc = captured();
    {
        let store = LocalStore::open(&name).await.unwrap();
        store
            .append(&id, &doc.save(), 1, None, false)
            .await
            .unwrap();
        let heads = doc.get_heads();
        edit_description(
            &mut doc,
            "活动现场指引牌太少，找不到签到处和洗手间。",
            1_790_000_060_000,
        )
        .unwrap();
        store
            .append(&id, &doc.save_after(&heads), 2, None, false)
            .await
            .unwrap();
    }
    // A new connection, as after a reload.
    let store = LocalStore::open(&name).await.unwrap();
    let loaded = store.load(&id).await.unwrap().expect("document stored");
    assert_eq!(loaded.get_heads(), doc.get_heads());
    assert_eq!(
        FeedbackRecord::from_doc(&loaded).unwrap(),
        FeedbackRecord::from_doc(&doc).unwrap()
    );
    assert_eq!(
        FeedbackRecord::from_doc(&loaded).unwrap().description,
        "活动现场指引牌太少，找不到签到处和洗手间。"
    );
    assert_eq!(store.document_ids().await.unwrap(), vec![id]);
}

#[wasm_bindgen_test]
async fn documents_do_not_see_each_others_chunks() {
    let store = LocalStore::open(&fresh_db()).await.unwrap();
    let a = DocumentId::from_bytes([1; 16]);
    let b = DocumentId::from_bytes([2; 16]);
    let doc_a = captured();
    store
        .append(&a, &doc_a.save(), 1, None, false)
        .await
        .unwrap();
    assert!(store.load(&b).await.unwrap().is_none());
    let mut other = captured();
    edit_description(&mut other, "另一条记录", 5).unwrap();
    store
        .append(&b, &other.save(), 2, None, false)
        .await
        .unwrap();
    let loaded_a = store.load(&a).await.unwrap().unwrap();
    assert_eq!(
        loaded_a.get_heads(),
        doc_a.get_heads(),
        "b's chunks stay out of a"
    );
    assert_eq!(
        FeedbackRecord::from_doc(&store.load(&b).await.unwrap().unwrap())
            .unwrap()
            .description,
        "另一条记录"
    );
    let mut ids = store.document_ids().await.unwrap();
    ids.sort();
    assert_eq!(ids, vec![a, b]);
}

#[wasm_bindgen_test]
async fn many_small_changes_are_compacted_into_one_save_without_loss() {
    let store = LocalStore::open(&fresh_db()).await.unwrap();
    let id = DocumentId::from_bytes([3; 16]);
    let mut doc = captured();
    store
        .append(&id, &doc.save(), 1, None, false)
        .await
        .unwrap();
    let mut compacted = false;
    for i in 0..40u64 {
        let heads = doc.get_heads();
        edit_description(&mut doc, &format!("第 {i} 次补充说明"), i as i64).unwrap();
        store
            .append(&id, &doc.save_after(&heads), 10 + i * 2, None, false)
            .await
            .unwrap();
        compacted |= store
            .compact_if_needed(&id, &doc, 11 + i * 2)
            .await
            .unwrap();
    }
    assert!(compacted, "40 incremental chunks trigger a compaction");
    let loaded = store.load(&id).await.unwrap().unwrap();
    assert_eq!(loaded.get_heads(), doc.get_heads());
    assert_eq!(
        FeedbackRecord::from_doc(&loaded).unwrap().description,
        "第 39 次补充说明"
    );
}

#[wasm_bindgen_test]
async fn a_refused_edit_is_dropped_from_the_copy_and_kept_aside_together() {
    let name = fresh_db();
    let id = DocumentId::from_bytes([9; 16]);
    let mut doc = captured();
    let store = LocalStore::open(&name).await.unwrap();
    store
        .append(&id, &doc.save(), 1, None, false)
        .await
        .unwrap();
    let accepted = doc.clone();
    let heads = doc.get_heads();
    edit_description(&mut doc, "被拒绝的修改", 1_790_000_060_000).unwrap();
    store
        .append(&id, &doc.save_after(&heads), 2, None, false)
        .await
        .unwrap();

    store
        .replace_refused(&id, &accepted.save(), r#"{"code":"not_yours"}"#, 3)
        .await
        .unwrap();
    let store = LocalStore::open(&name).await.unwrap();
    let loaded = store.load(&id).await.unwrap().expect("document stored");
    assert_eq!(
        loaded.get_heads(),
        accepted.get_heads(),
        "the refused edit is gone"
    );
    assert_eq!(
        store.refused().await.unwrap(),
        vec![(id, r#"{"code":"not_yours"}"#.to_string())],
        "and kept aside for its author"
    );
}

#[wasm_bindgen_test]
async fn a_list_entry_is_stored_with_its_chunk_and_goes_with_its_document() {
    use closeloop_shared::record::ListEntry;
    let name = fresh_db();
    let id = DocumentId::from_bytes([9; 16]);
    let other = DocumentId::from_bytes([10; 16]);
    let doc = captured();
    let entry = ListEntry::of(&FeedbackRecord::from_doc(&doc).unwrap());
    let json = serde_json::to_string(&entry).unwrap();
    {
        let store = LocalStore::open(&name).await.unwrap();
        store
            .append(&id, &doc.save(), 1, Some(&json), true)
            .await
            .unwrap();
        store
            .append(&other, &doc.save(), 2, None, false)
            .await
            .unwrap();
    }
    let store = LocalStore::open(&name).await.unwrap();
    assert_eq!(
        store.pending().await.unwrap(),
        vec![id],
        "a local edit is marked unacknowledged with its chunk"
    );
    let entries = store.list_entries().await.unwrap();
    assert_eq!(
        entries.len(),
        1,
        "only the chunk written with an entry has one"
    );
    assert_eq!(entries[0].0, id);
    assert_eq!(
        serde_json::from_str::<ListEntry>(&entries[0].1).unwrap(),
        entry
    );
    store.put_list_entry(&other, &json).await.unwrap();
    assert_eq!(store.list_entries().await.unwrap().len(), 2);
    store.forget(&id).await.unwrap();
    let left = store.list_entries().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].0, other, "an erased record leaves no entry behind");
}
