//! A throwaway PostgreSQL cluster for tests and benchmarks: Debian's server
//! binaries, a temporary directory, a free loopback port. Stopped and
//! deleted when dropped, also after a failed test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use crate::shell::{output, run};
use crate::tools::apt_install;

/// A running cluster; its superuser `postgres` needs no password on loopback.
pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    port: u16,
}

/// The newest installed PostgreSQL's `bin/` folder, installing Debian's
/// `postgresql` package if there is none.
fn server_binaries() -> Result<PathBuf, String> {
    let find = || {
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|e| {
                let version = e.file_name().to_string_lossy().parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((version, bin))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, bin)| bin)
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    apt_install(&["postgresql"])?;
    find().ok_or_else(|| "postgresql is installed but no initdb under /usr/lib/postgresql".into())
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

impl Cluster {
    /// Creates and starts a cluster (a few seconds).
    pub fn start() -> Result<Self, String> {
        let bin = server_binaries()?;
        // initdb refuses to run as root; then the cluster belongs to `postgres`.
        let as_postgres = output("id", &["-u"]).as_deref() == Some("0");
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("closeloop-pg-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let cluster = Cluster {
            dir,
            bin,
            as_postgres,
            port: free_port()?,
        };
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&cluster.dir))?;
        }
        let data = cluster.dir.join("data");
        let log = cluster.dir.join("server.log");
        run(cluster
            .tool("initdb")
            .args([
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "-D",
            ])
            .arg(&data))
        .map_err(|e| format!("initdb failed: {e}"))?;
        // Sockets in our directory, TCP on loopback only; fsync off: a test
        // cluster never outlives the machine it runs on.
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c max_connections=200",
            cluster.port,
            cluster.dir.display()
        );
        run(cluster
            .tool("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-o", &options, "start"]))
        .map_err(|e| {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            format!("PostgreSQL did not start: {e}\n{tail}")
        })?;
        Ok(cluster)
    }

    /// A PostgreSQL tool run as the cluster's owner.
    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut c = if self.as_postgres {
            // Absolute, since a CI shell's PATH may leave out /usr/sbin.
            let runuser = ["/usr/sbin/runuser", "/sbin/runuser"]
                .into_iter()
                .find(|p| std::path::Path::new(p).exists())
                .unwrap_or("runuser");
            let mut c = Command::new(runuser);
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        c.current_dir(&self.dir);
        c
    }

    /// The server's URL without a database name (the superuser's own).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        run(self.tool("createdb").args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            name,
        ]))?;
        Ok(format!("{}/{name}", self.url()))
    }
}

/// `cargo xtask with-postgres CMD…`: runs one command with
/// `CLOSELOOP_TEST_POSTGRES` pointing at a fresh cluster, e.g. a single
/// server test against PostgreSQL.
pub fn run_with_postgres(args: &[String]) -> Result<(), String> {
    let Some((program, rest)) = args.split_first() else {
        return Err("usage: cargo xtask with-postgres <command> [args…]".into());
    };
    let cluster = Cluster::start()?;
    let mut c = crate::shell::cmd(
        program,
        &rest.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    c.env("CLOSELOOP_TEST_POSTGRES", cluster.url());
    run(c)
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self
            .tool("pg_ctl")
            .args(["-D"])
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
