//! `/office/surveys/sending`: when surveys go out on their own (after a
//! record is closed or replied, with a delay; periodically; at most once
//! per customer and period), campaigns to a segment of customers (after a
//! release, anonymous if wanted) and the audit of every send.

use closeloop_shared::survey::sending::{
    CampaignView, NewCampaign, Period, Segment, SendView, SendingRules,
};
use closeloop_shared::taxonomy::TermList;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{DesignNav, SURVEY, problem};
use crate::i18n::{Lang, channel_label, lang, t, term_label, tr};
use crate::local_time;
use crate::repo::Repo;
use crate::session;

/// Reads `path` as `T`, or the message saying why not.
async fn read<T: serde::de::DeserializeOwned>(path: &str, l: Lang) -> Result<T, String> {
    match session::call("GET", path, None).await {
        Ok((200, body)) => {
            serde_json::from_str(&body).map_err(|_| tr(l, "inbox.bad_answer").into())
        }
        Ok((status, body)) => Err(problem(l, status, &body)),
        Err(()) => Err(tr(l, "design.offline").into()),
    }
}

fn period_key(p: Option<Period>) -> &'static str {
    match p {
        None => "off",
        Some(Period::Quarter) => "quarter",
        Some(Period::HalfYear) => "half_year",
    }
}

fn period_of(key: &str) -> Option<Period> {
    match key {
        "quarter" => Some(Period::Quarter),
        "half_year" => Some(Period::HalfYear),
        _ => None,
    }
}

/// What the page shows that the server keeps moving.
#[derive(Clone, Copy)]
struct Lists {
    campaigns: RwSignal<Vec<CampaignView>>,
    sends: RwSignal<Vec<SendView>>,
    message: RwSignal<Option<(bool, String)>>,
    language: RwSignal<Lang>,
}

/// Reads the campaigns and the sends; again every few seconds while a
/// campaign is still sending, so its counts move on screen. Called from
/// async code too, so it takes nothing from the context.
fn reload(lists: Lists) {
    let Lists {
        campaigns,
        sends,
        message,
        language,
    } = lists;
    let l = language.get_untracked();
    spawn_local(async move {
        let path = format!("/api/surveys/{SURVEY}/campaigns");
        match read::<Vec<CampaignView>>(&path, l).await {
            Ok(c) => {
                if c.iter().any(|c| c.sending) {
                    set_timeout(move || reload(lists), std::time::Duration::from_secs(2));
                }
                campaigns.set(c);
            }
            Err(e) => message.set(Some((false, e))),
        }
        if let Ok(s) = read::<Vec<SendView>>("/api/survey-sends", l).await {
            sends.set(s);
        }
    });
}

