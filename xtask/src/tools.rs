//! Installing what a fresh machine lacks, each step skipped when the right
//! version is already there, each failure explained in one line.
//!
//! Only crates.io, npm and Debian's apt are assumed reachable, so nothing is
//! downloaded from elsewhere: Trunk runs `--offline` and finds wasm-bindgen
//! and wasm-opt on PATH at exactly the versions named in `Trunk.toml`.

use std::path::Path;

use crate::shell::{self, cmd, output, root, run};

/// Trunk 0.22 needs a newer rustc than this project pins to.
const TRUNK_VERSION: &str = "0.21.14";
/// npm `binaryen` major version, as `wasm-opt --version` reports it.
const WASM_OPT_VERSION: &str = "version 132";

/// Rust's wasm target, Trunk, wasm-bindgen-cli and npm tools (wasm-opt, Playwright).
pub fn ensure_build_tools() -> Result<(), String> {
    require(
        "cargo",
        "--version",
        "install Rust with rustup (https://rustup.rs)",
    )?;
    require(
        "node",
        "--version",
        "install Node.js 20 or newer (apt-get install nodejs npm)",
    )?;
    require("npm", "--version", "install npm (apt-get install npm)")?;
    ensure_wasm_target()?;
    ensure_trunk()?;
    ensure_wasm_bindgen()?;
    ensure_npm_packages()
}

/// Debian's Chromium, its matching ChromeDriver, and a CJK font so
/// screenshots show Chinese text, installed with apt if missing.
pub fn ensure_browser() -> Result<(), String> {
    let present = ["/usr/bin/chromium", "/usr/bin/chromedriver", CJK_FONT]
        .iter()
        .all(|p| Path::new(p).exists());
    if present {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver", "fonts-wqy-microhei"])
}

/// Installed by Debian's `fonts-wqy-microhei` (small; enough for the UI's Chinese).
const CJK_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// Installs Debian packages, as root directly or through sudo.
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    let list = packages.join(" ");
    let is_root = output("id", &["-u"]).as_deref() == Some("0");
    let sudo_ok = !is_root && output("sudo", &["-n", "true"]).is_some();
    if !is_root && !sudo_ok {
        return Err(format!(
            "{list} missing: run `sudo apt-get install -y {list}` and retry"
        ));
    }
    let apt = |args: &[&str]| {
        let mut c = if is_root {
            cmd("apt-get", args)
        } else {
            cmd("sudo", &[&["-n", "apt-get"], args].concat())
        };
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(apt(&["update", "-q"]))
        .map_err(|e| format!("apt-get update failed ({e}); is the Debian mirror reachable?"))?;
    run(apt(&[
        &["install", "-y", "-q", "--no-install-recommends"],
        packages,
    ]
    .concat()))
    .map_err(|e| format!("installing {list} failed: {e}"))
}

fn require(program: &str, arg: &str, how: &str) -> Result<(), String> {
    output(program, &[arg])
        .map(|_| ())
        .ok_or_else(|| format!("`{program}` not found: {how}"))
}

fn ensure_wasm_target() -> Result<(), String> {
    let installed = output("rustup", &["target", "list", "--installed"]);
    match installed {
        Some(list) if list.lines().any(|l| l.trim() == "wasm32-unknown-unknown") => Ok(()),
        Some(_) => run(cmd("rustup", &["target", "add", "wasm32-unknown-unknown"])),
        None => {
            let sysroot = output("rustc", &["--print", "sysroot"]).unwrap_or_default();
            if Path::new(&sysroot)
                .join("lib/rustlib/wasm32-unknown-unknown")
                .exists()
            {
                Ok(())
            } else {
                Err("the wasm32-unknown-unknown Rust target is missing and rustup is not installed: \
                     install rustup, then `rustup target add wasm32-unknown-unknown`"
                    .into())
            }
        }
    }
}

fn ensure_trunk() -> Result<(), String> {
    if output("trunk", &["--version"]).as_deref() == Some(&format!("trunk {TRUNK_VERSION}")) {
        return Ok(());
    }
    println!("xtask: installing trunk {TRUNK_VERSION} (takes several minutes once)");
    run(cmd(
        "cargo",
        &["install", "--locked", "trunk", "--version", TRUNK_VERSION],
    ))
    .map_err(|e| format!("could not install trunk: {e}"))
}

/// wasm-bindgen-cli must match the library version in Cargo.lock exactly.
fn ensure_wasm_bindgen() -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let version = locked_version(&lock, "wasm-bindgen")
        .ok_or("Cargo.lock names no wasm-bindgen version; run `cargo generate-lockfile`")?;
    if output("wasm-bindgen", &["--version"]).as_deref() == Some(&format!("wasm-bindgen {version}"))
    {
        return Ok(version);
    }
    println!("xtask: installing wasm-bindgen-cli {version} (takes several minutes once)");
    // Without --locked: its lockfile names a crate version the registry lacks.
    run(cmd(
        "cargo",
        &["install", "wasm-bindgen-cli", "--version", &version],
    ))
    .map_err(|e| format!("could not install wasm-bindgen-cli {version}: {e}"))?;
    Ok(version)
}

