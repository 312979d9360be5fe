//! The records held on this device, live: re-read whenever a document
//! changes. On the tablet this is "my work": what the user captured and
//! what head office assigned to them, searchable and filtered here without
//! the network, each with its status and priority and a way to open it.

use std::collections::HashMap;

use closeloop_shared::FeedbackRecord;
use closeloop_shared::authorize::Write;
use closeloop_shared::sync::DocumentId;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{Lang, edit_label, format_time, lang, refusal_text, save_error, t};
use crate::repo::Repo;

/// A card listing records, newest first; `editable` adds in-place editing.
#[component]
pub fn RecordList(
    /// i18n key of the heading.
    title_key: &'static str,
    /// Whether each record offers an edit button.
    editable: bool,
) -> impl IntoView {
    let repo = expect_context::<Repo>();
    let me = repo.username().to_string();
    let search = RwSignal::new(String::new());
    let scope = RwSignal::new(Scope::All);
    let all = Memo::new(move |_| {
        repo.version.get();
        repo.records()
    });
    let records = Memo::new(move |_| {
        let needle = search.with(|s| s.trim().to_lowercase());
        let scope = scope.get();
        all.get()
            .into_iter()
            .filter(|(_, r)| scope.admits(r, &me))
            .filter(|(_, r)| {
                needle.is_empty()
                    || r.customer.to_lowercase().contains(&needle)
                    || r.description.to_lowercase().contains(&needle)
            })
            .collect::<Vec<_>>()
    });
    // Items are keyed by id and read their record from here, so an edit
    // updates the item in place instead of recreating it.
    let by_id = Memo::new(move |_| records.get().into_iter().collect::<HashMap<_, _>>());
    view! {
        <section class="card">
            <h2>
                {move || t(title_key)}
                <span class="count" data-testid="record-count">{move || all.get().len()}</span>
            </h2>
            <div class="my-work-filters" role="search">
                <input type="search" data-testid="records-search" aria-label=move || t("work.search")
                    placeholder=move || t("work.search")
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev)) />
                {Scope::ALL.into_iter().map(|s| view! {
                    <button type="button" class="view" data-scope=s.key()
                        aria-pressed=move || (scope.get() == s).to_string()
                        on:click=move |_| scope.set(s)>
                        {move || t(s.label())}
                    </button>
                }).collect_view()}
            </div>
            <Show
                when=move || !records.get().is_empty()
                fallback=|| view! { <p class="empty">{move || t("list.empty")}</p> }
            >
                <ul class="records" data-testid="records">
                    <For
                        each=move || records.get()
                        key=|(id, _)| *id
                        children=move |(id, _)| {
                            let record = Memo::new(move |_| by_id.with(|m| m.get(&id).cloned()));
                            view! { <RecordItem id record editable /> }
                        }
                    />
                </ul>
            </Show>
        </section>
    }
}

/// Which of the device's records the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    /// Captured by the signed-in user.
    Captured,
    /// Assigned to the signed-in user.
    Assigned,
    /// Not closed.
    Open,
}

impl Scope {
    const ALL: [Scope; 4] = [Scope::All, Scope::Captured, Scope::Assigned, Scope::Open];

    fn key(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::Captured => "captured",
            Scope::Assigned => "assigned",
            Scope::Open => "open",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Scope::All => "work.all",
            Scope::Captured => "work.captured",
            Scope::Assigned => "work.assigned",
            Scope::Open => "work.open",
        }
    }

    fn admits(self, r: &FeedbackRecord, me: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Captured => r.captured_by.as_deref() == Some(me),
            Scope::Assigned => r.owner.as_deref() == Some(me),
            Scope::Open => r.workflow.status != closeloop_shared::workflow::Status::Closed,
        }
    }
}

