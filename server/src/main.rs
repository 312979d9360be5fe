//! `closeloop-server`: one process serving the PWA, the sync relay and the API.
//! `closeloop-server [flags]` serves; `closeloop-server [flags] user add …`
//! manages users in the same data directory.

mod user_command;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use closeloop_server::storage::Storage;
use closeloop_server::{Application, Clock, Config, SystemClock};

#[derive(Parser)]
#[command(
    name = "closeloop-server",
    version,
    about = "Closeloop relay, API and PWA"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (what happens without a subcommand).
    Serve,
    /// Bring the database schema up to date and print its version.
    Migrate,
    /// Recreate the SQL read model from the stored documents.
    RebuildProjection,
    /// Write every record (the list's columns) to a CSV or XLSX file.
    Export {
        /// `csv` or `xlsx`.
        #[arg(long, default_value = "csv")]
        format: String,
        /// Where to write; `-` for standard output.
        #[arg(long, default_value = "-")]
        out: std::path::PathBuf,
    },
    /// Store N generated, realistic records (for benchmarks and demos).
    Seed {
        /// How many records to create.
        #[arg(long)]
        records: usize,
        /// The same seed gives the same records (ids aside).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: user_command::UserCommand,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Err(e) = cli.config.merge_file(&matches) {
        eprintln!("closeloop-server: {e}");
        return ExitCode::FAILURE;
    }
    closeloop_server::telemetry::init(&cli.config.log);
    let result = match cli.command {
        None | Some(Command::Serve) => serve(cli.config).await,
        Some(Command::Migrate) => migrate(&cli.config).await,
        Some(Command::Export { format, out }) => export(&cli.config, &format, &out).await,
        Some(Command::RebuildProjection) => rebuild_projection(&cli.config).await,
        Some(Command::Seed { records, seed }) => seed_command(&cli.config, records, seed).await,
        Some(Command::User { action }) => user_command::run(&cli.config, action).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("closeloop-server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    println!("Closeloop is running at http://{}/", app.local_addr());
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

async fn export(config: &Config, format: &str, out: &std::path::Path) -> Result<(), String> {
    let storage = Storage::connect(config.database.as_deref(), &config.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let exported = if out.as_os_str() == "-" {
        let mut stdout = std::io::stdout();
        closeloop_server::export_records(&storage, format, &mut stdout).await
    } else {
        let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()));
        match file {
            Ok(file) => {
                let mut file = std::io::BufWriter::new(file);
                let n = closeloop_server::export_records(&storage, format, &mut file).await;
                let flushed = std::io::Write::flush(&mut file).map_err(|e| e.to_string());
                n.and_then(|n| flushed.map(|()| n))
            }
            Err(e) => Err(e),
        }
    };
    storage.close().await;
    let count = exported?;
    if out.as_os_str() != "-" {
        eprintln!("exported {count} records to {}", out.display());
    }
    Ok(())
}

async fn migrate(config: &Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    // Opening storage applies what is missing, under a lock on PostgreSQL.
    let storage = Storage::connect(config.database.as_deref(), &config.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let version = storage.schema_version().await.map_err(|e| e.to_string())?;
    storage.close().await;
    println!(
        "database schema at version {version} (this build knows {})",
        closeloop_server::storage::migrations::latest()
    );
    Ok(())
}

async fn rebuild_projection(config: &Config) -> Result<(), String> {
    let storage = Storage::connect(config.database.as_deref(), &config.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let sla = storage
        .sla_config(SystemClock.now_ms())
        .await
        .map_err(|e| e.to_string())?;
    let (projected, skipped) = storage
        .rebuild_projection(&sla)
        .await
        .map_err(|e| e.to_string())?;
    storage.close().await;
    println!("rebuilt the projection: {projected} records, {skipped} other documents skipped");
    Ok(())
}

async fn seed_command(config: &Config, records: usize, seed: u64) -> Result<(), String> {
    use closeloop_server::seed::{SeedOptions, seed_records};
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let storage = Storage::connect(config.database.as_deref(), &config.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let now_ms = SystemClock.now_ms();
    let started = std::time::Instant::now();
    let result = match storage.sla_config(now_ms).await {
        Ok(sla) => {
            let options = SeedOptions {
                records,
                seed,
                now_ms,
            };
            let mut reported = 0;
            seed_records(&storage, &sla, options, |stored| {
                if stored / 10_000 > reported / 10_000 || stored == records {
                    eprintln!(
                        "seed: {stored}/{records} records stored ({:.1} s)",
                        started.elapsed().as_secs_f64()
                    );
                }
                reported = stored;
            })
            .await
            .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    storage.close().await;
    let stored = result?;
    println!(
        "seeded {stored} records (seed {seed}) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
