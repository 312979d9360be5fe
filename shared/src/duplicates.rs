//! Likely duplicates (S002 5.1): the same customer or order number with a
//! similar text within seven days. Head office is shown them before saving
//! a registration, so one complaint made by phone and again on WeChat is
//! worked once.

/// How far apart two receptions of the same feedback may lie.
pub const WINDOW_MS: i64 = 7 * 86_400_000;

/// Texts at least this similar (Dice coefficient of character bigrams)
/// count as telling the same thing.
pub const SIMILAR: f64 = 0.3;

/// How alike two texts are, 0.0 (nothing shared) to 1.0 (the same), on
/// character bigrams with blanks and punctuation removed: robust to word
/// order and to Chinese text, which has no spaces to split words at.
pub fn similarity(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> Vec<(char, char)> {
        let chars: Vec<char> = s
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        let mut g: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
        g.sort_unstable();
        g
    };
    let (x, y) = (grams(a), grams(b));
    if x.is_empty() || y.is_empty() {
        return if a.trim() == b.trim() && !a.trim().is_empty() {
            1.0
        } else {
            0.0
        };
    }
    // Multiset intersection of two sorted lists.
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * shared as f64 / (x.len() + y.len()) as f64
}

/// What is compared of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reception<'a> {
    pub customer: &'a str,
    pub order_number: Option<&'a str>,
    pub description: &'a str,
    pub received_at_ms: i64,
}

/// Whether `other` is likely the same feedback as `new`.
pub fn likely_duplicate(new: &Reception<'_>, other: &Reception<'_>) -> bool {
    let norm = |s: &str| s.trim().to_lowercase();
    let same_customer =
        !new.customer.trim().is_empty() && norm(new.customer) == norm(other.customer);
    let same_order = matches!(
        (new.order_number, other.order_number),
        (Some(a), Some(b)) if !a.trim().is_empty() && norm(a) == norm(b)
    );
    (same_customer || same_order)
        && (new.received_at_ms - other.received_at_ms).abs() <= WINDOW_MS
        && similarity(new.description, other.description) >= SIMILAR
}

/// Of `candidates`, those likely the same feedback as `new`, most similar
/// text first, at most `max`.
pub fn most_likely<'a, T>(
    new: &Reception<'_>,
    candidates: impl IntoIterator<Item = (Reception<'a>, T)>,
    max: usize,
) -> Vec<T> {
    let mut found: Vec<(f64, T)> = candidates
        .into_iter()
        .filter(|(other, _)| likely_duplicate(new, other))
        .map(|(other, item)| (similarity(new.description, other.description), item))
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    found.into_iter().take(max).map(|(_, item)| item).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: i64 = 86_400_000;

    fn r<'a>(customer: &'a str, order: Option<&'a str>, text: &'a str, at: i64) -> Reception<'a> {
        Reception {
            customer,
            order_number: order,
            description: text,
            received_at_ms: at,
        }
    }

    #[test]
    fn the_same_complaint_by_phone_and_on_wechat_is_a_likely_duplicate() {
        let phone = r("李先生", None, "冰箱送到后冷藏室不制冷，要求换货。", 0);
        let wechat = r(
            "李先生",
            None,
            "你们送的冰箱冷藏室不制冷！我要换货",
            2 * DAY,
        );
        assert!(likely_duplicate(&wechat, &phone));
        // By order number, under another name.
        let order = r("会员 8812", Some("SO-1188"), "冷藏室不制冷，要求换货", DAY);
        let earlier = r("李先生", Some("so-1188 "), "冰箱冷藏室不制冷", 0);
        assert!(likely_duplicate(&order, &earlier));
    }

    #[test]
    fn different_text_another_customer_or_weeks_apart_is_not() {
        let phone = r("李先生", None, "冰箱送到后冷藏室不制冷，要求换货。", 0);
        assert!(!likely_duplicate(
            &r("李先生", None, "门店停车场太小，周末没有车位。", DAY),
            &phone
        ));
        assert!(!likely_duplicate(
            &r("王女士", None, "冰箱送到后冷藏室不制冷，要求换货。", DAY),
            &phone
        ));
        assert!(!likely_duplicate(
            &r(
                "李先生",
                None,
                "冰箱送到后冷藏室不制冷，要求换货。",
                8 * DAY
            ),
            &phone
        ));
        assert!(
            !likely_duplicate(&r("", None, "冰箱不制冷", 0), &r("", None, "冰箱不制冷", 0)),
            "no customer, no order: nothing ties them"
        );
    }

    #[test]
    fn the_most_similar_come_first_and_no_more_than_asked() {
        let new = r("李先生", None, "冰箱冷藏室不制冷，要求换货", 0);
        let candidates = [
            (r("李先生", None, "冰箱不制冷", DAY), "weak"),
            (
                r("李先生", None, "冰箱冷藏室不制冷，要求换货。", DAY),
                "strong",
            ),
            (r("李先生", None, "停车场太小", DAY), "other"),
        ];
        assert_eq!(
            most_likely(&new, candidates.clone(), 5),
            vec!["strong", "weak"]
        );
        assert_eq!(most_likely(&new, candidates, 1), vec!["strong"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: Some(Box::new(
                proptest::test_runner::FileFailurePersistence::WithSource("regressions"),
            )),
            ..ProptestConfig::default()
        })]
        #[test]
        fn similarity_is_symmetric_bounded_and_one_for_equal_texts(a in "\\PC{0,40}", b in "\\PC{0,40}") {
            let s = similarity(&a, &b);
            prop_assert!((0.0..=1.0).contains(&s));
            prop_assert_eq!(s, similarity(&b, &a));
            if a.chars().filter(|c| c.is_alphanumeric()).count() >= 2 {
                prop_assert_eq!(similarity(&a, &a), 1.0);
            }
        }
    }
}
