//! A small mutation fuzzer: replay a target's corpus, then mutate inputs
//! from it (bit flips, byte inserts and deletes, splices, truncation,
//! CBOR and LEB128 length tweaks) under a budget, with one seed that
//! makes the whole run reproducible. Nightly `cargo fuzz` is not
//! available here, so there is no coverage feedback; instead an input
//! whose outcome (the kind of result the target reports) is new joins
//! the pool mutated from, which steers towards deeper error paths.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One fuzz target: a name for the corpus folder, and a function that
/// must not panic on any input. It returns an outcome key (a hash of what
/// kind of result it got) for the engine's feedback.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]) -> u64,
    /// Share of a total execution budget (cheap targets get more).
    pub weight: u64,
    /// How many times the run's slow limit one input may take: an
    /// `honest` input is up to 24 edits, each maybe a 10,000-character
    /// rewrite diffed by `update_text` on the client.
    pub slow_factor: u32,
}

/// Panics inside automerge that only debug builds have (a
/// `debug_assert` compiled out of release builds, so not reachable in the
/// shipped relay), counted and shown but not a failure; see
/// `docs/fuzzing.md`.
const KNOWN_UPSTREAM: [&str; 2] = [
    "automerge-0.12.0/src/op_set2/op_set.rs:846",
    "automerge-0.12.0/src/op_set2/change/collector.rs:75",
];

/// How long one target runs: whichever limit comes first.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub execs: u64,
    pub time: Duration,
}

/// What a run of one target did.
#[derive(Debug)]
pub struct Report {
    pub name: &'static str,
    pub execs: u64,
    pub elapsed: Duration,
    pub slowest: Duration,
    pub pool: usize,
    /// Inputs that hit a [`KNOWN_UPSTREAM`] debug assertion, and the first.
    pub known: u64,
    pub first_known: Option<String>,
    pub failure: Option<String>,
}

impl Report {
    pub fn execs_per_second(&self) -> f64 {
        self.execs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// xorshift64*: tiny, fast and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so seed 0 and nearby seeds differ well.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Inputs grow no larger than this while mutating.
const MAX_INPUT: usize = 64 * 1024;
/// Inputs kept for mutation besides the corpus.
const MAX_POOL: usize = 4096;
/// Byte values that sit on CBOR and LEB128 boundaries.
const INTERESTING: [u8; 14] = [
    0x00, 0x01, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x7f, 0x80, 0xf6, 0xf7, 0xfe, 0xff,
];

/// One to four stacked mutations of `input`, sometimes splicing `other` in.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(10) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(at..at, bytes);
            }
            3 if !b.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(b.len());
                b.drain(at.min(b.len() - 1)..end);
            }
            4 if !other.is_empty() => {
                // Splice a piece of another input in.
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(64)).min(other.len());
                b.splice(at..at, other[from..end].iter().copied());
            }
            5 if !other.is_empty() => {
                // Crossover: this input's head, the other's tail.
                let cut = rng.below(other.len());
                b.truncate(at);
                b.extend_from_slice(&other[cut..]);
            }
            6 => b.truncate(at),
            7 if !b.is_empty() => tweak_length(rng, &mut b),
            8 if !b.is_empty() => {
                // Repeat a range, as a peer repeating items would.
                let from = rng.below(b.len());
                let end = (from + 1 + rng.below(32)).min(b.len());
                let piece = b[from..end].to_vec();
                for _ in 0..=rng.below(3) {
                    b.splice(end..end, piece.iter().copied());
                }
            }
            _ if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = b[i].wrapping_add(rng.below(7) as u8).wrapping_sub(3);
            }
            _ => b.push(rng.next() as u8),
        }
    }
    b.truncate(MAX_INPUT);
    b
}

/// Changes a length where one is likely: a CBOR head's count, a longer
/// head form, or a LEB128 number made huge or zero.
fn tweak_length(rng: &mut Rng, b: &mut Vec<u8>) {
    let i = rng.below(b.len());
    let major = b[i] & 0xe0;
    match rng.below(4) {
        0 => b[i] = major | ((b[i] & 0x1f).wrapping_add(1 + rng.below(3) as u8) & 0x1f),
        1 => b[i] = major | ((b[i] & 0x1f).saturating_sub(1 + rng.below(3) as u8)),
        2 => {
            // The same count in a wider head (0x19 = two bytes follow).
            let n = b[i] & 0x1f;
            if n < 24 {
                b.splice(i..=i, [major | 0x19, 0, n]);
            }
        }
        _ => {
            let huge = [0xff, 0xff, 0xff, 0xff, 0x0f];
            let n = 1 + rng.below(huge.len());
            b.splice(i..=i, huge[..n].iter().copied());
        }
    }
}

