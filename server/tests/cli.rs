//! The operator's subcommands on the real binary: `migrate`, `export`, and
//! settings from a TOML file, on whichever database the suite runs on.

mod support;

use std::process::{Command, Output};

use support::{Client, TestApp, id, storage_args, wait_stored};

fn server(args: &[std::ffi::OsString], tail: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_closeloop-server"))
        .args(args)
        .args(tail)
        .output()
        .expect("closeloop-server runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn migrate_and_export_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_args(dir.path()).await;
    for _ in 0..2 {
        // Idempotent: the second run finds nothing to do.
        let out = server(&storage, &["migrate"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let said = text(&out.stdout);
        let latest = closeloop_server::storage::migrations::latest();
        assert!(said.contains(&format!("version {latest}")), "{said}");
    }

    let app = TestApp::spawn(dir.path()).await;
    let mut tablet = Client::connect(app.addr, "north").await;
    tablet.capture(id(1), "导出：收银台排队太久").await;
    wait_stored(app.addr, id(1)).await;
    app.stop().await;

    let csv = dir.path().join("records.csv");
    let out = server(
        &storage,
        &["export", "--format", "csv", "--out", csv.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body = std::fs::read_to_string(&csv).unwrap();
    assert!(body.starts_with('\u{feff}'), "BOM for spreadsheet programs");
    assert!(body.contains("导出：收银台排队太久"), "{body}");
    assert!(text(&out.stderr).contains("exported 1 records"));

    let xlsx = server(&storage, &["export", "--format", "xlsx"]);
    assert!(xlsx.status.success());
    assert!(xlsx.stdout.starts_with(b"PK"), "an XLSX file is a zip");

    let bad = server(&storage, &["export", "--format", "pdf"]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("unknown export format `pdf`"));
}

#[tokio::test]
async fn settings_come_from_a_toml_file_unless_a_flag_says_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("from-file");
    let database = support::database_for(dir.path()).await;
    let mut toml = format!(
        "data_dir = {:?}\nlog = \"warn\"\n",
        data.display().to_string()
    );
    if let Some(url) = &database {
        toml.push_str(&format!("database = {url:?}\n"));
    }
    let file = dir.path().join("closeloop.toml");
    std::fs::write(&file, toml).unwrap();
    let config = ["--config".into(), file.clone().into_os_string()];
    let out = server(&config, &["migrate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        data.exists(),
        "the data directory named in the file is used"
    );

    // A flag beats the file: the file's directory is left alone.
    std::fs::remove_dir_all(&data).unwrap();
    let flagged = dir.path().join("from-flag");
    let mut args = config.to_vec();
    args.extend(["--data-dir".into(), flagged.clone().into_os_string()]);
    let out = server(&args, &["migrate"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(flagged.exists(), "the flag's data directory is used");
    assert!(!data.exists(), "the file's data directory is not");

    std::fs::write(&file, "prot = 9000\n").unwrap();
    let out = server(&config, &["migrate"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("closeloop.toml") && err.contains("prot"),
        "{err}"
    );
}

#[tokio::test]
async fn users_are_listed_disabled_enabled_and_reset_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let storage = storage_args(dir.path()).await;
    let with_password = |tail: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_closeloop-server"))
            .args(&storage)
            .args(tail)
            .env("CLOSELOOP_PASSWORD", "ten characters or more")
            .output()
            .expect("closeloop-server runs")
    };
    let out = with_password(&[
        "user",
        "add",
        "wang",
        "--role",
        "field_staff",
        "--team",
        "east",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (tail, said) in [
        (&["user", "disable", "wang"][..], "disabled wang"),
        (&["user", "list"][..], "disabled"),
        (&["user", "enable", "wang"][..], "enabled wang"),
        (&["user", "revoke-sessions", "wang"][..], "ended 0 sessions"),
        (
            &["user", "set-role", "wang", "--role", "supervisor"][..],
            "supervisor",
        ),
    ] {
        let out = server(&storage, tail);
        assert!(out.status.success(), "{tail:?}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains(said),
            "{tail:?}: {}",
            text(&out.stdout)
        );
    }
    let out = with_password(&["user", "reset-password", "wang"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = server(&storage, &["user", "disable", "nobody"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no user `nobody`"));

    let app = TestApp::spawn(dir.path()).await;
    support::login_as(app.addr, "wang", "ten characters or more").await;
    app.stop().await;
}
