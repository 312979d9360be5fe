//! The records held on this device, live, from their list entries (see
//! `crate::repo::list`): thousands open at once, and only the rows near
//! the screen are drawn. On the tablet this is "my work": what the user captured and
//! what head office assigned to them, searchable and filtered here without
//! the network, each with its status and priority and a way to open it.

use closeloop_shared::authorize::Write;
use closeloop_shared::record::ListEntry;
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
    let entries = repo.entries;
    // Newest first, searched and filtered on the device.
    let records = Memo::new(move |_| {
        let needle = search.with(|s| s.trim().to_lowercase());
        let scope = scope.get();
        let mut shown: Vec<(DocumentId, i64)> = entries.with(|m| {
            m.iter()
                .filter(|(_, e)| scope.admits(e, &me) && e.matches(&needle))
                .map(|(id, e)| (*id, e.received_at_ms))
                .collect()
        });
        shown.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        shown.into_iter().map(|(id, _)| id).collect::<Vec<_>>()
    });
    let window = Window::follow(records);
    let loaded = repo.loaded;
    view! {
        <section class="card" data-testid="records-card" data-loaded=move || loaded.get().to_string()>
            <h2>
                {move || t(title_key)}
                <span class="count" data-testid="record-count">{move || entries.with(|m| m.len())}</span>
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
                when=move || !records.with(Vec::is_empty)
                fallback=|| view! { <p class="empty">{move || t("list.empty")}</p> }
            >
                <p class="hint" data-testid="records-shown" data-count=move || records.with(Vec::len)>
                    {move || format!("{} {}", records.with(Vec::len), t("work.shown"))}
                </p>
                <div class="records-window" node_ref=window.node>
                    <div style:height=move || format!("{}px", window.above())></div>
                    <ul class="records" data-testid="records" node_ref=window.list>
                        <For
                            each=move || window.rows()
                            key=|id| *id
                            children=move |id| {
                                let record = Memo::new(move |_| entries.with(|m| m.get(&id).cloned()));
                                view! { <RecordItem id record editable /> }
                            }
                        />
                    </ul>
                    <div style:height=move || format!("{}px", window.below())></div>
                </div>
            </Show>
        </section>
    }
}

/// The rows of a long list near the screen: only those are drawn, with
/// space above and below standing in for the rest (rows are about equally
/// high; a taller one, being edited, only shifts the estimate).
#[derive(Clone, Copy)]
struct Window {
    node: NodeRef<leptos::html::Div>,
    list: NodeRef<leptos::html::Ul>,
    all: Memo<Vec<DocumentId>>,
    /// The first and one past the last row drawn.
    range: RwSignal<(usize, usize)>,
    /// A row's height as drawn here (measured: it differs by screen width).
    row_px: RwSignal<f64>,
}

/// A row's height until one is measured.
const ROW_PX: f64 = 150.0;
/// Rows drawn beyond the screen's edges, so a quick scroll finds them ready.
const OVERSCAN: usize = 8;

impl Window {
    fn follow(all: Memo<Vec<DocumentId>>) -> Self {
        let w = Window {
            node: NodeRef::new(),
            list: NodeRef::new(),
            all,
            range: RwSignal::new((0, 2 * OVERSCAN + 8)),
            row_px: RwSignal::new(ROW_PX),
        };
        let measure = move || w.measure();
        let scroll = window_event_listener(leptos::ev::scroll, move |_| measure());
        let resize = window_event_listener(leptos::ev::resize, move |_| measure());
        on_cleanup(move || {
            scroll.remove();
            resize.remove();
        });
        Effect::new(move |_| {
            w.all.track();
            w.measure();
        });
        w
    }

    /// Which rows are on screen now.
    fn measure(self) {
        let n = self.all.with_untracked(Vec::len);
        let (first, last) = self.range.get_untracked();
        let drawn = last.min(n).saturating_sub(first);
        if drawn > 0
            && let Some(ul) = self.list.get_untracked()
        {
            let row = f64::from(ul.offset_height()) / drawn as f64;
            if (40.0..600.0).contains(&row) && (row - self.row_px.get_untracked()).abs() > 1.0 {
                self.row_px.set(row);
            }
        }
        let row_px = self.row_px.get_untracked();
        let screen = web_sys::window()
            .and_then(|w| w.inner_height().ok())
            .and_then(|h| h.as_f64())
            .unwrap_or(1000.0);
        let top = self
            .node
            .get_untracked()
            .map_or(0.0_f64, |el| el.get_bounding_client_rect().top());
        let from = (-top).max(0.0);
        let first = ((from / row_px) as usize).saturating_sub(OVERSCAN).min(n);
        let last = (((from + screen) / row_px).ceil() as usize + OVERSCAN).min(n);
        if self.range.get_untracked() != (first, last) {
            self.range.set((first, last));
        }
    }

    fn rows(self) -> Vec<DocumentId> {
        let (first, last) = self.range.get();
        self.all.with(|all| {
            let last = last.min(all.len());
            all[first.min(last)..last].to_vec()
        })
    }

    fn above(self) -> f64 {
        let (first, _) = self.range.get();
        first.min(self.all.with(Vec::len)) as f64 * self.row_px.get()
    }

    fn below(self) -> f64 {
        let (_, last) = self.range.get();
        self.all.with(Vec::len).saturating_sub(last) as f64 * self.row_px.get()
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

    fn admits(self, r: &ListEntry, me: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Captured => r.captured_by.as_deref() == Some(me),
            Scope::Assigned => r.owner.as_deref() == Some(me),
            Scope::Open => r.status != closeloop_shared::workflow::Status::Closed,
        }
    }
}

#[component]
fn RecordItem(id: DocumentId, record: Memo<Option<ListEntry>>, editable: bool) -> impl IntoView {
    let field = move |f: fn(&ListEntry) -> String| {
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
                    {move || record.with(|r| r.as_ref().map(|r| crate::i18n::status_label(lang().get(), r.status.key())).unwrap_or_default())}
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
                <a class="open-record" href=format!("/records/{id}") data-testid="open-record">{move || t("work.open_record")}</a>
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
