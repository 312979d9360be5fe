//! `/admin/sla`: the SLA policy (a preset — S003 by default, S000 or
//! S002 — with its targets per priority editable), the near-due threshold,
//! pausing while waiting for the customer, and the working calendar:
//! business hours, weekend, holidays and make-up workdays for any year.

use closeloop_shared::calendar::{WEEK, format_dates, format_hours, parse_dates, parse_hours};
use closeloop_shared::sla::{Priority, SlaConfig, SlaConfigError, SlaDuration, SlaPolicy};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{AdminNav, load, save};
use crate::i18n::{Lang, lang, t, tr};

/// The units a target is written in (`none`: no deadline).
const UNITS: [&str; 4] = ["none", "calendar_hours", "business_hours", "working_days"];

fn unit(d: Option<SlaDuration>) -> (&'static str, u32) {
    match d {
        None => ("none", 0),
        Some(SlaDuration::CalendarHours(n)) => ("calendar_hours", n),
        Some(SlaDuration::BusinessHours(n)) => ("business_hours", n),
        Some(SlaDuration::WorkingDays(n)) => ("working_days", n),
    }
}

fn duration(unit: &str, n: u32) -> Option<SlaDuration> {
    match unit {
        "calendar_hours" => Some(SlaDuration::CalendarHours(n)),
        "business_hours" => Some(SlaDuration::BusinessHours(n)),
        "working_days" => Some(SlaDuration::WorkingDays(n)),
        _ => None,
    }
}

/// A refused setting in the user's language.
fn explain(l: Lang, e: &SlaConfigError) -> String {
    let key = match e {
        SlaConfigError::Name => "sla.error.name",
        SlaConfigError::MissingPriority(_) | SlaConfigError::Target(_) => "sla.error.target",
        SlaConfigError::NearDue(_) => "sla.error.near_due",
        SlaConfigError::Calendar(_) => "sla.error.calendar",
    };
    match e {
        SlaConfigError::MissingPriority(p) | SlaConfigError::Target(p) => {
            format!("{} {p}", tr(l, key))
        }
        _ => tr(l, key).to_string(),
    }
}

