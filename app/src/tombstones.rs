//! Erased records leave this device too: the server lists the documents it
//! erased (re-created without their history) at `/api/tombstones`; read on
//! from this user's cursor whenever the relay connects or stops offering a
//! document, each old copy is deleted from memory and storage, and its
//! replacement is asked for if this device held the old one.

use std::rc::Rc;

use closeloop_shared::api::Tombstones;
use closeloop_shared::sync::DocumentId;
use leptos::prelude::*;

use crate::device::user_key;
use crate::repo::Inner;
use crate::session;

/// Where the cursor is kept in `localStorage` (per user, see `device`).
const CURSOR: &str = "tombstones";

fn cursor(username: &str) -> i64 {
    session::local_storage()
        .and_then(|s| s.get_item(&user_key(username, CURSOR)).ok().flatten())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn keep_cursor(username: &str, next: i64) {
    if let Some(s) = session::local_storage() {
        let _ = s.set_item(&user_key(username, CURSOR), &next.to_string());
    }
}

impl Inner {
    /// Reads new tombstones (if not already reading; a call during a run
    /// makes it go round once more).
    pub(crate) fn read_tombstones(this: &Rc<Inner>) {
        crate::outbox::kick(
            this,
            |i| &i.tombstone_runs,
            |this| async move {
                Inner::apply_tombstones(&this).await;
                false
            },
        );
    }

    /// Every page after the cursor; stops quietly when offline (the next
    /// connection reads on).
    async fn apply_tombstones(this: &Rc<Inner>) {
        loop {
            let after = cursor(&this.username);
            let path = format!("/api/tombstones?after={after}");
            let Ok((200, body)) = session::call("GET", &path, None).await else {
                return;
            };
            let Ok(page) = serde_json::from_str::<Tombstones>(&body) else {
                return;
            };
            for t in &page.tombstones {
                let Ok(old) = t.document_id.parse::<DocumentId>() else {
                    continue;
                };
                let replaced_by = t.replaced_by.as_deref().and_then(|r| r.parse().ok());
                if let Err(e) = Inner::erase(this, old, replaced_by).await {
                    // The cursor stays: the next run tries again.
                    this.problem.set(Some(e.to_string()));
                    return;
                }
            }
            keep_cursor(&this.username, page.next);
            if page.tombstones.is_empty() || page.next <= after {
                return;
            }
        }
    }

    /// Deletes every trace of `old` on this device; asks for its
    /// replacement if `old` was here.
    async fn erase(
        this: &Rc<Inner>,
        old: DocumentId,
        replaced_by: Option<DocumentId>,
    ) -> Result<(), crate::store::StoreError> {
        // Every stored document is in memory (loaded at start): one not
        // held is not stored either.
        if !this.hub.borrow().has_document(&old) {
            return Ok(());
        }
        // Its photos may show the customer: the copies kept here go too.
        let files: Vec<String> = this
            .hub
            .borrow()
            .document(&old)
            .and_then(|doc| closeloop_shared::FeedbackRecord::from_doc(doc).ok())
            .map(|r| r.attachments.into_iter().map(|a| a.sha256).collect())
            .unwrap_or_default();
        Inner::forget_sent_files(this, &files).await;
        this.hub.borrow_mut().forget(&old);
        this.store.forget(&old).await?;
        this.forget_pending(&[old]);
        this.flush_entries();
        this.entries.update(|m| {
            m.remove(&old);
        });
        this.refused.update(|m| {
            m.remove(&old);
        });
        this.version.update(|v| *v += 1);
        if let Some(new) = replaced_by
            && !this.hub.borrow().has_document(&new)
        {
            let fx = this.hub.borrow_mut().request(new);
            Inner::enqueue(this, fx);
        }
        Ok(())
    }
}
