//! The contact store's keys (S002 §8). Each customer's details are sealed
//! with XChaCha20-Poly1305 under a key of that customer alone; that key is
//! stored wrapped under the deployment's master key, which lives in a file
//! outside the database. Erasing a customer deletes the wrapped key, after
//! which no copy of the sealed details — in the database, its backups or a
//! stolen file — can be opened again.
//!
//! Lookups ("is this the same customer?") use keyed hashes of the
//! normalised phone and email, so the database holds no plaintext to match.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

/// Why the vault could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the contact key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("no random source: {0}")]
    Random(String),
    /// Sealed data that does not open: damaged, or sealed under another key.
    #[error("sealed contact data does not open (damaged, or another master key)")]
    Open,
}

/// The master key, and what is derived from it.
#[derive(Clone)]
pub struct Vault {
    master: XChaCha20Poly1305,
    index_key: [u8; KEY_BYTES],
    /// Shows which master key a database was set up with, without revealing it.
    check: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Vault {
    /// Reads the master key (64 hex digits) from `path`, creating the file
    /// with a new random key, readable by its owner only, if it is missing.
    pub fn open_or_create(path: &Path) -> Result<Vault, VaultError> {
        let failed = |reason: String| VaultError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        let hex = match std::fs::read_to_string(path) {
            Ok(text) => text.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = crate::random::hex::<KEY_BYTES>()
                    .map_err(|e| VaultError::Random(e.to_string()))?;
                write_private(path, &key).map_err(|e| failed(e.to_string()))?;
                tracing::info!(path = %path.display(), "created a contact master key; back it up apart from the database");
                key
            }
            Err(e) => return Err(failed(e.to_string())),
        };
        let key = parse_key(&hex).ok_or_else(|| failed("expected 64 hexadecimal digits".into()))?;
        Ok(Vault::from_key(key))
    }

    /// A vault over a given master key.
    pub fn from_key(key: [u8; KEY_BYTES]) -> Vault {
        let derive = |label: &[u8]| -> [u8; KEY_BYTES] {
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes keys of any length");
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        Vault {
            master: XChaCha20Poly1305::new(&key.into()),
            index_key: derive(b"closeloop contact lookup"),
            check: crate::random::to_hex(&derive(b"closeloop master key check")),
        }
    }

    /// Identifies the master key (stored in the database at first start, so
    /// a relay given another key refuses to start instead of failing later).
    pub fn check(&self) -> &str {
        &self.check
    }

    /// A new customer key and its wrapped form for storage.
    pub fn new_customer_key(
        &self,
        contact_ref: &str,
    ) -> Result<(CustomerKey, Vec<u8>), VaultError> {
        let key =
            crate::random::bytes::<KEY_BYTES>().map_err(|e| VaultError::Random(e.to_string()))?;
        let wrapped = seal(&self.master, &key, &wrap_label(contact_ref))?;
        Ok((CustomerKey(XChaCha20Poly1305::new(&key.into())), wrapped))
    }

    /// Unwraps a stored customer key.
    pub fn customer_key(
        &self,
        contact_ref: &str,
        wrapped: &[u8],
    ) -> Result<CustomerKey, VaultError> {
        let key = open(&self.master, wrapped, &wrap_label(contact_ref))?;
        let key: [u8; KEY_BYTES] = key.try_into().map_err(|_| VaultError::Open)?;
        Ok(CustomerKey(XChaCha20Poly1305::new(&key.into())))
    }

    /// The keyed hash a normalised phone number or email is looked up by.
    pub fn lookup(&self, kind: &str, normalised: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key)
            .expect("HMAC takes keys of any length");
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(normalised.as_bytes());
        crate::random::to_hex(&mac.finalize().into_bytes())
    }
}

/// One customer's key, unwrapped for the length of a request.
pub struct CustomerKey(XChaCha20Poly1305);

impl CustomerKey {
    /// Seals `plain`, bound to `contact_ref` (a sealed value moved to another
    /// customer's row does not open).
    pub fn seal(&self, contact_ref: &str, plain: &[u8]) -> Result<Vec<u8>, VaultError> {
        seal(&self.0, plain, contact_ref.as_bytes())
    }

    pub fn open(&self, contact_ref: &str, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        open(&self.0, sealed, contact_ref.as_bytes())
    }
}

fn wrap_label(contact_ref: &str) -> Vec<u8> {
    [b"key:".as_slice(), contact_ref.as_bytes()].concat()
}

/// Nonce then ciphertext: random 192-bit nonces never repeat in practice.
fn seal(cipher: &XChaCha20Poly1305, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
    let nonce =
        crate::random::bytes::<NONCE_BYTES>().map_err(|e| VaultError::Random(e.to_string()))?;
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| VaultError::Open)?;
    Ok([nonce.as_slice(), &sealed].concat())
}

fn open(cipher: &XChaCha20Poly1305, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() < NONCE_BYTES {
        return Err(VaultError::Open);
    }
    let (nonce, body) = sealed.split_at(NONCE_BYTES);
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| VaultError::Open)
}

fn parse_key(hex: &str) -> Option<[u8; KEY_BYTES]> {
    if hex.len() != KEY_BYTES * 2 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; KEY_BYTES];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(key)
}

/// Writes a new file only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_open_only_with_their_customer_key_and_reference() {
        let vault = Vault::from_key([7; KEY_BYTES]);
        let (key, wrapped) = vault.new_customer_key("ct-a").expect("key");
        let sealed = key.seal("ct-a", b"13812345678").expect("seal");
        assert!(!sealed.windows(11).any(|w| w == b"13812345678"));
        let again = vault.customer_key("ct-a", &wrapped).expect("unwrap");
        assert_eq!(again.open("ct-a", &sealed).expect("open"), b"13812345678");
        // Moved to another row, or unwrapped for another row: refused.
        assert!(again.open("ct-b", &sealed).is_err());
        assert!(vault.customer_key("ct-b", &wrapped).is_err());
        // Another master key opens nothing.
        let other = Vault::from_key([8; KEY_BYTES]);
        assert!(other.customer_key("ct-a", &wrapped).is_err());
        assert_ne!(vault.check(), other.check());
    }

    #[test]
    fn the_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("contact.key");
        let first = Vault::open_or_create(&path).expect("create");
        let second = Vault::open_or_create(&path).expect("read");
        assert_eq!(first.check(), second.check());
        assert_eq!(first.lookup("phone", "1"), second.lookup("phone", "1"));
        std::fs::write(&path, "not a key").expect("write");
        assert!(matches!(
            Vault::open_or_create(&path),
            Err(VaultError::KeyFile { .. })
        ));
    }
}
