//! Access control over the real protocol and API: sign-in is required, and
//! field staff reach only their team's records, on every message.

mod support;

use closeloop_shared::record::edit_description;
use closeloop_shared::sync::{Effect, Message};
use futures_util::{SinkExt, StreamExt};
use support::{Client, PASSWORD, TestApp, http, http_get, id, login, wait_stored};
use tokio_tungstenite::tungstenite::Message as Ws;

#[tokio::test]
async fn nothing_is_open_without_signing_in() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let feed = http_get(app.addr, "/api/documents?after=0").await;
    assert!(
        feed.starts_with("HTTP/1.1 401") && feed.contains(r#""code":"unauthorized""#),
        "{feed}"
    );
    let me = http_get(app.addr, "/api/me").await;
    assert!(me.starts_with("HTTP/1.1 401"), "{me}");
    // Refused with 401, not failing for some other reason.
    let refused = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16() == 401,
        _ => false,
    };
    let upgrade = tokio_tungstenite::connect_async(format!("ws://{}/sync", app.addr)).await;
    assert!(
        refused(upgrade.map(|_| ())),
        "a sync socket needs a session"
    );
    let forged =
        tokio_tungstenite::connect_async(format!("ws://{}/sync?token=forged", app.addr)).await;
    assert!(refused(forged.map(|_| ())), "an unknown token is refused");

    let wrong = format!(r#"{{"username":"north","password":"{PASSWORD}x"}}"#);
    let resp = http(app.addr, "POST", "/api/login", None, Some(&wrong)).await;
    assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
    let unknown = format!(r#"{{"username":"nobody","password":"{PASSWORD}"}}"#);
    assert!(
        http(app.addr, "POST", "/api/login", None, Some(&unknown))
            .await
            .starts_with("HTTP/1.1 401")
    );
    let malformed = http(app.addr, "POST", "/api/login", None, Some("{not json")).await;
    assert!(malformed.starts_with("HTTP/1.1 400"), "{malformed}");

    let right = format!(r#"{{"username":"north","password":"{PASSWORD}"}}"#);
    let ok = http(app.addr, "POST", "/api/login", None, Some(&right)).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let cookie = ok
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_default();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let token = login(app.addr, "north").await;
    let me = http(app.addr, "GET", "/api/me", Some(&token), None).await;
    assert!(
        me.contains(r#""role":"field_staff""#) && me.contains(r#""team":"north""#),
        "{me}"
    );
    http(app.addr, "POST", "/api/logout", Some(&token), None).await;
    assert!(
        http(app.addr, "GET", "/api/me", Some(&token), None)
            .await
            .starts_with("HTTP/1.1 401")
    );
    app.stop().await;
}

#[tokio::test]
async fn field_staff_reach_only_their_teams_records() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "北区门店：冷柜温度过高").await;
    wait_stored(app.addr, id(1)).await;

    // Another team's tablet asks for it: unavailable, exactly as for a record that does not exist.
    let mut south = Client::connect(app.addr, "south").await;
    assert_eq!(south.fetch(id(1)).await, None);
    assert_eq!(south.unavailable, vec![id(1)]);
    assert_eq!(
        south.fetch(id(99)).await,
        None,
        "an unknown id looks the same"
    );

    // It tries to write into it anyway, with a change built from a copy.
    let mut copy = north.hub.document(&id(1)).cloned().unwrap();
    edit_description(&mut copy, "被篡改的内容", 5).unwrap();
    let mut forger = closeloop_shared::sync::SyncHub::new(
        "south".into(),
        closeloop_shared::sync::SharePolicy::AnnounceAll,
    );
    let mut fx = forger.connect(0, true);
    fx.extend(forger.add_document(id(1), copy));
    let (mut ws, _) = {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let token = login(app.addr, "south").await;
        let mut req = format!("ws://{}/sync", app.addr)
            .into_client_request()
            .unwrap();
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        tokio_tungstenite::connect_async(req).await.unwrap()
    };
    let mut refused = false;
    for _ in 0..20 {
        for e in fx.drain(..) {
            if let Effect::Send { frame, .. } = e {
                ws.send(Ws::Binary(frame.into())).await.unwrap();
            }
        }
        match tokio::time::timeout(std::time::Duration::from_millis(300), ws.next()).await {
            Ok(Some(Ok(Ws::Binary(b)))) => {
                refused |= matches!(Message::decode(&b), Ok(Message::DocUnavailable { .. }));
                fx.extend(forger.receive(0, &b));
            }
            _ => break,
        }
    }
    assert!(refused, "the relay refuses the foreign team's write");

    // Head office sees the record, unchanged; north still reaches it.
    let mut office = Client::connect(app.addr, "office").await;
    assert_eq!(
        office.fetch(id(1)).await.unwrap().description,
        "北区门店：冷柜温度过高"
    );

    // The change feed follows the same rule.
    let feed = |user: &'static str| {
        let addr = app.addr;
        async move {
            let token = login(addr, user).await;
            http(addr, "GET", "/api/documents?after=0", Some(&token), None).await
        }
    };
    let doc = id(1).to_string();
    assert!(feed("north").await.contains(&doc));
    assert!(feed("office").await.contains(&doc));
    assert!(
        !feed("south").await.contains(&doc),
        "south's feed does not list north's record"
    );
    app.stop().await;
}

#[tokio::test]
async fn field_staff_also_reach_records_assigned_to_them() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(7), "北区：会员积分没有到账").await;
    wait_stored(app.addr, id(7)).await;
    let mut south = Client::connect(app.addr, "south").await;
    assert_eq!(
        south.fetch(id(7)).await,
        None,
        "not yet assigned: unavailable"
    );

    // Head office registers it and assigns it to the south user.
    let mut office = Client::connect(app.addr, "office").await;
    office.fetch(id(7)).await.unwrap();
    let fx = office
        .hub
        .change(id(7), |d| {
            closeloop_shared::record::transition(
                d,
                &closeloop_shared::workflow::Action::Register,
                None,
                "office",
                1,
            )?;
            let assign = closeloop_shared::workflow::Action::Assign {
                owner: "south".into(),
                department: "会员中心".into(),
            };
            closeloop_shared::record::transition(d, &assign, None, "office", 2)
        })
        .unwrap();
    office.run(fx).await;
    office.acked(id(7)).await;

    let mut south = Client::connect(app.addr, "south").await;
    let record = south
        .fetch(id(7))
        .await
        .expect("assigned records are reachable");
    assert_eq!(record.owner.as_deref(), Some("south"));
    let token = login(app.addr, "south").await;
    let feed = http(
        app.addr,
        "GET",
        "/api/documents?after=0",
        Some(&token),
        None,
    )
    .await;
    assert!(feed.contains(&id(7).to_string()), "{feed}");
    let list = http(app.addr, "GET", "/api/records", Some(&token), None).await;
    assert!(list.contains("会员积分没有到账"), "{list}");

    // Reassigned away from south: south's open connection stops receiving
    // the record, while head office still does.
    let away = closeloop_shared::workflow::Action::Reassign {
        owner: "office".into(),
        department: "客服中心".into(),
    };
    office.transition(id(7), &away, 3).await;
    north.edit_description(id(7), "北区：积分已补发", 4).await;
    office.wait_for_description(id(7), "北区：积分已补发").await;
    // Anything the relay sent south about the edit has arrived by now.
    south.round_trip().await;
    assert_eq!(
        south.description(id(7)),
        "北区：会员积分没有到账",
        "a record reassigned away is no longer sent to south"
    );
    app.stop().await;
}
