//! `cargo xtask bench <pwa|domain|relay-scaling|relay|projection|compare|office|app>`: measurements written into
//! `docs/benchmarks.md`, each section stamped with the machine and date.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::shell::{cmd, root, run, run_captured};

mod app;
use crate::tools;

/// Builds the release PWA and prints raw and gzip sizes of every file in `dist/`.
pub fn run_bench(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("pwa") => pwa(),
        Some("domain") => cargo_bench(
            "closeloop-shared",
            "domain",
            "Record layer vs raw Automerge (`cargo xtask bench domain`, median of runs)",
        ),
        Some("relay-scaling") => cargo_bench(
            "closeloop-shared",
            "hub_scaling",
            "Relay work per sync message as load grows (`cargo xtask bench relay-scaling`)",
        ),
        Some("relay") => relay_load(),
        Some("analytics") => analytics(),
        Some("compare") => compare(),
        Some("office") => office(),
        Some("app") => app::run(),
        Some("projection") => cargo_bench(
            "closeloop-server",
            "projection",
            "One more change on a long record, and loading before and after compaction (`cargo xtask bench projection`, SQLite)",
        ),
        _ => Err(
            "usage: cargo xtask bench <pwa|domain|relay-scaling|relay|projection|analytics|compare|office|app>"
                .into(),
        ),
    }
}

fn pwa() -> Result<(), String> {
    tools::ensure_build_tools()?;
    tools::build_pwa()?;
    let rows = dist_files()?;
    let mut table = String::from("| file | raw bytes | gzip -9 bytes |\n|---|---:|---:|\n");
    for (name, raw, gz) in &rows {
        table.push_str(&format!("| {name} | {raw} | {gz} |\n"));
    }
    for (what, office) in [
        ("tablet's first load: every file outside `office/`", false),
        (
            "head office's build, once a desk page is opened: `office/`",
            true,
        ),
    ] {
        let part = || rows.iter().filter(|r| r.0.starts_with("office/") == office);
        let (raw, gz): (usize, usize) = (part().map(|r| r.1).sum(), part().map(|r| r.2).sum());
        table.push_str(&format!("| **{what}** | {raw} | {gz} |\n"));
    }
    print!("{table}");
    write_section(
        "pwa",
        "What a tablet downloads on first load (release build, `cargo xtask bench pwa`)",
        &table,
    )
}

/// Runs one `cargo bench` target and records the Markdown table it prints.
fn cargo_bench(package: &str, bench: &str, title: &str) -> Result<(), String> {
    let (result, out) = run_captured(cmd("cargo", &["bench", "-p", package, "--bench", bench]));
    result?;
    let table: String = out
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    if table.is_empty() {
        return Err(format!("the {bench} benchmark printed no table"));
    }
    write_section(bench, title, &table)
}

/// `cargo bench -p closeloop-server --bench {name}` on SQLite, then on a
/// database of a throwaway PostgreSQL cluster (`CLOSELOOP_BENCH_DATABASE`);
/// the lines `keep` takes from each run's output, the two runs apart.
fn on_both_databases(
    name: &str,
    env: &[(&str, &std::path::Path)],
    keep: fn(&str) -> bool,
) -> Result<String, String> {
    on_databases(name, env, keep, &[])
}

