//! `cargo xtask bench pwa`: what a tablet downloads on first load.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::shell::root;
use crate::tools;

/// Builds the release PWA and prints raw and gzip sizes of every file in `dist/`.
pub fn run_bench(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("pwa") => pwa(),
        _ => Err("usage: cargo xtask bench pwa".into()),
    }
}

fn pwa() -> Result<(), String> {
    tools::ensure_build_tools()?;
    tools::build_pwa()?;
    let dist = root().join("dist");
    let mut rows = Vec::new();
    collect(&dist, &dist, &mut rows)?;
    rows.sort();
    let (mut raw_total, mut gz_total) = (0, 0);
    println!("| file | raw bytes | gzip -9 bytes |\n|---|---:|---:|");
    for (name, raw, gz) in &rows {
        println!("| {name} | {raw} | {gz} |");
        raw_total += raw;
        gz_total += gz;
    }
    println!("| **first load, all files** | {raw_total} | {gz_total} |");
    Ok(())
}

fn collect(base: &Path, dir: &Path, rows: &mut Vec<(String, usize, usize)>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, rows)?;
        } else {
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let name = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .display()
                .to_string();
            rows.push((name, bytes.len(), gzip_len(&bytes)?));
        }
    }
    Ok(())
}

fn gzip_len(bytes: &[u8]) -> Result<usize, String> {
    let mut child = Command::new("gzip")
        .arg("-9c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("gzip not found ({e}): apt-get install gzip"))?;
    let mut stdin = child.stdin.take().ok_or("gzip stdin")?;
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let _ = writer.join();
    Ok(out.stdout.len())
}
