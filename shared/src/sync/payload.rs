//! Bounds on an Automerge sync payload, checked before automerge reads it.
//!
//! automerge 0.12 trusts the sizes a payload claims: it inflates DEFLATE
//! data with `read_to_end` (a compressed change chunk, or the compressed
//! columns of a document chunk a V2 peer sends), expands run-length encoded
//! columns op by op (a few bytes can claim a billion ops), and builds a
//! probe list as long as a peer's bloom filter says (`num_probes` up to
//! 2^32; a filter with entries and zero bits divides by zero). This module
//! walks the payload's structure the way automerge will, without building
//! anything: it inflates compressed data only up to a limit and counts the
//! entries of every column run without expanding it, so the cost of a check
//! is linear in the payload plus the limits, and a payload that passes
//! cannot make automerge allocate or loop past them.

use std::io::Read;

/// Bytes of one change, after inflating it if it came compressed. A full
/// 10,000-character record is under 60 KB.
pub const MAX_CHANGE_BYTES: usize = 256 * 1024;
/// Operations one sync message may add to a record (in one change, or in
/// several, or as the part of a full save the record lacks): replacing a
/// 10,000-character description is 20,000 (every deletion and insertion is
/// one), so this is five such rewrites made offline.
pub const MAX_CHANGE_OPS: u64 = 100_000;
/// Operations in one record, history included: a dozen full rewrites of
/// the longest description, far beyond what a feedback record sees.
pub const MAX_DOCUMENT_OPS: u64 = 250_000;
/// Bytes of a whole document chunk (a V2 peer's full save), inflated.
pub const MAX_DOCUMENT_BYTES: usize = 8 * 1024 * 1024;
/// Largest bloom filter parameters accepted; automerge uses 10 bits per
/// entry and 7 probes.
pub const MAX_BLOOM_PARAM: u64 = 64;

/// The limits a hub applies; [`Limits::default`] is the constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub change_bytes: usize,
    pub change_ops: u64,
    pub document_ops: u64,
    pub document_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            change_bytes: MAX_CHANGE_BYTES,
            change_ops: MAX_CHANGE_OPS,
            document_ops: MAX_DOCUMENT_OPS,
            document_bytes: MAX_DOCUMENT_BYTES,
        }
    }
}

/// Why a payload is refused; sent to the peer in an `error` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("sync payload is malformed: {0}")]
    Malformed(&'static str),
    #[error("a change is over the limit of {0} bytes")]
    ChangeTooLarge(usize),
    #[error("a sync message may add at most {0} operations to a record")]
    TooManyChangeOps(u64),
    #[error("a document chunk is over the limit of {0} bytes")]
    DocumentTooLarge(usize),
    #[error("the record would have more than {0} operations")]
    TooManyDocumentOps(u64),
    #[error("bloom filter parameters over the limit of {MAX_BLOOM_PARAM}")]
    Bloom,
    #[error("chunk type {0} is not accepted in a sync message")]
    ChunkType(u8),
}

/// What a payload that passed carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Whether it carries any change chunk (or document) at all.
    pub has_changes: bool,
    /// Operations in its change chunks (an upper bound).
    pub change_ops: u64,
    /// Operations in its largest document chunk, which holds a whole history.
    pub document_ops: u64,
}

impl Summary {
    /// An upper bound on the operations this payload adds to a document
    /// holding `existing`: a document chunk repeats history the document
    /// may already have, changes add to it.
    pub fn ops_added(&self, existing: u64) -> u64 {
        self.document_ops
            .saturating_sub(existing)
            .saturating_add(self.change_ops)
    }

    /// Checks what applying the payload to a document holding `existing`
    /// operations would add against `limits`.
    pub fn check_growth(&self, existing: u64, limits: &Limits) -> Result<(), PayloadError> {
        if !self.has_changes {
            return Ok(());
        }
        let added = self.ops_added(existing);
        if added > limits.change_ops {
            return Err(PayloadError::TooManyChangeOps(limits.change_ops));
        }
        if existing.saturating_add(added) > limits.document_ops {
            return Err(PayloadError::TooManyDocumentOps(limits.document_ops));
        }
        Ok(())
    }
}

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const HASH_BYTES: usize = 32;

