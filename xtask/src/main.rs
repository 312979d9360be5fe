//! `cargo xtask <command>`: the only commands a newcomer needs.
//!
//! - `serve [--port N] [--data-dir DIR]`: install missing tools, build the PWA
//!   and the server, run it on 127.0.0.1 with demo data.
//! - `test [--long]`: every test (unit, property, wasm in headless Chromium,
//!   end-to-end with Playwright, PostgreSQL), ending with one summary line;
//!   `--long` adds twenty runs of the SIGKILL fault test.
//! - `bench pwa|domain|relay-scaling|relay|projection|compare|office|app`: measurements
//!   into `docs/benchmarks.md`.
//! - `fuzz [--execs N] [--seconds S] [--target NAME] [--seed N]`: the fuzz
//!   targets with the optimiser on (`docs/fuzzing.md`).
//! - `dist`: only build the PWA into `dist/`.
//! - `with-postgres CMD…`: run a command against a throwaway PostgreSQL.

mod bench;
mod fuzz;
mod postgres;
mod serve;
mod shell;
mod test;
mod tools;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "serve" => serve::run_serve(rest),
        "test" => test::run_tests(rest),
        "bench" => bench::run_bench(rest),
        "fuzz" => fuzz::run_fuzz(rest),
        "with-postgres" => postgres::run_with_postgres(rest),
        "dist" => tools::ensure_build_tools().and_then(|()| tools::build_pwa()),
        "help" | "--help" | "-h" => {
            println!(
                "usage: cargo xtask <serve [--port N] [--data-dir DIR] | test [--long] | bench <pwa|domain|relay-scaling|relay|projection|compare|office|app> | fuzz [--execs N] [--seconds S] [--target NAME] [--seed N] | dist | with-postgres CMD…>"
            );
            Ok(())
        }
        other => Err(format!("unknown command `{other}`; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
