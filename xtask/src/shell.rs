//! Running commands: echoed, with failures turned into one clear line.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// A command rooted at the workspace, with our tool folders first on PATH.
pub fn cmd(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args).current_dir(root()).env("PATH", tool_path());
    c
}

/// PATH with `node_modules/.bin` (wasm-opt) and cargo's bin folder first.
pub fn tool_path() -> String {
    let mut parts = vec![root().join("node_modules/.bin").display().to_string()];
    if let Some(cargo_home) = cargo_home() {
        parts.push(cargo_home.join("bin").display().to_string());
    }
    parts.push(std::env::var("PATH").unwrap_or_default());
    parts.join(":")
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().to_string();
    for a in c.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs to completion; a non-zero exit is an error naming the command.
pub fn run(mut c: impl std::borrow::BorrowMut<Command>) -> Result<(), String> {
    let c = c.borrow_mut();
    let what = describe(c);
    println!("$ {what}");
    let status = c
        .status()
        .map_err(|e| format!("could not start `{what}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{what}` failed ({status})"))
    }
}

/// Runs while echoing its stdout, and returns that output for inspection.
pub fn run_captured(mut c: Command) -> (Result<(), String>, String) {
    let what = describe(&c);
    println!("$ {what}");
    c.stdout(Stdio::piped());
    let mut child = match c.spawn() {
        Ok(child) => child,
        Err(e) => return (Err(format!("could not start `{what}`: {e}")), String::new()),
    };
    let mut out = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            out.push_str(&line);
            out.push('\n');
        }
    }
    match child.wait() {
        Ok(s) if s.success() => (Ok(()), out),
        Ok(s) => (Err(format!("`{what}` failed ({s})")), out),
        Err(e) => (Err(format!("`{what}`: {e}")), out),
    }
}

/// The trimmed stdout of a command, or `None` if it is missing or fails.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = cmd(program, args).stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
