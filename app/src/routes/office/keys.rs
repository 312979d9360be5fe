//! Keyboard shortcuts of the head-office pages, as agent workspaces have
//! them: in the inbox `j`/`k` (or the arrows) move, `Enter` opens, `a`
//! opens to assign and `r` opens to reply; on a record `a` and `r` jump to
//! those inputs. Keys typed into a field are the field's.

use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, KeyboardEvent};

/// The key pressed, unless the user is typing or holds a modifier.
pub fn shortcut(e: &KeyboardEvent) -> Option<String> {
    let typing = e
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
    (!typing && !e.ctrl_key() && !e.meta_key() && !e.alt_key()).then(|| e.key())
}

/// Where `a` and `r` lead on a record (the `focus` query of its URL).
pub fn target(key: &str) -> Option<&'static str> {
    match key {
        "a" | "assign" => Some(r#"[data-testid="assign-owner"]"#),
        "r" | "reply" => Some(r#"[data-testid="reply-text"]"#),
        _ => None,
    }
}

/// Focuses the input `selector` names and scrolls it into view; `false`
/// if the page has none (the user may not assign or reply here).
pub fn focus(selector: &str) -> bool {
    let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|el| el.dyn_into::<HtmlElement>().ok())
    else {
        return false;
    };
    el.scroll_into_view();
    el.focus().is_ok()
}
