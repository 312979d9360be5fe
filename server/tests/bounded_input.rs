//! Hostile frames over a real socket: each is refused with an `error`
//! naming the limit, `/healthz` answers within a second while it is being
//! handled, and memory (process RSS, documents in memory) stays bounded.

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{Automerge, ObjType, ROOT};
use ciborium::Value;
use closeloop_shared::sync::{DocumentId, Message};
use futures_util::{SinkExt, StreamExt};
use support::{Client, TestApp, http, http_get, id, login, open_sync, rand_bytes, wait_stored};
use tokio_tungstenite::tungstenite::Message as Ws;

/// RSS is per process and every test runs in this one: one test at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Resident memory of this process (the server runs in it), in MB.
fn rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// `/healthz` answers 200 within one second (client-side timeout).
async fn healthy_within_a_second(addr: SocketAddr) {
    let answer = tokio::time::timeout(Duration::from_secs(1), http_get(addr, "/healthz"))
        .await
        .expect("/healthz answered within 1 s");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Sends `frame` and returns the `error` message text the relay answers
/// with before closing the socket (10 s at most).
async fn refused(addr: SocketAddr, client: &mut Client, frame: Vec<u8>) -> String {
    client.ws.send(Ws::Binary(frame.into())).await.unwrap();
    healthy_within_a_second(addr).await;
    let mut error = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), client.ws.next()).await {
            Ok(Some(Ok(Ws::Binary(b)))) => {
                if let Ok(Message::Error { message, .. }) = Message::decode(&b) {
                    error = Some(message);
                }
            }
            Ok(Some(Ok(Ws::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => break,
            Ok(Some(Ok(_))) => {}
            Err(_) => panic!("no close within 10 s"),
        }
    }
    error.expect("an error message before the close")
}

fn cbor(entries: Vec<(&str, Value)>) -> Vec<u8> {
    let map = entries
        .into_iter()
        .map(|(k, v)| (Value::Text(k.into()), v))
        .collect();
    let mut out = Vec::new();
    ciborium::into_writer(&Value::Map(map), &mut out).unwrap();
    out
}

fn sync_frame(from: &str, doc: DocumentId, data: Vec<u8>) -> Vec<u8> {
    Message::Sync {
        sender_id: from.into(),
        target_id: "relay".into(),
        document_id: doc,
        data,
    }
    .encode()
}

fn metric(addr_text: &str, name: &str) -> u64 {
    addr_text
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.trim().parse().ok()))
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

#[tokio::test]
async fn a_document_id_of_200000_characters_is_refused_before_decoding() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut c = Client::connect(app.addr, "north").await;
    let frame = cbor(vec![
        ("type", Value::Text("sync".into())),
        ("senderId", Value::Text("north".into())),
        ("targetId", Value::Text("relay".into())),
        ("documentId", Value::Text("2".repeat(200_000))),
        ("data", Value::Bytes(vec![0x42, 0, 0, 0, 0])),
    ]);
    let before = rss_mb();
    let err = refused(app.addr, &mut c, frame).await;
    assert!(
        err.contains("text string in the frame is over 2048 bytes"),
        "{err}"
    );
    // Just over the text limit: the id check refuses it, still undecoded.
    let mut c = Client::connect(app.addr, "north").await;
    let frame = cbor(vec![
        ("type", Value::Text("sync".into())),
        ("senderId", Value::Text("north".into())),
        ("targetId", Value::Text("relay".into())),
        ("documentId", Value::Text("2".repeat(2_000))),
        ("data", Value::Bytes(vec![0x42, 0, 0, 0, 0])),
    ]);
    let err = refused(app.addr, &mut c, frame).await;
    assert!(err.contains("over 256 bytes"), "{err}");
    assert!(
        rss_mb() < before + 32,
        "RSS {} MB → {} MB",
        before,
        rss_mb()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_frame_of_a_million_tiny_items_is_refused_before_it_becomes_a_tree() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut c = Client::connect(app.addr, "north").await;
    // An array of 1,000,000 zeros: 1 MB on the wire, ~50 MB as a Value tree.
    let mut frame = vec![0x9a, 0x00, 0x0f, 0x42, 0x40];
    frame.extend(std::iter::repeat_n(0u8, 1_000_000));
    let before = rss_mb();
    for _ in 0..4 {
        let err = refused(app.addr, &mut c, frame.clone()).await;
        assert!(err.contains("more than 64 CBOR items"), "{err}");
        c = Client::connect(app.addr, "north").await;
    }
    assert!(
        rss_mb() < before + 32,
        "RSS {} MB → {} MB",
        before,
        rss_mb()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_small_change_that_inflates_to_64_mb_is_refused_without_inflating_it() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut c = Client::connect(app.addr, "north").await;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 64 * 1024];
    for _ in 0..1024 {
        enc.write_all(&zeros).unwrap();
    }
    let deflated = enc.finish().unwrap();
    // A compressed change chunk in a V2 sync message.
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
    leb(&mut chunk, deflated.len());
    chunk.extend(deflated);
    let mut data = vec![0x43, 0, 0, 0, 1];
    leb(&mut data, chunk.len());
    data.extend(chunk);
    assert!(data.len() < 128 * 1024);
    let before = rss_mb();
    let err = refused(app.addr, &mut c, sync_frame("north", id(3), data)).await;
    assert!(err.contains("over the limit of 262144 bytes"), "{err}");
    assert!(
        rss_mb() < before + 32,
        "RSS {} MB → {} MB",
        before,
        rss_mb()
    );
    app.stop().await;
}