#[component]
pub fn SurveySendingPage() -> impl IntoView {
    let rules = RwSignal::new(None::<SendingRules>);
    let campaigns = RwSignal::new(Vec::<CampaignView>::new());
    let sends = RwSignal::new(Vec::<SendView>::new());
    let message = RwSignal::new(None::<(bool, String)>);
    let language = lang();
    let lists = Lists {
        campaigns,
        sends,
        message,
        language,
    };
    reload(lists);
    spawn_local(async move {
        match read::<SendingRules>("/api/survey-sending", language.get_untracked()).await {
            Ok(r) => rules.set(Some(r)),
            Err(e) => message.set(Some((false, e))),
        }
    });
    let hours = move |set: fn(&mut SendingRules, Option<u32>)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            // Not a number: past the limit, which the rule refuses with its reason.
            let n = (!v.trim().is_empty()).then(|| v.trim().parse().unwrap_or(u32::MAX));
            rules.update(|r| r.iter_mut().for_each(|r| set(r, n)));
        }
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = language.get_untracked();
        let Some(r) = rules.get_untracked() else {
            return;
        };
        if let Err(e) = r.validate() {
            return message.set(Some((
                false,
                tr(l, &format!("design.error.{}", e.code())).into(),
            )));
        }
        spawn_local(async move {
            let Ok(body) = serde_json::to_string(&r) else {
                return;
            };
            message.set(Some(
                match session::call("PUT", "/api/survey-sending", Some(body)).await {
                    Ok((200, _)) => (true, tr(l, "admin.settings_saved").into()),
                    Ok((status, body)) => (false, problem(l, status, &body)),
                    Err(()) => (false, tr(l, "design.offline").into()),
                },
            ));
        });
    };
    view! {
        <DesignNav />
        <section class="card survey-sending" data-testid="survey-sending">
            <h2>{move || t("sending.title")}</h2>
            <p class="hint">{move || t("sending.hint")}</p>
            {move || rules.get().map(|r| view! {
                <form class="settings-form" novalidate on:submit=save>
                    <label class="filter">
                        <span>{move || t("sending.after_close")}</span>
                        <input type="number" min="0" inputmode="numeric" data-testid="after-close" placeholder=move || t("sending.off")
                            prop:value=r.after_close_hours.map(|h| h.to_string()).unwrap_or_default()
                            on:input=hours(|r, n| r.after_close_hours = n) />
                    </label>
                    <label class="filter">
                        <span>{move || t("sending.after_reply")}</span>
                        <input type="number" min="0" inputmode="numeric" data-testid="after-reply" placeholder=move || t("sending.off")
                            prop:value=r.after_reply_hours.map(|h| h.to_string()).unwrap_or_default()
                            on:input=hours(|r, n| r.after_reply_hours = n) />
                    </label>
                    <label class="filter">
                        <span>{move || t("sending.periodic")}</span>
                        <select data-testid="periodic" on:change=move |e| { let v = period_of(&event_target_value(&e)); rules.update(|r| r.iter_mut().for_each(|r| r.periodic = v)); }>
                            {["off", "quarter", "half_year"].map(|k| view! { <option value=k selected=period_key(r.periodic) == k>{move || t(&format!("sending.period.{k}"))}</option> })}
                        </select>
                    </label>
                    <label class="filter">
                        <span>{move || t("sending.once_per")}</span>
                        <select data-testid="once-per" on:change=move |e| { let v = period_of(&event_target_value(&e)).unwrap_or(Period::Quarter); rules.update(|r| r.iter_mut().for_each(|r| r.once_per = v)); }>
                            {["quarter", "half_year"].map(|k| view! { <option value=k selected=period_key(Some(r.once_per)) == k>{move || t(&format!("sending.period.{k}"))}</option> })}
                        </select>
                    </label>
                    <label class="filter">
                        <span>{move || t("sending.link_days")}</span>
                        <input type="number" min="1" max="90" inputmode="numeric" data-testid="link-days" prop:value=r.link_days.to_string()
                            on:input=move |e| { let n = event_target_value(&e).trim().parse().unwrap_or(0); rules.update(|r| r.iter_mut().for_each(|r| r.link_days = n)); } />
                    </label>
                    <button type="submit" data-testid="sending-save">{move || t("sending.save")}</button>
                </form>
            })}
            {move || message.get().map(|(ok, m)| view! { <p class=if ok { "ok" } else { "problem" } role="status" data-testid="sending-message">{m}</p> })}
        </section>
        <CampaignForm on_started=move || reload(lists) />
        <section class="card" data-testid="campaigns">
            <h2>{move || t("campaign.list")}</h2>
            <table class="groups">
                <thead><tr>
                    <th>{move || t("campaign.name")}</th><th>{move || t("campaign.created")}</th><th>{move || t("campaign.state")}</th>
                    <th>{move || t("campaign.sent")}</th><th>{move || t("campaign.skipped")}</th><th>{move || t("campaign.failed")}</th><th>{move || t("campaign.answered")}</th>
                </tr></thead>
                <tbody>
                {move || campaigns.get().is_empty().then(|| view! { <tr><td colspan="7" class="hint">{move || t("campaign.none")}</td></tr> })}
                {move || campaigns.get().into_iter().map(|c| view! {
                    <tr data-campaign=c.id.clone()>
                        <td>{c.name.clone()} {c.anonymous.then(|| view! { " · " <span class="hint">{move || t("campaign.anonymous")}</span> })}</td>
                        <td>{local_time::minute(c.created_at)} " · " {c.created_by.clone()}</td>
                        <td>{move || t(if c.sending { "campaign.sending" } else { "campaign.done" })}</td>
                        <td>{c.sent}</td><td>{c.skipped}</td><td>{c.failed}</td><td>{c.answered}</td>
                    </tr>
                }).collect_view()}</tbody>
            </table>
        </section>
        <SendsAudit sends />
    }
}

