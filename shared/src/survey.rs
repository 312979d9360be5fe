//! Satisfaction surveys (S003 §4; S001 §7 sets the target of ≥ 90 %
//! satisfied): what a survey asks, checked when head office saves it, and
//! what an answer may be ([`answers`]), how answers score ([`score`]) and
//! the survey shipped by default ([`defaults`]). A survey is saved in
//! versions; an answer keeps the version it answered, so an edit never
//! changes what earlier answers meant.

pub mod answers;
pub mod defaults;
pub mod editing;
pub mod results;
pub mod score;
pub mod sending;

use std::collections::HashSet;

use crate::taxonomy::Label;

/// Questions a survey may have.
pub const MAX_QUESTIONS: usize = 40;
/// Options of a choice question, rows of a rating matrix.
pub const MAX_OPTIONS: usize = 20;
/// Characters of a question, option or survey text (per language).
pub const MAX_TEXT_CHARS: usize = 500;
/// Characters of a key (`[a-z0-9_]`).
pub const MAX_KEY_CHARS: usize = 32;

/// A survey as head office saves it: one version of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SurveyDefinition {
    pub title: Label,
    /// Shown above the first question.
    pub intro: Label,
    /// The thank-you page: what happens next.
    pub thanks: Label,
    pub questions: Vec<Question>,
}

/// One question, shown alone on a phone's screen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Question {
    /// Stable within the survey: answers and display logic refer to it.
    pub key: String,
    pub text: Label,
    pub kind: QuestionKind,
    #[serde(default)]
    pub required: bool,
    /// Shown only when this holds for the answers before it.
    #[serde(default)]
    pub show_if: Option<Condition>,
}

/// What kind of answer a question takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    /// Satisfaction 1–5; 4 and 5 count as satisfied.
    Csat {
        low: Label,
        high: Label,
    },
    /// Likelihood to recommend, 0–10.
    Nps {
        low: Label,
        high: Label,
    },
    Single {
        options: Vec<Choice>,
    },
    /// At most `max` options (all when `None`).
    Multiple {
        options: Vec<Choice>,
        #[serde(default)]
        max: Option<usize>,
    },
    /// Each row rated 1–5.
    Matrix {
        rows: Vec<Choice>,
        low: Label,
        high: Label,
    },
    Text {
        #[serde(default = "default_text_chars")]
        max_chars: usize,
    },
}

fn default_text_chars() -> usize {
    answers::MAX_ANSWER_CHARS
}

impl QuestionKind {
    /// The kind's name, as its JSON `type` says it.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Csat { .. } => "csat",
            Self::Nps { .. } => "nps",
            Self::Single { .. } => "single",
            Self::Multiple { .. } => "multiple",
            Self::Matrix { .. } => "matrix",
            Self::Text { .. } => "text",
        }
    }

    /// The scale of a scored question, `(lowest, highest)`.
    pub fn scale(&self) -> Option<(u8, u8)> {
        match self {
            Self::Csat { .. } | Self::Matrix { .. } => Some((1, 5)),
            Self::Nps { .. } => Some((0, 10)),
            _ => None,
        }
    }

    /// The options a choice question offers.
    pub fn options(&self) -> &[Choice] {
        match self {
            Self::Single { options } | Self::Multiple { options, .. } => options,
            _ => &[],
        }
    }
}

/// An option of a choice question, or a row of a matrix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Choice {
    pub key: String,
    pub text: Label,
}

/// Display logic: when a question is shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum Condition {
    /// An earlier CSAT or NPS question was answered with at most `score`.
    ScoreAtMost { question: String, score: u8 },
    /// An earlier CSAT or NPS question was answered with at least `score`.
    ScoreAtLeast { question: String, score: u8 },
    /// An earlier choice question was answered with `option` among its choices.
    Chose { question: String, option: String },
}

impl Condition {
    /// The question it looks at.
    pub fn question(&self) -> &str {
        match self {
            Self::ScoreAtMost { question, .. }
            | Self::ScoreAtLeast { question, .. }
            | Self::Chose { question, .. } => question,
        }
    }
}

/// Why head office cannot save a survey; `code()` is the API's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SurveyError {
    #[error("a survey needs 1 to {MAX_QUESTIONS} questions")]
    QuestionCount,
    #[error("`{0}` is not a key: 1 to {MAX_KEY_CHARS} of a-z, 0-9 and _")]
    BadKey(String),
    #[error("the key `{0}` is used twice")]
    DuplicateKey(String),
    #[error("a text of `{0}` is empty in a language or too long")]
    BadText(String),
    #[error("`{0}` needs 1 to {MAX_OPTIONS} options or rows")]
    OptionCount(String),
    #[error("`{0}` allows a number of choices it cannot offer")]
    BadMax(String),
    #[error(
        "`{0}` is shown on a condition that is not about an earlier question of the right kind"
    )]
    BadCondition(String),
}

