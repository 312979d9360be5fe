//! argon2id password hashing on one dedicated thread with one reused work
//! area. Each hash needs 19 MiB: allocating it per login left the allocator
//! holding a fresh copy after each of the first logins (over 100 MB after a
//! handful), and logins in parallel would take every core. Here memory
//! stays at one work area, given back when logins stop, and a burst of
//! logins queues.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::sync::mpsc;

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::StorageError;

/// The largest work area a stored hash may ask for (64 MiB); anything
/// larger is refused rather than allocated.
const MAX_M_COST_KIB: u32 = 64 * 1024;

/// How long the work area is kept after the last hash: a burst of logins
/// reuses it, a quiet server does not hold 19 MiB for nobody.
const KEEP_WORK_AREA: std::time::Duration = std::time::Duration::from_secs(2);

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// The password thread's argon2 work area, kept between hashes.
    static WORK_AREA: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` on the password thread and waits for its result.
async fn on_password_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StorageError> {
    static QUEUE: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("closeloop-passwords".into())
            .spawn(move || {
                loop {
                    let job = match rx.recv_timeout(KEEP_WORK_AREA) {
                        Ok(job) => job,
                        Err(mpsc::RecvTimeoutError::Timeout) => {
                            // Quiet: the work area goes back until the next login.
                            WORK_AREA.take();
                            continue;
                        }
                        Err(mpsc::RecvTimeoutError::Disconnected) => break,
                    };
                    // A failing job fails its login, not every later one.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            })
            .ok()
            .map(|_| tx)
    });
    let gone = || StorageError::Crypto("the password thread is not running".into());
    let (done, result) = tokio::sync::oneshot::channel();
    queue
        .as_ref()
        .ok_or_else(gone)?
        .send(Box::new(move || {
            // The request was dropped while queued (its client went away):
            // nobody waits for this answer, so no hashing for it.
            if done.is_closed() {
                return;
            }
            let _ = done.send(work());
        }))
        .map_err(|_| gone())?;
    result.await.map_err(|_| gone())
}

/// argon2 into `out`, in the thread's work area.
fn compute(argon2: &Argon2, password: &[u8], salt: &[u8], out: &mut [u8]) -> Result<(), String> {
    WORK_AREA.with_borrow_mut(|area| {
        let blocks = argon2.params().block_count();
        if area.len() < blocks {
            area.resize(blocks, Block::default());
        }
        argon2
            .hash_password_into_with_memory(password, salt, out, &mut area[..blocks])
            .map_err(|e| e.to_string())
    })
}

/// A PHC-format argon2id hash of `password` with a fresh random salt and
/// the default (OWASP) parameters: 19 MiB, 2 passes, 1 lane.
pub(super) fn hash_now(password: &str) -> Result<String, String> {
    let mut salt_bytes = [0u8; 16];
    getrandom::fill(&mut salt_bytes).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon2, password.as_bytes(), &salt_bytes, &mut out)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(Salt::from(&salt)),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC-format `stored` hash; a malformed or
/// unsupported hash matches nothing.
pub(super) fn matches_now(password: &str, stored: &str) -> bool {
    let check = || -> Result<bool, String> {
        let phc = PasswordHash::new(stored).map_err(|e| e.to_string())?;
        let algorithm = Algorithm::try_from(phc.algorithm).map_err(|e| e.to_string())?;
        let version = phc
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let params = Params::try_from(&phc).map_err(|e| e.to_string())?;
        if params.m_cost() > MAX_M_COST_KIB {
            return Err("stored hash asks for too much memory".into());
        }
        let mut salt_buf = [0u8; 64];
        let salt = phc
            .salt
            .ok_or("no salt")?
            .decode_b64(&mut salt_buf)
            .map_err(|e| e.to_string())?;
        let expected = phc.hash.ok_or("no hash")?;
        let mut out = vec![0u8; expected.len()];
        compute(
            &Argon2::new(algorithm, version, params),
            password.as_bytes(),
            salt,
            &mut out,
        )?;
        // Output's equality is constant-time.
        Ok(Output::new(&out).map_err(|e| e.to_string())? == expected)
    };
    check().unwrap_or(false)
}

/// [`hash_now`] on the password thread.
pub(super) async fn hash(password: String) -> Result<String, StorageError> {
    on_password_thread(move || hash_now(&password))
        .await?
        .map_err(StorageError::Crypto)
}

/// [`matches_now`] on the password thread. With no stored hash (unknown
/// user) it checks against a hash of a password nobody has, so the answer
/// takes as long as for a known user.
pub(super) async fn matches(
    password: String,
    stored: Option<String>,
) -> Result<bool, StorageError> {
    on_password_thread(move || match stored {
        Some(stored) => matches_now(&password, &stored),
        None => {
            static NOBODY: OnceLock<String> = OnceLock::new();
            let nobody = NOBODY.get_or_init(|| hash_now("not a real password").unwrap_or_default());
            // Spent for the timing only: nobody's password is unknown.
            let _ = matches_now(&password, nobody);
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    #[test]
    fn hashes_verify_here_and_with_the_reference_verifier() {
        let stored = hash_now("十个字符以上的密码").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(matches_now("十个字符以上的密码", &stored));
        assert!(!matches_now("十个字符以上的密码 ", &stored));
        let phc = PasswordHash::new(&stored).unwrap();
        assert!(
            Argon2::default()
                .verify_password("十个字符以上的密码".as_bytes(), &phc)
                .is_ok()
        );
    }

    #[test]
    fn hashes_made_by_the_reference_hasher_verify() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let small = Params::new(1024, 1, 1, None).unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, small)
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(matches_now("correct horse", &reference));
        assert!(!matches_now("wrong horse", &reference));
    }

    #[test]
    fn malformed_or_greedy_hashes_match_nothing() {
        assert!(!matches_now("x", ""));
        assert!(!matches_now(
            "x",
            "$argon2id$v=19$m=19456,t=2,p=1$bm9zYWx0$"
        ));
        assert!(!matches_now(
            "x",
            "$argon2id$v=19$m=1048576,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        ));
    }
}