/// Starting a campaign: a name, which customers, anonymous or not.
#[component]
fn CampaignForm(on_started: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let message = RwSignal::new(None::<(bool, String)>);
    let campaign = RwSignal::new(NewCampaign {
        name: String::new(),
        segment: Segment::default(),
        anonymous: false,
    });
    let taxonomy = expect_context::<Repo>().taxonomy();
    let language = lang();
    let pick = |v: String| (!v.is_empty()).then_some(v);
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let l = language.get_untracked();
        let c = campaign.get_untracked();
        if let Err(e) = c.validate() {
            return message.set(Some((
                false,
                tr(l, &format!("design.error.{}", e.code())).into(),
            )));
        }
        spawn_local(async move {
            let Ok(body) = serde_json::to_string(&c) else {
                return;
            };
            let path = format!("/api/surveys/{SURVEY}/campaigns");
            message.set(Some(match session::call("POST", &path, Some(body)).await {
                Ok((201, _)) => {
                    on_started();
                    (true, tr(l, "campaign.started").into())
                }
                Ok((status, body)) => (false, problem(l, status, &body)),
                Err(()) => (false, tr(l, "design.offline").into()),
            }));
        });
    };
    let channels: Vec<String> = taxonomy.channels.iter().map(|c| c.key.clone()).collect();
    let types: Vec<String> = taxonomy
        .list(TermList::FeedbackType)
        .iter()
        .map(|c| c.key.clone())
        .collect();
    let departments: Vec<String> = taxonomy
        .list(TermList::Department)
        .iter()
        .map(|c| c.key.clone())
        .collect();
    let (t1, t2, t3) = (taxonomy.clone(), taxonomy.clone(), taxonomy.clone());
    view! {
        <section class="card" data-testid="campaign-form">
            <h2>{move || t("campaign.title")}</h2>
            <p class="hint">{move || t("campaign.hint")}</p>
            <form class="settings-form" novalidate on:submit=start>
                <label class="filter"><span>{move || t("campaign.name")}</span>
                    <input type="text" data-testid="campaign-name" maxlength="80" placeholder=move || t("campaign.name_hint")
                        on:input=move |e| { let v = event_target_value(&e); campaign.update(|c| c.name = v); } />
                </label>
                <label class="filter"><span>{move || t("results.by.channel")}</span>
                    <select data-testid="campaign-channel" on:change=move |e| { let v = pick(event_target_value(&e)); campaign.update(|c| c.segment.channel = v); }>
                        <option value="">{move || t("campaign.any")}</option>
                        {channels.into_iter().map(|k| { let (t1, key) = (t1.clone(), k.clone()); view! { <option value=k>{move || channel_label(lang().get(), &t1, &key).unwrap_or_else(|| key.clone())}</option> } }).collect_view()}
                    </select>
                </label>
                <label class="filter"><span>{move || t("results.by.type")}</span>
                    <select data-testid="campaign-type" on:change=move |e| { let v = pick(event_target_value(&e)); campaign.update(|c| c.segment.feedback_type = v); }>
                        <option value="">{move || t("campaign.any")}</option>
                        {types.into_iter().map(|k| { let (t2, key) = (t2.clone(), k.clone()); view! { <option value=k>{move || term_label(lang().get(), &t2, TermList::FeedbackType, &key)}</option> } }).collect_view()}
                    </select>
                </label>
                <label class="filter"><span>{move || t("results.by.department")}</span>
                    <select data-testid="campaign-department" on:change=move |e| { let v = pick(event_target_value(&e)); campaign.update(|c| c.segment.department = v); }>
                        <option value="">{move || t("campaign.any")}</option>
                        {departments.into_iter().map(|k| { let (t3, key) = (t3.clone(), k.clone()); view! { <option value=k>{move || term_label(lang().get(), &t3, TermList::Department, &key)}</option> } }).collect_view()}
                    </select>
                </label>
                <label class="filter"><span>{move || t("campaign.received_from")}</span>
                    <input type="date" data-testid="campaign-from" on:change=move |e| { let v = local_time::parse(&event_target_value(&e)); campaign.update(|c| c.segment.received_from_ms = v); } />
                </label>
                <label class="filter"><span>{move || t("campaign.received_to")}</span>
                    <input type="date" data-testid="campaign-to" on:change=move |e| {
                        // The whole last day counts.
                        let v = local_time::parse(&event_target_value(&e)).map(|ms| ms + 24 * 3_600_000);
                        campaign.update(|c| c.segment.received_to_ms = v);
                    } />
                </label>
                <label class="inline check">
                    <input type="checkbox" data-testid="campaign-anonymous" on:change=move |e| { let v = event_target_checked(&e); campaign.update(|c| c.anonymous = v); } />
                    <span>{move || t("campaign.anonymous_hint")}</span>
                </label>
                <button type="submit" data-testid="campaign-start">{move || t("campaign.start")}</button>
            </form>
            {move || message.get().map(|(ok, m)| view! { <p class=if ok { "ok" } else { "problem" } role="status" data-testid="campaign-message">{m}</p> })}
        </section>
    }
}