#[component]
fn RecordItem(
    id: DocumentId,
    record: Memo<Option<FeedbackRecord>>,
    editable: bool,
) -> impl IntoView {
    let field = move |f: fn(&FeedbackRecord) -> String| {
        move || record.with(|r| r.as_ref().map(f).unwrap_or_default())
    };
    let editing = RwSignal::new(false);
    let draft = RwSignal::new(field(|r| r.description.clone())());
    let error = RwSignal::new(None::<String>);
    let repo = expect_context::<Repo>();
    let me = repo.username().to_string();
    let sla = repo.sla;
    let taxonomy = repo.taxonomy();
    // Offer an edit only where the write rule allows it (rights may change).
    let may_edit = {
        let repo = repo.clone();
        Memo::new(move |_| {
            repo.session.track();
            repo.version.track();
            editable && repo.may(&id, Write::Capture("description"))
        })
    };
    let refused = Memo::new(move |_| {
        repo.refused
            .with(|m| m.get(&id).cloned().unwrap_or_default())
    });
    let channel_label = move || {
        let channel = field(|r| r.channel.clone())();
        match (taxonomy.channel(&channel), lang().get()) {
            (Some(c), Lang::Zh) => c.label.zh.clone(),
            (Some(c), Lang::En) => c.label.en.clone(),
            (None, _) => channel,
        }
    };
    let save = move |_| {
        let repo = expect_context::<Repo>();
        let l = lang();
        spawn_local(async move {
            match repo.edit_description(id, draft.get_untracked()).await {
                Ok(()) => {
                    error.set(None);
                    editing.set(false);
                }
                Err(e) => error.set(Some(save_error(l.get_untracked(), &e))),
            }
        });
    };
    view! {
        <li class="record" data-testid="record" data-doc-id=id.to_string()>
            <div class="meta">
                <time title=move || t("list.received")>{field(|r| format_time(r.received_at_ms))}</time>
                <span class="channel">{channel_label}</span>
                <strong class="nickname" data-testid="record-nickname">{field(|r| r.customer.clone())}</strong>
                <span class="status-pill" data-testid="record-status">
                    {move || record.with(|r| r.as_ref().map(|r| crate::i18n::status_label(lang().get(), r.workflow.status.key())).unwrap_or_default())}
                </span>
                {move || record.with(|r| r.as_ref().and_then(|r| r.priority).map(|p| view! {
                    <span class="priority">{p.key()}</span>
                }))}
                {move || {
                    // The clock running now, on the policy last read from the server.
                    let due = record.with(|r| {
                        let r = r.as_ref()?;
                        sla.get().due_times(r.priority, &r.sla_facts()).running
                    })?;
                    let late = due.due_at_ms < js_sys::Date::now() as i64;
                    Some(view! {
                        <span class=if late { "due overdue" } else { "due" } data-testid="record-due">
                            {move || t("work.due")} " " {format_time(due.due_at_ms)}
                        </span>
                    })
                }}
                {move || {
                    let mine = record.with(|r| r.as_ref().and_then(|r| r.owner.clone()))
                        .is_some_and(|o| o == me);
                    mine.then(|| view! { <span class="assigned-pill" data-testid="assigned-to-me">{move || t("work.assigned_to_me")}</span> })
                }}
                <a class="open-record" href=format!("/office/records/{id}") data-testid="open-record">{move || t("work.open_record")}</a>
            </div>
            {move || {
                let list = refused.get();
                (!list.is_empty()).then(|| view! {
                    <div class="refused" role="status" data-testid="refused">
                        <strong>{move || t("refused.title")}</strong>
                        <ul>
                            {list.into_iter().map(|r| {
                                let l = lang().get();
                                let what: Vec<&str> = r.edits.iter().map(|e| edit_label(l, e)).collect();
                                view! {
                                    <li data-code=r.code.clone()>
                                        {format_time(r.at_ms)} " · " {what.join("、")} " — "
                                        {refusal_text(l, &r.code)}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                })
            }}
            <Show
                when=move || editing.get()
                fallback=move || {
                    view! {
                        <p class="description" data-testid="record-description">
                            {field(|r| r.description.clone())}
                        </p>
                        {move || may_edit.get().then(|| view! {
                            <button class="secondary" data-testid="edit" on:click=move |_| {
                                draft.set(field(|r| r.description.clone())());
                                editing.set(true);
                            }>
                                {move || t("list.edit")}
                            </button>
                        })}
                    }
                }
            >
                <textarea
                    data-testid="edit-description"
                    rows="3"
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                ></textarea>
                <div class="actions">
                    <button data-testid="save-edit" on:click=save>{move || t("form.save")}</button>
                    <button class="secondary" on:click=move |_| editing.set(false)>
                        {move || t("list.cancel")}
                    </button>
                </div>
                {move || error.get().map(|e| view! { <p class="problem" role="alert">{e}</p> })}
            </Show>
        </li>
    }
}
