//! A customer's answers, checked against the survey version they answer:
//! the public page checks them before sending and the server again before
//! storing, with the same rules. Display logic decides which questions are
//! asked; an answer to a question the logic hides (answered, then the
//! earlier answer changed) is dropped, not refused.

use std::collections::BTreeMap;

use super::{Condition, Question, QuestionKind, SurveyDefinition};
use crate::taxonomy::Label;

/// Characters of a free-text answer at most.
pub const MAX_ANSWER_CHARS: usize = 2000;

/// One question's answer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// CSAT or NPS.
    Score(u8),
    /// A single choice's option key, or a free text.
    Text(String),
    /// A multiple choice's option keys.
    Choices(Vec<String>),
    /// A matrix: row key → 1–5.
    Rows(BTreeMap<String, u8>),
}

/// Answers by question key.
pub type Answers = BTreeMap<String, Answer>;

/// Why answers are refused; `code()` is the API's error code and the
/// public page's message key, `question()` the question to point at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("there is no question `{0}`")]
    UnknownQuestion(String),
    #[error("`{0}` needs an answer")]
    Required(String),
    #[error("the answer to `{0}` is not of its kind or not on its scale")]
    Invalid(String),
    #[error("the answer to `{0}` is too long")]
    TooLong(String),
}

impl AnswerError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownQuestion(_) => "answer_unknown_question",
            Self::Required(_) => "answer_required",
            Self::Invalid(_) => "answer_invalid",
            Self::TooLong(_) => "answer_too_long",
        }
    }

    pub fn question(&self) -> &str {
        match self {
            Self::UnknownQuestion(q) | Self::Required(q) | Self::Invalid(q) | Self::TooLong(q) => q,
        }
    }
}

impl Condition {
    /// Whether it holds for `answers` (never for an unanswered question).
    pub fn holds(&self, answers: &Answers) -> bool {
        let given = answers.get(self.question());
        match (self, given) {
            (Self::ScoreAtMost { score, .. }, Some(Answer::Score(s))) => s <= score,
            (Self::ScoreAtLeast { score, .. }, Some(Answer::Score(s))) => s >= score,
            (Self::Chose { option, .. }, Some(Answer::Text(chosen))) => chosen == option,
            (Self::Chose { option, .. }, Some(Answer::Choices(chosen))) => chosen.contains(option),
            _ => false,
        }
    }
}

impl SurveyDefinition {
    /// The questions asked, given the answers so far, in order. A condition
    /// on a question that is itself not asked does not hold.
    pub fn asked(&self, answers: &Answers) -> Vec<&Question> {
        let mut shown = Answers::new();
        let mut asked = Vec::new();
        for q in &self.questions {
            if q.show_if.as_ref().is_none_or(|c| c.holds(&shown)) {
                if let Some(a) = answers.get(&q.key) {
                    shown.insert(q.key.clone(), a.clone());
                }
                asked.push(q);
            }
        }
        asked
    }

    /// The answers as they are kept: every asked required question
    /// answered, each answer of its question's kind and on its scale,
    /// blank texts and answers to questions not asked left out.
    pub fn check_answers(&self, answers: &Answers) -> Result<Answers, AnswerError> {
        if let Some(unknown) = answers.keys().find(|k| self.question(k).is_none()) {
            return Err(AnswerError::UnknownQuestion(unknown.clone()));
        }
        let mut kept = Answers::new();
        for q in self.asked(answers) {
            match answers.get(&q.key).map(|a| check_one(q, a)).transpose()? {
                Some(Some(a)) => {
                    kept.insert(q.key.clone(), a);
                }
                _ if q.required => return Err(AnswerError::Required(q.key.clone())),
                _ => {}
            }
        }
        Ok(kept)
    }
}

/// One answered question as head office reads it, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnswerLine {
    pub question: Label,
    pub value: Label,
}

