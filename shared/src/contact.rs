//! A customer's contact details and consent (S002 §8, S003: no disclosure
//! without consent, a nickname instead of a real name). They never enter a
//! record's Automerge history, which every replica copies and nothing can
//! erase: the server keeps them in its contact store, encrypted under a key
//! of that customer alone, and the record holds only `contactRef`. Erasing
//! the customer destroys the key.

/// Longest real name kept, in characters.
pub const MAX_NAME_CHARS: usize = 60;
/// Longest email address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// What may be stored about a customer; every field optional, at least one given.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Only when the customer gives it; records carry a nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What the customer agreed their details may be used for (S003 §3: contact
/// for the follow-up; S003 §4: satisfaction surveys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentPurpose {
    FollowUp,
    Survey,
}

impl ConsentPurpose {
    pub const ALL: [ConsentPurpose; 2] = [ConsentPurpose::FollowUp, ConsentPurpose::Survey];

    /// The stored key.
    pub fn key(self) -> &'static str {
        match self {
            ConsentPurpose::FollowUp => "follow_up",
            ConsentPurpose::Survey => "survey",
        }
    }

    pub fn from_key(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == s)
    }
}

/// A consent as recorded: for what, when, and who took it down.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Consent {
    pub purpose: ConsentPurpose,
    pub at_ms: i64,
    pub recorded_by: String,
}

/// `POST /api/contacts` body. The client picks the reference (a tablet
/// writes it into the record offline, before the upload) with
/// [`is_contact_ref`]'s shape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub contact_ref: String,
    pub details: ContactDetails,
    #[serde(default)]
    pub consents: Vec<ConsentPurpose>,
    /// When the customer gave them (ms); the upload may come much later.
    pub captured_at_ms: i64,
}

/// `GET /api/records/{id}/contact`: what an allowed viewer sees; every
/// such view is written to the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContactView {
    pub contact_ref: String,
    /// `None` once the customer was erased.
    pub details: Option<ContactDetails>,
    pub consents: Vec<Consent>,
    pub created_at_ms: i64,
    pub created_by: String,
    pub erased_at_ms: Option<i64>,
}

/// Why contact details were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("give a phone number, an email address or a name")]
    Empty,
    #[error(
        "the phone number should have 5 to 20 digits (a leading + and spaces or hyphens allowed)"
    )]
    BadPhone,
    #[error("the email address is not valid")]
    BadEmail,
    #[error("the name is longer than {MAX_NAME_CHARS} characters")]
    NameTooLong,
    #[error("the contact reference is not one Closeloop issued")]
    BadRef,
}

impl ContactError {
    /// A stable code for API answers and translated messages.
    pub fn code(self) -> &'static str {
        match self {
            ContactError::Empty => "contact_empty",
            ContactError::BadPhone => "contact_bad_phone",
            ContactError::BadEmail => "contact_bad_email",
            ContactError::NameTooLong => "contact_name_too_long",
            ContactError::BadRef => "contact_bad_ref",
        }
    }
}

/// Prefix of every contact reference.
const REF_PREFIX: &str = "ct-";

/// A reference is `ct-` and 32 lowercase hex digits: 128 random bits, so it
/// says nothing about the customer and cannot be guessed.
pub fn is_contact_ref(s: &str) -> bool {
    s.strip_prefix(REF_PREFIX).is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// A reference from 16 random bytes.
pub fn contact_ref(random: [u8; 16]) -> String {
    let mut s = String::from(REF_PREFIX);
    for b in random {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

impl ContactDetails {
    /// Trimmed, empty fields dropped, phone digits normalised (`+86` and
    /// separators removed), email lower-cased; refused when nothing is left
    /// or a field is malformed.
    pub fn normalised(&self) -> Result<ContactDetails, ContactError> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let phone = given(&self.phone).map(|p| normal_phone(&p)).transpose()?;
        let email = given(&self.email).map(|e| normal_email(&e)).transpose()?;
        let name = given(&self.name);
        if name
            .as_deref()
            .is_some_and(|n| n.chars().count() > MAX_NAME_CHARS || n.chars().any(char::is_control))
        {
            return Err(ContactError::NameTooLong);
        }
        if phone.is_none() && email.is_none() && name.is_none() {
            return Err(ContactError::Empty);
        }
        Ok(ContactDetails { phone, email, name })
    }
}

fn normal_phone(raw: &str) -> Result<String, ContactError> {
    let body = raw.strip_prefix('+').unwrap_or(raw);
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        return Err(ContactError::BadPhone);
    }
    let mut digits: String = body.chars().filter(char::is_ascii_digit).collect();
    // A mainland number written internationally is the same customer.
    if digits.len() == 13 && digits.starts_with("86") {
        digits.drain(..2);
    }
    if !(5..=20).contains(&digits.len()) {
        return Err(ContactError::BadPhone);
    }
    Ok(digits)
}

fn normal_email(raw: &str) -> Result<String, ContactError> {
    let email = raw.to_lowercase();
    let valid = email.chars().count() <= MAX_EMAIL_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(email)
    } else {
        Err(ContactError::BadEmail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(phone: &str, email: &str, name: &str) -> ContactDetails {
        let opt = |s: &str| Some(s.to_string());
        ContactDetails {
            phone: opt(phone),
            email: opt(email),
            name: opt(name),
        }
    }

    #[test]
    fn details_are_normalised() {
        let d = details(" +86 138-1234-5678 ", "Li.Wei@Example.COM", "  李伟 ")
            .normalised()
            .expect("valid");
        assert_eq!(d, details("13812345678", "li.wei@example.com", "李伟"));
        let only_name = details("", " ", "王").normalised().expect("valid");
        assert_eq!(only_name.phone, None);
        assert_eq!(only_name.email, None);
    }

    #[test]
    fn bad_details_are_refused_with_their_reason() {
        assert_eq!(details("", "", "").normalised(), Err(ContactError::Empty));
        assert_eq!(
            ContactDetails::default().normalised(),
            Err(ContactError::Empty)
        );
        assert_eq!(
            details("12ab", "", "").normalised(),
            Err(ContactError::BadPhone)
        );
        assert_eq!(
            details("1234", "", "").normalised(),
            Err(ContactError::BadPhone)
        );
        for bad in ["a@b", "@b.cn", "a b@c.cn", "a@b.cn.", "a@@b.cn"] {
            assert_eq!(
                details("", bad, "").normalised(),
                Err(ContactError::BadEmail),
                "{bad}"
            );
        }
        let long = "名".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            details("", "", &long).normalised(),
            Err(ContactError::NameTooLong)
        );
    }

    #[test]
    fn references_are_128_random_bits_in_hex() {
        let r = contact_ref([0xab; 16]);
        assert!(is_contact_ref(&r), "{r}");
        assert_eq!(r.len(), 3 + 32);
        for bad in [
            "",
            "ct-",
            "ct-ABABABABABABABABABABABABABABABAB",
            "xx-abababababababababababababababab",
            &format!("{r}0"),
        ] {
            assert!(!is_contact_ref(bad), "{bad}");
        }
    }
}
