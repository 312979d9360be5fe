//! Survey link tokens: 128 random bits, URL-safe; only their SHA-256 is
//! stored, so the links table cannot be read back into links.

use base64::Engine;
use sha2::{Digest, Sha256};

/// Characters of a token (16 bytes, base64 without padding).
const TOKEN_CHARS: usize = 22;

/// A new token and the hash it is stored by.
pub(crate) fn new_token() -> Result<(String, Vec<u8>), String> {
    let bytes = crate::random::bytes::<16>()
        .map_err(|e| format!("no randomness for a survey link: {e}"))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash(&token);
    Ok((token, hash))
}

/// The stored key of a well-formed token; `None` for anything else.
pub(crate) fn token_hash(token: &str) -> Option<Vec<u8>> {
    let well_formed = token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| hash(token))
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_is_well_formed_and_found_by_its_hash() {
        let (token, hash) = new_token().unwrap();
        assert_eq!(token.len(), TOKEN_CHARS);
        assert_eq!(token_hash(&token), Some(hash));
        assert_ne!(new_token().unwrap().0, token);
        for bad in [
            "",
            "short",
            &format!("{}=", &token[1..]),
            &format!("{token}A"),
        ] {
            assert_eq!(token_hash(bad), None, "{bad}");
        }
    }
}