/// Checks one sync payload against `limits`; see the module docs.
pub fn check(data: &[u8], limits: &Limits) -> Result<Summary, PayloadError> {
    let mut r = Reader(data);
    if !matches!(r.byte()?, 0x42 | 0x43) {
        return Err(PayloadError::Malformed("unknown sync message version"));
    }
    for _ in 0..2 {
        // heads, then need
        let n = r.uleb()?;
        r.hashes(n)?;
    }
    for _ in 0..r.uleb()? {
        let n = r.uleb()?;
        r.hashes(n)?;
        let len = r.len()?;
        check_bloom(r.take(len)?)?;
    }
    let mut summary = Summary::default();
    for _ in 0..r.uleb()? {
        let len = r.len()?;
        let mut chunks = Reader(r.take(len)?);
        // One entry may hold several chunks back to back (a V2 message).
        while !chunks.0.is_empty() {
            summary.has_changes = true;
            check_chunk(&mut chunks, limits, &mut summary)?;
        }
    }
    // The rest is the flags section, read as plain bits.
    Ok(summary)
}

fn check_bloom(bytes: &[u8]) -> Result<(), PayloadError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let mut r = Reader(bytes);
    let (entries, bits, probes) = (r.uleb()?, r.uleb()?, r.uleb()?);
    if entries == 0 {
        return Ok(()); // never probed
    }
    if !(1..=MAX_BLOOM_PARAM).contains(&bits) || !(1..=MAX_BLOOM_PARAM).contains(&probes) {
        return Err(PayloadError::Bloom);
    }
    Ok(())
}

fn check_chunk(
    r: &mut Reader<'_>,
    limits: &Limits,
    summary: &mut Summary,
) -> Result<(), PayloadError> {
    if r.take(4)? != MAGIC {
        return Err(PayloadError::Malformed(
            "chunk without the automerge magic bytes",
        ));
    }
    r.take(4)?; // checksum, verified by automerge
    let kind = r.byte()?;
    let len = r.len()?;
    let body = r.take(len)?;
    match kind {
        0 => {
            let ops = document_ops(body, limits)?;
            summary.document_ops = summary.document_ops.max(ops);
        }
        1 | 2 => {
            let inflated;
            let body = if kind == 2 {
                inflated = inflate(body, limits.change_bytes)
                    .ok_or(PayloadError::ChangeTooLarge(limits.change_bytes))?;
                &inflated[..]
            } else if body.len() > limits.change_bytes {
                return Err(PayloadError::ChangeTooLarge(limits.change_bytes));
            } else {
                body
            };
            summary.change_ops = summary.change_ops.saturating_add(change_ops(body, limits)?);
        }
        other => return Err(PayloadError::ChunkType(other)),
    }
    Ok(())
}

/// Operations in a change chunk's body: the longest of its columns.
fn change_ops(body: &[u8], limits: &Limits) -> Result<u64, PayloadError> {
    let mut r = Reader(body);
    let deps = r.uleb()?;
    r.hashes(deps)?;
    r.bytes()?; // actor
    r.uleb()?; // seq
    r.uleb()?; // start op
    r.uleb()?; // timestamp (signed, same length)
    r.bytes()?; // message
    for _ in 0..r.uleb()? {
        r.bytes()?; // other actors
    }
    let columns = r.columns()?;
    let mut most = 0;
    for (spec, len) in columns {
        if spec & DEFLATE != 0 {
            return Err(PayloadError::Malformed("compressed column in a change"));
        }
        let total = column_entries(spec, r.take(len)?, limits.change_ops)
            .ok_or(PayloadError::TooManyChangeOps(limits.change_ops))?;
        most = most.max(total);
    }
    Ok(most)
}