/// As [`on_both_databases`], then once more on PostgreSQL for each of
/// `variants` (environment settings such as several relays).
fn on_databases(
    name: &str,
    env: &[(&str, &std::path::Path)],
    keep: fn(&str) -> bool,
    variants: &[(&str, &str)],
) -> Result<String, String> {
    let bench =
        |database: Option<String>, variant: Option<(&str, &str)>| -> Result<String, String> {
            let mut c = cmd(
                "cargo",
                &["bench", "-p", "closeloop-server", "--bench", name],
            );
            for (k, v) in env {
                c.env(k, v);
            }
            if let Some(url) = database {
                c.env("CLOSELOOP_BENCH_DATABASE", url);
            }
            if let Some((k, v)) = variant {
                c.env(k, v);
            }
            let (result, out) = run_captured(c);
            result?;
            Ok(out
                .lines()
                .filter(|l| keep(l))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
                .trim()
                .to_string())
        };
    let mut tables = bench(None, None)?;
    let cluster = crate::postgres::Cluster::start()?;
    tables.push_str("\n\n");
    tables.push_str(&bench(Some(cluster.create_database(name)?), None)?);
    tables.push('\n');
    for (n, variant) in variants.iter().enumerate() {
        let database = cluster.create_database(&format!("{name}_{n}"))?;
        tables.push('\n');
        tables.push_str(&bench(Some(database), Some(*variant))?);
        tables.push('\n');
    }
    drop(cluster);
    Ok(tables)
}

/// The load generator against the release relay, on SQLite, on a
/// throwaway PostgreSQL cluster, and on three relays sharing it; one table each.
fn relay_load() -> Result<(), String> {
    tools::build_server_release()?;
    let bin = tools::server_release_bin();
    let tables = on_databases(
        "relay_load",
        &[("CLOSELOOP_SERVER_BIN", bin.as_path())],
        |l| l.starts_with('|'),
        &[("CLOSELOOP_BENCH_RELAYS", "3")],
    )?;
    write_section(
        "relay",
        "Relay under load: 10 tablets × 100 records × 20 changes (`cargo xtask bench relay`, release build, loopback)",
        &tables,
    )
}

/// The dashboard on 1,000,000 records, on SQLite and on a throwaway
/// PostgreSQL cluster (`server/benches/analytics.rs`).
fn analytics() -> Result<(), String> {
    let tables = on_both_databases("analytics", &[], |l| {
        l.starts_with('|') || l.starts_with("> ") || l.is_empty()
    })?;
    write_section(
        "analytics",
        "The dashboard on 1,000,000 records (`cargo xtask bench analytics`, release build)",
        &tables,
    )
}

/// Our release relay against the JavaScript automerge-repo reference sync
/// server, the same load from unmodified automerge-repo clients
/// (`tests/bench/compare.mjs`); one table with the ratio per row.
fn compare() -> Result<(), String> {
    ensure_bench_npm_packages()?;
    tools::build_server_release()?;
    let bin = tools::server_release_bin();
    let mut c = cmd("node", &["tests/bench/compare.mjs"]);
    c.env("CLOSELOOP_SERVER_BIN", &bin);
    let (result, out) = run_captured(c);
    result?;
    // The table and the notes under it; progress went to stderr.
    let body: String = out
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    if body.is_empty() {
        return Err("tests/bench/compare.mjs printed no table".into());
    }
    write_section(
        "compare",
        "Our relay against the JavaScript reference sync server, same load, unmodified automerge-repo clients (`cargo xtask bench compare`, release build, loopback)",
        &body,
    )
}

/// Records seeded for the office bench.
const OFFICE_RECORDS: &str = "100000";
/// The seed they are generated from.
const OFFICE_SEED: &str = "1";
/// The head-office user the office bench signs in as (`office` owns some
/// seeded records, so the "mine" view has rows).
const OFFICE_USER: &str = "office";
const OFFICE_PASSWORD: &str = "bench-office-2026";