fn ensure_npm_packages() -> Result<(), String> {
    let r = root();
    let stamp = r.join("node_modules/.package-lock.json");
    let fresh = match (modified(&stamp), modified(&r.join("package-lock.json"))) {
        (Some(installed), Some(wanted)) => installed >= wanted,
        _ => false,
    };
    let wasm_opt_ok = output("wasm-opt", &["--version"])
        .is_some_and(|v| v.contains(WASM_OPT_VERSION))
        && shell::tool_path().starts_with(&r.join("node_modules/.bin").display().to_string());
    if fresh && wasm_opt_ok && r.join("node_modules/playwright-core").exists() {
        return Ok(());
    }
    // `npm install` follows package-lock.json and leaves it unchanged; `npm ci`
    // would refuse it, because npm 11 omits cbor-extract's optional platform
    // packages from the lock file and then reports them missing.
    run(cmd("npm", &["install", "--no-audit", "--no-fund"]))
        .map_err(|e| format!("npm packages: {e}"))?;
    match output("wasm-opt", &["--version"]) {
        Some(v) if v.contains(WASM_OPT_VERSION) => Ok(()),
        other => Err(format!(
            "wasm-opt from npm binaryen reports {other:?}, want {WASM_OPT_VERSION}"
        )),
    }
}

fn modified(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// The version Cargo.lock records for a package.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let needle = format!("name = \"{name}\"\n");
    let at = lock.find(&needle)? + needle.len();
    let line = lock[at..].lines().next()?;
    Some(
        line.strip_prefix("version = \"")?
            .trim_end_matches('"')
            .to_string(),
    )
}

/// Builds the PWA in release mode: the tablet's build into `dist/`, then
/// head office's into `dist/office/` (in that order: Trunk empties its
/// output directory first).
pub fn build_pwa() -> Result<(), String> {
    run(cmd("trunk", &["build", "--release", "--offline"]))
        .map_err(|e| format!("PWA build (tablet): {e}"))?;
    run(cmd(
        "trunk",
        &[
            "build",
            "--release",
            "--offline",
            "--dist",
            "dist/office",
            "--public-url",
            "/office/",
            "app/office.html",
        ],
    ))
    .map_err(|e| format!("PWA build (head office): {e}"))
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `target/`.
pub fn target_dir() -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// Where [`build_server_release`] puts the server binary.
pub fn server_release_bin() -> std::path::PathBuf {
    target_dir().join("release-server/closeloop-server")
}

/// The optimised server binary, `target/release-server/closeloop-server`.
pub fn build_server_release() -> Result<(), String> {
    run(cmd(
        "cargo",
        &[
            "build",
            "--profile",
            "release-server",
            "-p",
            "closeloop-server",
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_locked_version_of_a_package() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n\n[[package]]\nname = \"wasm-bindgen-futures\"\nversion = \"0.4.1\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            locked_version(lock, "wasm-bindgen-futures").as_deref(),
            Some("0.4.1")
        );
        assert_eq!(locked_version(lock, "trunk"), None);
    }
}
