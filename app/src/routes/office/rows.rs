//! The inbox table: one row per record of the current page, with its SLA
//! clock in colour and words. `j`/`k` (or the arrow keys) move the
//! selection, `Enter` opens the selected record.

use closeloop_shared::api::{RecordPage, RecordSummary};
use closeloop_shared::sla::SlaState;
use leptos::ev;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use closeloop_shared::taxonomy::TermList;

use crate::i18n::{Lang, channel_label, format_time, lang, status_label, t, term_label, tr};
use crate::repo::Repo;

/// The rows of `page`; `busy` while a newer page is on its way, `loads`
/// counts pages shown (for tests and benchmarks to wait on).
#[component]
pub fn Rows(
    page: RwSignal<Option<RecordPage>>,
    busy: RwSignal<bool>,
    loads: RwSignal<u64>,
) -> impl IntoView {
    let selected = RwSignal::new(0usize);
    let records = Memo::new(move |_| {
        page.with(|p| p.as_ref().map(|p| p.records.clone()).unwrap_or_default())
    });
    // A new page starts at its first row.
    Effect::new(move |_| {
        records.track();
        selected.set(0);
    });
    // Effects run after the rows are in the page.
    Effect::new(move |_| {
        let s = selected.get();
        records.track();
        lang().track();
        draw_selection(s);
    });
    let navigate = use_navigate();
    let keys = window_event_listener(ev::keydown, move |e| {
        let Some(key) = super::keys::shortcut(&e) else {
            return;
        };
        let n = records.with_untracked(Vec::len);
        let open = |focus: &str| {
            if let Some(r) = records.with_untracked(|r| r.get(selected.get_untracked()).cloned()) {
                navigate(
                    &format!("/office/records/{}{focus}", r.id),
                    Default::default(),
                );
            }
        };
        match key.as_str() {
            "j" | "ArrowDown" if n > 0 => selected.update(|s| *s = (*s + 1).min(n - 1)),
            "k" | "ArrowUp" => selected.update(|s| *s = s.saturating_sub(1)),
            "Enter" => open(""),
            "a" => open("?focus=assign"),
            "r" => open("?focus=reply"),
            _ => return,
        }
        e.prevent_default();
    });
    on_cleanup(move || keys.remove());
    let taxonomy = StoredValue::new(expect_context::<Repo>().taxonomy());
    view! {
        <div id="inbox" aria-busy=move || busy.get().to_string() data-loads=move || loads.get().to_string()>
            <Show
                when=move || !records.with(Vec::is_empty)
                fallback=move || view! { <p class="empty">{move || if busy.get() { t("inbox.loading") } else { t("inbox.empty") }}</p> }
            >
                <table class="inbox">
                    <thead>
                        <tr>
                            <th scope="col">{move || t("inbox.c.received")}</th>
                            <th scope="col">{move || t("inbox.c.customer")}</th>
                            <th scope="col">{move || t("inbox.c.description")}</th>
                            <th scope="col">{move || t("inbox.c.priority")}</th>
                            <th scope="col">{move || t("inbox.c.status")}</th>
                            <th scope="col">{move || t("inbox.c.owner")}</th>
                            <th scope="col">{move || t("inbox.c.sla")}</th>
                        </tr>
                    </thead>
                    <tbody>
                        // Keyed rows: each row is its own owner, disposed
                        // when its page is replaced (a plain closure here
                        // kept every page's row effects alive). Rows hold
                        // no subscription to long-lived signals (language,
                        // selection): every page's dead subscribers kept
                        // wasm memory growing by ~30 KB a page. The
                        // language is part of the key instead, and the
                        // selection is drawn below.
                        <For
                            each=move || {
                                let l = lang().get();
                                records
                                    .get()
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, r)| (serde_json::to_string(&r).unwrap_or_default(), i, r, l))
                                    .collect::<Vec<_>>()
                            }
                            key=|(content, i, _, l)| (*i, content.clone(), *l)
                            children=move |(_, i, r, l)| {
                                let channel = taxonomy.with_value(|t| channel_label(l, t, &r.channel));
                                view! { <Row r i l selected channel /> }
                            }
                        />
                    </tbody>
                </table>
            </Show>
        </div>
    }
}

