//! Replying to the customer (S000 §4, S003 §3): every reply sent stays in
//! the record's thread with its channel, author and time; the customer's
//! answer is recorded against the latest one ("still has questions"
//! reopens the record); a follow-up contact is planned (three days later
//! by default) and its outcome logged.

use closeloop_shared::FeedbackRecord;
use closeloop_shared::authorize::Write;
use closeloop_shared::record::{self, CustomerAnswer, FOLLOW_UP_AFTER_DAYS, FollowUp};
use closeloop_shared::sync::DocumentId;
use closeloop_shared::workflow::Action;
use leptos::prelude::*;

use super::work::{Drafts, run};
use crate::components::{PersonalDataWarning, choices};
use crate::i18n::{Lang, channel_label, lang, t, tr};
use crate::local_time;
use crate::repo::Repo;

const DAY_MS: i64 = 86_400_000;

/// The reply thread and what may be done with it now.
#[component]
pub fn ReplyPanel(id: DocumentId, r: FeedbackRecord, drafts: Drafts) -> impl IntoView {
    let repo = expect_context::<Repo>();
    let may_reply = repo.may(&id, Write::Reply("reply"));
    let now = js_sys::Date::now() as i64;
    // The step goes with the reply when the workflow allows it now.
    let step_too =
        r.workflow.apply(&Action::Reply, now).is_ok() && repo.may(&id, Write::Step("reply".into()));
    let reopen_too = r.workflow.apply(&Action::Reopen, now).is_ok()
        && repo.may(&id, Write::Step("reopen".into()));
    let awaiting_answer = r.last_reply().is_some_and(|x| x.customer_answer.is_none());
    let channels = choices::channels(&repo.taxonomy().channels);
    let record_channel = r.channel.clone();
    let chosen = drafts.text("reply.channel");
    let channel = move || {
        let c = chosen.get();
        if c.is_empty() {
            record_channel.clone()
        } else {
            c
        }
    };
    let channel = Signal::derive(channel);
    let text = drafts.text("reply.text");
    let note = drafts.text("answer.note");
    let last_reply_at = r.last_reply().map(|x| x.at_ms);
    view! {
        <section class="card reply-panel" data-testid="replies">
            <h3>{move || t("work.reply")}</h3>
            {if r.replies.is_empty() {
                view! { <p class="empty">{move || t("reply.none")}</p> }.into_any()
            } else {
                let taxonomy = repo.taxonomy_untracked();
                view! {
                    <ol class="thread">
                        {r.replies.iter().map(|x| {
                            let (c, taxonomy) = (x.channel.clone(), taxonomy.clone());
                            let answer = x.customer_answer;
                            view! {
                                <li data-testid="reply">
                                    <p class="meta">
                                        <time>{local_time::minute(x.at_ms)}</time>
                                        " · " {move || channel_label(lang().get(), &taxonomy, &c).unwrap_or_else(|| c.clone())}
                                        {(!x.by.is_empty()).then(|| format!(" · {}", x.by))}
                                    </p>
                                    <p class="content">{x.content.clone()}</p>
                                    {answer.map(|a| view! {
                                        <p class=format!("answer {}", a.key()) data-answer=a.key()>
                                            {move || t(&format!("work.answer.{}", a.key()))}
                                        </p>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
            {may_reply.then(|| {
                let taxonomy = repo.taxonomy();
                view! {
                    <div class="compose">
                        <label class="filter">
                            <span>{move || t("reply.channel")}</span>
                            <select data-testid="reply-channel" prop:value=move || channel.get()
                                on:change=move |ev| chosen.set(event_target_value(&ev))>
                                {channels.clone().into_iter().map(choices::option).collect_view()}
                            </select>
                        </label>
                        // The customer's language, whatever the screen's.
                        <div class="templates">
                            {[(Lang::Zh, "zh", "work.reply.template_zh"), (Lang::En, "en", "work.reply.template_en")].into_iter().map(|(l, code, label)| view! {
                                <button class="secondary" data-testid="reply-template" data-lang=code on:click=move |_| {
                                    text.set(tr(l, "work.reply.template").to_string());
                                }>{move || t(label)}</button>
                            }).collect_view()}
                        </div>
                        <textarea rows="4" data-testid="reply-text" aria-label=move || t("work.reply")
                            prop:value=move || text.get()
                            on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                        <PersonalDataWarning text=text />
                        <button data-testid="save-reply" on:click=move |_| {
                            let (content, via, taxonomy) = (text.get_untracked(), channel.get_untracked(), taxonomy.clone());
                            run(id, drafts, move |d, by, now| {
                                record::add_reply(d, &taxonomy, &via, &content, by, now)?;
                                if step_too {
                                    record::transition(d, &Action::Reply, None, by, now)?;
                                }
                                Ok(())
                            }, move || text.set(String::new()));
                        }>{move || t(if step_too { "reply.send_and_step" } else { "reply.send" })}</button>
                    </div>
                }
            })}
            {(may_reply && awaiting_answer).then(|| view! {
                <div class="answer-form">
                    <span>{move || t("work.answer")}</span>
                    <input type="text" data-testid="answer-note" aria-label=move || t("reply.answer_note")
                        placeholder=move || t("reply.answer_note")
                        prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev)) />
                    {CustomerAnswer::ALL.into_iter().map(|a| view! {
                        <button class="secondary" data-answer=a.key() on:click=move |_| {
                            let words = note.get_untracked();
                            run(id, drafts, move |d, by, now| {
                                record::record_answer(d, a, &words, by, now)?;
                                if a == CustomerAnswer::HasQuestions && reopen_too {
                                    record::transition(d, &Action::Reopen, None, by, now)?;
                                }
                                Ok(())
                            }, move || note.set(String::new()));
                        }>{move || t(&format!("work.answer.{}", a.key()))}</button>
                    }).collect_view()}
                </div>
            })}
            {last_reply_at.map(|at| view! { <FollowUpForm id r=r.clone() drafts replied_at=at may=may_reply /> })}
        </section>
    }
}

/// The follow-up contact: planned (three days after the reply by default),
/// then its outcome.
#[component]
fn FollowUpForm(
    id: DocumentId,
    r: FeedbackRecord,
    drafts: Drafts,
    replied_at: i64,
    may: bool,
) -> impl IntoView {
    let when = drafts.text("follow.at");
    let method = drafts.text("follow.method");
    let outcome = drafts.text("follow.outcome");
    let default_at = local_time::input_minute(replied_at + FOLLOW_UP_AFTER_DAYS * DAY_MS);
    let planned = r.follow_up.clone();
    let open = planned.as_ref().is_some_and(|f| f.outcome.is_none());
    view! {
        <div class="follow-up" data-testid="follow-up">
            <h4>{move || t("follow.title")}</h4>
            {planned.map(|f| view! {
                <p data-testid="follow-up-planned">
                    {move || t("follow.planned")} " " <time>{local_time::minute(f.at_ms)}</time>
                    " · " {f.method.clone()}
                    {(!f.note.is_empty()).then(|| format!(" · {}", f.note))}
                </p>
                {f.outcome.map(|o| view! {
                    <p class="outcome" data-testid="follow-up-outcome">
                        {move || t("follow.outcome")} " " <time>{local_time::minute(o.at_ms)}</time>
                        " · " {o.by.clone()} " · " {o.text.clone()}
                    </p>
                })}
            })}
            {(may && open).then(|| view! {
                <div class="compose">
                    <textarea rows="2" data-testid="follow-up-outcome-text" aria-label=move || t("follow.outcome")
                        prop:value=move || outcome.get() on:input=move |ev| outcome.set(event_target_value(&ev))></textarea>
                    <button data-testid="save-follow-up-outcome" on:click=move |_| {
                        let words = outcome.get_untracked();
                        run(id, drafts, move |d, by, now| record::record_follow_up(d, &words, by, now),
                            move || outcome.set(String::new()));
                    }>{move || t("follow.record")}</button>
                </div>
            })}
            {(may && !open).then(|| {
                let default_at = default_at.clone();
                let shown_at = move || {
                    let v = when.get();
                    if v.is_empty() { default_at.clone() } else { v }
                };
                let shown_at = Signal::derive(shown_at);
                let shown_method = Signal::derive(move || {
                    let v = method.get();
                    if v.is_empty() { tr(lang().get(), "follow.phone").to_string() } else { v }
                });
                view! {
                    <div class="compose">
                        <label class="filter">
                            <span>{move || t("follow.at")}</span>
                            <input type="datetime-local" data-testid="follow-up-at" prop:value=move || shown_at.get()
                                on:input=move |ev| when.set(event_target_value(&ev)) />
                        </label>
                        <label class="filter">
                            <span>{move || t("follow.method")}</span>
                            <input type="text" data-testid="follow-up-method" prop:value=move || shown_method.get()
                                on:input=move |ev| method.set(event_target_value(&ev)) />
                        </label>
                        <button class="secondary" data-testid="plan-follow-up" on:click=move |_| {
                            let l = lang().get_untracked();
                            let Some(at) = local_time::parse(&shown_at.get_untracked()) else {
                                drafts.report(false, tr(l, "follow.bad_time").to_string());
                                return;
                            };
                            let plan = FollowUp::planned(at, &shown_method.get_untracked(), "");
                            run(id, drafts, move |d, _, now| record::set_follow_up(d, &plan, now), || {});
                        }>{move || t("follow.plan")}</button>
                    </div>
                }
            })}
        </div>
    }
}
