//! Document ids as automerge-repo writes them: base58check of 16 random bytes.

use std::fmt;
use std::str::FromStr;

/// Identifies one Automerge document (one feedback record) on every replica.
///
/// Kept as the raw 16 bytes so comparisons and hashing are cheap; the
/// base58check text form is what travels on the wire and in URLs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

/// Longest base58check text of 16 bytes: 20 bytes with the checksum need
/// at most 28 base58 digits. Checked before decoding, because base58
/// decoding takes time quadratic in the length of its input.
pub const MAX_ID_CHARS: usize = 28;
/// Longest `#heads` suffix of a URL accepted (and ignored): a few change
/// hashes of about 50 characters each.
pub const MAX_HEADS_SUFFIX: usize = 512;

/// Why a string is not a document id; shown to whoever sent it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentIdError {
    /// Not base58, or the checksum does not match.
    #[error("document id is not valid base58check")]
    Encoding,
    /// Decoded, but not the 16 bytes automerge-repo uses.
    #[error("document id must hold 16 bytes, found {0}")]
    Length(usize),
    /// Longer than any valid id (see [`MAX_ID_CHARS`]); not decoded.
    #[error("document id is longer than {MAX_ID_CHARS} characters")]
    TooLong,
}

impl DocumentId {
    /// A new id from 16 random bytes the caller supplies (randomness is an input).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw bytes, e.g. for storage keys.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The `automerge:<id>` URL form automerge-repo clients understand.
    pub fn url(&self) -> String {
        format!("automerge:{self}")
    }
}

impl FromStr for DocumentId {
    type Err = DocumentIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix("automerge:").unwrap_or(s);
        let (s, heads) = s.split_once('#').unwrap_or((s, ""));
        if s.len() > MAX_ID_CHARS || heads.len() > MAX_HEADS_SUFFIX {
            return Err(DocumentIdError::TooLong);
        }
        let bytes = bs58::decode(s)
            .with_check(None)
            .into_vec()
            .map_err(|_| DocumentIdError::Encoding)?;
        let len = bytes.len();
        let arr: [u8; 16] = bytes.try_into().map_err(|_| DocumentIdError::Length(len))?;
        Ok(Self(arr))
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl serde::Serialize for DocumentId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DocumentId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_an_id_written_by_js_automerge_repo() {
        let id: DocumentId = "29iQSuSeK6H6XFqvhfQGfzFYssr2".parse().unwrap();
        assert_eq!(id.to_string(), "29iQSuSeK6H6XFqvhfQGfzFYssr2");
        let url: DocumentId = "automerge:29iQSuSeK6H6XFqvhfQGfzFYssr2#abc"
            .parse()
            .unwrap();
        assert_eq!(url, id);
    }

    #[test]
    fn rejects_a_corrupted_checksum_and_wrong_lengths() {
        assert_eq!(
            "29iQSuSeK6H6XFqvhfQGfzFYssr3".parse::<DocumentId>(),
            Err(DocumentIdError::Encoding)
        );
        let short = bs58::encode([1u8; 8]).with_check().into_string();
        assert_eq!(short.parse::<DocumentId>(), Err(DocumentIdError::Length(8)));
        assert!("".parse::<DocumentId>().is_err());
    }

    #[test]
    fn an_overlong_id_is_refused_before_decoding() {
        let long = "2".repeat(200_000);
        let started = std::time::Instant::now();
        assert_eq!(long.parse::<DocumentId>(), Err(DocumentIdError::TooLong));
        assert!(started.elapsed() < std::time::Duration::from_millis(10));
        let suffix = format!("automerge:29iQSuSeK6H6XFqvhfQGfzFYssr2#{}", "a".repeat(600));
        assert_eq!(suffix.parse::<DocumentId>(), Err(DocumentIdError::TooLong));
        // The longest ids (no leading zero bytes) still parse.
        let id = DocumentId::from_bytes([0xff; 16]);
        assert_eq!(id.to_string().len(), MAX_ID_CHARS);
        assert_eq!(id.to_string().parse::<DocumentId>(), Ok(id));
    }

    proptest! {
        #[test]
        fn text_form_round_trips(bytes in any::<[u8; 16]>()) {
            let id = DocumentId::from_bytes(bytes);
            prop_assert_eq!(id.to_string().parse::<DocumentId>(), Ok(id));
        }
    }
}
