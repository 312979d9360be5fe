//! The builder's preview: the survey as the customer's phone shows it, in
//! either language, with each question's display logic said in words.

use closeloop_shared::survey::{Condition, Question, QuestionKind, SurveyDefinition};
use closeloop_shared::taxonomy::Label;
use leptos::prelude::*;

use crate::i18n::{Lang, t, tr};

#[component]
pub fn Preview(survey: RwSignal<SurveyDefinition>, touched: RwSignal<u32>) -> impl IntoView {
    let shown = RwSignal::new(Lang::Zh);
    view! {
        <aside class="survey-preview" data-testid="survey-preview" aria-label=move || t("design.preview")>
            <div class="inbox-head">
                <h3>{move || t("design.preview")}</h3>
                <span role="group">
                    <button type="button" class="secondary" data-testid="preview-zh" aria-pressed=move || (shown.get() == Lang::Zh).to_string() on:click=move |_| shown.set(Lang::Zh)>"中文"</button>
                    <button type="button" class="secondary" data-testid="preview-en" aria-pressed=move || (shown.get() == Lang::En).to_string() on:click=move |_| shown.set(Lang::En)>"English"</button>
                </span>
            </div>
            <div class="phone" lang=move || if shown.get() == Lang::En { "en" } else { "zh-CN" }>
                {move || {
                    touched.get();
                    let l = shown.get();
                    survey.with_untracked(|s| page(s, l))
                }}
            </div>
        </aside>
    }
}

fn text(label: &Label, l: Lang) -> String {
    if l == Lang::En {
        label.en.clone()
    } else {
        label.zh.clone()
    }
}

fn page(s: &SurveyDefinition, l: Lang) -> AnyView {
    let questions: Vec<AnyView> = s
        .questions
        .iter()
        .enumerate()
        .map(|(n, q)| question(s, q, n, l))
        .collect();
    view! {
        <h4>{text(&s.title, l)}</h4>
        <p>{text(&s.intro, l)}</p>
        <ol class="preview-questions">{questions}</ol>
        <p class="hint">{tr(l, "design.preview_thanks")} " " {text(&s.thanks, l)}</p>
    }
    .into_any()
}

fn condition_words(s: &SurveyDefinition, c: &Condition, l: Lang) -> String {
    let number = |key: &str| {
        s.questions
            .iter()
            .position(|q| q.key == key)
            .map_or(key.to_string(), |n| format!("{}", n + 1))
    };
    let shown_when = tr(l, "design.preview_when");
    match c {
        Condition::ScoreAtMost { question, score } => {
            format!("{shown_when} {} ≤ {score}", number(question))
        }
        Condition::ScoreAtLeast { question, score } => {
            format!("{shown_when} {} ≥ {score}", number(question))
        }
        Condition::Chose { question, option } => {
            let chosen = s
                .question(question)
                .and_then(|q| q.kind.options().iter().find(|o| &o.key == option))
                .map_or(option.clone(), |o| text(&o.text, l));
            format!("{shown_when} {} = {chosen}", number(question))
        }
    }
}

fn scale(from: u8, to: u8, low: &Label, high: &Label, l: Lang) -> AnyView {
    view! {
        <div class="scale">
            <span class="scores">{(from..=to).map(|n| view! { <span class="score">{n}</span> }).collect_view()}</span>
            <span class="ends"><span>{text(low, l)}</span><span>{text(high, l)}</span></span>
        </div>
    }
    .into_any()
}

fn question(s: &SurveyDefinition, q: &Question, n: usize, l: Lang) -> AnyView {
    let control = match &q.kind {
        QuestionKind::Csat { low, high } => scale(1, 5, low, high, l),
        QuestionKind::Nps { low, high } => scale(0, 10, low, high, l),
        QuestionKind::Single { options } | QuestionKind::Multiple { options, .. } => {
            let mark = if matches!(q.kind, QuestionKind::Single { .. }) { "○" } else { "□" };
            view! { <ul class="choices">{options.iter().map(|o| view! { <li>{mark} " " {text(&o.text, l)}</li> }).collect_view()}</ul> }.into_any()
        }
        QuestionKind::Matrix { rows, low, high } => view! {
            <table class="matrix">
                <thead><tr><th></th>{(1..=5).map(|n| view! { <th>{n}</th> }).collect_view()}</tr></thead>
                <tbody>{rows.iter().map(|r| view! { <tr><th>{text(&r.text, l)}</th>{(1..=5).map(|_| view! { <td>"○"</td> }).collect_view()}</tr> }).collect_view()}</tbody>
            </table>
            <p class="hint">"1 = " {text(low, l)} " · 5 = " {text(high, l)}</p>
        }
        .into_any(),
        QuestionKind::Text { .. } => view! { <div class="text-box"></div> }.into_any(),
    };
    let logic = q.show_if.as_ref().map(|c| condition_words(s, c, l));
    view! {
        <li data-preview=q.key.clone()>
            <p class="question-text">{format!("{}. ", n + 1)} {text(&q.text, l)}
                {q.required.then(|| view! { <span class="required" title=tr(l, "design.required")>" *"</span> })}
            </p>
            {logic.map(|w| view! { <p class="hint logic">{w}</p> })}
            {control}
        </li>
    }
    .into_any()
}
