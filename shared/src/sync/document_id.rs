//! Document ids as automerge-repo writes them: base58check of 16 random bytes.

use std::fmt;
use std::str::FromStr;

/// Identifies one Automerge document (one feedback record) on every replica.
///
/// Kept as the raw 16 bytes so comparisons and hashing are cheap; the
/// base58check text form is what travels on the wire and in URLs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

/// Why a string is not a document id; shown to whoever sent it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DocumentIdError {
    /// Not base58, or the checksum does not match.
    #[error("document id is not valid base58check")]
    Encoding,
    /// Decoded, but not the 16 bytes automerge-repo uses.
    #[error("document id must hold 16 bytes, found {0}")]
    Length(usize),
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
        let s = s.split('#').next().unwrap_or(s);
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

    proptest! {
        #[test]
        fn text_form_round_trips(bytes in any::<[u8; 16]>()) {
            let id = DocumentId::from_bytes(bytes);
            prop_assert_eq!(id.to_string().parse::<DocumentId>(), Ok(id));
        }
    }
}