impl SurveyError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::QuestionCount => "survey_question_count",
            Self::BadKey(_) => "survey_bad_key",
            Self::DuplicateKey(_) => "survey_duplicate_key",
            Self::BadText(_) => "survey_bad_text",
            Self::OptionCount(_) => "survey_option_count",
            Self::BadMax(_) => "survey_bad_max",
            Self::BadCondition(_) => "survey_bad_condition",
        }
    }
}

/// What the public survey page reads for its link (`GET /api/s/<token>`):
/// the survey as that version asks it, and nothing about the customer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SurveyPage {
    pub version: i64,
    pub survey: SurveyDefinition,
    pub expires_at: i64,
}

/// What the public page sends (`POST /api/s/<token>`). `submission` is the
/// browser's own id for this submit, so a retry after a lost answer is
/// told "done", not "used".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SurveySubmit {
    pub submission: String,
    pub answers: answers::Answers,
}

/// A link head office issued (`POST /api/records/<id>/survey-link`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SurveyLinkIssued {
    /// `/s/<token>`: the token is shown once and kept only as its hash.
    pub path: String,
    pub expires_at: i64,
}

/// An answer about a record, as the record page shows it
/// (`GET /api/records/<id>/survey-answers`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordSurveyAnswer {
    pub answered_at: i64,
    pub version: i64,
    pub dissatisfied: bool,
    pub lines: Vec<answers::AnswerLine>,
}

/// A survey for the builder (`GET /api/surveys/<survey>`): its newest
/// version and who saved each one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SurveyVersions {
    pub survey: String,
    pub version: i64,
    pub definition: SurveyDefinition,
    /// Newest first.
    pub versions: Vec<SavedVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedVersion {
    pub version: i64,
    pub saved_by: String,
    pub saved_at: i64,
}

/// Whether `name` can name a survey (`[a-z0-9_]`, 1 to 32 characters).
pub fn is_survey_name(name: &str) -> bool {
    key_ok(name)
}

fn key_ok(key: &str) -> bool {
    (1..=MAX_KEY_CHARS).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn label_ok(label: &Label) -> bool {
    [&label.zh, &label.en].iter().all(|t| {
        let n = t.trim().chars().count();
        (1..=MAX_TEXT_CHARS).contains(&n)
    })
}

impl SurveyDefinition {
    /// Checks everything a saved survey must hold, so answers can be checked
    /// against it and the public page can show it.
    pub fn validate(&self) -> Result<(), SurveyError> {
        if !(1..=MAX_QUESTIONS).contains(&self.questions.len()) {
            return Err(SurveyError::QuestionCount);
        }
        for (what, label) in [
            ("title", &self.title),
            ("intro", &self.intro),
            ("thanks", &self.thanks),
        ] {
            if !label_ok(label) {
                return Err(SurveyError::BadText(what.into()));
            }
        }
        let mut keys = HashSet::new();
        for (at, q) in self.questions.iter().enumerate() {
            if !key_ok(&q.key) {
                return Err(SurveyError::BadKey(q.key.clone()));
            }
            if !keys.insert(q.key.as_str()) {
                return Err(SurveyError::DuplicateKey(q.key.clone()));
            }
            if !label_ok(&q.text) {
                return Err(SurveyError::BadText(q.key.clone()));
            }
            check_kind(q)?;
            if let Some(c) = &q.show_if {
                check_condition(&q.key, c, &self.questions[..at])?;
            }
        }
        Ok(())
    }

    /// The question with `key`.
    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.key == key)
    }
}

fn check_kind(q: &Question) -> Result<(), SurveyError> {
    let bad_text = || SurveyError::BadText(q.key.clone());
    let choices = |list: &[Choice]| -> Result<(), SurveyError> {
        if !(1..=MAX_OPTIONS).contains(&list.len()) {
            return Err(SurveyError::OptionCount(q.key.clone()));
        }
        let mut seen = HashSet::new();
        for c in list {
            if !key_ok(&c.key) {
                return Err(SurveyError::BadKey(c.key.clone()));
            }
            if !seen.insert(c.key.as_str()) {
                return Err(SurveyError::DuplicateKey(c.key.clone()));
            }
            if !label_ok(&c.text) {
                return Err(bad_text());
            }
        }
        Ok(())
    };
    let ends = |low: &Label, high: &Label| {
        if label_ok(low) && label_ok(high) {
            Ok(())
        } else {
            Err(bad_text())
        }
    };
    match &q.kind {
        QuestionKind::Csat { low, high } | QuestionKind::Nps { low, high } => ends(low, high),
        QuestionKind::Single { options } => choices(options),
        QuestionKind::Multiple { options, max } => {
            choices(options)?;
            match max {
                Some(m) if *m == 0 || *m > options.len() => Err(SurveyError::BadMax(q.key.clone())),
                _ => Ok(()),
            }
        }
        QuestionKind::Matrix { rows, low, high } => {
            choices(rows)?;
            ends(low, high)
        }
        QuestionKind::Text { max_chars } => {
            if (1..=answers::MAX_ANSWER_CHARS).contains(max_chars) {
                Ok(())
            } else {
                Err(SurveyError::BadMax(q.key.clone()))
            }
        }
    }
}

