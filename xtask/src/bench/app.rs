//! `cargo xtask bench app`: the field tablet holding 10,000 records (issue
//! 14's aims: offline cold start to a usable form ≤ 1 s, capture → durable
//! ≤ 30 ms at p50 and p95, list render ≤ 200 ms, ≤ 1 MB gzipped download).

use super::{SeededServer, dist_files, first_load_gzipped, tables_in, write_section};
use crate::shell::{cmd, run_captured};

/// Records on the tablet.
const RECORDS: &str = "10000";
/// The field user whose tablet holds them.
const USER: &str = "bench-field";
const PASSWORD: &str = "bench-field-2026";

pub(super) fn run() -> Result<(), String> {
    // The tablet's records are its own captures (the relay offers a tablet
    // only the work assigned to its user): the script makes them.
    let server = SeededServer::start(
        &[],
        &[USER, "--role", "field_staff", "--team", "north"],
        PASSWORD,
    )?;
    let gzipped = first_load_gzipped(&dist_files()?);
    let mut script = cmd("node", &["tests/bench/app.mjs"]);
    script
        .env("CLOSELOOP_BENCH_URL", server.url())
        .env("CLOSELOOP_BENCH_USER", USER)
        .env("CLOSELOOP_BENCH_PASSWORD", PASSWORD)
        .env("CLOSELOOP_BENCH_RECORDS", RECORDS);
    let (result, out) = run_captured(script);
    drop(server);
    result?;
    let tables = tables_in(&out, "tests/bench/app.mjs")?;
    let body = format!(
        "{RECORDS} records captured offline through the app's form on a field user's tablet \
         (800 × 1280), then measured.\n\n{tables}\n\
         Download on first load (the tablet's build: every file of `dist/` outside `office/`, gzip -9): {gzipped} bytes \
         ({:.2} MB; aim ≤ 1 MB).\n",
        gzipped as f64 / 1_000_000.0
    );
    write_section(
        "app",
        "The field tablet with 10,000 records (`cargo xtask bench app`, release server and PWA, headless Chromium, loopback)",
        &body,
    )
}
