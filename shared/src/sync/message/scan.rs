//! A pre-scan of a frame's CBOR structure, run before any value is built.
//!
//! `ciborium` turns a frame into a `Value` tree; a 1 MiB frame of one-byte
//! items would become a million tree nodes (tens of MB) before we could look
//! at it. Valid messages have fewer than 20 items, at most 3 levels deep, and
//! no long text, so the scan walks the item headers only (no allocation,
//! time linear in the items it allows) and refuses anything larger.

/// Most items (keys, values, array elements) a frame may hold; a `join`
/// with metadata has 13.
pub const MAX_ITEMS: usize = 64;
/// Deepest nesting of maps and arrays (`peerMetadata` is at depth 2).
pub const MAX_DEPTH: usize = 4;
/// Longest text string anywhere in a frame: ids are under 100 bytes and
/// error messages short. Only byte strings (`data`) may be long.
pub const MAX_TEXT_BYTES: usize = 2048;

/// Why the structure is refused; shown to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("frame holds more than {MAX_ITEMS} CBOR items")]
    TooManyItems,
    #[error("frame nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("a text string in the frame is over {MAX_TEXT_BYTES} bytes")]
    TextTooLong,
    #[error("frame ends inside a CBOR item")]
    Truncated,
    #[error("frame uses a reserved CBOR encoding")]
    Reserved,
}

/// What a container still expects: a number of items, or items until a break.
#[derive(Clone, Copy)]
enum Open {
    Items(u64),
    UntilBreak,
}

/// Checks that `frame` starts with one CBOR item within the limits above;
/// trailing bytes are left for the decoder to refuse.
pub fn scan(frame: &[u8]) -> Result<(), ScanError> {
    let mut at = 0usize;
    let mut items = 0usize;
    let mut stack: [Open; MAX_DEPTH] = [Open::Items(0); MAX_DEPTH];
    let mut depth = 0usize;
    // The top level holds exactly one item.
    let mut top_done = false;
    while !top_done {
        // Close containers that are complete.
        if depth > 0 {
            match stack[depth - 1] {
                Open::Items(0) => {
                    depth -= 1;
                    top_done = depth == 0;
                    continue;
                }
                Open::UntilBreak if frame.get(at) == Some(&0xff) => {
                    at += 1;
                    depth -= 1;
                    top_done = depth == 0;
                    continue;
                }
                Open::Items(n) => stack[depth - 1] = Open::Items(n - 1),
                Open::UntilBreak => {}
            }
        }
        items += 1;
        if items > MAX_ITEMS {
            return Err(ScanError::TooManyItems);
        }
        let head = *frame.get(at).ok_or(ScanError::Truncated)?;
        at += 1;
        let major = head >> 5;
        let info = head & 0x1f;
        let arg = match info {
            0..=23 => Some(u64::from(info)),
            24..=27 => {
                let len = 1usize << (info - 24);
                let bytes = frame.get(at..at + len).ok_or(ScanError::Truncated)?;
                at += len;
                Some(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
            }
            31 if matches!(major, 2..=5) => None,
            // A break outside an indefinite container, or a reserved value.
            _ => return Err(ScanError::Reserved),
        };
        let container = match (major, arg) {
            (2 | 3, Some(len)) => {
                let len = usize::try_from(len).map_err(|_| ScanError::Truncated)?;
                if major == 3 && len > MAX_TEXT_BYTES {
                    return Err(ScanError::TextTooLong);
                }
                if frame.len() - at < len {
                    return Err(ScanError::Truncated);
                }
                at += len;
                None
            }
            // Indefinite strings are chunks until a break, like an array.
            (2..=4, None) | (5, None) => Some(Open::UntilBreak),
            (4, Some(n)) => Some(Open::Items(n)),
            (5, Some(n)) => Some(Open::Items(n.saturating_mul(2))),
            // A tag is followed by the one item it tags.
            (6, _) => Some(Open::Items(1)),
            _ => None,
        };
        match container {
            Some(open) => {
                if depth == MAX_DEPTH {
                    return Err(ScanError::TooDeep);
                }
                stack[depth] = open;
                depth += 1;
            }
            None => top_done = depth == 0,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flat_map_passes_and_limits_are_enforced() {
        // {"a": [1, 2]}
        assert_eq!(scan(&[0xa1, 0x61, b'a', 0x82, 0x01, 0x02]), Ok(()));
        // An array claiming a million items ends early.
        assert_eq!(
            scan(&[0x9a, 0x00, 0x0f, 0x42, 0x40, 0x01]),
            Err(ScanError::Truncated)
        );
        let mut many = vec![0x98, 200];
        many.extend([0u8; 200]);
        assert_eq!(scan(&many), Err(ScanError::TooManyItems));
        assert_eq!(scan(&[0x81; 10]), Err(ScanError::TooDeep));
        assert_eq!(scan(&[0xff]), Err(ScanError::Reserved));
        let mut text = vec![0x79, 0x10, 0x00];
        text.extend([b'x'; 4096]);
        assert_eq!(scan(&text), Err(ScanError::TextTooLong));
    }

    #[test]
    fn indefinite_containers_end_at_their_break() {
        // {_ "a": [_ 1] }
        assert_eq!(scan(&[0xbf, 0x61, b'a', 0x9f, 0x01, 0xff, 0xff]), Ok(()));
        assert_eq!(scan(&[0xbf, 0x61, b'a']), Err(ScanError::Truncated));
    }
}
