//! `cargo xtask serve`: from a fresh checkout to a running Closeloop.

use crate::shell::{cmd, root, run};
use crate::tools;

/// Builds everything and runs the server in the foreground until Ctrl-C.
pub fn run_serve(args: &[String]) -> Result<(), String> {
    let mut port = "8080".to_string();
    let mut data_dir = root().join("data").display().to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = it.next().ok_or("--port needs a number")?.clone(),
            "--data-dir" => data_dir = it.next().ok_or("--data-dir needs a path")?.clone(),
            other => {
                return Err(format!(
                    "unknown option `{other}` (serve takes --port N, --data-dir DIR)"
                ));
            }
        }
    }
    port.parse::<u16>()
        .map_err(|_| format!("--port `{port}` is not a port number"))?;

    tools::ensure_build_tools()?;
    tools::build_pwa()?;
    tools::build_server_release()?;
    let server = root().join("target/release-server/closeloop-server");
    let dist = root().join("dist").display().to_string();
    println!();
    println!("Closeloop: http://127.0.0.1:{port}/");
    println!("  field capture (tablet): http://127.0.0.1:{port}/");
    println!("  head office:            http://127.0.0.1:{port}/office");
    println!("  demo logins (password closeloop-demo):");
    println!("    field-north, field-south  field staff of teams north and south (tablet)");
    println!("    office                    head office (sees every record)");
    println!("    supervisor, admin");
    println!("  data: {data_dir} (SQLite); stop with Ctrl-C");
    println!();
    let mut c = cmd(
        server.to_str().ok_or("non-UTF-8 path")?,
        &[
            "--port",
            &port,
            "--data-dir",
            &data_dir,
            "--dist-dir",
            &dist,
            "--demo-data",
        ],
    );
    c.env("CLOSELOOP_HOST", "127.0.0.1");
    run(c)
}
