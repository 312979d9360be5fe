//! A warning under free-text inputs that seem to hold a phone number, an
//! email address or an ID number: what is typed there enters the record's
//! history on every device and cannot be erased (S002 §8). On a form with
//! a contact section it offers to move them there.

use closeloop_shared::personal_data::find;
use leptos::prelude::*;

use crate::i18n::{lang, t, tr};

#[component]
pub fn PersonalDataWarning(
    #[prop(into)] text: Signal<String>,
    /// Moves what was found into the form's contact section.
    #[prop(optional)]
    on_move: Option<Callback<()>>,
) -> impl IntoView {
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
                <div class="pii-warning" role="alert" data-testid="pii-warning">
                    <p>{format!("{}{}。{}", tr(l, "pii.found"), names.join("、"), tr(l, "pii.why"))}</p>
                    {on_move.map(|cb| view! {
                        <button type="button" class="secondary" data-testid="move-to-contact"
                            on:click=move |_| cb.run(())>{move || t("pii.move")}</button>
                    })}
                </div>
            }
        })
    }
}
