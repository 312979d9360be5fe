//! Resumable uploads: pieces appended at the offset the server holds, a
//! lost connection costs one piece, the content checked against its hash
//! before it is stored, and each user's unfinished upload their own.

mod support;

use sha2::{Digest, Sha256};
use support::binary::{hex, send};
use support::{TestApp, login};
use tokio::io::AsyncWriteExt;

const MIB: usize = 1 << 20;

/// `PUT` of one piece; (status line, body).
async fn put(
    app: &TestApp,
    token: &str,
    hash: &str,
    offset: usize,
    size: usize,
    piece: &[u8],
) -> (String, serde_json::Value) {
    let (head, body) = send(
        app.addr,
        "PUT",
        &format!("/api/attachments/{hash}/upload?offset={offset}&size={size}"),
        Some(token),
        "video/mp4",
        piece,
    )
    .await;
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

/// Whether a piece of the upload is arriving now.
async fn busy(app: &TestApp, token: &str, hash: &str) -> bool {
    let (head, body) = progress(app, token, hash).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    head.starts_with("HTTP/1.1 409") && v["code"] == "upload_busy"
}

async fn progress(app: &TestApp, token: &str, hash: &str) -> (String, Vec<u8>) {
    send(
        app.addr,
        "GET",
        &format!("/api/attachments/{hash}/upload"),
        Some(token),
        "video/mp4",
        &[],
    )
    .await
}

/// What the server holds of the upload, once no piece is arriving.
async fn received(app: &TestApp, token: &str, hash: &str) -> u64 {
    for _ in 0..200 {
        let (head, body) = progress(app, token, hash).await;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if head.starts_with("HTTP/1.1 409") && v["code"] == "upload_busy" {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        }
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        return v["received"].as_u64().unwrap();
    }
    panic!("the upload stayed busy");
}

#[tokio::test]
async fn an_upload_goes_up_in_pieces_survives_a_lost_connection_and_is_checked_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let north = login(app.addr, "north").await;
    let south = login(app.addr, "south").await;
    let video: Vec<u8> = (0..(2 * MIB + 12_345))
        .map(|i| (i * 31 % 253) as u8)
        .collect();
    let size = video.len();
    let hash = hex(&Sha256::digest(&video));

    assert_eq!(received(&app, &north, &hash).await, 0);
    let (status, body) = put(&app, &north, &hash, 0, size, &video[..MIB]).await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(body["received"], MIB as u64);

    // The connection drops halfway through the second piece.
    let mut s = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "PUT /api/attachments/{hash}/upload?offset={MIB}&size={size} HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {north}\r\nContent-Type: video/mp4\r\nContent-Length: {MIB}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&video[MIB..MIB + MIB / 2]).await.unwrap();
    // Dropped once the server is taking it (the upload is busy).
    let mut writing = false;
    for _ in 0..250 {
        writing = busy(&app, &north, &hash).await;
        if writing {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(writing, "the server started on the second piece");
    drop(s);
    // The server throws the half piece away (the upload is busy until then).
    assert_eq!(
        received(&app, &north, &hash).await,
        MIB as u64,
        "a lost piece is dropped whole"
    );

    let (status, body) = put(&app, &north, &hash, 0, size, &video[..10]).await;
    assert!(
        status.contains("409"),
        "a wrong offset is refused: {status}"
    );
    assert_eq!(body["code"], "upload_offset");
    let (status, _) = put(&app, &north, &hash, MIB, size, &video[MIB..MIB * 2 + 1]).await;
    assert!(
        status.contains("413"),
        "a piece over 1 MiB is refused: {status}"
    );
    assert_eq!(received(&app, &north, &hash).await, MIB as u64);
    let (status, _) = put(&app, &north, &hash, MIB, MIB - 1, &video[MIB..MIB + 10]).await;
    assert!(
        status.contains("400"),
        "a size below what is held is refused: {status}"
    );
    let (status, body) = put(&app, &north, &hash, MIB, size, &[]).await;
    assert!(
        status.contains("200"),
        "an empty piece adds nothing: {status}"
    );
    assert_eq!(body["received"], MIB as u64);
    assert_eq!(received(&app, &north, &hash).await, MIB as u64);
    assert_eq!(
        received(&app, &south, &hash).await,
        0,
        "another user's unfinished upload is not theirs"
    );

    let (status, _) = put(&app, &north, &hash, MIB, size, &video[MIB..2 * MIB]).await;
    assert!(status.contains("200"), "{status}");
    let (status, body) = put(&app, &north, &hash, 2 * MIB, size, &video[2 * MIB..]).await;
    assert!(status.contains("201"), "{status}");
    assert_eq!(body["sha256"], hash.as_str());
    assert_eq!(body["size"], size as u64);
    let (head, got) = send(
        app.addr,
        "GET",
        &format!("/api/attachments/{hash}"),
        Some(&north),
        "video/mp4",
        &[],
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(got == video, "stored content differs from what was sent");
    assert_eq!(
        received(&app, &north, &hash).await,
        0,
        "nothing left half done"
    );
    app.stop().await;
}

#[tokio::test]
async fn content_that_does_not_match_its_hash_is_thrown_away() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let north = login(app.addr, "north").await;
    let photo = vec![7u8; 5000];
    let claimed = hex(&Sha256::digest(b"something else"));
    let (status, body) = put(&app, &north, &claimed, 0, photo.len(), &photo).await;
    assert!(status.contains("400"), "{status}");
    assert_eq!(body["code"], "upload_hash_mismatch");
    assert_eq!(received(&app, &north, &claimed).await, 0);
    let (head, _) = send(
        app.addr,
        "GET",
        &format!("/api/attachments/{claimed}"),
        Some(&north),
        "image/png",
        &[],
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    for (path, want) in [
        (
            format!("/api/attachments/{claimed}/upload?offset=0&size=0"),
            "413",
        ),
        (
            format!("/api/attachments/{claimed}/upload?offset=0&size=999999999999"),
            "413",
        ),
        (
            "/api/attachments/xyz/upload?offset=0&size=10".to_string(),
            "400",
        ),
        (
            format!("/api/attachments/{claimed}/upload?offset=a&size=10"),
            "400",
        ),
    ] {
        let (head, _) = send(app.addr, "PUT", &path, Some(&north), "image/png", b"x").await;
        assert!(head.contains(want), "{path}: {head}");
    }
    let (head, _) = send(
        app.addr,
        "PUT",
        &format!("/api/attachments/{claimed}/upload?offset=0&size=1"),
        None,
        "image/png",
        b"x",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    app.stop().await;
}