/// What was sent when, skipped or failed: the newest sends.
#[component]
fn SendsAudit(sends: RwSignal<Vec<SendView>>) -> impl IntoView {
    view! {
        <section class="card" data-testid="survey-sends">
            <h2>{move || t("sends.title")}</h2>
            <table class="groups">
                <thead><tr>
                    <th>{move || t("sends.at")}</th><th>{move || t("sends.reason")}</th><th>{move || t("sends.about")}</th>
                    <th>{move || t("sends.to")}</th><th>{move || t("sends.status")}</th>
                </tr></thead>
                <tbody>{move || sends.get().into_iter().take(50).map(|s| {
                    let reason = format!("sends.reason.{}", s.reason.key());
                    let status = format!("sends.status.{}", s.status);
                    // A failure says what the transport said; a skip has a reason of ours.
                    let detail = s.detail.clone().map(|d| if s.status == "failed" { d } else { tr(lang().get_untracked(), &format!("sends.detail.{d}")).to_string() });
                    let about = match (&s.document_id, &s.campaign) {
                        (Some(id), _) => view! { <a href=format!("/office/records/{id}")>{id.chars().take(8).collect::<String>()}</a> }.into_any(),
                        (None, Some(c)) => view! { <span>{c.clone()}</span> }.into_any(),
                        _ => view! { <span>"—"</span> }.into_any(),
                    };
                    view! {
                        <tr data-send-status=s.status.clone()>
                            <td>{local_time::minute(s.at)}</td>
                            <td>{move || t(&reason)}</td>
                            <td>{about}</td>
                            <td>{s.channel.clone().map(|c| { let key = format!("sends.channel.{c}"); view! { {move || t(&key)} " " } })} {s.recipient.clone().unwrap_or_default()}</td>
                            <td>{move || t(&status)} {detail.clone().map(|d| view! { " · " <span class="hint">{d}</span> })}</td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table>
        </section>
    }
}
