//! A survey's results: per question, how often each score or option was
//! given (and the free texts, newest first); CSAT and NPS overall and per
//! group (a period, or the department, channel or type of the records the
//! answers are about), against S001's target of 90 % satisfied. Answers of
//! every version count, matched to the newest version's questions by key.

use std::collections::BTreeMap;

use super::answers::{Answer, Answers};
use super::score::{Csat, Nps, SATISFIED_TARGET};
use super::{QuestionKind, SurveyDefinition};
use crate::taxonomy::Label;

/// Free-text answers a question lists at most.
pub const MAX_TEXTS: usize = 50;

/// One stored answer as results read it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnsweredSurvey {
    pub answered_at_ms: i64,
    /// The group it counts in (`None`: not in any, e.g. no linked record).
    pub group: Option<String>,
    pub answers: Answers,
}

/// One question's results.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QuestionResult {
    pub key: String,
    pub text: Label,
    /// `csat`, `nps`, `single`, `multiple`, `matrix` or `text`.
    pub kind: String,
    pub answered: u64,
    /// Times each score (`"4"`) or option key was given; a matrix's
    /// scores per row as `"row:4"`.
    pub counts: BTreeMap<String, u64>,
    #[serde(default)]
    pub csat: Option<Csat>,
    #[serde(default)]
    pub nps: Option<Nps>,
    /// Free texts, newest first.
    #[serde(default)]
    pub texts: Vec<String>,
}

/// CSAT and NPS within one group.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroupResult {
    pub group: String,
    pub answers: u64,
    pub csat: Csat,
    pub nps: Nps,
}

/// A survey's results over some answers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SurveyResults {
    pub answers: u64,
    /// The headline: the survey's first CSAT question.
    pub csat: Csat,
    /// Every NPS question's scores.
    pub nps: Nps,
    /// The share satisfied S001 asks for.
    pub target: f64,
    pub questions: Vec<QuestionResult>,
    /// Per group, in the groups' order (periods sort by time).
    pub groups: Vec<GroupResult>,
}

/// The first CSAT question's score in some answers.
fn headline(survey: &SurveyDefinition, answers: &Answers) -> Option<u8> {
    let q = survey
        .questions
        .iter()
        .find(|q| matches!(q.kind, QuestionKind::Csat { .. }))?;
    match answers.get(&q.key) {
        Some(Answer::Score(s)) => Some(*s),
        _ => None,
    }
}

/// The results of `answered` (any order) for `survey`, its newest version.
pub fn results(survey: &SurveyDefinition, answered: &[AnsweredSurvey]) -> SurveyResults {
    let mut newest_first: Vec<&AnsweredSurvey> = answered.iter().collect();
    newest_first.sort_by_key(|a| std::cmp::Reverse(a.answered_at_ms));
    let questions = survey
        .questions
        .iter()
        .map(|q| {
            let mut r = QuestionResult {
                key: q.key.clone(),
                text: q.text.clone(),
                kind: q.kind.key().into(),
                answered: 0,
                counts: BTreeMap::new(),
                csat: None,
                nps: None,
                texts: Vec::new(),
            };
            let mut scores = Vec::new();
            for a in &newest_first {
                let Some(given) = a.answers.get(&q.key) else {
                    continue;
                };
                r.answered += 1;
                let mut count = |key: String| *r.counts.entry(key).or_insert(0) += 1;
                match given {
                    Answer::Score(s) => {
                        scores.push(*s);
                        count(s.to_string());
                    }
                    Answer::Text(t) if matches!(q.kind, QuestionKind::Text { .. }) => {
                        if r.texts.len() < MAX_TEXTS {
                            r.texts.push(t.clone());
                        }
                    }
                    Answer::Text(option) => count(option.clone()),
                    Answer::Choices(options) => options.iter().for_each(|o| count(o.clone())),
                    Answer::Rows(rows) => {
                        rows.iter().for_each(|(row, s)| count(format!("{row}:{s}")))
                    }
                }
            }
            match q.kind {
                QuestionKind::Csat { .. } => r.csat = Some(Csat::of(scores)),
                QuestionKind::Nps { .. } => r.nps = Some(Nps::of(scores)),
                _ => {}
            }
            r
        })
        .collect();
    let mut groups: BTreeMap<&str, (u64, Vec<u8>, Vec<u8>)> = BTreeMap::new();
    for a in answered {
        let Some(group) = a.group.as_deref() else {
            continue;
        };
        let g = groups.entry(group).or_default();
        g.0 += 1;
        g.1.extend(headline(survey, &a.answers));
        g.2.extend(survey.nps_scores(&a.answers));
    }
    SurveyResults {
        answers: answered.len() as u64,
        csat: Csat::of(answered.iter().filter_map(|a| headline(survey, &a.answers))),
        nps: Nps::of(
            answered
                .iter()
                .flat_map(|a| survey.nps_scores(&a.answers).collect::<Vec<_>>()),
        ),
        target: SATISFIED_TARGET,
        questions,
        groups: groups
            .into_iter()
            .map(|(group, (answers, csat, nps))| GroupResult {
                group: group.to_string(),
                answers,
                csat: Csat::of(csat),
                nps: Nps::of(nps),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::defaults::default_survey;
    use super::*;

    fn answer(at: i64, group: &str, overall: u8, recommend: u8, comment: &str) -> AnsweredSurvey {
        let mut answers: Answers = [("overall", overall), ("speed", 4), ("recommend", recommend)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Answer::Score(v)))
            .collect();
        if !comment.is_empty() {
            answers.insert("comment".into(), Answer::Text(comment.into()));
        }
        AnsweredSurvey {
            answered_at_ms: at,
            group: Some(group.into()),
            answers,
        }
    }

    #[test]
    fn results_count_each_answer_and_score_overall_and_per_group() {
        let s = default_survey();
        let given = [
            answer(1, "2026-Q3", 5, 10, "很好"),
            answer(3, "2026-Q4", 2, 3, "太慢"),
            answer(2, "2026-Q4", 4, 9, ""),
            answer(4, "2026-Q4", 5, 7, "还行"),
        ];
        let r = results(&s, &given);
        assert_eq!(r.answers, 4);
        assert_eq!((r.csat.satisfied, r.csat.answered), (3, 4));
        assert_eq!(
            r.nps.score(),
            Some(25.0),
            "2 promoters, 1 passive, 1 detractor"
        );
        assert_eq!(r.target, 0.9);
        let overall = &r.questions[0];
        assert_eq!((overall.kind.as_str(), overall.answered), ("csat", 4));
        assert_eq!(overall.counts.get("5"), Some(&2));
        assert_eq!(overall.counts.get("2"), Some(&1));
        let comment = r.questions.iter().find(|q| q.key == "comment").unwrap();
        assert_eq!(comment.texts, ["还行", "太慢", "很好"], "newest first");
        let attitude = r.questions.iter().find(|q| q.key == "attitude").unwrap();
        assert_eq!(attitude.answered, 0);
        let groups: Vec<(&str, u64, Option<f64>)> = r
            .groups
            .iter()
            .map(|g| (g.group.as_str(), g.answers, g.csat.share()))
            .collect();
        assert_eq!(
            groups,
            [("2026-Q3", 1, Some(1.0)), ("2026-Q4", 3, Some(2.0 / 3.0))]
        );
    }

    #[test]
    fn no_answers_give_empty_results_not_errors() {
        let r = results(&default_survey(), &[]);
        assert_eq!((r.answers, r.csat.share(), r.nps.score()), (0, None, None));
        assert!(r.groups.is_empty());
        assert!(r.questions.iter().all(|q| q.answered == 0));
    }
}