/// A condition looks back only (so a survey reads top to bottom) and at a
/// question that can meet it.
fn check_condition(key: &str, c: &Condition, before: &[Question]) -> Result<(), SurveyError> {
    let bad = || SurveyError::BadCondition(key.to_string());
    let target = before
        .iter()
        .find(|q| q.key == c.question())
        .ok_or_else(bad)?;
    let ok = match c {
        Condition::ScoreAtMost { score, .. } | Condition::ScoreAtLeast { score, .. } => {
            matches!(
                target.kind,
                QuestionKind::Csat { .. } | QuestionKind::Nps { .. }
            ) && target
                .kind
                .scale()
                .is_some_and(|(lo, hi)| (lo..=hi).contains(score))
        }
        Condition::Chose { option, .. } => target.kind.options().iter().any(|o| &o.key == option),
    };
    if ok { Ok(()) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(s: &str) -> Label {
        Label {
            zh: s.into(),
            en: s.into(),
        }
    }

    #[test]
    fn the_default_survey_is_valid() {
        assert_eq!(defaults::default_survey().validate(), Ok(()));
    }

    #[test]
    fn a_survey_that_cannot_be_answered_sensibly_is_refused() {
        let base = defaults::default_survey();
        let with = |f: &dyn Fn(&mut SurveyDefinition)| {
            let mut s = base.clone();
            f(&mut s);
            s.validate().map_err(|e| e.code())
        };
        assert_eq!(with(&|s| s.questions.clear()), Err("survey_question_count"));
        assert_eq!(
            with(&|s| s.questions[1].key = "Overall".into()),
            Err("survey_bad_key")
        );
        assert_eq!(
            with(&|s| s.questions[1].key = s.questions[0].key.clone()),
            Err("survey_duplicate_key")
        );
        assert_eq!(with(&|s| s.title.en = " ".into()), Err("survey_bad_text"));
        assert_eq!(
            with(&|s| s.questions[0].text.zh = "长".repeat(MAX_TEXT_CHARS + 1)),
            Err("survey_bad_text")
        );
        let single = |options: Vec<Choice>| QuestionKind::Single { options };
        assert_eq!(
            with(&|s| s.questions[0].kind = single(vec![])),
            Err("survey_option_count")
        );
        let two = vec![
            Choice {
                key: "a".into(),
                text: label("A"),
            },
            Choice {
                key: "b".into(),
                text: label("B"),
            },
        ];
        assert_eq!(
            with(&|s| s.questions[0].kind = QuestionKind::Multiple {
                options: two.clone(),
                max: Some(3)
            }),
            Err("survey_bad_max")
        );
        // Conditions look back, at a question of the right kind and scale.
        let at_most = |question: &str, score| Condition::ScoreAtMost {
            question: question.into(),
            score,
        };
        assert_eq!(
            with(&|s| s.questions[0].show_if = Some(at_most("speed", 3))),
            Err("survey_bad_condition")
        );
        assert_eq!(
            with(&|s| s.questions[1].show_if = Some(at_most("overall", 6))),
            Err("survey_bad_condition")
        );
        assert_eq!(
            with(&|s| {
                s.questions[0].kind = single(two.clone());
                s.questions[1].show_if = Some(Condition::Chose {
                    question: "overall".into(),
                    option: "c".into(),
                });
            }),
            Err("survey_bad_condition")
        );
        assert_eq!(
            with(&|s| {
                s.questions[0].kind = single(two.clone());
                s.questions[1].show_if = Some(Condition::Chose {
                    question: "overall".into(),
                    option: "b".into(),
                });
                // "What disappointed" looked at the overall score.
                s.questions[5].show_if = None;
            }),
            Ok(())
        );
    }

    #[test]
    fn a_survey_reads_back_from_its_json() {
        let s = defaults::default_survey();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""type":"csat""#), "{json}");
        assert!(json.contains(r#""when":"score_at_most""#), "{json}");
        assert_eq!(serde_json::from_str::<SurveyDefinition>(&json).unwrap(), s);
        for kind in editing::KINDS {
            let k = editing::kind_of(kind).unwrap();
            assert_eq!(k.key(), kind);
            assert_eq!(
                serde_json::to_value(&k).unwrap()["type"],
                kind,
                "the key is the JSON type"
            );
        }
    }
}
