//! The survey builder, `/office/surveys/edit` (S003 §4): every question
//! kind, required flags, display logic, zh-CN and en texts, a live preview
//! as the customer sees it, and saving as a new version (answers keep the
//! version they answered). Checked as it is typed with the same rule the
//! server applies; the editing steps are the shared `survey::editing`.
//!
//! Typing changes the survey without redrawing the form (the field being
//! typed in keeps its focus); adding, removing, moving a question or
//! changing its kind redraws it.

use closeloop_shared::survey::editing::{
    KINDS, add_question, change_kind, choices_text, move_question, parse_choices, rename_key,
};
use closeloop_shared::survey::{
    Choice, Condition, Question, QuestionKind, SurveyDefinition, SurveyVersions,
};
use closeloop_shared::taxonomy::Label;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::preview::Preview;
use super::{DesignNav, SURVEY, problem};
use crate::i18n::{lang, t, tr};
use crate::local_time;
use crate::session;

/// The survey being edited and what redraws what.
#[derive(Clone, Copy)]
struct Draft {
    survey: RwSignal<SurveyDefinition>,
    /// Moves on additions, removals, moves and kind changes: the form redraws.
    layout: RwSignal<u32>,
    /// Moves on every edit: the preview and the check redraw.
    touched: RwSignal<u32>,
}

impl Draft {
    /// A typed edit: the form stays as it is.
    fn edit(self, f: impl FnOnce(&mut SurveyDefinition)) {
        self.survey.update_untracked(f);
        self.touched.update(|n| *n += 1);
    }

    /// A change of the form's shape.
    fn reshape(self, f: impl FnOnce(&mut SurveyDefinition)) {
        self.edit(f);
        self.layout.update(|n| *n += 1);
    }