fn leb(out: &mut Vec<u8>, n: usize) {
    let mut n = n as u64;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            return out.push(b);
        }
        out.push(b | 0x80);
    }
}

#[tokio::test]
async fn a_change_carrying_megabytes_of_text_gets_an_error_naming_the_limit_and_is_not_stored() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut c = Client::connect(app.addr, "north").await;
    let mut doc = Automerge::new();
    let mut tx = doc.transaction();
    let t = tx.put_object(ROOT, "description", ObjType::Text).unwrap();
    tx.splice_text(&t, 0, 0, &"长".repeat(300_000)).unwrap();
    tx.commit();
    // One change of 900 KB of text, as a V1 sync message.
    let change = doc.get_changes(&[]).remove(0).raw_bytes().to_vec();
    let mut data = vec![0x42, 0, 0, 0, 1];
    leb(&mut data, change.len());
    data.extend(change);
    let err = refused(app.addr, &mut c, sync_frame("north", id(4), data)).await;
    assert!(err.contains("over the limit of 262144 bytes"), "{err}");

    // The same text as a full save: over the record's operation limit.
    let mut c = Client::connect(app.addr, "north").await;
    let save = doc.save();
    let mut data = vec![0x43, 0, 0, 0, 1];
    leb(&mut data, save.len());
    data.extend(save);
    let err = refused(app.addr, &mut c, sync_frame("north", id(4), data)).await;
    assert!(err.contains("more than 250000 operations"), "{err}");

    let token = login(app.addr, "office").await;
    let feed = http(
        app.addr,
        "GET",
        "/api/documents?after=0",
        Some(&token),
        None,
    )
    .await;
    assert!(!feed.contains(&id(4).to_string()), "nothing stored: {feed}");
    app.stop().await;
}

#[tokio::test]
async fn thousands_of_syncs_for_unknown_ids_keep_nothing_in_memory() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut c = Client::connect(app.addr, "north").await;
    c.capture(id(5), "真的记录").await;
    wait_stored(app.addr, id(5)).await;
    // 3,000 in rounds of 50. Each made-up document is empty on both sides,
    // so the relay answers nothing: were it to answer, the test client's
    // hub would answer back and the pairs would go on for ever, until the
    // relay's outbox to this client overflowed and it was disconnected.
    for _ in 0..60 {
        for _ in 0..50 {
            let frame = sync_frame(
                "north",
                DocumentId::from_bytes(rand_bytes()),
                vec![0x42, 0, 0, 0, 0],
            );
            c.ws.send(Ws::Binary(frame.into())).await.unwrap();
        }
        healthy_within_a_second(app.addr).await;
        // Handled in order: once this is answered, the ones before it are.
        c.round_trip().await;
        assert!(
            !c.closed,
            "the relay closed the socket: {:?}",
            c.close_reason
        );
    }
    assert!(!c.closed);
    let m = support::http(
        app.addr,
        "GET",
        "/metrics",
        Some(support::METRICS_TOKEN),
        None,
    )
    .await;
    assert_eq!(metric(&m, "closeloop_documents_in_memory "), 1, "{m}");
    // Answered: the 60 probes and the real record's exchange, not the
    // 3,000 empty syncs.
    assert!(metric(&m, "closeloop_sync_frames_sent_total ") < 100, "{m}");
    // The real record is still in memory and syncing.
    c.edit_description(id(5), "真的记录，已处理", 1).await;
    app.stop().await;
}

#[tokio::test]
async fn a_ninth_socket_for_one_user_is_refused_with_429_until_one_closes() {
    let _one = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let token = login(app.addr, "north").await;
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(open_sync(app.addr, &token).await.expect("within the limit"));
    }
    let refused = upgrade_status(app.addr, &token).await;
    assert_eq!(refused, 429);
    // Another user is not affected.
    let south = login(app.addr, "south").await;
    assert!(open_sync(app.addr, &south).await.is_some());

    // Close one properly; once the server has answered the close, the
    // socket is gone and its place is free.
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    while let Some(Ok(_)) = first.next().await {}
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while upgrade_status(app.addr, &token).await != 101 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place never freed"
        );
        tokio::task::yield_now().await;
    }
    app.stop().await;
}

/// The HTTP status of a WebSocket upgrade attempt (101 when it succeeds).
async fn upgrade_status(addr: SocketAddr, token: &str) -> u16 {
    use tokio_tungstenite::tungstenite::Error;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}/sync").into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((_ws, resp)) => resp.status().as_u16(),
        Err(Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("upgrade failed: {e}"),
    }
}
