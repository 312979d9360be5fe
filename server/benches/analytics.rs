//! `cargo xtask bench analytics`: the dashboard on 1,000,000 records.
//!
//! 100,000 records are seeded as the relay stores them (real documents,
//! `closeloop::seed`), over the 90 days before the bench's `now`; their
//! read-model rows are then copied nine times, each copy moved 91 days
//! further back, so the read model holds 1,000,000 records over about two
//! and a half years (the dashboard reads only the read model). One survey
//! answer is added for every third closed record. Then each dashboard is
//! asked five times (median reported), and each query of each dashboard
//! is timed alone (median of three); then every record is exported as CSV and as
//! XLSX through the export route. SQLite in a temporary directory, or the
//! PostgreSQL database `CLOSELOOP_BENCH_DATABASE` names. Prints Markdown
//! tables for `docs/benchmarks.md`.
//!
//! `CLOSELOOP_BENCH_KEEP=<dir>` keeps the SQLite database in `<dir>` and,
//! when it already holds the grown read model, asks it again without
//! seeding (for trying a query or an index).

use std::time::{Duration, Instant};

use closeloop_server::{Application, Config};

use closeloop_server::seed::{SeedOptions, seed_records};
use closeloop_server::storage::Storage;
use closeloop_shared::access::Role;
use closeloop_shared::analytics::{DAY_MS, DashboardFilter};
use closeloop_shared::sla::SlaConfig;
use sqlx::{Column, Row};

