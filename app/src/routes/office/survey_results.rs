//! Survey results at head office, `/office/surveys` (S003 §4, S001's
//! ≥ 90 % satisfied): CSAT and NPS overall, by period or by the department,
//! channel or type of the records answered about, against the target line;
//! each question's distribution and the customers' own words.

use closeloop_shared::survey::results::{QuestionResult, SurveyResults};
use closeloop_shared::taxonomy::{Taxonomy, TermList};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::i18n::{Lang, channel_label, lang, t, term_label};
use crate::repo::Repo;
use crate::session;

/// Groupings offered, as `?by=` keys.
const GROUPINGS: [&str; 5] = ["quarter", "month", "department", "channel", "type"];

#[derive(Debug, Clone, PartialEq)]
enum Loaded {
    Loading,
    Failed(&'static str),
    Results(Box<SurveyResults>),
}

fn percent(share: Option<f64>) -> String {
    share.map_or("—".into(), |s| format!("{:.0} %", s * 100.0))
}

fn nps_text(score: Option<f64>) -> String {
    score.map_or("—".into(), |s| format!("{s:+.0}"))
}

/// A group's name as people read it.
fn group_label(lang: Lang, taxonomy: &Taxonomy, by: &str, key: &str) -> String {
    match by {
        "channel" => channel_label(lang, taxonomy, key).unwrap_or_else(|| key.to_string()),
        "department" => term_label(lang, taxonomy, TermList::Department, key),
        "type" => term_label(lang, taxonomy, TermList::FeedbackType, key),
        _ => key.to_string(),
    }
}

/// A share as a bar with the target line across it (`<progress>`: the
/// page's policy allows no inline styles; the line sits at 90 % by CSS).
fn share_bar(share: Option<f64>, target: f64) -> impl IntoView {
    let below = share.is_some_and(|s| s < target);
    view! {
        <span class="share-bar">
            <progress class=if below { "below" } else { "met" } max="1" value=share.unwrap_or(0.0)></progress>
            <span class="target" aria-hidden="true"></span>
        </span>
    }
}

#[component]
pub fn SurveyResultsPage() -> impl IntoView {
    let by = RwSignal::new("quarter".to_string());
    let loaded = RwSignal::new(Loaded::Loading);
    Effect::new(move |_| {
        let by = by.get();
        loaded.set(Loaded::Loading);
        spawn_local(async move {
            let path = format!("/api/surveys/satisfaction/results?by={by}");
            loaded.set(match session::call("GET", &path, None).await {
                Ok((200, body)) => serde_json::from_str(&body)
                    .map_or(Loaded::Failed("results.unavailable"), |r| {
                        Loaded::Results(Box::new(r))
                    }),
                Ok((401 | 403, _)) => Loaded::Failed("results.forbidden"),
                Ok(_) => Loaded::Failed("results.unavailable"),
                Err(()) => Loaded::Failed("results.offline"),
            });
        });
    });
    let taxonomy = expect_context::<Repo>().taxonomy();
    view! {
        <super::survey_design::DesignNav />
        <section class="card survey-results" data-testid="survey-results">
            <div class="inbox-head">
                <h2>{move || t("results.title")}</h2>
                <span>
                    <a class="button secondary" href="/api/surveys/satisfaction/answers.csv" download data-testid="results-csv">"CSV"</a>
                    " "
                    <a class="button secondary" href="/api/surveys/satisfaction/answers.xlsx" download data-testid="results-xlsx">"XLSX"</a>
                </span>
            </div>
            <label class="inline">
                <span>{move || t("results.by")}</span>
                <select data-testid="results-by" on:change=move |e| by.set(event_target_value(&e))>
                    {GROUPINGS.map(|g| view! { <option value=g selected=move || by.get() == g>{move || t(&format!("results.by.{g}"))}</option> })}
                </select>
            </label>
            {move || match loaded.get() {
                Loaded::Loading => view! { <p class="loading">{move || t("results.loading")}</p> }.into_any(),
                Loaded::Failed(k) => view! { <p class="problem" role="alert">{move || t(k)}</p> }.into_any(),
                Loaded::Results(r) => {
                    let taxonomy = taxonomy.clone();
                    let by = by.get_untracked();
                    view! { <Results r=*r taxonomy by /> }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn Results(r: SurveyResults, taxonomy: std::sync::Arc<Taxonomy>, by: String) -> impl IntoView {
    let target = r.target;
    let (csat, nps) = (r.csat, r.nps);
    let heading = {
        let key = format!("results.by.{by}");
        move || t(&key)
    };
    view! {
        <div class="headline">
            <div class="figure" data-testid="results-csat">
                <strong>{percent(csat.share())}</strong>
                <span>{move || t("results.csat")} " (" {csat.satisfied} "/" {csat.answered} ")"</span>
                {share_bar(csat.share(), target)}
                <span class="hint">{move || t("results.target")} " " {percent(Some(target))}</span>
            </div>
            <div class="figure" data-testid="results-nps">
                <strong>{nps_text(nps.score())}</strong>
                <span>"NPS"</span>
            </div>
            <div class="figure">
                <strong>{r.answers}</strong>
                <span>{move || t("results.answers")}</span>
            </div>
        </div>
        <table class="groups" data-testid="results-groups">
            <thead><tr>
                <th>{heading}</th>
                <th>{move || t("results.answers")}</th>
                <th>{move || t("results.csat")}</th>
                <th>"NPS"</th>
            </tr></thead>
            <tbody>
                {r.groups.into_iter().map(|g| {
                    let name = {
                        let (taxonomy, by, key) = (taxonomy.clone(), by.clone(), g.group.clone());
                        move || group_label(lang().get(), &taxonomy, &by, &key)
                    };
                    view! {
                        <tr data-group=g.group.clone()>
                            <td>{name}</td>
                            <td>{g.answers}</td>
                            <td>{percent(g.csat.share())} {share_bar(g.csat.share(), target)}</td>
                            <td>{nps_text(g.nps.score())}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {r.questions.into_iter().map(|q| view! { <Question q /> }).collect_view()}
    }
}

/// One question's distribution, or its texts.
#[component]
fn Question(q: QuestionResult) -> impl IntoView {
    let text = q.text.clone();
    let most = q.counts.values().copied().max().unwrap_or(0).max(1);
    let scale: Vec<String> = match q.kind.as_str() {
        "csat" => (1..=5).map(|n: u8| n.to_string()).collect(),
        "nps" => (0..=10).map(|n: u8| n.to_string()).collect(),
        _ => q.counts.keys().cloned().collect(),
    };
    view! {
        <section class="question-result" data-question=q.key.clone()>
            <h3>{move || if lang().get() == Lang::En { text.en.clone() } else { text.zh.clone() }}
                <span class="hint">" · " {q.answered} " " {move || t("results.answers")}</span>
            </h3>
            {(q.kind == "text").then(|| view! {
                <ul class="texts">{q.texts.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}</ul>
            })}
            {(q.kind != "text").then(|| view! {
                <dl class="bars">
                    {scale.into_iter().map(|key| {
                        let n = q.counts.get(&key).copied().unwrap_or(0);
                        view! {
                            <dt>{key}</dt>
                            <dd><progress max=most value=n></progress>" " {n}</dd>
                        }
                    }).collect_view()}
                </dl>
            })}
        </section>
    }
}
