//! Small controls of the capture form: optional marks, problems under a
//! field, term selects, aspect chips, and the contact outbox's state.

use super::*;

/// "optional", next to a label.
#[component]
pub(super) fn Optional() -> impl IntoView {
    view! { <small class="optional">{move || t("capture.optional")}</small> }
}

/// An input's problem, under it (empty when there is none).
#[component]
pub(super) fn Problem(id: &'static str, problem: Signal<Option<String>>) -> impl IntoView {
    view! {
        <span class="field-problem" id=id data-testid=id aria-live="polite">
            {move || problem.get()}
        </span>
    }
}

/// One `<option>`, selected when it is the field's value.
#[component]
pub(super) fn Opt(choice: choices::Choice, value: RwSignal<String>) -> impl IntoView {
    let (key, zh, en) = choice;
    let k = key.clone();
    view! {
        <option value=key prop:selected=move || value.with(|v| *v == k)>
            {move || if lang().get() == Lang::En { en.clone() } else { zh.clone() }}
        </option>
    }
}

/// An optional choice from one taxonomy list.
#[component]
pub(super) fn TermSelect(
    label: &'static str,
    testid: &'static str,
    value: RwSignal<String>,
    choices: Memo<Vec<choices::Choice>>,
) -> impl IntoView {
    view! {
        <label>
            <span>{move || t(label)} <Optional /></span>
            <select
                data-testid=testid
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                <option value="" prop:selected=move || value.with(String::is_empty)>{move || t("capture.not_set")}</option>
                {move || choices.get().into_iter().map(|c| view! { <Opt choice=c value /> }).collect_view()}
            </select>
        </label>
    }
}

/// One aspect as a checkbox.
#[component]
pub(super) fn AspectBox(choice: choices::Choice, aspects: RwSignal<Vec<String>>) -> impl IntoView {
    let (key, zh, en) = choice;
    let (k, k2) = (key.clone(), key.clone());
    view! {
        <label class="check chip">
            <input
                type="checkbox"
                data-testid="aspect"
                value=key
                prop:checked=move || aspects.with(|a| a.contains(&k))
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    aspects.update(|a| {
                        a.retain(|x| *x != k2);
                        if on {
                            a.push(k2.clone());
                        }
                    });
                }
            />
            <span>{move || if lang().get() == Lang::En { en.clone() } else { zh.clone() }}</span>
        </label>
    }
}

/// How many contacts wait to be sent, and those the server refused.
#[component]
pub(super) fn ContactOutbox() -> impl IntoView {
    let repo = expect_context::<Repo>();
    let queue = repo.contacts;
    let dismiss = {
        let repo = repo.clone();
        move |_| {
            let repo = repo.clone();
            spawn_local(async move { repo.dismiss_contact_failures().await });
        }
    };
    // The refused contact's record, by its nickname (read when shown).
    let entries = repo.entries;
    let record_of = move |contact_ref: &str| {
        entries.with_untracked(|m| {
            m.values()
                .find(|e| e.contact_ref.as_deref() == Some(contact_ref))
                .map(|e| e.customer.clone())
        })
    };
    view! {
        <p class="contact-outbox" data-testid="contacts-waiting" data-count=move || queue.waiting.get()>
            {move || t("contact.waiting")}
            <span class="count">{move || queue.waiting.get()}</span>
        </p>
        {move || {
            let failed = queue.failed.get();
            (!failed.is_empty()).then(|| {
                let l = lang().get();
                view! {
                    <div class="problem contact-failed" role="alert" data-testid="contacts-failed">
                        <p>{tr(l, "contact.failed")}</p>
                        <ul>
                            {failed.into_iter().map(|f| view! {
                                <li data-code=f.code.clone()>
                                    {record_of(&f.contact_ref).unwrap_or_else(|| tr(l, "contact.unknown_record").to_string())}
                                    " — " {contact_error(l, &f.code)}
                                </li>
                            }).collect_view()}
                        </ul>
                        <button type="button" class="secondary" on:click=dismiss.clone()>{tr(l, "contact.dismiss")}</button>
                    </div>
                }
            })
        }}
    }
}