/// Head office's inbox on 100,000 records: the release server and PWA, a
/// fresh data directory seeded with `closeloop-server seed`, the server on
/// a free loopback port, and `tests/bench/office.mjs` in headless Chromium
/// (first page, filter change, opening a record, memory while paging) and
/// with plain fetch (API timings).
fn office() -> Result<(), String> {
    let server = SeededServer::start(
        &["--records", OFFICE_RECORDS, "--seed", OFFICE_SEED],
        &[OFFICE_USER, "--role", "head_office"],
        OFFICE_PASSWORD,
    )?;
    let mut script = cmd("node", &["tests/bench/office.mjs"]);
    script
        .env("CLOSELOOP_BENCH_URL", server.url())
        .env("CLOSELOOP_BENCH_USER", OFFICE_USER)
        .env("CLOSELOOP_BENCH_PASSWORD", OFFICE_PASSWORD);
    let (result, out) = run_captured(script);
    let rss_mib = server_rss_mib(&server.process);
    let (seeding, database_mib) = (server.seeding.clone(), server.database_mib);
    drop(server);
    result?;
    let tables = tables_in(&out, "tests/bench/office.mjs")?;
    let body = format!(
        "Records stored by `closeloop-server seed --records {OFFICE_RECORDS} --seed {OFFICE_SEED}` \
         in {seeding} (SQLite file {database_mib} MiB); server RSS after the run {rss_mib} MiB.\n\n{tables}"
    );
    write_section(
        "office",
        "Head office's inbox on 100,000 records (`cargo xtask bench office`, release server and PWA, headless Chromium, loopback)",
        &body,
    )
}

/// The Markdown tables a bench script printed (its progress went to stderr).
fn tables_in(out: &str, script: &str) -> Result<String, String> {
    let tables: String = out
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .map(|l| format!("{l}\n"))
        .collect();
    if tables.is_empty() {
        return Err(format!("{script} printed no table"));
    }
    Ok(tables)
}

/// The release server and PWA on a free loopback port, over a fresh data
/// directory with one user and records from `closeloop-server seed` (none
/// for empty `seed_args`); stopped and removed when dropped.
struct SeededServer {
    process: KillOnDrop,
    port: String,
    /// How long seeding took ("12.3 s").
    seeding: String,
    database_mib: u64,
    _data: RemoveOnDrop,
}

