//! How answers score: CSAT as the share of 4s and 5s, NPS as promoters
//! (9–10) minus detractors (0–6) in percent, and when an answer is
//! dissatisfied enough to reopen its record (CSAT ≤ 2 or NPS ≤ 6).

use super::answers::{Answer, Answers};
use super::{QuestionKind, SurveyDefinition};

/// S001 §7: at least 90 % of customers satisfied.
pub const SATISFIED_TARGET: f64 = 0.90;
/// A CSAT score at or under this is dissatisfied.
pub const CSAT_DISSATISFIED_AT_MOST: u8 = 2;
/// An NPS score at or under this is a detractor, and dissatisfied.
pub const NPS_DETRACTOR_AT_MOST: u8 = 6;
/// An NPS score at or over this is a promoter.
pub const NPS_PROMOTER_AT_LEAST: u8 = 9;

/// CSAT over some answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Csat {
    /// Scores of 4 or 5.
    pub satisfied: u64,
    pub answered: u64,
    /// The scores added up (for the average).
    pub total: u64,
}

impl Csat {
    pub fn of(scores: impl IntoIterator<Item = u8>) -> Self {
        let (mut satisfied, mut answered, mut total) = (0, 0, 0);
        for s in scores {
            answered += 1;
            satisfied += u64::from(s >= 4);
            total += u64::from(s);
        }
        Self {
            satisfied,
            answered,
            total,
        }
    }

    /// The average score, 1–5; `None` without answers.
    pub fn average(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.total as f64 / self.answered as f64)
    }

    /// The share satisfied, 0–1; `None` without answers.
    pub fn share(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.satisfied as f64 / self.answered as f64)
    }

    /// Whether the share meets S001's target.
    pub fn meets_target(&self) -> Option<bool> {
        self.share().map(|s| s >= SATISFIED_TARGET)
    }
}

/// NPS over some answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Nps {
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

impl Nps {
    pub fn of(scores: impl IntoIterator<Item = u8>) -> Self {
        let mut n = Self {
            promoters: 0,
            passives: 0,
            detractors: 0,
        };
        for s in scores {
            match s {
                s if s >= NPS_PROMOTER_AT_LEAST => n.promoters += 1,
                s if s <= NPS_DETRACTOR_AT_MOST => n.detractors += 1,
                _ => n.passives += 1,
            }
        }
        n
    }

    /// −100 to 100; `None` without answers.
    pub fn score(&self) -> Option<f64> {
        let total = self.promoters + self.passives + self.detractors;
        (total > 0).then(|| (self.promoters as f64 - self.detractors as f64) * 100.0 / total as f64)
    }
}

impl SurveyDefinition {
    /// Whether kept answers say the customer is dissatisfied: a CSAT
    /// question at 2 or less, or NPS at 6 or less. Such an answer on a
    /// record reopens it or raises a follow-up for its owner.
    pub fn dissatisfied(&self, answers: &Answers) -> bool {
        self.questions
            .iter()
            .any(|q| match (&q.kind, answers.get(&q.key)) {
                (QuestionKind::Csat { .. }, Some(Answer::Score(s))) => {
                    *s <= CSAT_DISSATISFIED_AT_MOST
                }
                (QuestionKind::Nps { .. }, Some(Answer::Score(s))) => *s <= NPS_DETRACTOR_AT_MOST,
                _ => false,
            })
    }

    /// The scores given to CSAT questions in kept answers (for [`Csat::of`]).
    pub fn csat_scores<'a>(&'a self, answers: &'a Answers) -> impl Iterator<Item = u8> + 'a {
        self.scores_of(answers, |k| matches!(k, QuestionKind::Csat { .. }))
    }

    /// The scores given to NPS questions in kept answers (for [`Nps::of`]).
    pub fn nps_scores<'a>(&'a self, answers: &'a Answers) -> impl Iterator<Item = u8> + 'a {
        self.scores_of(answers, |k| matches!(k, QuestionKind::Nps { .. }))
    }

    fn scores_of<'a>(
        &'a self,
        answers: &'a Answers,
        kind: fn(&QuestionKind) -> bool,
    ) -> impl Iterator<Item = u8> + 'a {
        self.questions
            .iter()
            .filter(move |q| kind(&q.kind))
            .filter_map(move |q| match answers.get(&q.key) {
                Some(Answer::Score(s)) => Some(*s),
                _ => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::defaults::default_survey;
    use super::*;

    #[test]
    fn csat_is_the_share_of_fours_and_fives() {
        let c = Csat::of([5, 4, 3, 2, 1, 4, 5, 5, 4, 4]);
        assert_eq!((c.satisfied, c.answered), (7, 10));
        assert_eq!(c.share(), Some(0.7));
        assert_eq!(c.meets_target(), Some(false));
        assert_eq!(c.average(), Some(3.7));
        assert_eq!(
            Csat::of([5; 9].into_iter().chain([3])).meets_target(),
            Some(true)
        );
        assert_eq!(Csat::of([]).share(), None);
    }

    #[test]
    fn nps_is_promoters_minus_detractors_in_percent() {
        let n = Nps::of([10, 9, 8, 7, 6, 0]);
        assert_eq!((n.promoters, n.passives, n.detractors), (2, 2, 2));
        assert_eq!(n.score(), Some(0.0));
        assert_eq!(Nps::of([10, 10, 10, 0]).score(), Some(50.0));
        assert_eq!(Nps::of([6]).score(), Some(-100.0));
        assert_eq!(Nps::of([]).score(), None);
    }

    #[test]
    fn a_low_csat_or_nps_is_dissatisfied_and_scores_come_from_their_questions() {
        let s = default_survey();
        let given = |overall: u8, recommend: u8| -> Answers {
            [
                ("overall", overall),
                ("speed", 5),
                ("attitude", 5),
                ("solution", 5),
                ("recommend", recommend),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Answer::Score(v)))
            .collect()
        };
        assert!(!s.dissatisfied(&given(3, 7)));
        assert!(s.dissatisfied(&given(2, 10)));
        assert!(s.dissatisfied(&given(5, 6)));
        let a = given(3, 9);
        assert_eq!(s.csat_scores(&a).collect::<Vec<_>>(), vec![3, 5, 5, 5]);
        assert_eq!(s.nps_scores(&a).collect::<Vec<_>>(), vec![9]);
    }
}
