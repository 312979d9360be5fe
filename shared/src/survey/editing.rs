//! What the survey builder does to a survey, kept out of the page so it is
//! tested once: a new question of a kind with sensible texts and a key no
//! other question has, options typed one per line as `中文 | English`
//! (keys kept by position, so an edited text still counts with earlier
//! answers), and moving questions without breaking display logic order.

use super::{Choice, Condition, Question, QuestionKind, SurveyDefinition, SurveyError};
use crate::taxonomy::Label;

/// The kinds the builder offers, by the key its menu uses.
pub const KINDS: [&str; 6] = ["csat", "nps", "single", "multiple", "matrix", "text"];

fn label(zh: &str, en: &str) -> Label {
    Label {
        zh: zh.into(),
        en: en.into(),
    }
}

fn options(prefix: &str, texts: &[(&str, &str)]) -> Vec<Choice> {
    texts
        .iter()
        .enumerate()
        .map(|(i, (zh, en))| Choice {
            key: format!("{prefix}{}", i + 1),
            text: label(zh, en),
        })
        .collect()
}

/// A kind with its usual texts; `None` for an unknown key.
pub fn kind_of(key: &str) -> Option<QuestionKind> {
    let satisfied = || {
        (
            label("非常不满意", "Very dissatisfied"),
            label("非常满意", "Very satisfied"),
        )
    };
    Some(match key {
        "csat" => {
            let (low, high) = satisfied();
            QuestionKind::Csat { low, high }
        }
        "nps" => QuestionKind::Nps {
            low: label("完全不可能", "Not at all likely"),
            high: label("非常可能", "Extremely likely"),
        },
        "single" => QuestionKind::Single {
            options: options("o", &[("是", "Yes"), ("否", "No")]),
        },
        "multiple" => QuestionKind::Multiple {
            options: options(
                "o",
                &[("价格", "Price"), ("质量", "Quality"), ("服务", "Service")],
            ),
            max: None,
        },
        "matrix" => {
            let (low, high) = satisfied();
            QuestionKind::Matrix {
                rows: options("r", &[("门店环境", "The store"), ("送货安装", "Delivery")]),
                low,
                high,
            }
        }
        "text" => QuestionKind::Text { max_chars: 1000 },
        _ => return None,
    })
}

/// A key `q1`, `q2`, … that no question of `survey` has.
fn free_key(survey: &SurveyDefinition) -> String {
    (1..)
        .map(|n| format!("q{n}"))
        .find(|k| survey.question(k).is_none())
        .unwrap_or_default()
}

/// Appends a question of `kind` (a [`KINDS`] key); whether it was added.
pub fn add_question(survey: &mut SurveyDefinition, kind: &str) -> bool {
    let Some(kind) = kind_of(kind) else {
        return false;
    };
    let key = free_key(survey);
    survey.questions.push(Question {
        key,
        text: label("新问题", "New question"),
        kind,
        required: false,
        show_if: None,
    });
    true
}

/// Changes a question's kind, keeping its key, text and required flag;
/// display logic that no longer fits is left for `validate` to name.
pub fn change_kind(question: &mut Question, kind: &str) {
    if let Some(kind) = kind_of(kind) {
        question.kind = kind;
    }
}

/// Moves question `at` up (`-1`) or down (`1`); whether it moved. A move
/// that would put a question before the one its condition looks at drops
/// that condition rather than leave a survey that reads backwards.
pub fn move_question(survey: &mut SurveyDefinition, at: usize, by: isize) -> bool {
    let Some(to) = at.checked_add_signed(by) else {
        return false;
    };
    if to >= survey.questions.len() || at >= survey.questions.len() {
        return false;
    }
    survey.questions.swap(at, to);
    let (first, second) = (at.min(to), at.max(to));
    let later_key = survey.questions[second].key.clone();
    if survey.questions[first]
        .show_if
        .as_ref()
        .is_some_and(|c| c.question() == later_key)
    {
        survey.questions[first].show_if = None;
    }
    true
}

/// Renames question `at`'s key, and the display logic that looks at it.
pub fn rename_key(survey: &mut SurveyDefinition, at: usize, key: &str) {
    let Some(old) = survey.questions.get(at).map(|q| q.key.clone()) else {
        return;
    };
    for q in &mut survey.questions {
        if let Some(c) = &mut q.show_if {
            let looks_at = match c {
                Condition::ScoreAtMost { question, .. }
                | Condition::ScoreAtLeast { question, .. }
                | Condition::Chose { question, .. } => question,
            };
            if *looks_at == old {
                *looks_at = key.to_string();
            }
        }
    }
    survey.questions[at].key = key.to_string();
}