/// Operations (and changes) in a document chunk's body, inflating its
/// compressed columns within the document byte limit.
fn document_ops(body: &[u8], limits: &Limits) -> Result<u64, PayloadError> {
    let mut r = Reader(body);
    for _ in 0..r.uleb()? {
        r.bytes()?; // actors
    }
    let heads = r.uleb()?;
    r.hashes(heads)?;
    let mut columns = r.columns()?;
    columns.extend(r.columns()?);
    let mut budget = limits.document_bytes;
    let mut most = 0;
    for (spec, len) in columns {
        let stored = r.take(len)?;
        let inflated;
        let data = if spec & DEFLATE != 0 {
            inflated = inflate(stored, budget)
                .ok_or(PayloadError::DocumentTooLarge(limits.document_bytes))?;
            &inflated[..]
        } else {
            stored
        };
        budget = budget
            .checked_sub(data.len())
            .ok_or(PayloadError::DocumentTooLarge(limits.document_bytes))?;
        let total = column_entries(spec, data, limits.document_ops)
            .ok_or(PayloadError::TooManyDocumentOps(limits.document_ops))?;
        most = most.max(total);
    }
    Ok(most)
}

/// The DEFLATE bit of a column specification.
const DEFLATE: u64 = 0b1000;

/// How many entries a column holds, without expanding its runs; `None`
/// past `limit` (or if the column does not parse, which automerge refuses
/// anyway).
fn column_entries(spec: u64, data: &[u8], limit: u64) -> Option<u64> {
    let mut r = Reader(data);
    let mut total: u64 = 0;
    let add = |total: &mut u64, n: u64| {
        *total = total.checked_add(n).filter(|t| *t <= limit)?;
        Some(())
    };
    match spec & 0b111 {
        // Value: raw bytes, one value per op found through the metadata column.
        7 => return Some(0),
        // Boolean: alternating run lengths.
        4 => {
            while !r.0.is_empty() {
                add(&mut total, r.uleb().ok()?)?;
            }
        }
        // Run-length encoded: actor, integer, delta, string, group, metadata.
        kind => {
            let skip = |r: &mut Reader<'_>| -> Option<()> {
                if kind == 5 {
                    r.bytes().ok().map(|_| ())
                } else {
                    r.uleb().ok().map(|_| ())
                }
            };
            while !r.0.is_empty() {
                let count = r.sleb().ok()?;
                if count > 0 {
                    skip(&mut r)?;
                    add(&mut total, count.unsigned_abs())?;
                } else if count < 0 {
                    let n = count.unsigned_abs();
                    add(&mut total, n)?;
                    for _ in 0..n {
                        skip(&mut r)?;
                    }
                } else {
                    add(&mut total, r.uleb().ok()?)?;
                }
            }
        }
    }
    Some(total)
}

/// Inflates at most `limit` bytes; `None` if there is more or it is not DEFLATE.
fn inflate(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).ok()?.saturating_add(1);
    flate2::read::DeflateDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() <= limit).then_some(out)
}

/// A cursor over bytes; every read checks the length first.
struct Reader<'a>(&'a [u8]);

const TRUNCATED: PayloadError = PayloadError::Malformed("truncated");

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, PayloadError> {
        Ok(self.take(1)?[0])
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PayloadError> {
        if n > self.0.len() {
            return Err(TRUNCATED);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn uleb(&mut self) -> Result<u64, PayloadError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(PayloadError::Malformed("LEB128 number too long"))
    }

    fn sleb(&mut self) -> Result<i64, PayloadError> {
        let mut value: i64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift < 64 {
                value |= i64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
            if shift >= 70 {
                return Err(PayloadError::Malformed("LEB128 number too long"));
            }
        }
    }

    fn len(&mut self) -> Result<usize, PayloadError> {
        usize::try_from(self.uleb()?).map_err(|_| TRUNCATED)
    }

    /// A length-prefixed byte string.
    fn bytes(&mut self) -> Result<&'a [u8], PayloadError> {
        let n = self.len()?;
        self.take(n)
    }

    fn hashes(&mut self, n: u64) -> Result<(), PayloadError> {
        let bytes = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(HASH_BYTES))
            .ok_or(TRUNCATED)?;
        self.take(bytes).map(|_| ())
    }

    /// Column metadata: (specification, stored length) pairs. Each pair
    /// takes at least two bytes, so the count is bounded by the input.
    fn columns(&mut self) -> Result<Vec<(u64, usize)>, PayloadError> {
        let n = self.uleb()?;
        if n > self.0.len() as u64 / 2 {
            return Err(TRUNCATED);
        }
        let mut out = Vec::new();
        for _ in 0..n {
            out.push((self.uleb()?, self.len()?));
        }
        Ok(out)
    }
}
