//! A warning under free-text inputs that seem to hold a phone number, an
//! email address or an ID number: what is typed there enters the record's
//! history on every device and cannot be erased (S002 §8).

use closeloop_shared::personal_data::find;
use leptos::prelude::*;

use crate::i18n::{lang, tr};

#[component]
pub fn PersonalDataWarning(#[prop(into)] text: Signal<String>) -> impl IntoView {
    let found = Memo::new(move |_| text.with(|t| find(t)));
    move || {
        let kinds = found.get();
        (!kinds.is_empty()).then(|| {
            let l = lang().get();
            let names: Vec<&str> = kinds
                .iter()
                .map(|k| tr(l, &format!("pii.{}", k.key())))
                .collect();
            view! {
                <p class="pii-warning" role="alert" data-testid="pii-warning">
                    {format!("{}{}。{}", tr(l, "pii.found"), names.join("、"), tr(l, "pii.why"))}
                </p>
            }
        })
    }
}
