//! `cargo xtask fuzz [--execs N] [--seconds S] [--target NAME] [--seed N]
//! [--write-corpus]`: the fuzz targets of `shared/tests/fuzz/` with the
//! optimiser on (the `bench` profile), printing executions per target and
//! per second. A failure prints the seed and the input in hex and saves
//! the input under `fuzz/crashes/<target>/`. See `docs/fuzzing.md`.

use std::process::Command;

use crate::shell::{cmd, run};

/// Total time when neither `--execs` nor `--seconds` is given.
const DEFAULT_SECONDS: u64 = 60;

#[derive(Debug, Default, PartialEq)]
struct Options {
    execs: Option<u64>,
    seconds: Option<u64>,
    target: Option<String>,
    seed: Option<u64>,
    write_corpus: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("`{name}` needs a value"))
        };
        let number = |name: &str, v: String| {
            v.replace('_', "")
                .parse::<u64>()
                .map_err(|_| format!("`{name}` takes a whole number, not `{v}`"))
        };
        match a.as_str() {
            "--execs" => o.execs = Some(number(a, value(a)?)?),
            "--seconds" => o.seconds = Some(number(a, value(a)?)?),
            "--seed" => o.seed = Some(number(a, value(a)?)?),
            "--target" => o.target = Some(value(a)?),
            "--write-corpus" => o.write_corpus = true,
            other => {
                return Err(format!(
                    "usage: cargo xtask fuzz [--execs N] [--seconds S] [--target NAME] [--seed N] [--write-corpus] (got `{other}`)"
                ));
            }
        }
    }
    Ok(o)
}

/// A seed from the clock, so each long run explores afresh; it is printed.
fn fresh_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

/// The fuzz test binary run once, with its budget in the environment.
/// `profile` is `bench` for long runs, `test` inside `cargo xtask test`.
pub fn fuzz_command(
    profile: &str,
    seed: u64,
    execs: Option<u64>,
    seconds: Option<u64>,
    target: Option<&str>,
) -> Command {
    let mut c = cmd(
        "cargo",
        &[
            "test",
            "--profile",
            profile,
            "-p",
            "closeloop-shared",
            "--test",
            "fuzz",
            "--",
            "--exact",
            "fuzz_targets_never_panic",
            "--nocapture",
        ],
    );
    c.env("CLOSELOOP_FUZZ_SEED", seed.to_string());
    // Unset limits mean "no limit" to the test, so pass a huge one.
    c.env(
        "CLOSELOOP_FUZZ_EXECS",
        execs.unwrap_or(u64::MAX).to_string(),
    );
    if let Some(s) = seconds {
        c.env("CLOSELOOP_FUZZ_SECONDS", s.to_string());
    }
    if let Some(t) = target {
        c.env("CLOSELOOP_FUZZ_TARGET", t);
    }
    c
}

pub fn run_fuzz(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    if o.write_corpus {
        let mut c = cmd(
            "cargo",
            &[
                "test",
                "-p",
                "closeloop-shared",
                "--test",
                "fuzz",
                "--",
                "--exact",
                "seed_corpus_is_up_to_date",
            ],
        );
        c.env("CLOSELOOP_FUZZ_WRITE_CORPUS", "1");
        return run(c);
    }
    let seed = o.seed.unwrap_or_else(fresh_seed);
    let seconds = match (o.execs, o.seconds) {
        (None, None) => Some(DEFAULT_SECONDS),
        (_, s) => s,
    };
    println!("xtask: fuzzing with seed {seed} (`--seed {seed}` replays this run)");
    run(fuzz_command(
        "bench",
        seed,
        o.execs,
        seconds,
        o.target.as_deref(),
    ))
    .map_err(|e| format!("{e}\nxtask: the failing seed was {seed}; inputs are under fuzz/crashes/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_budgets_targets_and_seeds() {
        let o = parse(&args("--execs 10_000_000 --target hub --seed 7")).unwrap();
        assert_eq!(
            o,
            Options {
                execs: Some(10_000_000),
                target: Some("hub".into()),
                seed: Some(7),
                ..Options::default()
            }
        );
        assert!(parse(&args("--execs lots")).is_err());
        assert!(parse(&args("--seconds")).is_err());
        assert!(parse(&args("--fast")).is_err());
    }
}
