//! Random bytes and identifiers from the system's source. Failing to get
//! randomness is an error, never a fixed fallback: a fixed relay tag, peer
//! id or file name would make two of them collide.

/// `N` random bytes.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)?;
    Ok(b)
}

/// `N` random bytes as lowercase hex.
pub(crate) fn hex<const N: usize>() -> Result<String, getrandom::Error> {
    Ok(to_hex(&bytes::<N>()?))
}

/// Lowercase hex of `bytes` (hashes, ids).
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_two_digits_a_byte_and_differs_between_calls() {
        assert_eq!(super::to_hex(&[0, 15, 255]), "000fff");
        let (a, b) = (super::hex::<8>().unwrap(), super::hex::<8>().unwrap());
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
    }
}