#[component]
pub fn AdminSlaPage() -> impl IntoView {
    let config = RwSignal::new(None::<SlaConfig>);
    let message = RwSignal::new(None::<(bool, String)>);
    // The calendar's lists as the admin types them.
    let (hours, holidays, workdays) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let language = lang();
    spawn_local(async move {
        match load::<SlaConfig>("/api/admin/sla", language.get_untracked()).await {
            Ok(c) => {
                hours.set(format_hours(&c.calendar.business_hours));
                holidays.set(format_dates(&c.calendar.holidays));
                workdays.set(format_dates(&c.calendar.workdays));
                config.set(Some(c));
            }
            Err(e) => message.set(Some((false, e))),
        }
    });
    let edit = move |f: &dyn Fn(&mut SlaConfig)| config.update(|c| c.iter_mut().for_each(f));
    let submit = move |_| {
        let l = language.get_untracked();
        let Some(mut c) = config.get_untracked() else {
            return;
        };
        let problem = |key: &str, what: String| Some((false, format!("{} {what}", tr(l, key))));
        match parse_hours(&hours.get_untracked()) {
            Ok(h) => c.calendar.business_hours = h,
            Err(_) => return message.set(problem("sla.error.hours", hours.get_untracked())),
        }
        match parse_dates(&holidays.get_untracked()) {
            Ok(d) => c.calendar.holidays = d,
            Err(bad) => return message.set(problem("sla.error.date", bad)),
        }
        match parse_dates(&workdays.get_untracked()) {
            Ok(d) => c.calendar.workdays = d,
            Err(bad) => return message.set(problem("sla.error.date", bad)),
        }
        if let Err(e) = c.validate() {
            return message.set(Some((false, explain(l, &e))));
        }
        spawn_local(async move {
            let (ok, m) = save("/api/admin/sla", &c, l).await;
            if ok {
                config.set(Some(c));
            }
            message.set(Some((ok, m)));
        });
    };
    view! {
        <AdminNav />
        <section class="card admin sla-settings" data-testid="sla-settings">
            <h2>{move || t("sla.title")}</h2>
            <p class="hint">{move || t("sla.hint")}</p>
            {move || config.get().map(|c| view! {
                <label class="filter">
                    <span>{move || t("sla.preset")}</span>
                    <select data-testid="sla-preset" on:change=move |ev| {
                        let name = event_target_value(&ev);
                        if let Some(p) = SlaPolicy::presets().into_iter().find(|p| p.name == name) {
                            edit(&|c| c.policy = p.clone());
                        }
                    }>
                        {SlaPolicy::presets().into_iter().map(|p| {
                            let selected = p.name == c.policy.name;
                            view! { <option value=p.name.clone() selected=selected>{p.name.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <table class="inbox targets">
                    <thead><tr>
                        <th scope="col">{move || t("sla.priority")}</th>
                        <th scope="col">{move || t("sla.first_response")}</th>
                        <th scope="col">{move || t("sla.resolution")}</th>
                    </tr></thead>
                    <tbody>
                        {Priority::ALL.into_iter().map(|p| {
                            let targets = c.policy.targets.get(&p).copied();
                            view! {
                                <tr data-priority=p.key()>
                                    <th scope="row">{p.key()}</th>
                                    <td><Target p first=true value=targets.and_then(|t| t.first_response) config /></td>
                                    <td><Target p first=false value=targets.and_then(|t| t.resolution) config /></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <div class="classify">
                    <label>
                        <span>{move || t("sla.near_due")}</span>
                        <input type="number" min="1" max="90" data-testid="near-due" prop:value=c.policy.near_due_percent.to_string()
                            on:change=move |ev| {
                                let v = event_target_value(&ev).parse().unwrap_or(0);
                                edit(&|c| c.policy.near_due_percent = v);
                            } />
                    </label>
                    <label class="choice">
                        <input type="checkbox" data-testid="pause-waiting" prop:checked=c.policy.pause_while_waiting
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                edit(&|c| c.policy.pause_while_waiting = on);
                            } />
                        <span>{move || t("sla.pause")}</span>
                    </label>
                </div>
                <h3>{move || t("sla.calendar")}</h3>
                <label class="stacked">
                    <span>{move || t("sla.hours")}</span>
                    <input type="text" data-testid="business-hours" prop:value=move || hours.get()
                        on:input=move |ev| hours.set(event_target_value(&ev)) />
                </label>
                <fieldset class="weekend">
                    <legend>{move || t("sla.weekend")}</legend>
                    {WEEK.into_iter().map(|d| {
                        let off = c.calendar.weekend.contains(&d);
                        view! {
                            <label class="choice">
                                <input type="checkbox" prop:checked=off data-day=d.to_string() on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    edit(&|c| {
                                        c.calendar.weekend.retain(|w| *w != d);
                                        if on { c.calendar.weekend.push(d) }
                                    });
                                } />
                                <span>{move || t(&format!("day.{d}"))}</span>
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <div class="dates">
                    <label class="stacked">
                        <span>{move || t("sla.holidays")}</span>
                        <textarea rows="8" data-testid="holidays" prop:value=move || holidays.get()
                            on:input=move |ev| holidays.set(event_target_value(&ev))></textarea>
                    </label>
                    <label class="stacked">
                        <span>{move || t("sla.workdays")}</span>
                        <textarea rows="8" data-testid="workdays" prop:value=move || workdays.get()
                            on:input=move |ev| workdays.set(event_target_value(&ev))></textarea>
                    </label>
                </div>
            })}
            {move || message.get().map(|(ok, m)| view! {
                <p role="status" data-testid="admin-message" class=if ok { "message ok" } else { "message problem" }>{m}</p>
            })}
            <button data-testid="save-sla" disabled=move || config.with(Option::is_none) on:click=submit>
                {move || t("sla.save")}
            </button>
        </section>
    }
}

/// One target: a number and its unit, or no deadline.
#[component]
fn Target(
    p: Priority,
    first: bool,
    value: Option<SlaDuration>,
    config: RwSignal<Option<SlaConfig>>,
) -> impl IntoView {
    let (u, n) = unit(value);
    let chosen = RwSignal::new((u, n));
    let write = move || {
        let (u, n) = chosen.get_untracked();
        config.update(|c| {
            if let Some(c) = c {
                let t = c
                    .policy
                    .targets
                    .entry(p)
                    .or_insert(closeloop_shared::sla::Targets {
                        first_response: None,
                        resolution: None,
                    });
                let d = duration(u, n);
                if first {
                    t.first_response = d
                } else {
                    t.resolution = d
                }
            }
        });
    };
    let which = if first { "first" } else { "resolution" };
    view! {
        <span class="target" data-target=which>
            <input type="number" min="1" aria-label=move || t("sla.amount") prop:value=n.to_string()
                disabled=move || chosen.get().0 == "none"
                on:change=move |ev| {
                    let v = event_target_value(&ev).parse().unwrap_or(0);
                    chosen.update(|c| c.1 = v);
                    write();
                } />
            <select aria-label=move || t("sla.unit") on:change=move |ev| {
                let v = event_target_value(&ev);
                if let Some(u) = UNITS.into_iter().find(|u| *u == v) {
                    chosen.update(|c| { c.0 = u; if c.1 == 0 { c.1 = 1 } });
                    write();
                }
            }>
                {UNITS.into_iter().map(|x| view! {
                    <option value=x selected=x == u>{move || t(&format!("sla.unit.{x}"))}</option>
                }).collect_view()}
            </select>
        </span>
    }
}
