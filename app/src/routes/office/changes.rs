//! The record's change timeline: every change with what it changed (from
//! the document) beside who delivered it, from which session and when the
//! relay stored it (the server's authorship log, head-office roles only).

use closeloop_shared::api::ChangeItem;
use closeloop_shared::record::FieldEdit;
use closeloop_shared::sync::DocumentId;
use leptos::prelude::*;
use leptos::task::spawn_local;

use closeloop_shared::taxonomy::{Taxonomy, TermList};

use crate::i18n::{
    Lang, action_label, channel_label, format_time, lang, status_label, t, term_label, tr,
};
use crate::repo::Repo;
use crate::session;

/// The server's authorship log of record `id`, re-read on every push;
/// kept by the page so it survives the record re-rendering.
pub fn follow_log(id: Memo<Option<DocumentId>>) -> RwSignal<Vec<ChangeItem>> {
    let push = expect_context::<super::live::Push>();
    let log = RwSignal::new(Vec::<ChangeItem>::new());
    Effect::new(move |_| {
        push.track();
        let Some(id) = id.get() else { return };
        spawn_local(async move {
            if let Ok((200, body)) =
                session::call("GET", &format!("/api/records/{id}/changes"), None).await
            {
                log.set(serde_json::from_str(&body).unwrap_or_default());
            }
        });
    });
    log
}

#[component]
pub fn ChangeTimeline(id: DocumentId, log: RwSignal<Vec<ChangeItem>>) -> impl IntoView {
    let repo = expect_context::<Repo>();
    let taxonomy = repo.taxonomy();
    let steps = Memo::new(move |_| {
        repo.version.track();
        let mut s = repo.timeline(&id);
        s.reverse();
        s
    });
    view! {
        <section class="card changes" data-testid="changes">
            <h3>{move || t("changes.title")}</h3>
            <ol class="timeline">
                {move || steps.get().into_iter().map(|s| {
                    let taxonomy = taxonomy.clone();
                    let hash = s.hash.to_string();
                    let stored = log.with(|l| l.iter().find(|c| c.hash == hash).cloned());
                    let who = match &stored {
                        Some(c) => format!(
                            "{} · {}{}",
                            c.by.clone().unwrap_or_else(|| tr(lang().get(), "changes.server").to_string()),
                            format_time(c.stored_at),
                            c.session.as_deref().map(|s| format!(" · {} {}", tr(lang().get(), "changes.session"), s.chars().take(8).collect::<String>())).unwrap_or_default(),
                        ),
                        None => format!("{} · {}", tr(lang().get(), "changes.not_stored"), format_time(s.made_at_ms)),
                    };
                    view! {
                        <li data-change=hash.clone()>
                            <small>{who}</small>
                            <ul class="edits">
                                {s.edits.into_iter().map(|e| view! { <li>{describe(lang().get(), &taxonomy, &e)}</li> }).collect_view()}
                            </ul>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

/// "Priority: P2 → P1", in the user's language.
fn describe(l: Lang, taxonomy: &Taxonomy, e: &FieldEdit) -> String {
    let name = match tr(l, &format!("field.{}", e.field)) {
        "?" => e.field,
        known => known,
    };
    let term = |list: TermList, v: &str| term_label(l, taxonomy, list, v);
    let show = |v: &Option<String>| match (e.field, v.as_deref()) {
        (_, None) => "—".to_string(),
        ("receivedAt" | "planDeadline" | "followUpAt", Some(ms)) => ms
            .parse()
            .map(format_time)
            .unwrap_or_else(|_| ms.to_string()),
        ("status", Some(v)) => status_label(l, v).to_string(),
        ("history", Some(v)) => action_label(l, v),
        ("customerAnswer", Some(v)) => tr(l, &format!("work.answer.{v}")).to_string(),
        ("channel", Some(v)) => channel_label(l, taxonomy, v).unwrap_or_else(|| v.to_string()),
        ("feedbackType", Some(v)) => term(TermList::FeedbackType, v),
        ("nature", Some(v)) => term(TermList::Nature, v),
        ("urgency", Some(v)) => term(TermList::Urgency, v),
        ("impact", Some(v)) => term(TermList::Impact, v),
        ("complaintKind", Some(v)) => term(TermList::ComplaintKind, v),
        ("problemClass", Some(v)) => term(TermList::ProblemClass, v),
        (_, Some(v)) => v.chars().take(60).collect(),
    };
    match &e.before {
        None => format!("{name}: {}", show(&e.after)),
        Some(_) => format!("{name}: {} → {}", show(&e.before), show(&e.after)),
    }
}