/// Options as the builder's text box shows them: `中文 | English` per line.
pub fn choices_text(choices: &[Choice]) -> String {
    choices
        .iter()
        .map(|c| format!("{} | {}", c.text.zh, c.text.en))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Options typed one per line; a line without `|` is the same in both
/// languages. The n-th option keeps the n-th old key.
pub fn parse_choices(text: &str, old: &[Choice], prefix: &str) -> Vec<Choice> {
    let mut out: Vec<Choice> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (zh, en) = line
            .split_once('|')
            .map_or((line, line), |(a, b)| (a.trim(), b.trim()));
        let key = old
            .get(out.len())
            .map(|c| c.key.clone())
            .filter(|k| out.iter().all(|c| &c.key != k))
            .unwrap_or_else(|| {
                (1..)
                    .map(|n| format!("{prefix}{n}"))
                    .find(|k| out.iter().chain(old).all(|c| &c.key != k))
                    .unwrap_or_default()
            });
        out.push(Choice {
            key,
            text: label(zh, en),
        });
    }
    out
}

impl SurveyError {
    /// The question, option or text the error is about, if one.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Self::QuestionCount => None,
            Self::BadKey(s)
            | Self::DuplicateKey(s)
            | Self::BadText(s)
            | Self::OptionCount(s)
            | Self::BadMax(s)
            | Self::BadCondition(s) => Some(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::defaults::default_survey;

    #[test]
    fn every_kind_added_makes_a_valid_survey_with_a_fresh_key() {
        let mut s = default_survey();
        for kind in KINDS {
            assert!(add_question(&mut s, kind), "{kind}");
            assert_eq!(s.questions.last().unwrap().kind.key(), kind);
        }
        assert!(!add_question(&mut s, "slider"));
        assert_eq!(s.validate(), Ok(()));
        let keys: Vec<&str> = s.questions[s.questions.len() - 6..]
            .iter()
            .map(|q| q.key.as_str())
            .collect();
        assert_eq!(keys, ["q1", "q2", "q3", "q4", "q5", "q6"]);
    }

    #[test]
    fn options_typed_per_line_keep_their_keys_by_position() {
        let old = parse_choices("价格 | Price\n质量 | Quality", &[], "o");
        assert_eq!(old[1].key, "o2");
        assert_eq!(choices_text(&old), "价格 | Price\n质量 | Quality");
        let edited = parse_choices("价钱 | Cost\n\n质量 | Quality\n安装", &old, "o");
        let keys: Vec<&str> = edited.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["o1", "o2", "o3"]);
        assert_eq!(edited[0].text.en, "Cost");
        assert_eq!(
            (edited[2].text.zh.as_str(), edited[2].text.en.as_str()),
            ("安装", "安装")
        );
    }

    #[test]
    fn moving_a_question_above_the_one_it_looks_at_drops_the_condition() {
        let mut s = default_survey();
        let at = s
            .questions
            .iter()
            .position(|q| q.show_if.is_some())
            .unwrap();
        let looks_at = s.questions[at]
            .show_if
            .as_ref()
            .unwrap()
            .question()
            .to_string();
        let target = s.question(&looks_at).map(|q| q.key.clone()).unwrap();
        // Move it up until it is just below its target, then once more.
        let mut i = at;
        while s.questions[i - 1].key != target {
            assert!(move_question(&mut s, i, -1));
            i -= 1;
        }
        assert_eq!(s.validate(), Ok(()));
        assert!(move_question(&mut s, i, -1));
        assert_eq!(s.questions[i - 1].show_if, None::<Condition>);
        assert_eq!(s.validate(), Ok(()));
        assert!(!move_question(&mut s, 0, -1));
        let last = s.questions.len() - 1;
        assert!(!move_question(&mut s, last, 1));
    }

    #[test]
    fn renaming_a_question_keeps_the_logic_that_looks_at_it() {
        let mut s = default_survey();
        let at = s.questions.iter().position(|q| q.key == "overall").unwrap();
        rename_key(&mut s, at, "overall_2026");
        assert_eq!(s.validate(), Ok(()));
        assert!(
            s.questions
                .iter()
                .filter_map(|q| q.show_if.as_ref())
                .all(|c| c.question() == "overall_2026")
        );
    }

    #[test]
    fn a_survey_error_names_what_it_is_about() {
        assert_eq!(SurveyError::BadKey("Q".into()).subject(), Some("Q"));
        assert_eq!(SurveyError::QuestionCount.subject(), None);
    }
}
