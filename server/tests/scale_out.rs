//! Two relays sharing one PostgreSQL database: a client on each sees the
//! other's changes promptly, in both directions. PostgreSQL only (run by
//! `cargo xtask test`, which starts a cluster); on SQLite it says so and passes.

mod support;

use std::time::{Duration, Instant};

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
    tablet
        .edit_description(id(1), "平板在一号中继上修改", 5)
        .await;
    office
        .wait_for_description(id(1), "平板在一号中继上修改")
        .await;
    let one_to_two = started.elapsed();

    // Office (relay two) → tablet (relay one).
    let started = Instant::now();
    office
        .edit_description(id(1), "总部在二号中继上回复", 6)
        .await;
    tablet
        .wait_for_description(id(1), "总部在二号中继上回复")
        .await;
    let two_to_one = started.elapsed();
    println!("relay one → two {one_to_two:?}, two → one {two_to_one:?}");
    assert!(one_to_two < Duration::from_secs(1), "{one_to_two:?}");
    assert!(two_to_one < Duration::from_secs(1), "{two_to_one:?}");

    one.stop().await;
    two.stop().await;
}