thread_local! {
    static FUZZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static LAST_PANIC: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Panics while fuzzing are recorded, not printed (there may be many
/// while minimising); other tests in the binary keep the usual hook.
fn install_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if FUZZING.with(std::cell::Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = info.to_string());
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `target` once; `Err` holds the panic message.
pub fn execute(target: &Target, input: &[u8]) -> Result<u64, String> {
    install_hook();
    FUZZING.with(|f| f.set(true));
    let got = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    FUZZING.with(|f| f.set(false));
    got.map_err(|_| LAST_PANIC.with(|p| p.borrow().clone()))
}

/// The repository's `fuzz/` folder.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every `*.bin` file of a folder, in name order.
pub fn read_inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), bytes))
        })
        .collect()
}

/// FNV-1a, for crash file names and outcome keys.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Replays the corpus and saved crashes, then mutates until the budget is
/// spent or an input panics or runs longer than `slow`.
pub fn run(target: &Target, seed: u64, budget: Budget, slow: Duration) -> Report {
    let started = Instant::now();
    let dir = fuzz_dir();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut seen = HashSet::new();
    let mut report = Report {
        name: target.name,
        execs: 0,
        elapsed: Duration::ZERO,
        slowest: Duration::ZERO,
        pool: 0,
        known: 0,
        first_known: None,
        failure: None,
    };
    let replay = read_inputs(&dir.join("corpus").join(target.name))
        .into_iter()
        .chain(read_inputs(&dir.join("crashes").join(target.name)));
    let mut rng = Rng::new(seed ^ fnv(target.name.as_bytes()));
    let mut queue: Vec<Vec<u8>> = replay.map(|(_, b)| b).collect();
    queue.reverse();
    if queue.is_empty() {
        queue.push(Vec::new());
    }
    let replayed = queue.len() as u64;
    loop {
        let input = match queue.pop() {
            Some(i) => i,
            None => {
                if report.execs >= budget.execs.max(replayed) || started.elapsed() >= budget.time {
                    break;
                }
                let parent = &pool[rng.below(pool.len())];
                let other = &pool[rng.below(pool.len())];
                mutate(&mut rng, parent, other)
            }
        };
        let t = Instant::now();
        let got = execute(target, &input);
        let took = t.elapsed();
        report.execs += 1;
        report.slowest = report.slowest.max(took);
        let slow = slow * target.slow_factor;
        let failure = match got {
            Ok(outcome) => {
                if (seen.insert(outcome) || report.execs <= replayed) && pool.len() < MAX_POOL {
                    pool.push(input.clone());
                }
                (took > slow).then(|| format!("took {took:?}, over the limit of {slow:?}"))
            }
            Err(panic) if KNOWN_UPSTREAM.iter().any(|k| panic.contains(k)) => {
                report.known += 1;
                let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
                report
                    .first_known
                    .get_or_insert_with(|| format!("{panic}\n  input: {hex}"));
                None
            }
            Err(panic) => Some(format!("panicked: {panic}")),
        };
        if let Some(why) = failure {
            report.failure = Some(save_failure(target, seed, &input, &why));
            break;
        }
    }
    report.elapsed = started.elapsed();
    report.pool = pool.len();
    report
}

/// Shrinks a panicking input a little, saves it under `fuzz/crashes/`,
/// and describes it with the seed and the bytes in hex.
fn save_failure(target: &Target, seed: u64, input: &[u8], why: &str) -> String {
    let input = if why.starts_with("panicked") {
        shrink(target, input)
    } else {
        input.to_vec()
    };
    let dir = fuzz_dir().join("crashes").join(target.name);
    let path = dir.join(format!("{:016x}.bin", fnv(&input)));
    let saved = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, &input))
        .map_or_else(
            |e| format!("not saved: {e}"),
            |()| path.display().to_string(),
        );
    let hex: String = input.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "target `{}` {why}\n  seed: {seed}\n  input ({} bytes): {hex}\n  saved: {saved}",
        target.name,
        input.len()
    )
}

/// Removes chunks while the input still panics, at most a few thousand tries.
fn shrink(target: &Target, input: &[u8]) -> Vec<u8> {
    let mut best = input.to_vec();
    let mut tries = 0;
    let mut size = best.len() / 2;
    while size > 0 && tries < 4000 {
        let mut at = 0;
        let mut shrunk = false;
        while at + size <= best.len() && tries < 4000 {
            let mut candidate = best.clone();
            candidate.drain(at..at + size);
            tries += 1;
            if execute(target, &candidate)
                .is_err_and(|p| !KNOWN_UPSTREAM.iter().any(|k| p.contains(k)))
            {
                best = candidate;
                shrunk = true;
            } else {
                at += size;
            }
        }
        if !shrunk {
            size /= 2;
        }
    }
    best
}
