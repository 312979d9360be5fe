//! Two relays sharing one PostgreSQL database: a client on each sees the
//! other's changes promptly, in both directions. PostgreSQL only: ignored
//! (and listed as ignored) on SQLite; `cargo xtask test` runs them on the
//! cluster it starts, with `--include-ignored`.

mod support;

use std::time::{Duration, Instant};

use closeloop_shared::workflow::Action;
use support::{Client, id, two_relays, wait_stored};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn clients_on_two_relays_see_each_others_changes() {
    let (_dir, one, two) = two_relays().await;

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
    // No relay polls storage: without the other relay's notification the
    // edit would never arrive, so the waits above are the check. How long
    // it took is for the reader, not an assertion (timing is for benchmarks).
    println!("relay one → two {one_to_two:?}, two → one {two_to_one:?}");

    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn a_reassignment_on_one_relay_withdraws_followers_on_the_other() {
    let (_dir, one, two) = two_relays().await;
    let mut tablet = Client::connect(one.addr, "north").await;
    tablet.capture(id(2), "北区：收银机卡顿").await;
    wait_stored(one.addr, id(2)).await;

    // Head office on relay two assigns it to south, who follows it on relay one.
    let mut office = Client::connect(two.addr, "office").await;
    office.fetch(id(2)).await.expect("office sees it");
    office.transition(id(2), &Action::Register, 1).await;
    let to_south = Action::Assign {
        owner: "south".into(),
        department: "门店运营".into(),
    };
    office.transition(id(2), &to_south, 2).await;
    let mut south = Client::connect(one.addr, "south").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while south.fetch(id(2)).await.is_none() {
        assert!(Instant::now() < deadline, "assigned record never reachable");
        south = Client::connect(one.addr, "south").await;
    }

    // Reassigned away on relay two: relay one stops sending it to south.
    let away = Action::Reassign {
        owner: "office".into(),
        department: "客服中心".into(),
    };
    office.transition(id(2), &away, 3).await;
    // Relay one knows of the reassignment once it forwarded it to the
    // tablet (it handles its inputs in order, and the tablet follows the
    // record through it): only then is the edit below ordered after it.
    tablet
        .pump_until(|c| {
            c.hub
                .document(&id(2))
                .and_then(|d| closeloop_shared::FeedbackRecord::from_doc(d).ok())
                .is_some_and(|r| r.owner.as_deref() == Some("office"))
        })
        .await;
    tablet
        .edit_description(id(2), "北区：收银机已更换", 3)
        .await;
    office
        .wait_for_description(id(2), "北区：收银机已更换")
        .await;
    // Anything relay one sent south about the edit has arrived by now.
    south.round_trip().await;
    assert_eq!(south.description(id(2)), "北区：收银机卡顿");
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn settings_saved_through_one_relay_count_on_the_other() {
    use closeloop_shared::sla::{SlaConfig, SlaPolicy};
    use closeloop_shared::taxonomy::Taxonomy;
    let (_dir, one, two) = two_relays().await;
    let admin = one.token("admin").await;
    let (_, mut taxonomy): (u16, Taxonomy) =
        one.call("GET", "/api/taxonomy", Some(&admin), None).await;
    taxonomy.natures[0].label.zh = "表扬（含感谢信）".into();
    let (status, _): (u16, Taxonomy) = one
        .call(
            "PUT",
            "/api/admin/taxonomy",
            Some(&admin),
            Some(&serde_json::to_string(&taxonomy).unwrap()),
        )
        .await;
    assert_eq!(status, 200);
    let (_, sla): (u16, SlaConfig) = one.call("GET", "/api/admin/sla", Some(&admin), None).await;
    let s000 = SlaConfig {
        policy: SlaPolicy::s000(),
        ..sla
    };
    let (status, _): (u16, SlaConfig) = one
        .call(
            "PUT",
            "/api/admin/sla",
            Some(&admin),
            Some(&serde_json::to_string(&s000).unwrap()),
        )
        .await;
    assert_eq!(status, 200);
    // Relay two hears at commit and reloads; it is answered within seconds.
    let admin_two = two.token("admin").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, t): (u16, Taxonomy) = two
            .call("GET", "/api/taxonomy", Some(&admin_two), None)
            .await;
        let (_, s): (u16, SlaConfig) = two
            .call("GET", "/api/admin/sla", Some(&admin_two), None)
            .await;
        if t == taxonomy && s == s000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "relay two still has the old settings"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    one.stop().await;
    two.stop().await;
}