    fn read<T>(self, f: impl FnOnce(&SurveyDefinition) -> T) -> T {
        self.survey.with_untracked(f)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Loaded {
    Loading,
    Failed(String),
    Ready,
}

#[component]
pub fn SurveyBuilderPage() -> impl IntoView {
    let draft = Draft {
        survey: RwSignal::new(closeloop_shared::survey::defaults::default_survey()),
        layout: RwSignal::new(0),
        touched: RwSignal::new(0),
    };
    let versions = RwSignal::new(Vec::new());
    let version = RwSignal::new(0_i64);
    let loaded = RwSignal::new(Loaded::Loading);
    let message = RwSignal::new(None::<(bool, String)>);
    let language = lang();
    let apply = move |v: SurveyVersions| {
        version.set(v.version);
        versions.set(v.versions);
        draft.reshape(|d| *d = v.definition);
    };
    spawn_local(async move {
        let l = language.get_untracked();
        loaded.set(
            match session::call("GET", &format!("/api/surveys/{SURVEY}"), None).await {
                Ok((200, body)) => match serde_json::from_str::<SurveyVersions>(&body) {
                    Ok(v) => {
                        apply(v);
                        Loaded::Ready
                    }
                    Err(_) => Loaded::Failed(tr(l, "inbox.bad_answer").into()),
                },
                Ok((status, body)) => Loaded::Failed(problem(l, status, &body)),
                Err(()) => Loaded::Failed(tr(l, "design.offline").into()),
            },
        );
    });
    let check = move || {
        draft.touched.get();
        draft.read(SurveyDefinition::validate)
    };
    let save = move |_| {
        let l = language.get_untracked();
        let Ok(body) = serde_json::to_string(&draft.survey.get_untracked()) else {
            return;
        };
        message.set(Some((true, tr(l, "design.saving").into())));
        spawn_local(async move {
            let path = format!("/api/surveys/{SURVEY}");
            message.set(Some(match session::call("PUT", &path, Some(body)).await {
                Ok((status @ (200 | 201), body)) => {
                    match serde_json::from_str::<SurveyVersions>(&body) {
                        Ok(v) => {
                            let key = if status == 201 {
                                "design.saved"
                            } else {
                                "design.unchanged"
                            };
                            let text = format!("{} {}", tr(l, key), v.version);
                            apply(v);
                            (true, text)
                        }
                        Err(_) => (false, tr(l, "inbox.bad_answer").into()),
                    }
                }
                Ok((status, body)) => (false, problem(l, status, &body)),
                Err(()) => (false, tr(l, "design.offline").into()),
            }));
        });
    };
    view! {
        <DesignNav />
        <section class="card survey-builder" data-testid="survey-builder">
            <div class="inbox-head">
                <h2>{move || t("design.title")} " · " {move || format!("{} {}", t("design.version"), version.get())}</h2>
            </div>
            <p class="hint">{move || t("design.hint")}</p>
            {move || match loaded.get() {
                Loaded::Loading => view! { <p class="loading">{move || t("design.loading")}</p> }.into_any(),
                Loaded::Failed(m) => view! { <p class="problem" role="alert">{m}</p> }.into_any(),
                Loaded::Ready => view! {
                    <div class="builder-columns">
                        <div class="builder-form">
                            {move || { draft.layout.get(); view! { <SurveyTexts draft /> } }}
                            {move || { draft.layout.get(); questions(draft) }}
                            <div class="add-question" role="group" aria-label=move || t("design.add")>
                                <span>{move || t("design.add")}</span>
                                {KINDS.map(|k| view! {
                                    <button type="button" class="secondary" data-add=k
                                        on:click=move |_| draft.reshape(|d| { add_question(d, k); })>
                                        {move || t(&format!("design.kind.{k}"))}
                                    </button>
                                })}
                            </div>
                            {move || match check() {
                                Ok(()) => view! { <p class="ok" data-testid="design-check">{move || t("design.valid")}</p> }.into_any(),
                                Err(e) => {
                                    let subject = e.subject().map(|s| format!(" ({s})")).unwrap_or_default();
                                    let key = format!("design.error.{}", e.code());
                                    view! { <p class="problem" role="alert" data-testid="design-check">{move || t(&key)} {subject}</p> }.into_any()
                                }
                            }}
                            <div class="actions">
                                <button type="button" data-testid="design-save" disabled=move || check().is_err() on:click=save>
                                    {move || t("design.save")}
                                </button>
                                {move || message.get().map(|(ok, m)| view! {
                                    <span class=if ok { "ok" } else { "problem" } role="status" data-testid="design-message">{m}</span>
                                })}
                            </div>
                            <details class="versions">
                                <summary>{move || t("design.versions")}</summary>
                                <ul data-testid="design-versions">
                                    {move || versions.get().into_iter().map(|v| view! {
                                        <li>{format!("{} {}", tr(lang().get(), "design.version"), v.version)} " · " {local_time::minute(v.saved_at)} " · " {v.saved_by}</li>
                                    }).collect_view()}
                                </ul>
                            </details>
                        </div>
                        <Preview survey=draft.survey touched=draft.touched />
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

/// A zh/en pair of text boxes for the label `at` finds.
fn label_inputs(
    draft: Draft,
    name: String,
    at: impl Fn(&mut SurveyDefinition) -> Option<&mut Label> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let mut current = Label {
        zh: String::new(),
        en: String::new(),
    };
    draft.survey.update_untracked(|d| {
        if let Some(l) = at(d) {
            current = l.clone();
        }
    });
    let zh_id = format!("{name}-zh");
    let en_id = format!("{name}-en");
    view! {
        <span class="label-pair">
            <input type="text" lang="zh-CN" data-testid=zh_id placeholder="中文" prop:value=current.zh
                on:input=move |e| { let v = event_target_value(&e); draft.edit(|d| if let Some(l) = at(d) { l.zh = v; }); } />
            <input type="text" lang="en" data-testid=en_id placeholder="English" prop:value=current.en
                on:input=move |e| { let v = event_target_value(&e); draft.edit(|d| if let Some(l) = at(d) { l.en = v; }); } />
        </span>
    }
}

#[component]
fn SurveyTexts(draft: Draft) -> impl IntoView {
    view! {
        <fieldset class="survey-texts">
            <label><span>{move || t("design.survey_title")}</span>{label_inputs(draft, "title".into(), |d| Some(&mut d.title))}</label>
            <label><span>{move || t("design.intro")}</span>{label_inputs(draft, "intro".into(), |d| Some(&mut d.intro))}</label>
            <label><span>{move || t("design.thanks")}</span>{label_inputs(draft, "thanks".into(), |d| Some(&mut d.thanks))}</label>
        </fieldset>
    }
}

fn questions(draft: Draft) -> impl IntoView {
    let count = draft.read(|d| d.questions.len());
    (0..count)
        .map(|i| view! { <QuestionEditor draft i /> })
        .collect_view()
}

fn nth(d: &mut SurveyDefinition, i: usize) -> Option<&mut Question> {
    d.questions.get_mut(i)
}

fn ends(kind: &mut QuestionKind) -> Option<(&mut Label, &mut Label)> {
    match kind {
        QuestionKind::Csat { low, high }
        | QuestionKind::Nps { low, high }
        | QuestionKind::Matrix { low, high, .. } => Some((low, high)),
        _ => None,
    }
}

fn choices_mut(kind: &mut QuestionKind) -> Option<&mut Vec<Choice>> {
    match kind {
        QuestionKind::Single { options } | QuestionKind::Multiple { options, .. } => Some(options),
        QuestionKind::Matrix { rows, .. } => Some(rows),
        _ => None,
    }
}

#[component]
fn QuestionEditor(draft: Draft, i: usize) -> impl IntoView {
    let Some(q) = draft.read(|d| d.questions.get(i).cloned()) else {
        return ().into_any();
    };
    let kind = q.kind.key();
    let id = q.key.clone();
    let scored = q.kind.scale().is_some();
    // How many choices (empty: any number), or how many characters.
    let limit = match &q.kind {
        QuestionKind::Multiple { max, .. } => Some(("design.max_choices", *max)),
        QuestionKind::Text { max_chars } => Some(("design.max_chars", Some(*max_chars))),
        _ => None,
    };
    let choice_text = match &q.kind {
        QuestionKind::Single { options } | QuestionKind::Multiple { options, .. } => {
            Some(choices_text(options))
        }
        QuestionKind::Matrix { rows, .. } => Some(choices_text(rows)),
        _ => None,
    };
    view! {
        <fieldset class="question-editor" data-editor=id.clone()>
            <legend>{format!("{}. ", i + 1)} {move || t(&format!("design.kind.{kind}"))}</legend>
            <div class="row">
                <label class="inline"><span>{move || t("design.key")}</span>
                    <input type="text" class="key" data-testid=format!("key-{i}") prop:value=q.key.clone()
                        on:change=move |e| { let v = event_target_value(&e); draft.reshape(|d| rename_key(d, i, &v)); } />
                </label>
                <label class="inline"><span>{move || t("design.kind")}</span>
                    <select data-testid=format!("kind-{i}") on:change=move |e| { let v = event_target_value(&e); draft.reshape(|d| if let Some(q) = nth(d, i) { change_kind(q, &v); }); }>
                        {KINDS.map(|k| view! { <option value=k selected=k == kind>{move || t(&format!("design.kind.{k}"))}</option> })}
                    </select>
                </label>
                <label class="inline check"><input type="checkbox" data-testid=format!("required-{i}") prop:checked=q.required
                    on:change=move |e| { let v = event_target_checked(&e); draft.edit(|d| if let Some(q) = nth(d, i) { q.required = v; }); } />
                    <span>{move || t("design.required")}</span></label>
                <span class="moves">
                    <button type="button" class="secondary" aria-label=move || t("design.up") on:click=move |_| draft.reshape(|d| { move_question(d, i, -1); })>"↑"</button>
                    <button type="button" class="secondary" aria-label=move || t("design.down") on:click=move |_| draft.reshape(|d| { move_question(d, i, 1); })>"↓"</button>
                    <button type="button" class="secondary danger" data-testid=format!("remove-{i}") aria-label=move || t("design.remove")
                        on:click=move |_| draft.reshape(|d| { if i < d.questions.len() { d.questions.remove(i); } })>"✕"</button>
                </span>
            </div>
            <label><span>{move || t("design.question")}</span>{label_inputs(draft, format!("text-{i}"), move |d| nth(d, i).map(|q| &mut q.text))}</label>
            {scored.then(|| view! {
                <label><span>{move || t("design.low")}</span>{label_inputs(draft, format!("low-{i}"), move |d| nth(d, i).and_then(|q| ends(&mut q.kind)).map(|e| e.0))}</label>
                <label><span>{move || t("design.high")}</span>{label_inputs(draft, format!("high-{i}"), move |d| nth(d, i).and_then(|q| ends(&mut q.kind)).map(|e| e.1))}</label>
            })}
            {choice_text.map(|text| view! {
                <label><span>{move || t(if kind == "matrix" { "design.rows" } else { "design.options" })}</span>
                    <textarea rows="4" data-testid=format!("options-{i}") prop:value=text
                        on:input=move |e| {
                            let v = event_target_value(&e);
                            draft.edit(|d| if let Some(list) = nth(d, i).and_then(|q| choices_mut(&mut q.kind)) {
                                *list = parse_choices(&v, list, if kind == "matrix" { "r" } else { "o" });
                            });
                        }></textarea>
                    <span class="hint">{move || t("design.options_hint")}</span>
                </label>
            })}
            {limit.map(|(key, value)| view! {
                <label class="inline"><span>{move || t(key)}</span>
                    <input type="number" min="1" inputmode="numeric" class="short" data-testid=format!("limit-{i}")
                        prop:value=value.map(|n| n.to_string()).unwrap_or_default()
                        on:input=move |e| {
                            let v = event_target_value(&e);
                            // Not a number: 0, which the rule refuses with its reason.
                            let n = (!v.trim().is_empty()).then(|| v.trim().parse().unwrap_or(0));
                            draft.edit(|d| match nth(d, i).map(|q| &mut q.kind) {
                                Some(QuestionKind::Multiple { max, .. }) => *max = n,
                                Some(QuestionKind::Text { max_chars }) => *max_chars = n.unwrap_or(0),
                                _ => {}
                            });
                        } />
                </label>
            })}
            {(i > 0).then(|| view! { <ConditionEditor draft i q=q.clone() /> })}
        </fieldset>
    }
    .into_any()
}

/// "Show only when …": an earlier question, how it is compared, the value.
#[component]
fn ConditionEditor(draft: Draft, i: usize, q: Question) -> impl IntoView {
    let earlier: Vec<(String, bool)> = draft.read(|d| {
        d.questions[..i.min(d.questions.len())]
            .iter()
            .filter(|e| {
                matches!(e.kind, QuestionKind::Csat { .. } | QuestionKind::Nps { .. })
                    || !e.kind.options().is_empty()
            })
            .map(|e| (e.key.clone(), e.kind.scale().is_some()))
            .collect()
    });
    let (target, op, value) = match &q.show_if {
        None => (String::new(), "le", String::new()),
        Some(Condition::ScoreAtMost { question, score }) => {
            (question.clone(), "le", score.to_string())
        }
        Some(Condition::ScoreAtLeast { question, score }) => {
            (question.clone(), "ge", score.to_string())
        }
        Some(Condition::Chose { question, option }) => (question.clone(), "is", option.clone()),
    };
    let target = RwSignal::new(target);
    let op = RwSignal::new(op.to_string());
    let value = RwSignal::new(value);
    let write = move || {
        let (question, op, value) = (
            target.get_untracked(),
            op.get_untracked(),
            value.get_untracked(),
        );
        let condition = (!question.is_empty()).then(|| {
            // Not a number: 255, which the rule refuses with its reason.
            let score = value.trim().parse().unwrap_or(u8::MAX);
            match op.as_str() {
                "ge" => Condition::ScoreAtLeast { question, score },
                "is" => Condition::Chose {
                    question,
                    option: value.trim().to_string(),
                },
                _ => Condition::ScoreAtMost { question, score },
            }
        });
        draft.edit(|d| {
            if let Some(q) = d.questions.get_mut(i) {
                q.show_if = condition;
            }
        });
    };
    view! {
        <div class="row condition">
            <span>{move || t("design.show_if")}</span>
            <select data-testid=format!("if-question-{i}") on:change=move |e| { target.set(event_target_value(&e)); write(); }>
                <option value="" selected=target.get_untracked().is_empty()>{move || t("design.always")}</option>
                {earlier.into_iter().map(|(key, _)| {
                    let selected = key == target.get_untracked();
                    view! { <option value=key.clone() selected=selected>{key.clone()}</option> }
                }).collect_view()}
            </select>
            <select data-testid=format!("if-op-{i}") on:change=move |e| { op.set(event_target_value(&e)); write(); }>
                <option value="le" selected=op.get_untracked() == "le">"≤"</option>
                <option value="ge" selected=op.get_untracked() == "ge">"≥"</option>
                <option value="is" selected=op.get_untracked() == "is">{move || t("design.chose")}</option>
            </select>
            <input type="text" class="short" data-testid=format!("if-value-{i}") prop:value=value.get_untracked()
                on:input=move |e| { value.set(event_target_value(&e)); write(); } />
        </div>
    }
}
