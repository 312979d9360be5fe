//! Personal data typed into free text (S002 §8, S003: no disclosure
//! without consent). A description or reply goes into the record's
//! Automerge history, which every replica copies and nothing can erase, so
//! forms warn before saving text that looks like a mainland mobile number,
//! an email address or an 18-digit resident ID number.

use crate::contact::ContactDetails;

/// What a piece of text looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PersonalData {
    /// 11 digits starting 13–19, spaces or hyphens allowed between groups.
    MobileNumber,
    Email,
    /// 18 characters (the last may be X) with a valid GB 11643 check digit.
    IdNumber,
}

impl PersonalData {
    /// A stable name (for messages).
    pub fn key(self) -> &'static str {
        match self {
            PersonalData::MobileNumber => "mobile",
            PersonalData::Email => "email",
            PersonalData::IdNumber => "id_number",
        }
    }
}

/// Where in a text something personal seems to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub kind: PersonalData,
    /// Byte range in the text.
    pub range: std::ops::Range<usize>,
}

/// Characters that end an email address in running text.
const WORD_BREAKS: &str = "，。；：、,;<>()（）\"'";

/// Every place `text` seems to hold personal data, in text order.
pub fn spans(text: &str) -> Vec<Span> {
    let mut found: Vec<Span> = digit_runs(text)
        .into_iter()
        .filter_map(|(range, run)| {
            let kind = if is_id_number(&run) {
                PersonalData::IdNumber
            } else if is_mobile(&run) {
                PersonalData::MobileNumber
            } else {
                return None;
            };
            Some(Span { kind, range })
        })
        .collect();
    let mut start = 0;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        if c.is_whitespace() || WORD_BREAKS.contains(c) {
            if is_email(&text[start..i]) {
                found.push(Span {
                    kind: PersonalData::Email,
                    range: start..i,
                });
            }
            start = i + c.len_utf8();
        }
    }
    found.sort_by_key(|s| s.range.start);
    found
}

/// The kinds of personal data `text` seems to contain, each once, in the
/// order first found.
pub fn find(text: &str) -> Vec<PersonalData> {
    let mut kinds = Vec::new();
    for span in spans(text) {
        if !kinds.contains(&span.kind) {
            kinds.push(span.kind);
        }
    }
    kinds
}

/// `text` with each personal-data span replaced by `marker`.
pub fn redact(text: &str, marker: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for span in spans(text) {
        if span.range.start < from {
            continue;
        }
        out.push_str(&text[from..span.range.start]);
        out.push_str(marker);
        from = span.range.end;
    }
    out.push_str(&text[from..]);
    out
}

/// Moves what `text` holds for the contact store out of it: the first
/// mobile number becomes the phone and the first email address the email
/// (as written; [`ContactDetails::normalised`] tidies them), and both
/// leave the text. ID numbers leave the text too but are not kept: no
/// form needs one. Further numbers or addresses stay, so the warning
/// still shows them. Blanks left around a removed part are closed up.
pub fn take_contact(text: &str) -> (String, ContactDetails) {
    let mut details = ContactDetails::default();
    let mut cut: Vec<std::ops::Range<usize>> = Vec::new();
    let mut found = spans(text);
    // By start, the longer first where two start together.
    found.sort_by_key(|s| (s.range.start, std::cmp::Reverse(s.range.end)));
    for Span { kind, range: span } in found {
        // "13812345678@qq.com" is one address, not also a phone.
        if cut.last().is_some_and(|last| span.start < last.end) {
            continue;
        }
        let slot = match kind {
            PersonalData::MobileNumber => &mut details.phone,
            PersonalData::Email => &mut details.email,
            PersonalData::IdNumber => {
                cut.push(span);
                continue;
            }
        };
        if slot.is_none() {
            *slot = Some(text[span.clone()].to_string());
            cut.push(span);
        }
    }
    let mut rest = String::with_capacity(text.len());
    let mut at = 0;
    for span in cut {
        let next = &text[span.end..];
        rest.push_str(&text[at..span.start]);
        // The blank before a removed part goes with it when a blank,
        // punctuation or the end follows: "请回电 138… 谢谢" keeps one
        // space, "请回电 138…，谢谢" none.
        if next.is_empty() || next.starts_with([' ', '\n']) || next.starts_with(is_punctuation) {
            rest.truncate(rest.trim_end_matches(' ').len());
        }
        at = span.end;
        // Nothing before it: nothing to keep apart from.
        if rest.trim().is_empty() {
            at += next.len() - next.trim_start().len();
        }
    }
    rest.push_str(&text[at..]);
    (rest.trim().to_string(), details)
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || "，。；：、！？）】」".contains(c)
}

/// Runs of digits (and a final X) where single spaces or hyphens between
/// digits are ignored: `138 1234-5678` is one run of 11. Each with its
/// byte range in `text`.
fn digit_runs(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut runs = Vec::new();
    let mut run = String::new();
    let (mut start, mut end) = (0, 0);
    for (i, &(at, c)) in chars.iter().enumerate() {
        let joins = (c == ' ' || c == '-')
            && !run.is_empty()
            && chars.get(i + 1).is_some_and(|(_, n)| n.is_ascii_digit());
        if c.is_ascii_digit() || ((c == 'X' || c == 'x') && run.len() == 17) {
            if run.is_empty() {
                start = at;
            }
            run.push(c.to_ascii_uppercase());
            end = at + c.len_utf8();
        } else if !joins && !run.is_empty() {
            runs.push((start..end, std::mem::take(&mut run)));
        }
    }
    if !run.is_empty() {
        runs.push((start..end, run));
    }
    runs
}