impl Question {
    /// One answer to this question as head office reads it: a score as
    /// `2/5`, a text quoted, options by their labels; `None` when the
    /// answer is not of this question's kind.
    pub fn line(&self, a: &Answer) -> Option<AnswerLine> {
        let same = |v: String| Label {
            zh: v.clone(),
            en: v,
        };
        let option = |key: &str| {
            self.kind
                .options()
                .iter()
                .find(|o| o.key == key)
                .map_or_else(|| same(key.to_string()), |o| o.text.clone())
        };
        let join = |labels: Vec<Label>| Label {
            zh: labels
                .iter()
                .map(|l| l.zh.as_str())
                .collect::<Vec<_>>()
                .join("、"),
            en: labels
                .iter()
                .map(|l| l.en.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        };
        let value = match (a, self.kind.scale()) {
            (Answer::Score(s), Some((_, hi))) => same(format!("{s}/{hi}")),
            (Answer::Text(t), None) if self.kind.options().is_empty() => same(format!("“{t}”")),
            (Answer::Text(key), None) => option(key),
            (Answer::Choices(keys), _) => join(keys.iter().map(|k| option(k)).collect()),
            (Answer::Rows(rows), _) => same(
                rows.iter()
                    .map(|(k, v)| format!("{k} {v}/5"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            _ => return None,
        };
        Some(AnswerLine {
            question: self.text.clone(),
            value,
        })
    }
}

impl SurveyDefinition {
    /// The kept answers question by question: scores as `2/5`, texts
    /// quoted, options by their labels.
    pub fn lines(&self, answers: &Answers) -> Vec<AnswerLine> {
        self.questions
            .iter()
            .filter_map(|q| q.line(answers.get(&q.key)?))
            .collect()
    }

    /// The kept answers in one line for the record's log, in Chinese (head
    /// office's language): `响应速度 2/5 · …`.
    pub fn summary(&self, answers: &Answers) -> String {
        self.lines(answers)
            .iter()
            .map(|l| {
                let q = l.question.zh.trim_end_matches(['？', '?', '：', ':']);
                format!("{q} {}", l.value.zh)
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// One answer as kept, `None` when it says nothing (a blank text, no choice).
fn check_one(q: &Question, a: &Answer) -> Result<Option<Answer>, AnswerError> {
    let invalid = || AnswerError::Invalid(q.key.clone());
    let on_scale = |s: u8| {
        q.kind
            .scale()
            .is_some_and(|(lo, hi)| (lo..=hi).contains(&s))
    };
    let offered = |key: &str| q.kind.options().iter().any(|o| o.key == key);
    match (&q.kind, a) {
        (QuestionKind::Csat { .. } | QuestionKind::Nps { .. }, Answer::Score(s)) => {
            on_scale(*s).then_some(Some(a.clone())).ok_or_else(invalid)
        }
        (QuestionKind::Single { .. }, Answer::Text(key)) => {
            offered(key).then_some(Some(a.clone())).ok_or_else(invalid)
        }
        (QuestionKind::Multiple { options, max }, Answer::Choices(keys)) => {
            let mut sorted = keys.clone();
            sorted.sort();
            sorted.dedup();
            let allowed = max.unwrap_or(options.len());
            if sorted.len() != keys.len()
                || keys.len() > allowed
                || !keys.iter().all(|k| offered(k))
            {
                return Err(invalid());
            }
            Ok((!keys.is_empty()).then(|| a.clone()))
        }
        (QuestionKind::Matrix { rows, .. }, Answer::Rows(given)) => {
            let known = |k: &String| rows.iter().any(|r| &r.key == k);
            if !given.iter().all(|(k, s)| known(k) && on_scale(*s)) {
                return Err(invalid());
            }
            // A matrix counts as answered only with every row rated.
            Ok((given.len() == rows.len()).then(|| a.clone()))
        }
        (QuestionKind::Text { max_chars }, Answer::Text(text)) => {
            let text = text.trim();
            if text.chars().count() > *max_chars {
                return Err(AnswerError::TooLong(q.key.clone()));
            }
            Ok((!text.is_empty()).then(|| Answer::Text(text.to_string())))
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::defaults::default_survey;
    use super::*;

    fn answers(list: &[(&str, Answer)]) -> Answers {
        list.iter()
            .map(|(k, a)| (k.to_string(), a.clone()))
            .collect()
    }

    fn scores(overall: u8) -> Vec<(&'static str, Answer)> {
        vec![
            ("overall", Answer::Score(overall)),
            ("speed", Answer::Score(4)),
            ("attitude", Answer::Score(5)),
            ("solution", Answer::Score(4)),
            ("recommend", Answer::Score(9)),
        ]
    }

    #[test]
    fn a_low_overall_score_asks_what_disappointed() {
        let s = default_survey();
        let keys = |a: &Answers| s.asked(a).iter().map(|q| q.key.clone()).collect::<Vec<_>>();
        assert!(!keys(&answers(&scores(4))).contains(&"disappointed".to_string()));
        assert!(keys(&answers(&scores(3))).contains(&"disappointed".to_string()));
        assert!(
            !keys(&Answers::new()).contains(&"disappointed".to_string()),
            "unanswered: not asked"
        );
    }

    #[test]
    fn complete_answers_are_kept_and_hidden_or_blank_ones_dropped() {
        let s = default_survey();
        let mut given = scores(5);
        given.push((
            "disappointed",
            Answer::Text("left over from an earlier 2".into()),
        ));
        given.push(("comment", Answer::Text("   ".into())));
        let kept = s.check_answers(&answers(&given)).unwrap();
        assert_eq!(kept, answers(&scores(5)));

        let mut low = scores(2);
        low.push(("disappointed", Answer::Text("  太慢了 ".into())));
        let kept = s.check_answers(&answers(&low)).unwrap();
        assert_eq!(
            kept.get("disappointed"),
            Some(&Answer::Text("太慢了".into()))
        );
    }

    #[test]
    fn answers_off_the_survey_are_refused_with_the_question() {
        let s = default_survey();
        let refuse = |list: Vec<(&str, Answer)>| {
            s.check_answers(&answers(&list))
                .map_err(|e| (e.code(), e.question().to_string()))
        };
        let mut missing = scores(4);
        missing.remove(1);
        assert_eq!(refuse(missing), Err(("answer_required", "speed".into())));
        let mut off_scale = scores(4);
        off_scale[0].1 = Answer::Score(6);
        assert_eq!(refuse(off_scale), Err(("answer_invalid", "overall".into())));
        let mut nps = scores(4);
        nps[4].1 = Answer::Score(11);
        assert_eq!(refuse(nps), Err(("answer_invalid", "recommend".into())));
        let mut kind = scores(4);
        kind[2].1 = Answer::Text("5".into());
        assert_eq!(refuse(kind), Err(("answer_invalid", "attitude".into())));
        let mut extra = scores(4);
        extra.push(("salary", Answer::Score(1)));
        assert_eq!(
            refuse(extra),
            Err(("answer_unknown_question", "salary".into()))
        );
        let mut long = scores(4);
        long.push(("comment", Answer::Text("字".repeat(1001))));
        assert_eq!(refuse(long), Err(("answer_too_long", "comment".into())));
    }

    #[test]
    fn choices_and_matrices_take_only_what_they_offer() {
        use super::super::Choice;
        use crate::taxonomy::Label;
        let label = |s: &str| Label {
            zh: s.into(),
            en: s.into(),
        };
        let opts: Vec<Choice> = ["a", "b", "c"]
            .iter()
            .map(|k| Choice {
                key: k.to_string(),
                text: label(k),
            })
            .collect();
        let q = |key: &str, kind| Question {
            key: key.into(),
            text: label(key),
            kind,
            required: true,
            show_if: None,
        };
        let mut s = default_survey();
        s.questions = vec![
            q(
                "pick",
                QuestionKind::Single {
                    options: opts.clone(),
                },
            ),
            q(
                "many",
                QuestionKind::Multiple {
                    options: opts.clone(),
                    max: Some(2),
                },
            ),
            q(
                "grid",
                QuestionKind::Matrix {
                    rows: opts[..2].to_vec(),
                    low: label("1"),
                    high: label("5"),
                },
            ),
        ];
        s.questions[2].show_if = Some(Condition::Chose {
            question: "many".into(),
            option: "c".into(),
        });
        assert_eq!(s.validate(), Ok(()));
        let rows = |list: &[(&str, u8)]| {
            Answer::Rows(list.iter().map(|(k, v)| (k.to_string(), *v)).collect())
        };
        let choices = |list: &[&str]| Answer::Choices(list.iter().map(|k| k.to_string()).collect());
        let check =
            |list: Vec<(&str, Answer)>| s.check_answers(&answers(&list)).map_err(|e| e.code());

        assert!(
            check(vec![
                ("pick", Answer::Text("a".into())),
                ("many", choices(&["a", "b"]))
            ])
            .is_ok()
        );
        assert_eq!(
            check(vec![
                ("pick", Answer::Text("z".into())),
                ("many", choices(&["a"]))
            ]),
            Err("answer_invalid")
        );
        assert_eq!(
            check(vec![
                ("pick", Answer::Text("a".into())),
                ("many", choices(&["a", "b", "c"]))
            ]),
            Err("answer_invalid")
        );
        assert_eq!(
            check(vec![
                ("pick", Answer::Text("a".into())),
                ("many", choices(&["a", "a"]))
            ]),
            Err("answer_invalid")
        );
        // Choosing `c` asks the matrix, which needs every row.
        let with_c = |grid| {
            check(vec![
                ("pick", Answer::Text("a".into())),
                ("many", choices(&["c"])),
                ("grid", grid),
            ])
        };
        assert_eq!(with_c(rows(&[("a", 4)])), Err("answer_required"));
        assert_eq!(with_c(rows(&[("a", 4), ("b", 0)])), Err("answer_invalid"));
        assert_eq!(with_c(rows(&[("a", 4), ("z", 2)])), Err("answer_invalid"));
        assert!(with_c(rows(&[("a", 4), ("b", 1)])).is_ok());
    }

    #[test]
    fn the_log_line_names_each_answer_in_order() {
        let s = default_survey();
        let mut given = scores(2);
        given.push(("disappointed", Answer::Text("太慢".into())));
        let line = s.summary(&answers(&given));
        assert!(
            line.starts_with("总体来说，您对这次反馈的处理满意吗 2/5 · 响应速度 4/5"),
            "{line}"
        );
        assert!(
            line.ends_with("推荐我们 9/10 · 哪里让您不满意 “太慢”"),
            "{line}"
        );
    }

    #[test]
    fn answers_read_from_the_json_a_browser_sends() {
        let json = r#"{"overall":2,"pick":"a","many":["a","b"],"grid":{"a":4},"comment":"ok"}"#;
        let a: Answers = serde_json::from_str(json).unwrap();
        assert_eq!(a["overall"], Answer::Score(2));
        assert_eq!(a["pick"], Answer::Text("a".into()));
        assert_eq!(a["many"], Answer::Choices(vec!["a".into(), "b".into()]));
        assert!(matches!(a["grid"], Answer::Rows(_)));
        assert!(serde_json::from_str::<Answers>(r#"{"overall":-1}"#).is_err());
        assert!(serde_json::from_str::<Answers>(r#"{"overall":300}"#).is_err());
    }
}
