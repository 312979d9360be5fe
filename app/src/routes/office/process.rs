//! Processing a record (S000 §3, S001 §3 and §5): what to do for its
//! nature, the root cause by problem class, the solution, and the
//! execution plan with owner, deadline and goal.

use closeloop_shared::FeedbackRecord;
use closeloop_shared::authorize::Write;
use closeloop_shared::record::{self, ExecutionPlan};
use closeloop_shared::sync::DocumentId;
use closeloop_shared::taxonomy::TermList;
use leptos::prelude::*;

use super::work::{Drafts, run};
use crate::components::choices;
use crate::i18n::{lang, t, tr};
use crate::local_time;
use crate::repo::Repo;

/// Days until a new plan's deadline, unless the user sets one.
const PLAN_DAYS: i64 = 7;

#[component]
pub fn ProcessPanel(id: DocumentId, r: FeedbackRecord, drafts: Drafts) -> impl IntoView {
    let repo = expect_context::<Repo>();
    let may = repo.may(&id, Write::Process("plan"));
    let classes = choices::terms(repo.taxonomy().list(TermList::ProblemClass));
    // Each input shows what the record holds until the user types.
    let shown = |key: &'static str, current: String| {
        let draft = drafts.text(key);
        Signal::derive(move || {
            let v = draft.get();
            if v.is_empty() { current.clone() } else { v }
        })
    };
    let cause = r.root_cause.clone();
    let class = shown(
        "cause.class",
        cause.as_ref().map(|c| c.class.clone()).unwrap_or_default(),
    );
    let cause_text = shown("cause.text", cause.map(|c| c.text).unwrap_or_default());
    let solution = shown("solution", r.solution.clone());
    let plan = r.plan.clone();
    let owner = shown(
        "plan.owner",
        plan.as_ref()
            .map(|p| p.owner.clone())
            .or_else(|| r.owner.clone())
            .unwrap_or_default(),
    );
    let deadline = shown(
        "plan.deadline",
        local_time::input_minute(
            plan.as_ref()
                .map_or(js_sys::Date::now() as i64 + PLAN_DAYS * 86_400_000, |p| {
                    p.deadline_ms
                }),
        ),
    );
    let goal = shown("plan.goal", plan.map(|p| p.goal).unwrap_or_default());
    let guidance = r.nature.clone().map(|n| format!("guide.{n}"));
    let input = move |key: &'static str| {
        let draft = drafts.text(key);
        move |ev| draft.set(event_target_value(&ev))
    };
    let taxonomy = repo.taxonomy();
    view! {
        <section class="card process" data-testid="process">
            <h3>{move || t("process.title")}</h3>
            {guidance.map(|key| view! {
                <p class="guidance" data-testid="guidance">{move || t(&key)}</p>
            })}
            <fieldset disabled=!may>
                <label class="filter">
                    <span>{move || t("process.class")}</span>
                    <select data-testid="cause-class" prop:value=move || class.get() on:change=input("cause.class")>
                        <option value="" disabled=true>{move || t("work.choose")}</option>
                        {classes.into_iter().map(choices::option).collect_view()}
                    </select>
                </label>
                <textarea rows="2" data-testid="cause-text" aria-label=move || t("process.cause")
                    placeholder=move || t("process.cause")
                    prop:value=move || cause_text.get() on:input=input("cause.text")></textarea>
                <button class="secondary" data-testid="save-cause" on:click=move |_| {
                    let (c, text, taxonomy) = (class.get_untracked(), cause_text.get_untracked(), taxonomy.clone());
                    run(id, drafts, move |d, _, now| record::set_root_cause(d, &taxonomy, &c, &text, now), || {});
                }>{move || t("process.save_cause")}</button>

                <label class="stacked">
                    <span>{move || t("process.solution")}</span>
                    <textarea rows="3" data-testid="solution-text" prop:value=move || solution.get()
                        on:input=input("solution")></textarea>
                </label>
                <button class="secondary" data-testid="save-solution" on:click=move |_| {
                    let text = solution.get_untracked();
                    run(id, drafts, move |d, _, now| record::edit_solution(d, &text, now), || {});
                }>{move || t("process.save_solution")}</button>

                <h4>{move || t("process.plan")}</h4>
                <div class="plan">
                    <label class="filter">
                        <span>{move || t("process.plan_owner")}</span>
                        <input type="text" data-testid="plan-owner" prop:value=move || owner.get() on:input=input("plan.owner") />
                    </label>
                    <label class="filter">
                        <span>{move || t("process.plan_deadline")}</span>
                        <input type="datetime-local" data-testid="plan-deadline" prop:value=move || deadline.get()
                            on:input=input("plan.deadline") />
                    </label>
                    <label class="stacked">
                        <span>{move || t("process.plan_goal")}</span>
                        <input type="text" data-testid="plan-goal" prop:value=move || goal.get() on:input=input("plan.goal") />
                    </label>
                </div>
                <button class="secondary" data-testid="save-plan" on:click=move |_| {
                    let l = lang().get_untracked();
                    let Some(deadline_ms) = local_time::parse(&deadline.get_untracked()) else {
                        drafts.report(false, tr(l, "process.bad_deadline").to_string());
                        return;
                    };
                    let plan = ExecutionPlan {
                        owner: owner.get_untracked(),
                        deadline_ms,
                        goal: goal.get_untracked(),
                    };
                    run(id, drafts, move |d, _, now| record::set_plan(d, &plan, now), || {});
                }>{move || t("process.save_plan")}</button>
            </fieldset>
        </section>
    }
}