fn is_mobile(run: &str) -> bool {
    let b = run.as_bytes();
    run.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

/// GB 11643: 17 digits weighted, the check character from the sum mod 11.
fn is_id_number(run: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = run.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] == b[17]
}

fn is_email(word: &str) -> bool {
    let Some((local, domain)) = word.split_once('@') else {
        return false;
    };
    let part = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
    };
    part(local)
        && domain.rsplit_once('.').is_some_and(|(name, tld)| {
            part(name) && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
        })
}

#[cfg(test)]
mod tests {
    use super::PersonalData::*;
    use super::{find, redact, take_contact};
    use crate::contact::ContactDetails;

    fn taken(phone: Option<&str>, email: Option<&str>) -> ContactDetails {
        ContactDetails {
            phone: phone.map(str::to_string),
            email: email.map(str::to_string),
            name: None,
        }
    }

    #[test]
    fn mainland_mobile_numbers_with_or_without_separators() {
        assert_eq!(find("请回电 13812345678"), vec![MobileNumber]);
        assert_eq!(find("电话138 1234 5678，谢谢"), vec![MobileNumber]);
        assert_eq!(find("tel: 199-0000-1111"), vec![MobileNumber]);
        // Not phones: too short, too long, a landline, an order number.
        assert_eq!(find("订单 SO-2026-3321"), vec![]);
        assert_eq!(find("12812345678"), vec![]);
        assert_eq!(find("138123456789"), vec![]);
        assert_eq!(find("010-6552 1234"), vec![]);
        assert_eq!(find("会员积分 3390 分"), vec![]);
    }

    #[test]
    fn emails() {
        assert_eq!(find("邮箱 li.wei+shop@example.com.cn 联系"), vec![Email]);
        assert_eq!(find("发到（zhang@qq.com）"), vec![Email]);
        assert_eq!(find("@门店 你好"), vec![]);
        assert_eq!(find("a@b"), vec![]);
    }

    #[test]
    fn id_numbers_only_with_a_valid_check_digit() {
        // The GB 11643 example number and one ending in X.
        assert_eq!(find("身份证 11010519491231002X"), vec![IdNumber]);
        assert_eq!(find("证件号110105194912310021"), vec![]);
        assert_eq!(find("440524188001010014"), vec![IdNumber]);
        // Both kinds in one text, each once.
        assert_eq!(
            find("13812345678 / 13912345678 / 440524188001010014"),
            vec![MobileNumber, IdNumber]
        );
    }

    #[test]
    fn redaction_replaces_exactly_what_was_found() {
        assert_eq!(
            redact("王女士 138 1234-5678，邮箱 li@qq.com；订单 SO-3321", "▇"),
            "王女士 ▇，邮箱 ▇；订单 SO-3321"
        );
        assert_eq!(redact("身份证11010519491231002X。", "▇"), "身份证▇。");
        assert_eq!(redact("没有个人信息", "▇"), "没有个人信息");
    }

    #[test]
    fn mobile_numbers_move_out_of_the_text() {
        let (rest, c) = take_contact("请回电 138 1234-5678，谢谢");
        assert_eq!(rest, "请回电，谢谢");
        assert_eq!(c, taken(Some("138 1234-5678"), None));
        assert_eq!(
            c.normalised().expect("valid").phone.as_deref(),
            Some("13812345678")
        );
        let (rest, c) = take_contact("13912345678 客户说空调不制冷");
        assert_eq!(rest, "客户说空调不制冷");
        assert_eq!(c.phone.as_deref(), Some("13912345678"));
        let (rest, _) = take_contact("tel: 199-0000-1111 after 6pm");
        assert_eq!(rest, "tel: after 6pm");
        // Only the first number moves: the contact has one phone, and the
        // warning still shows the other.
        let (rest, c) = take_contact("13812345678 或 13912345678");
        assert_eq!(rest, "或 13912345678");
        assert_eq!(c.phone.as_deref(), Some("13812345678"));
        assert_eq!(find(&rest), vec![MobileNumber]);
    }

    #[test]
    fn emails_move_out_of_the_text() {
        let (rest, c) = take_contact("邮箱 li.wei+shop@example.com.cn 联系");
        assert_eq!(rest, "邮箱 联系");
        assert_eq!(c, taken(None, Some("li.wei+shop@example.com.cn")));
        let (rest, c) = take_contact("电话 13912345678 邮箱 a@b.cn 谢谢");
        assert_eq!(rest, "电话 邮箱 谢谢");
        assert_eq!(c, taken(Some("13912345678"), Some("a@b.cn")));
        // A QQ address is an address, not also a phone number.
        let (rest, c) = take_contact("发到 13812345678@qq.com");
        assert_eq!(rest, "发到");
        assert_eq!(c, taken(None, Some("13812345678@qq.com")));
    }

    #[test]
    fn id_numbers_leave_the_text_but_not_into_the_contact() {
        let (rest, c) = take_contact("身份证 11010519491231002X，电话 13812345678");
        assert_eq!(rest, "身份证，电话");
        assert_eq!(c, taken(Some("13812345678"), None));
        let (rest, c) = take_contact("440524188001010014");
        assert_eq!(rest, "");
        assert_eq!(c, ContactDetails::default());
        assert!(find(&rest).is_empty());
    }

    #[test]
    fn text_without_personal_data_is_kept_as_it_is() {
        let text = "订单 SO-2026-3321，会员积分 3390 分";
        assert_eq!(
            take_contact(text),
            (text.to_string(), ContactDetails::default())
        );
    }
}
