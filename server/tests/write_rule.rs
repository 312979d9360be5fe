//! The relay authorizes what clients write, over a real socket: a field
//! user's forged head-office steps and reassignment are refused, stored
//! nowhere, forwarded to nobody; the sender converges; who delivered each
//! stored change is recorded from the session, not from the change.

mod support;

use closeloop_shared::api::{ChangeItem, RecordDetail};
use closeloop_shared::record::{self, Field};
use closeloop_shared::taxonomy::Taxonomy;
use closeloop_shared::workflow::Action;
use support::{Client, TestApp, id};

/// One edit of a record document.
type Edit<'a> = Box<dyn Fn(&mut automerge::Automerge) -> Result<(), record::RecordError> + 'a>;

/// Appends a workflow step as a hostile client would, without the workflow's checks.
fn raw_step(
    d: &mut automerge::Automerge,
    action: &str,
    by: &str,
) -> Result<(), record::RecordError> {
    use automerge::transaction::Transactable;
    use automerge::{ObjType, ROOT, ReadDoc, Value};
    let Some((Value::Object(ObjType::List), history)) = d.get(ROOT, "history")? else {
        return Err(record::RecordError::Field("history"));
    };
    let at = d.length(&history);
    let mut tx = d.transaction();
    let entry = tx.insert_object(&history, at, ObjType::Map)?;
    tx.put(&entry, "action", action)?;
    tx.put(&entry, "by", by)?;
    tx.commit();
    Ok(())
}

#[tokio::test]
async fn forged_steps_and_reassignment_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "冷柜温度过高").await;
    let mut office = Client::connect(app.addr, "office").await;
    office.fetch(id(1)).await.expect("office reaches it");
    let office_heads = office.hub.document(&id(1)).unwrap().get_heads();

    // As a hostile field user: steps "by office", then the record handed to south.
    let t = Taxonomy::default();
    let forged: Vec<Edit> = vec![
        Box::new(|d| record::transition(d, &Action::Register, None, "office", 10)),
        // Written raw: the honest workflow would not even offer it.
        Box::new(|d| raw_step(d, "close", "north")),
        Box::new(|d| record::set_field(d, &t, Field::Owner, "south", "north", 12)),
    ];
    for (n, edit) in forged.iter().enumerate() {
        let fx = north.hub.change(id(1), edit).expect("the tablet writes it");
        north.run(fx).await;
        north.pump_until(|c| c.refused.len() > n).await;
        // Converged again: the relay acknowledges exactly what it keeps.
        north.acked(id(1)).await;
    }
    let codes: Vec<&str> = north.refused.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(codes, ["forged_author", "forbidden", "forbidden"]);
    assert!(!north.closed, "three refusals are below the limit");

    // Nothing reached storage, the projection or head office.
    let token = app.token("office").await;
    let (status, detail): (u16, RecordDetail) = app
        .call(
            "GET",
            &format!("/api/records/{}", id(1)),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(detail.summary.status, "new");
    assert_eq!(detail.summary.owner, None);
    assert!(detail.history.is_empty());
    office.round_trip().await;
    assert_eq!(
        office.hub.document(&id(1)).unwrap().get_heads(),
        office_heads,
        "head office received none of it"
    );
    let mut south = Client::connect(app.addr, "south").await;
    assert!(south.fetch(id(1)).await.is_none(), "south cannot reach it");

    // Who delivered what, from the sessions: north's capture only.
    let (status, changes): (u16, Vec<ChangeItem>) = app
        .call(
            "GET",
            &format!("/api/records/{}/changes", id(1)),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].by.as_deref(), Some("north"));
    assert!(
        changes[0].session.as_ref().is_some_and(|s| s.len() >= 16),
        "recorded with the session that delivered it: {changes:?}"
    );
    let field_token = app.token("north").await;
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "GET",
            &format!("/api/records/{}/changes", id(1)),
            Some(&field_token),
            None,
        )
        .await;
    assert_eq!(status, 403, "field staff do not read the change log");
}

#[tokio::test]
async fn a_change_under_another_users_actor_is_refused_and_that_user_keeps_syncing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(3), "试衣间灯光太暗").await;
    let mut office = Client::connect(app.addr, "office").await;
    office.fetch(id(3)).await.expect("office reaches it");
    let fx = office
        .hub
        .change(id(3), |d| record::append_log(d, "已通知门店", "office", 20))
        .unwrap();
    office.run(fx).await;
    office.acked(id(3)).await;
    north.round_trip().await;
    north.acked(id(3)).await;
    let office_actor = office.hub.document(&id(3)).unwrap().get_actor().clone();

    // North writes an allowed log entry, but as office's actor: taking
    // office's next sequence number would lock office's copy out.
    let fx = north
        .hub
        .change(id(3), |d| {
            d.set_actor(office_actor.clone());
            record::append_log(d, "北区已到店查看", "north", 21)
        })
        .unwrap();
    north.run(fx).await;
    north.pump_until(|c| !c.refused.is_empty()).await;
    assert_eq!(north.refused[0].1, "forged_author");

    // Office's own next change is still accepted.
    let fx = office
        .hub
        .change(id(3), |d| {
            record::append_log(d, "门店已更换灯管", "office", 22)
        })
        .unwrap();
    office.run(fx).await;
    office.acked(id(3)).await;
    let token = app.token("office").await;
    let (_, detail): (u16, RecordDetail) = app
        .call(
            "GET",
            &format!("/api/records/{}", id(3)),
            Some(&token),
            None,
        )
        .await;
    let texts: Vec<&str> = detail.log.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["已通知门店", "门店已更换灯管"]);
}

#[tokio::test]
async fn a_client_that_keeps_sending_refused_changes_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(2), "收银排队太久").await;
    for n in 0..closeloop_shared::relay::MAX_REFUSALS {
        let fx = north
            .hub
            .change(id(2), |d| record::append_log(d, "冒名", "office", n as i64))
            .expect("written");
        north.run(fx).await;
        north.pump_until(|c| c.closed || c.refused.len() > n).await;
    }
    north.pump_until(|c| c.closed).await;
    assert!(north.closed, "the relay closed the connection");
    // The last answer may be lost with the connection (a reset discards
    // what the client had not read yet); every earlier one arrived.
    assert!(
        north.refused.len() >= closeloop_shared::relay::MAX_REFUSALS - 1,
        "each refusal was answered: {:?}",
        north.refused
    );
    // The honest part stayed.
    let token = app.token("office").await;
    let (_, detail): (u16, RecordDetail) = app
        .call(
            "GET",
            &format!("/api/records/{}", id(2)),
            Some(&token),
            None,
        )
        .await;
    assert!(detail.log.is_empty(), "no forged log entry was stored");
}