/// One row, drawn once in language `l` (see the keyed rows above).
#[component]
fn Row(
    r: RecordSummary,
    i: usize,
    l: Lang,
    selected: RwSignal<usize>,
    channel: Option<String>,
) -> impl IntoView {
    let href = format!("/office/records/{}", r.id);
    let taxonomy = expect_context::<Repo>().taxonomy_untracked();
    let kind = [
        r.nature
            .as_deref()
            .map(|k| term_label(l, &taxonomy, TermList::Nature, k)),
        r.feedback_type
            .as_deref()
            .map(|k| term_label(l, &taxonomy, TermList::FeedbackType, k)),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let sla_class = sla_class(r.sla_state);
    view! {
        <tr data-record-id=r.id.clone() aria-selected="false" on:click=move |_| selected.set(i)>
            <td class="when">
                <time>{format_time(r.received_at)}</time>
                <small class="channel">{channel.unwrap_or_default()}</small>
            </td>
            <td class="who">
                <span class="customer">{r.customer.clone()}</span>
                {(r.conflicts > 0).then(|| view! {
                    <span class="badge conflict" title=tr(l, "inbox.conflict.hint")>{tr(l, "inbox.conflict")}</span>
                })}
            </td>
            <td class="what">
                <a class="open-record" href=href>{cut(&r.description, 80)}</a>
                <small class="kind">{kind}</small>
            </td>
            <td class="priority">{r.priority.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="state">{status_label(l, &r.status)}</td>
            <td class="owner">{r.owner.clone().unwrap_or_else(|| "—".into())}</td>
            <td class=format!("sla {sla_class}")>
                {sla_words(l, r.sla_state, r.remaining_ms)}
                {r.due_at.map(|d| view! { <small>{format_time(d)}</small> })}
            </td>
        </tr>
    }
}

/// Marks row `selected` of the table (and only it) in the page: one
/// effect for the table, not one per row.
fn draw_selection(selected: usize) {
    let Some(rows) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector_all("#inbox tr[data-record-id]").ok())
    else {
        return;
    };
    for n in 0..rows.length() {
        let Some(row) = rows
            .get(n)
            .and_then(|r| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(r).ok())
        else {
            continue;
        };
        let on = n as usize == selected;
        let _ = row.class_list().toggle_with_force("selected", on);
        let _ = row.set_attribute("aria-selected", if on { "true" } else { "false" });
    }
}

pub(super) fn sla_class(state: Option<SlaState>) -> &'static str {
    match state {
        Some(SlaState::Overdue | SlaState::Breached) => "sla-overdue",
        Some(SlaState::NearDue) => "sla-near",
        Some(SlaState::Paused) => "sla-paused",
        Some(SlaState::OnTrack | SlaState::Met) => "sla-ok",
        None => "sla-none",
    }
}

/// The clock in words: "overdue 3 h 10 min", "2 h left", "paused".
pub(super) fn sla_words(l: Lang, state: Option<SlaState>, remaining_ms: Option<i64>) -> String {
    let span = remaining_ms
        .map(|ms| duration(l, ms.abs()))
        .unwrap_or_default();
    match state {
        None => tr(l, "sla.none").to_string(),
        Some(SlaState::Overdue) => format!("{} {span}", tr(l, "sla.overdue")),
        Some(SlaState::NearDue) => format!("{} · {span}", tr(l, "sla.near")),
        Some(SlaState::OnTrack) => match l {
            Lang::Zh => format!("剩余 {span}"),
            Lang::En => format!("{span} left"),
        },
        Some(SlaState::Paused) => tr(l, "sla.paused").to_string(),
        Some(SlaState::Met) => tr(l, "sla.met").to_string(),
        Some(SlaState::Breached) => tr(l, "sla.breached").to_string(),
    }
}

/// A span as days, hours and minutes (the largest two parts).
fn duration(l: Lang, ms: i64) -> String {
    let minutes = ms / 60_000;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let (ud, uh, um) = match l {
        Lang::Zh => ("天", "小时", "分"),
        Lang::En => (" d", " h", " min"),
    };
    match (d, h) {
        (0, 0) => format!("{m}{um}"),
        (0, _) => format!("{h}{uh} {m}{um}"),
        _ => format!("{d}{ud} {h}{uh}"),
    }
}

fn cut(text: &str, chars: usize) -> String {
    let mut out: String = text.chars().take(chars).collect();
    if text.chars().count() > chars {
        out.push('…');
    }
    out
}
