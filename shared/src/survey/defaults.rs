//! The survey shipped by default (the survey process document is cut off
//! before its questions): CSAT 1–5 on the core dimensions of S003 §4 —
//! overall, response speed, attitude, solution quality — then NPS 0–10,
//! what disappointed (only after an overall score of 3 or less) and a
//! free comment. Head office edits it like any other survey.

use super::{Condition, Question, QuestionKind, SurveyDefinition};
use crate::taxonomy::Label;

fn label(zh: &str, en: &str) -> Label {
    Label {
        zh: zh.into(),
        en: en.into(),
    }
}

fn csat(key: &str, zh: &str, en: &str) -> Question {
    Question {
        key: key.into(),
        text: label(zh, en),
        kind: QuestionKind::Csat {
            low: label("非常不满意", "Very dissatisfied"),
            high: label("非常满意", "Very satisfied"),
        },
        required: true,
        show_if: None,
    }
}

fn text(key: &str, zh: &str, en: &str, show_if: Option<Condition>) -> Question {
    Question {
        key: key.into(),
        text: label(zh, en),
        kind: QuestionKind::Text { max_chars: 1000 },
        required: false,
        show_if,
    }
}

/// The default satisfaction survey.
pub fn default_survey() -> SurveyDefinition {
    SurveyDefinition {
        title: label("服务满意度调查", "How did we do?"),
        intro: label(
            "感谢您的反馈。请花一分钟告诉我们这次处理得怎么样。",
            "Thank you for your feedback. Please take a minute to tell us how we handled it.",
        ),
        thanks: label(
            "谢谢！您的评价已收到。如有不满意之处，负责人会再与您联系。",
            "Thank you! We have your answers. If something was not right, the person in charge will contact you again.",
        ),
        questions: vec![
            csat(
                "overall",
                "总体来说，您对这次反馈的处理满意吗？",
                "Overall, how satisfied are you with how we handled your feedback?",
            ),
            csat("speed", "响应速度", "How quickly we responded"),
            csat("attitude", "服务态度", "Our attitude towards you"),
            csat("solution", "解决方案的质量", "The quality of the solution"),
            Question {
                key: "recommend".into(),
                text: label(
                    "您有多大可能向朋友或同事推荐我们？",
                    "How likely are you to recommend us to a friend or colleague?",
                ),
                kind: QuestionKind::Nps {
                    low: label("完全不可能", "Not at all likely"),
                    high: label("非常可能", "Extremely likely"),
                },
                required: true,
                show_if: None,
            },
            text(
                "disappointed",
                "哪里让您不满意？",
                "What disappointed you?",
                Some(Condition::ScoreAtMost {
                    question: "overall".into(),
                    score: 3,
                }),
            ),
            text(
                "comment",
                "还有什么想告诉我们的吗？（选填）",
                "Anything else you would like to tell us? (optional)",
                None,
            ),
        ],
    }
}
