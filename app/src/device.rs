//! Local data per user on a shared tablet: each user's documents, refused
//! edits, contact outbox and sync cursors live in their own IndexedDB
//! database, opened only while that user is the device's user. Signing
//! out (after a warning about what is not on the server yet) and a session
//! an administrator revoked delete that database; an expired session keeps
//! it for the same user's next sign-in.
//!
//! Before databases were per user, every user's data shared one database,
//! [`LEGACY_DB`]. At a user's first sign-in its records *captured by that
//! user* (and their contacts waiting to upload) move into the user's own
//! database; everything else stays there for its own author's sign-in
//! (another user's unsynced capture must not be lost, nor shown to this
//! user). Once nothing is left in it, the old database is deleted.

use automerge::{ReadDoc, Value};
use indexed_db_futures::database::Database;

use crate::store::{LocalStore, StoreError};

/// The single database of earlier versions, shared by every user.
pub const LEGACY_DB: &str = "closeloop";

/// The IndexedDB database of one user. Usernames are letters (any
/// script), digits and `._-`: everything but ASCII letters, digits, `_`
/// and `-` is written as `~` and the hex of its UTF-8 bytes, so two users
/// never share a name and the name is plain ASCII.
pub fn db_name(username: &str) -> String {
    format!("closeloop-u-{}", encode(username))
}

fn encode(username: &str) -> String {
    let mut out = String::with_capacity(username.len());
    for b in username.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("~{b:02x}"));
        }
    }
    out
}

/// A `localStorage` key that belongs to one user (wiped with their data).
pub fn user_key(username: &str, what: &str) -> String {
    format!("closeloop.u.{}.{what}", encode(username))
}

/// What every per-user `localStorage` key is called (see [`user_key`]).
const USER_KEYS: [&str; 3] = ["tombstones", crate::sync_view::LAST_SYNCED, CAPTURE_DRAFT];

/// The per-user key of the capture form's draft (see `routes::field`).
pub const CAPTURE_DRAFT: &str = "capture_draft";

/// Deletes everything this device holds for `username`: the database
/// (its connection in this page must be closed first) and the user's
/// `localStorage` keys.
pub async fn wipe(username: &str) -> Result<(), StoreError> {
    if let Some(s) = crate::session::local_storage() {
        for what in USER_KEYS {
            let _ = s.remove_item(&user_key(username, what));
        }
    }
    Database::delete_by_name(&db_name(username))
        .map_err(|e| StoreError(format!("cannot delete local data: {e:?}")))?
        .await
        .map_err(|e| StoreError(format!("cannot delete local data: {e}")))?;
    Ok(())
}

/// Who captured a record (`capturedBy`), if it says.
fn captured_by(doc: &automerge::Automerge) -> Option<String> {
    match doc.get(automerge::ROOT, "capturedBy").ok()?? {
        (Value::Scalar(s), _) => s.as_str().map(str::to_string),
        _ => None,
    }
}

/// Moves `username`'s own captures (and contacts) from [`LEGACY_DB`] into
/// `into`, marked as not yet acknowledged so they are offered to the
/// relay; returns how many records moved.
pub async fn migrate_legacy(username: &str, into: &LocalStore) -> Result<usize, StoreError> {
    let Some(legacy) = LocalStore::open_legacy(LEGACY_DB).await? else {
        return Ok(0);
    };
    let mut moved = 0;
    let mut left = 0;
    for id in legacy.document_ids().await? {
        let doc = match legacy.load(&id).await {
            Ok(Some(doc)) => doc,
            Ok(None) => continue,
            Err(e) => {
                leptos::logging::warn!("a damaged document stays in the old storage: {e}");
                left += 1;
                continue;
            }
        };
        if captured_by(&doc).as_deref() != Some(username) {
            left += 1;
            continue;
        }
        into.append(&id, &doc.save(), 1, None, false).await?;
        into.mark_pending(&id).await?;
        legacy.forget(&id).await?;
        moved += 1;
    }
    left += crate::contacts::move_legacy(&legacy, into, username).await?;
    legacy.close();
    if left == 0 {
        let _ = Database::delete_by_name(LEGACY_DB)
            .map_err(|e| StoreError(format!("{e:?}")))?
            .await;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn every_username_has_its_own_plain_database_name() {
        assert_eq!(db_name("field-north"), "closeloop-u-field-north");
        assert_eq!(db_name("a.b"), "closeloop-u-a~2eb");
        assert_ne!(db_name("a.b"), db_name("a~2eb"));
        assert_eq!(db_name("张三"), "closeloop-u-~e5~bc~a0~e4~b8~89");
    }
}
