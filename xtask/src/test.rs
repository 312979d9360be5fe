//! `cargo xtask test`: the whole suite, as CI runs it, ending with one
//! `N passed, N failed` line summed over every runner.

use crate::shell::{cmd, root, run, run_captured};
use crate::tools;

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    failures: Vec<String>,
}

impl Tally {
    /// Adds cargo's `test result: ok. N passed; M failed; ...` lines.
    fn add_cargo(&mut self, out: &str) {
        for line in out.lines().filter(|l| l.starts_with("test result:")) {
            self.passed += number_before(line, " passed");
            self.failed += number_before(line, " failed");
        }
    }

    /// Adds node's test runner summary (`# pass N`, `# fail N`) or
    /// wasm-bindgen-test's (`test result: ...`, same as cargo's).
    fn add_node(&mut self, out: &str) {
        for line in out.lines() {
            let l = line.trim_start_matches(['ℹ', ' ', '#']);
            if let Some(n) = l.strip_prefix("pass ") {
                self.passed += n.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(n) = l.strip_prefix("fail ") {
                self.failed += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }

    fn step(&mut self, name: &str, result: Result<(), String>) {
        if let Err(e) = result {
            self.failures.push(format!("{name}: {e}"));
        }
    }
}

fn number_before(line: &str, word: &str) -> u64 {
    let Some(end) = line.find(word) else { return 0 };
    let digits: String = line[..end]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap_or(0)
}

/// Seconds of the bounded fuzz run (`docs/fuzzing.md`).
const FUZZ_SECONDS: u64 = 40;

/// Runs of the fault test with `--long`.
const FAULT_RUNS: usize = 20;

/// The property-test seed: `PROPTEST_RNG_SEED` if set, else one derived
/// from the commit, so a run on the same tree draws the same cases and a
/// failure seen in CI replays locally with the printed seed.
fn property_seed() -> String {
    if let Ok(seed) = std::env::var("PROPTEST_RNG_SEED") {
        return seed;
    }
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let seed = u64::from_str_radix(head.get(..12).unwrap_or("c1053100"), 16).unwrap_or(0xc105_3100);
    seed.to_string()
}

/// Runs every suite even if an earlier one failed, then reports all failures.
/// `--long` adds twenty runs in a row of the SIGKILL fault test (which
/// runs with a two-document memory budget), for a busy machine.
pub fn run_tests(args: &[String]) -> Result<(), String> {
    let long = match args {
        [] => false,
        [a] if a == "--long" => true,
        [a, ..] => {
            return Err(format!(
                "`cargo xtask test` takes only `--long` (got `{a}`)"
            ));
        }
    };
    tools::ensure_build_tools()?;
    tools::ensure_browser()?;
    let mut tally = Tally::default();

    println!("\n== lints: rustfmt and clippy ==");
    tally.step("rustfmt", run(cmd("cargo", &["fmt", "--all", "--check"])));
    tally.step(
        "clippy",
        run(cmd(
            "cargo",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ))
        .and_then(|()| {
            run(cmd(
                "cargo",
                &[
                    "clippy",
                    "-p",
                    "closeloop-app",
                    "--target",
                    "wasm32-unknown-unknown",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
            ))
        }),
    );

    println!("\n== unit, property and integration tests (native) ==");
    let seed = property_seed();
    println!("property tests run with PROPTEST_RNG_SEED={seed} (set it to replay)");
    let mut native = cmd(
        "cargo",
        &["test", "--workspace", "--exclude", "closeloop-app"],
    );
    native.env("PROPTEST_RNG_SEED", &seed);
    let (r, out) = run_captured(native);
    tally.add_cargo(&out);
    tally.step("native tests", r);

    println!("\n== fuzz targets, {FUZZ_SECONDS} s (corpus replayed, then mutated) ==");
    // The same seed as the property tests, so a failure replays locally.
    let fuzz_seed = seed.parse::<u64>().unwrap_or(0xc105_e100);
    let fuzz = crate::fuzz::fuzz_command("test", fuzz_seed, None, Some(FUZZ_SECONDS), None);
    let (r, out) = run_captured(fuzz);
    tally.add_cargo(&out);
    tally.step("fuzz targets", r);

    println!("\n== server tests on PostgreSQL (a throwaway cluster) ==");
    let cluster = crate::postgres::Cluster::start();
    match &cluster {
        Ok(pg) => {
            // Tests that need PostgreSQL are ignored on SQLite and run here.
            let mut server = cmd(
                "cargo",
                &["test", "-p", "closeloop-server", "--", "--include-ignored"],
            );
            server
                .env("CLOSELOOP_TEST_POSTGRES", pg.url())
                .env("PROPTEST_RNG_SEED", &seed);
            let (r, out) = run_captured(server);
            tally.add_cargo(&out);
            tally.step("server tests on PostgreSQL", r);
        }
        Err(e) => tally.step("PostgreSQL cluster", Err(e.clone())),
    }

    println!("\n== wasm tests in headless Chromium ==");
    let mut wasm = cmd(
        "cargo",
        &[
            "test",
            "-p",
            "closeloop-app",
            "--target",
            "wasm32-unknown-unknown",
        ],
    );
    wasm.env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
    let (r, out) = run_captured(wasm);
    tally.add_cargo(&out);
    tally.step("wasm tests", r);

    println!("\n== end-to-end tests (Playwright, release PWA, real server) ==");
    let built =
        tools::build_pwa().and_then(|()| run(cmd("cargo", &["build", "-p", "closeloop-server"])));
    match built {
        Ok(()) => {
            let mut e2e = cmd(
                "node",
                &[
                    "--test",
                    "--test-reporter=spec",
                    "--test-concurrency=1",
                    "tests/e2e/",
                ],
            );
            e2e.env(
                "CLOSELOOP_SERVER_BIN",
                root().join("target/debug/closeloop-server"),
            )
            .env("CLOSELOOP_DIST_DIR", root().join("dist"));
            if let Ok(pg) = &cluster {
                match pg.create_database("e2e") {
                    Ok(url) => {
                        e2e.env("CLOSELOOP_TEST_POSTGRES", url);
                    }
                    Err(e) => tally.step("end-to-end database", Err(e)),
                }
            }
            let (r, out) = run_captured(e2e);
            tally.add_node(&out);
            tally.step("end-to-end tests", r);
        }
        Err(e) => tally.step("end-to-end build", Err(e)),
    }

    if long {
        println!("\n== the SIGKILL fault test, {FAULT_RUNS} runs in a row ==");
        for n in 1..=FAULT_RUNS {
            let mut fault = cmd(
                "cargo",
                &["test", "-p", "closeloop-server", "--test", "durability"],
            );
            fault.env("PROPTEST_RNG_SEED", &seed);
            let (r, out) = run_captured(fault);
            tally.add_cargo(&out);
            if r.is_err() {
                tally.step(&format!("fault test run {n} of {FAULT_RUNS}"), r);
                break;
            }
        }
    }

    drop(cluster);
    println!();
    for f in &tally.failures {
        println!("FAILED {f}");
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failures.is_empty() && tally.failed == 0 {
        Ok(())
    } else {
        Err(format!("{} suite(s) failed", tally.failures.len().max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_cargo_and_node_summaries() {
        let mut t = Tally::default();
        t.add_cargo("test result: ok. 13 passed; 0 failed; 0 ignored\ntest result: FAILED. 2 passed; 3 failed;\n");
        t.add_node("ℹ tests 4\nℹ pass 3\nℹ fail 1\n# pass 2\n");
        assert_eq!((t.passed, t.failed), (20, 4));
    }
}
