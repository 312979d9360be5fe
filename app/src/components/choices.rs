//! Taxonomy entries as forms offer them: the stored key with its Chinese
//! and English label, shown in the user's language.

use closeloop_shared::taxonomy::{Channel, Term};
use leptos::prelude::*;

use crate::i18n::{Lang, lang};

/// `(key, zh, en)` of one entry.
pub type Choice = (String, String, String);

/// The entries of a term list.
pub fn terms(list: &[Term]) -> Vec<Choice> {
    list.iter()
        .map(|t| (t.key.clone(), t.label.zh.clone(), t.label.en.clone()))
        .collect()
}

/// The given channels.
pub fn channels<'a>(list: impl IntoIterator<Item = &'a Channel>) -> Vec<Choice> {
    list.into_iter()
        .map(|c| (c.key.clone(), c.label.zh.clone(), c.label.en.clone()))
        .collect()
}

/// An `<option>` for one entry, its label following the language.
pub fn option((key, zh, en): Choice) -> impl IntoView {
    view! { <option value=key>{move || if lang().get() == Lang::En { en.clone() } else { zh.clone() }}</option> }
}
