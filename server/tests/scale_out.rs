//! Two relays sharing one PostgreSQL database: a client on each sees the
//! other's changes promptly, in both directions. PostgreSQL only (run by
//! `cargo xtask test`, which starts a cluster); on SQLite it says so and passes.

mod support;

use std::time::{Duration, Instant};

use closeloop_shared::record::edit_description;
use support::{Client, TestApp, id, wait_stored};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_two_relays_see_each_others_changes() {
    if std::env::var_os("CLOSELOOP_TEST_POSTGRES").is_none() {
        eprintln!("scale-out needs PostgreSQL: run it with `cargo xtask test`");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Same directory → same database; two processes' worth of relays.
    let one = TestApp::spawn(dir.path()).await;
    let two = TestApp::spawn(dir.path()).await;
    assert_ne!(one.addr, two.addr);

    let mut tablet = Client::connect(one.addr, "north").await;
    tablet.capture(id(1), "两台中继共享一个数据库").await;
    wait_stored(one.addr, id(1)).await;

    let mut office = Client::connect(two.addr, "office").await;
    let seen = office.fetch(id(1)).await.expect("relay two serves it");
    assert_eq!(seen.description, "两台中继共享一个数据库");

    // Tablet (relay one) → office (relay two).
    let started = Instant::now();
    let fx = tablet
        .hub
        .change(id(1), |d| edit_description(d, "平板在一号中继上修改", 5))
        .unwrap();
    tablet.run(fx).await;
    office
        .pump_until(|c| description(c) == "平板在一号中继上修改")
        .await;
    let one_to_two = started.elapsed();

    // Office (relay two) → tablet (relay one).
    let started = Instant::now();
    let fx = office
        .hub
        .change(id(1), |d| edit_description(d, "总部在二号中继上回复", 6))
        .unwrap();
    office.run(fx).await;
    tablet
        .pump_until(|c| description(c) == "总部在二号中继上回复")
        .await;
    let two_to_one = started.elapsed();
    println!("relay one → two {one_to_two:?}, two → one {two_to_one:?}");
    assert!(one_to_two < Duration::from_secs(1), "{one_to_two:?}");
    assert!(two_to_one < Duration::from_secs(1), "{two_to_one:?}");

    one.stop().await;
    two.stop().await;
}

fn description(c: &Client) -> String {
    c.hub
        .document(&id(1))
        .and_then(|d| closeloop_shared::FeedbackRecord::from_doc(d).ok())
        .map(|r| r.description)
        .unwrap_or_default()
}
