//! `closeloop-server`: one process serving the PWA, the sync relay and the API.

use clap::Parser;
use closeloop_server::{Application, Config};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    closeloop_server::telemetry::init(&config.log);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("closeloop-server: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("Closeloop is running at http://{}/", app.local_addr());
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("closeloop-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
