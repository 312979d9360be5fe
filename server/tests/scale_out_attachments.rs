//! Attachments on relays sharing PostgreSQL: their bytes live in the
//! database, so an upload through one relay downloads through the other,
//! a resumable upload goes on through whichever relay takes the next
//! piece, and the same content uploaded through both at once is stored
//! once. PostgreSQL only: ignored on SQLite; `cargo xtask test` runs them.

mod support;

use sha2::{Digest, Sha256};
use support::binary::{hex, send};
use support::{TestApp, login, two_relays};

const MIB: usize = 1 << 20;

async fn download(app: &TestApp, token: &str, sha256: &str) -> (String, Vec<u8>) {
    send(
        app.addr,
        "GET",
        &format!("/api/attachments/{sha256}"),
        Some(token),
        "video/mp4",
        &[],
    )
    .await
}

async fn put_piece(
    app: &TestApp,
    token: &str,
    sha256: &str,
    offset: usize,
    content: &[u8],
    end: usize,
) -> (String, serde_json::Value) {
    let (head, body) = send(
        app.addr,
        "PUT",
        &format!(
            "/api/attachments/{sha256}/upload?offset={offset}&size={}",
            content.len()
        ),
        Some(token),
        "video/mp4",
        &content[offset..end],
    )
    .await;
    (head, serde_json::from_slice(&body).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn an_attachment_uploaded_through_one_relay_downloads_through_the_other() {
    let (dir, one, two) = two_relays().await;
    let north_one = login(one.addr, "north").await;
    let north_two = login(two.addr, "north").await;
    // Over two database pieces, so the download is assembled.
    let photo: Vec<u8> = (0..(MIB + 777)).map(|i| (i * 7 % 251) as u8).collect();
    let (head, body) = send(
        one.addr,
        "POST",
        "/api/attachments",
        Some(&north_one),
        "image/jpeg",
        &photo,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    let stored: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let sha256 = stored["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha256, hex(&Sha256::digest(&photo)));

    let (head, got) = download(&two, &north_two, &sha256).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(got == photo, "relay two serves other bytes");
    // No relay keeps it on its own disk.
    let on_disk = std::fs::read_dir(dir.path().join("blobs"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy() == sha256);
    assert!(!on_disk, "the attachment is in a relay's directory");
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn a_resumable_upload_goes_on_through_whichever_relay_takes_the_piece() {
    let (_dir, one, two) = two_relays().await;
    let on_one = login(one.addr, "north").await;
    let on_two = login(two.addr, "north").await;
    let video: Vec<u8> = (0..(2 * MIB + 4321))
        .map(|i| (i * 13 % 247) as u8)
        .collect();
    let sha256 = hex(&Sha256::digest(&video));

    let (head, body) = put_piece(&one, &on_one, &sha256, 0, &video, MIB).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body["received"], MIB as u64);
    // Relay two knows how far it got, refuses a stale offset, takes the next piece.
    let (head, body) = put_piece(&two, &on_two, &sha256, 0, &video, MIB).await;
    assert!(head.starts_with("HTTP/1.1 409"), "{head}");
    assert_eq!(body["code"], "upload_offset");
    let (head, body) = put_piece(&two, &on_two, &sha256, MIB, &video, 2 * MIB).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body["received"], 2 * MIB as u64);
    let (head, body) = put_piece(&one, &on_one, &sha256, 2 * MIB, &video, video.len()).await;
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    assert_eq!(body["sha256"], sha256.as_str());

    for (relay, token) in [(&one, &on_one), (&two, &on_two)] {
        let (head, got) = download(relay, token, &sha256).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(got == video, "the assembled upload differs");
    }
    one.stop().await;
    two.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL; cargo xtask test runs it there"]
async fn the_same_content_uploaded_through_both_relays_at_once_is_stored_once() {
    let (dir, one, two) = two_relays().await;
    let north = login(one.addr, "north").await;
    let south = login(two.addr, "south").await;
    let scan: Vec<u8> = (0..(3 * MIB)).map(|i| (i * 17 % 241) as u8).collect();
    let upload = |addr, token: String| {
        let scan = scan.clone();
        async move {
            send(
                addr,
                "POST",
                "/api/attachments",
                Some(&token),
                "application/pdf",
                &scan,
            )
            .await
        }
    };
    let (a, b) = tokio::join!(upload(one.addr, north.clone()), upload(two.addr, south));
    assert!(a.0.starts_with("HTTP/1.1 201"), "{}", a.0);
    assert!(b.0.starts_with("HTTP/1.1 201"), "{}", b.0);
    let sha256 = hex(&Sha256::digest(&scan));

    let storage = support::storage_for(dir.path()).await;
    let pieces = storage.blob_piece_count(&sha256).await.unwrap();
    assert_eq!(pieces, 3, "stored once, in 1 MiB pieces");
    // Head office reads it (field staff read what a record of theirs shows,
    // or what they uploaded first).
    let office = login(one.addr, "office").await;
    let (head, got) = download(&one, &office, &sha256).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(got == scan);
    one.stop().await;
    two.stop().await;
}
