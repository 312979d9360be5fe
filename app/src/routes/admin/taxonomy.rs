//! `/admin/taxonomy`: the channels with their responsible owners (S002
//! 5.1) and whether field tablets offer them, and every list records are
//! classified with, each term with a Chinese and an English label. Clients
//! read the saved taxonomy at sign-in; tablets keep it for offline use.

use closeloop_shared::taxonomy::{Channel, Label, Taxonomy, TaxonomyError, Term, TermList};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{AdminNav, load, save};
use crate::i18n::{Lang, lang, t, tr};

/// A refused taxonomy in the user's language, naming the entry.
fn explain(l: Lang, e: &TaxonomyError) -> String {
    let (key, what) = match e {
        TaxonomyError::DuplicateKey(k) => ("taxonomy.error.duplicate", k),
        TaxonomyError::BadKey(k) => ("taxonomy.error.key", k),
        TaxonomyError::MissingLabel(k) => ("taxonomy.error.label", k),
    };
    format!("{} `{what}`", tr(l, key))
}

#[component]
pub fn AdminTaxonomyPage() -> impl IntoView {
    let taxonomy = RwSignal::new(None::<Taxonomy>);
    let message = RwSignal::new(None::<(bool, String)>);
    let list = RwSignal::new(TermList::Nature);
    let language = lang();
    spawn_local(async move {
        match load::<Taxonomy>("/api/taxonomy", language.get_untracked()).await {
            Ok(t) => taxonomy.set(Some(t)),
            Err(e) => message.set(Some((false, e))),
        }
    });
    let edit = move |f: &dyn Fn(&mut Taxonomy)| taxonomy.update(|t| t.iter_mut().for_each(f));
    let submit = move |_| {
        let l = language.get_untracked();
        let Some(t) = taxonomy.get_untracked() else {
            return;
        };
        if let Err(e) = t.validate() {
            return message.set(Some((false, explain(l, &e))));
        }
        spawn_local(async move {
            let (ok, m) = save("/api/admin/taxonomy", &t, l).await;
            message.set(Some((ok, m)));
        });
    };
    let text = move |value: String,
                     apply: fn(&mut Taxonomy, usize, String),
                     i: usize,
                     label: &'static str| {
        view! {
            <input type="text" aria-label=move || t(label) prop:value=value
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    edit(&|tax| apply(tax, i, v.clone()));
                } />
        }
    };
    view! {
        <AdminNav />
        <section class="card admin taxonomy-settings" data-testid="taxonomy-settings">
            <h2>{move || t("taxonomy.channels")}</h2>
            <p class="hint">{move || t("taxonomy.hint")}</p>
            <table class="inbox terms" data-testid="channels">
                <thead><tr>
                    <th scope="col">{move || t("taxonomy.key")}</th>
                    <th scope="col">{move || t("taxonomy.zh")}</th>
                    <th scope="col">{move || t("taxonomy.en")}</th>
                    <th scope="col">{move || t("taxonomy.owner")}</th>
                    <th scope="col">{move || t("taxonomy.field")}</th>
                    <th scope="col"></th>
                </tr></thead>
                <tbody>
                    {move || taxonomy.get().map(|tax| tax.channels.into_iter().enumerate().map(|(i, c)| view! {
                        <tr data-key=c.key.clone()>
                            <td>{text(c.key.clone(), |t, i, v| t.channels[i].key = v.trim().to_string(), i, "taxonomy.key")}</td>
                            <td>{text(c.label.zh, |t, i, v| t.channels[i].label.zh = v.trim().to_string(), i, "taxonomy.zh")}</td>
                            <td>{text(c.label.en, |t, i, v| t.channels[i].label.en = v.trim().to_string(), i, "taxonomy.en")}</td>
                            <td>{text(c.owner.unwrap_or_default(), |t, i, v| {
                                t.channels[i].owner = Some(v.trim().to_string()).filter(|o| !o.is_empty())
                            }, i, "taxonomy.owner")}</td>
                            <td><input type="checkbox" aria-label=move || t("taxonomy.field") prop:checked=c.field
                                on:change=move |ev| { let on = event_target_checked(&ev); edit(&|t| t.channels[i].field = on) } /></td>
                            <td><button class="secondary" on:click=move |_| edit(&|t| { t.channels.remove(i); })>
                                {move || t("taxonomy.remove")}</button></td>
                        </tr>
                    }).collect_view())}
                </tbody>
            </table>
            <button class="secondary" data-testid="add-channel" on:click=move |_| edit(&|t| t.channels.push(Channel {
                key: String::new(),
                label: Label { zh: String::new(), en: String::new() },
                owner: None,
                field: false,
            }))>{move || t("taxonomy.add")}</button>

            <h2>{move || t("taxonomy.lists")}</h2>
            <label class="filter">
                <span>{move || t("taxonomy.list")}</span>
                <select data-testid="term-list" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if let Some(l) = TermList::ALL.into_iter().find(|l| l.key() == v) { list.set(l) }
                }>
                    {TermList::ALL.into_iter().map(|l| view! {
                        <option value=l.key() selected=l == TermList::Nature>{move || t(&format!("taxonomy.list.{}", l.key()))}</option>
                    }).collect_view()}
                </select>
            </label>
            <table class="inbox terms" data-testid="terms">
                <thead><tr>
                    <th scope="col">{move || t("taxonomy.key")}</th>
                    <th scope="col">{move || t("taxonomy.zh")}</th>
                    <th scope="col">{move || t("taxonomy.en")}</th>
                    <th scope="col"></th>
                </tr></thead>
                <tbody>
                    {move || {
                        let which = list.get();
                        taxonomy.get().map(|tax| tax.list(which).to_vec().into_iter().enumerate().map(|(i, term)| {
                            let set = move |f: fn(&mut Term, String), v: String| edit(&|t| {
                                if let Some(term) = t.list_mut(which).get_mut(i) { f(term, v.trim().to_string()) }
                            });
                            view! {
                                <tr data-key=term.key.clone()>
                                    <td><input type="text" aria-label=move || t("taxonomy.key") prop:value=term.key.clone()
                                        on:change=move |ev| set(|t, v| t.key = v, event_target_value(&ev)) /></td>
                                    <td><input type="text" aria-label=move || t("taxonomy.zh") prop:value=term.label.zh
                                        on:change=move |ev| set(|t, v| t.label.zh = v, event_target_value(&ev)) /></td>
                                    <td><input type="text" aria-label=move || t("taxonomy.en") prop:value=term.label.en
                                        on:change=move |ev| set(|t, v| t.label.en = v, event_target_value(&ev)) /></td>
                                    <td><button class="secondary" on:click=move |_| edit(&|t| { t.list_mut(which).remove(i); })>
                                        {move || t("taxonomy.remove")}</button></td>
                                </tr>
                            }
                        }).collect_view())
                    }}
                </tbody>
            </table>
            <button class="secondary" data-testid="add-term" on:click=move |_| {
                let which = list.get_untracked();
                edit(&|t| t.list_mut(which).push(Term { key: String::new(), label: Label { zh: String::new(), en: String::new() } }));
            }>{move || t("taxonomy.add")}</button>
            {move || message.get().map(|(ok, m)| view! {
                <p role="status" data-testid="admin-message" class=if ok { "message ok" } else { "message problem" }>{m}</p>
            })}
            <button data-testid="save-taxonomy" disabled=move || taxonomy.with(Option::is_none) on:click=submit>
                {move || t("taxonomy.save")}
            </button>
        </section>
    }
}