impl SeededServer {
    fn start(seed_args: &[&str], user_args: &[&str], password: &str) -> Result<Self, String> {
        tools::ensure_build_tools()?;
        tools::ensure_browser()?;
        tools::build_pwa()?;
        tools::build_server_release()?;
        let bin = tools::server_release_bin();
        let data = std::env::temp_dir().join(format!("closeloop-bench-{}", std::process::id()));
        let guard = RemoveOnDrop(data.clone());
        std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
        let data_arg = data.to_str().ok_or("non-UTF-8 temp path")?;
        let bin_arg = bin.to_str().ok_or("non-UTF-8 path")?;
        let storage = ["--data-dir", data_arg, "--log", "warn"];
        let mut add = cmd(
            bin_arg,
            &[&storage[..], &["user", "add"], user_args].concat(),
        );
        add.env("CLOSELOOP_PASSWORD", password);
        run(add)?;
        let seeded = if seed_args.is_empty() {
            String::new()
        } else {
            let seed = cmd(bin_arg, &[&storage[..], &["seed"], seed_args].concat());
            let (result, seeded) = run_captured(seed);
            result?;
            seeded
        };
        // "seeded N records (seed S) in 12.3 s": the time it took.
        let seeding = seeded
            .lines()
            .find(|l| l.starts_with("seeded "))
            .and_then(|l| l.rsplit_once(" in "))
            .map_or("?".to_string(), |(_, took)| took.to_string());
        let database_mib = std::fs::metadata(data.join("closeloop.sqlite3"))
            .map(|m| m.len() / 1024 / 1024)
            .unwrap_or(0);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free loopback port: {e}"))?
            .port()
            .to_string();
        let dist = root().join("dist");
        let mut server = cmd(
            bin_arg,
            &[
                &storage[..],
                &[
                    "--port",
                    &port,
                    "--dist-dir",
                    dist.to_str().ok_or("non-UTF-8 path")?,
                ],
            ]
            .concat(),
        );
        server.env("CLOSELOOP_HOST", "127.0.0.1");
        // The seeded backlog holds thousands of overdue records; escalating
        // them (each a stored change, pushed to open pages) is not what the
        // benches measure.
        server.env("CLOSELOOP_ESCALATION_SECONDS", "86400");
        println!("$ closeloop-server on 127.0.0.1:{port}");
        let mut process = KillOnDrop(
            server
                .spawn()
                .map_err(|e| format!("could not start closeloop-server: {e}"))?,
        );
        wait_listening(&port, &mut process)?;
        Ok(SeededServer {
            process,
            port,
            seeding,
            database_mib,
            _data: guard,
        })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Waits (30 s at most) until the server accepts connections.
fn wait_listening(port: &str, server: &mut KillOnDrop) -> Result<(), String> {
    let addr = format!("127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(&addr).is_ok() {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "closeloop-server not listening on {addr} after 30 s"
            ));
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            return Err(format!(
                "closeloop-server exited during start-up ({status})"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The server's resident memory now, from /proc (0 when unknown).
fn server_rss_mib(server: &KillOnDrop) -> u64 {
    std::fs::read_to_string(format!("/proc/{}/status", server.0.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// A child process killed (and reaped) when this goes out of scope,
/// however the bench ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory removed when this goes out of scope.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The npm packages the comparison runs on (the reference server's among
/// them), installed from `package-lock.json` when any is missing or the
/// lock file is newer than the last install.
fn ensure_bench_npm_packages() -> Result<(), String> {
    let r = root();
    let needed = [
        "@automerge/automerge-repo",
        "@automerge/automerge-repo-network-websocket",
        "@automerge/automerge-repo-storage-nodefs",
        "ws",
    ];
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = match (
        modified(&r.join("node_modules/.package-lock.json")),
        modified(&r.join("package-lock.json")),
    ) {
        (Some(installed), Some(wanted)) => installed >= wanted,
        _ => false,
    };
    if fresh
        && needed
            .iter()
            .all(|p| r.join("node_modules").join(p).exists())
    {
        return Ok(());
    }
    // As tools.rs does: `npm install` follows package-lock.json (`npm ci`
    // refuses the lock file npm 11 writes).
    run(cmd("npm", &["install", "--no-audit", "--no-fund"]))
        .map_err(|e| format!("npm packages: {e}"))
}

/// Replaces (or appends) a marked section of `docs/benchmarks.md`.
fn write_section(name: &str, title: &str, body: &str) -> Result<(), String> {
    let path = root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let (start, end) = (
        format!("<!-- bench:{name}:start -->"),
        format!("<!-- bench:{name}:end -->"),
    );
    let section = format!("{start}\n## {title}\n\n{}\n\n{body}{end}", machine());
    let updated = match (doc.find(&start), doc.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{section}{}", &doc[..a], &doc[b + end.len()..]),
        _ => format!("{}\n{section}\n", doc.trim_end()),
    };
    std::fs::write(&path, updated).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("xtask: wrote the {name} section of {}", path.display());
    Ok(())
}

/// "Measured 2026-11-23 on Intel Xeon …, 2 cores, 23 GiB."
fn machine() -> String {
    let out = |p: &str, a: &[&str]| {
        Command::new(p)
            .args(a)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let date = out("date", &["-u", "+%F"]).unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = out("nproc", &[]).unwrap_or_default();
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024 / 1024)
        .unwrap_or(0);
    format!("Measured {date} on {cpu}, {cores} cores, {mem_gib} GiB.")
}

/// A file of the built `dist/`: name, raw bytes, gzip bytes.
type DistFile = (String, usize, usize);

/// Every file of the built `dist/`: the tablet's build, and head office's
/// build under `office/` (loaded only when a desk page is opened).
fn dist_files() -> Result<Vec<DistFile>, String> {
    let dist = root().join("dist");
    let mut rows = Vec::new();
    collect(&dist, &dist, &mut rows)?;
    rows.sort();
    Ok(rows)
}

/// Gzipped bytes a tablet downloads on first load: the tablet's build.
fn first_load_gzipped(rows: &[DistFile]) -> usize {
    rows.iter()
        .filter(|r| !r.0.starts_with("office/"))
        .map(|r| r.2)
        .sum()
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