/// Records seeded as documents.
const SEEDED: usize = 100_000;
/// Copies of their read-model rows, each 91 days further back.
const COPIES: i64 = 9;
/// Runs per dashboard; the median is reported.
const RUNS: usize = 5;
/// 2026-11-29 00:00 in UTC+8.
const NOW: i64 = 1_795_881_600_000;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The process's peak resident memory since the last reset, in MiB.
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Forgets the peak so far (Linux: writing 5 to `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn run(sql: &sqlx::AnyPool, text: &str) {
    sqlx::raw_sql(text)
        .execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

/// Copies every seeded read-model row `COPIES` times, moved back in time,
/// and adds survey answers.
async fn grow(sql: &sqlx::AnyPool) {
    let row = sqlx::query("SELECT * FROM records LIMIT 1")
        .fetch_one(sql)
        .await
        .expect("a seeded record");
    let columns: Vec<String> = row.columns().iter().map(|c| c.name().to_string()).collect();
    for k in 1..=COPIES {
        let shift = k * 91 * DAY_MS;
        let values: Vec<String> = columns
            .iter()
            .map(|c| match c.as_str() {
                "document_id" => format!("document_id || '-{k}'"),
                c if c.ends_with("_at") => format!("{c} - {shift}"),
                c => c.to_string(),
            })
            .collect();
        run(
            sql,
            &format!(
                "INSERT INTO records ({}) SELECT {} FROM records WHERE document_id NOT LIKE '%-%'",
                columns.join(", "),
                values.join(", ")
            ),
        )
        .await;
    }
    // A third of closed records answered an hour after closing; nine in
    // ten satisfied, NPS from the received minute.
    run(
        sql,
        "INSERT INTO survey_answers (survey, version, document_id, answers, dissatisfied, answered_at,
            csat_answered, csat_satisfied, csat_total, nps_promoters, nps_passives, nps_detractors,
            department, channel, feedback_type)
         SELECT 'satisfaction', 1, document_id, '{}', 0, closed_at + 3600000,
            1, CASE WHEN received_at % 10 = 0 THEN 0 ELSE 1 END,
            CASE WHEN received_at % 10 = 0 THEN 2 ELSE 5 END,
            CASE WHEN received_at % 7 < 4 THEN 1 ELSE 0 END,
            CASE WHEN received_at % 7 IN (4, 5) THEN 1 ELSE 0 END,
            CASE WHEN received_at % 7 = 6 THEN 1 ELSE 0 END,
            department, channel, feedback_type
         FROM records WHERE closed_at IS NOT NULL AND received_at % 3 = 0",
    )
    .await;
}

/// Leaves the database as a running server does; returns how long summing
/// the dashboard's past months took (record-keeping does it as it goes).
/// Records arrive roughly in order of receipt, which keeps the indexes by
/// receipt packed; the seed and the copies above write them in random
/// order, so they are rebuilt. The write-ahead log is folded back (a relay
/// checkpoints as it goes) and statistics are taken (record-keeping
/// refreshes them on SQLite, autovacuum on PostgreSQL, which also marks
/// pages visible).
async fn settle(
    storage: &Storage,
    sql: &sqlx::AnyPool,
    sqlite: bool,
    sla: &SlaConfig,
    kept: bool,
) -> Duration {
    let started = Instant::now();
    storage
        .sum_dashboard_months(&sla.calendar, NOW, usize::MAX)
        .await
        .expect("months summed");
    let summing = started.elapsed();
    if kept {
        return summing;
    }
    if sqlite {
        run(sql, "REINDEX records").await;
        run(sql, "PRAGMA wal_checkpoint(TRUNCATE)").await;
        run(sql, "ANALYZE").await;
    } else {
        run(sql, "REINDEX TABLE records").await;
        run(sql, "VACUUM ANALYZE").await;
    }
    summing
}

#[tokio::main]
async fn main() {
    let temporary = tempfile::tempdir().expect("tempdir");
    let kept = std::env::var_os("CLOSELOOP_BENCH_KEEP").map(std::path::PathBuf::from);
    let dir = kept.as_deref().unwrap_or(temporary.path());
    let database = std::env::var("CLOSELOOP_BENCH_DATABASE").ok();
    let backend = if database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let storage = Storage::connect(database.as_deref(), dir)
        .await
        .expect("storage");
    let sla = SlaConfig::default();
    let url = database.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            dir.join("closeloop.sqlite3").to_string_lossy()
        )
    });
    sqlx::any::install_default_drivers();
    let sql = sqlx::AnyPool::connect(&url)
        .await
        .expect("the bench database");
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM records")
            .fetch_one(&sql)
            .await
            .expect("count")
    };
    let grown = kept.is_some() && count().await > 0;
    let started = Instant::now();
    if !grown {
        let options = SeedOptions {
            records: SEEDED,
            seed: 1,
            now_ms: NOW,
        };
        seed_records(&storage, &sla, options, |n| {
            if n % 20_000 == 0 {
                eprintln!("seeded {n}");
            }
        })
        .await
        .expect("seeded");
    }
    let seeding = started.elapsed();
    let started = Instant::now();
    if !grown {
        grow(&sql).await;
    }
    let growing = started.elapsed();
    let summing = settle(&storage, &sql, database.is_none(), &sla, grown).await;
    let total = count().await;
    sql.close().await;

    let period = |days: i64| DashboardFilter {
        from_ms: NOW + DAY_MS - days * DAY_MS,
        to_ms: NOW + DAY_MS,
        ..DashboardFilter::default()
    };
    let asks = [
        ("last 12 weeks", period(84)),
        ("last 12 months", period(365)),
        (
            "last 12 months, one department",
            DashboardFilter {
                department: Some("售后服务部".into()),
                ..period(365)
            },
        ),
        ("all 2½ years", period(1_000)),
    ];
    reset_peak_rss();
    println!(
        "> {backend}: {total} records ({SEEDED} seeded in {:.0} s, copied in {:.0} s, \
         every past month's dashboard figures summed in {:.1} s)\n",
        seeding.as_secs_f64(),
        growing.as_secs_f64(),
        summing.as_secs_f64()
    );
    println!("| Dashboard ({backend}) | Records in period | Whole dashboard, median of {RUNS} |");
    println!("|---|---:|---:|");
    for (name, filter) in &asks {
        let mut times = Vec::new();
        let mut received = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let d = storage
                .dashboard(filter, &sla, NOW)
                .await
                .expect("dashboard");
            times.push(t.elapsed());
            received = d.total;
        }
        println!("| {name} | {received} | {:.0} ms |", ms(median(times)));
    }
    println!();
    // Each panel of each dashboard alone (median of 3), a column per dashboard.
    let mut columns = Vec::new();
    for (_, filter) in &asks {
        let mut runs = Vec::new();
        for _ in 0..3 {
            runs.push(
                storage
                    .dashboard_panels(filter, &sla, NOW)
                    .await
                    .expect("panels"),
            );
        }
        columns.push(runs);
    }
    let names: Vec<&str> = asks.iter().map(|(name, _)| *name).collect();
    println!(
        "| Panel alone ({backend}), median of 3 | {} |",
        names.join(" | ")
    );
    println!("|---|{}", "---:|".repeat(names.len()));
    for (i, (panel, _)) in columns[0][0].iter().enumerate() {
        let cells: Vec<String> = columns
            .iter()
            .map(|runs| {
                let times = runs.iter().map(|r| r[i].1).collect();
                format!("{:.0} ms", ms(median(times)))
            })
            .collect();
        println!("| {panel} | {} |", cells.join(" | "));
    }
    println!(
        "| Peak RSS of the process while answering the dashboards | {} MiB |",
        peak_rss_mib()
    );
    println!();
    if grown {
        return;
    }
    export_everything(&storage, dir, database.as_deref(), backend).await;
    storage.close().await;
}

/// Every record exported through the real route, as CSV and as XLSX, by
/// head office in-process (no socket between): time, size, peak RSS.
async fn export_everything(
    storage: &Storage,
    dir: &std::path::Path,
    database: Option<&str>,
    backend: &str,
) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    const PASSWORD: &str = "bench-password-2026";
    storage
        .add_user("bench-office", PASSWORD, Role::HeadOffice, None, 0)
        .await
        .expect("user");
    let mut config = Config::for_test(dir.to_path_buf(), "/nonexistent".into());
    config.database = database.map(str::to_string);
    // The export alone: no scheduled job runs meanwhile.
    config.escalation_seconds = 86_400;
    config.housekeeping_seconds = 86_400;
    let app = Application::build(config).await.expect("the server");
    let request = |method: &str, path: &str, token: Option<&str>, body: String| {
        let mut r = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.body(axum::body::Body::from(body)).expect("request")
    };
    let login = format!(r#"{{"username":"bench-office","password":"{PASSWORD}"}}"#);
    let signed = app
        .router()
        .oneshot(request("POST", "/api/login", None, login))
        .await
        .expect("answered");
    let bytes = signed.into_body().collect().await.expect("body").to_bytes();
    let token = serde_json::from_slice::<serde_json::Value>(&bytes).expect("json")["token"]
        .as_str()
        .expect("a token")
        .to_string();
    println!("| Export of every record ({backend}) | Rows | Time | Size | Peak RSS |");
    println!("|---|---:|---:|---:|---:|");
    for kind in ["csv", "xlsx"] {
        reset_peak_rss();
        let started = Instant::now();
        let path = format!("/api/records/export.{kind}");
        let resp = app
            .router()
            .oneshot(request("GET", &path, Some(&token), String::new()))
            .await
            .expect("answered");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let rows = resp
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_string();
        let mut body = resp.into_body().into_data_stream();
        let mut size = 0usize;
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            size += chunk.expect("export streams").len();
        }
        println!(
            "| {} | {rows} | {:.1} s | {:.0} MB | {} MiB |",
            kind.to_uppercase(),
            started.elapsed().as_secs_f64(),
            size as f64 / 1e6,
            peak_rss_mib()
        );
    }
}
