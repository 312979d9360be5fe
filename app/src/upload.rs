//! Uploading a file as an attachment: sent to `/api/attachments`, which
//! streams it to disk while hashing and answers with its SHA-256, the
//! address the record keeps. Checked here first against the record's
//! limits, so a file that could never be attached is refused at once.

use closeloop_shared::api::StoredBlob;
use closeloop_shared::record::{ATTACHMENT_TYPES, Attachment, MAX_ATTACHMENT_BYTES};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, HtmlInputElement, RequestInit, Response};

use crate::i18n::{Lang, tr};

/// Why a file was not attached, in the user's language.
pub fn refusal(l: Lang, file: &File) -> Option<String> {
    let what = if !ATTACHMENT_TYPES.contains(&file.type_().as_str()) {
        "upload.type"
    } else if file.size() < 1.0 || file.size() > MAX_ATTACHMENT_BYTES as f64 {
        "upload.size"
    } else {
        return None;
    };
    Some(format!("{} {}", tr(l, what), file.name()))
}

/// The files just chosen in a file input (`ev` is its change event), or
/// why one of them cannot be attached (the input is then cleared, so
/// nothing half-chosen is sent later).
pub fn chosen(ev: &web_sys::Event, l: Lang) -> Result<Vec<File>, String> {
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
    else {
        return Ok(Vec::new());
    };
    let files: Vec<File> = input
        .files()
        .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
        .unwrap_or_default();
    if let Some(why) = files.iter().find_map(|f| refusal(l, f)) {
        input.set_value("");
        return Err(why);
    }
    Ok(files)
}

/// Uploads `file`; the attachment to add to a record, or what went wrong.
pub async fn upload(l: Lang, file: &File) -> Result<Attachment, String> {
    if let Some(why) = refusal(l, file) {
        return Err(why);
    }
    let failed = || format!("{} {}", tr(l, "upload.failed"), file.name());
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(file);
    let req =
        web_sys::Request::new_with_str_and_init("/api/attachments", &init).map_err(|_| failed())?;
    req.headers()
        .set("Content-Type", &file.type_())
        .map_err(|_| failed())?;
    let window = web_sys::window().ok_or_else(failed)?;
    let resp: Response = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| tr(l, "inbox.offline").to_string())?
        .dyn_into()
        .map_err(|_| failed())?;
    // 201 Created (or 200 for a file stored before).
    if !resp.ok() {
        return Err(failed());
    }
    let text = JsFuture::from(resp.text().map_err(|_| failed())?)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .ok_or_else(failed)?;
    let stored: StoredBlob = serde_json::from_str(&text).map_err(|_| failed())?;
    Ok(Attachment {
        sha256: stored.sha256,
        media_type: stored.media_type,
        size: stored.size,
        name: file.name().chars().take(200).collect(),
    })
}
