//! Attachments: content-addressed upload and download, limits, no partial files.

mod support;

use closeloop_shared::record::{Attachment, add_attachment};
use sha2::{Digest, Sha256};
use support::binary::{hex, send};
use support::{Client, TestApp, id, login};

#[tokio::test]
async fn attachments_round_trip_by_content_hash_within_limits() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let token = login(app.addr, "north").await;
    let photo: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    let hash = hex(&Sha256::digest(&photo));

    let (head, body) = send(
        app.addr,
        "POST",
        "/api/attachments",
        Some(&token),
        "image/png",
        &photo,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    let stored: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(stored["sha256"], hash);
    assert_eq!(stored["size"], 3000);
    let (again, _) = send(
        app.addr,
        "POST",
        "/api/attachments",
        Some(&token),
        "image/png",
        &photo,
    )
    .await;
    assert!(
        again.starts_with("HTTP/1.1 201"),
        "uploading the same content again is harmless: {again}"
    );

    let office = login(app.addr, "office").await;
    let (head, body) = send(
        app.addr,
        "GET",
        &format!("/api/attachments/{hash}"),
        Some(&office),
        "image/png",
        &[],
    )
    .await;
    assert!(
        head.starts_with("HTTP/1.1 200") && head.contains("content-type: image/png"),
        "{head}"
    );
    assert!(
        body == photo,
        "downloaded {} bytes differ from the 3000 uploaded",
        body.len()
    );

    let (head, _) = send(
        app.addr,
        "POST",
        "/api/attachments",
        Some(&token),
        "text/html",
        b"<script>",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 415"), "{head}");
    let (head, _) = send(
        app.addr,
        "POST",
        "/api/attachments",
        Some(&token),
        "image/png",
        b"",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let (head, _) = send(
        app.addr,
        "POST",
        "/api/attachments",
        None,
        "image/png",
        &photo,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    let too_big = vec![0u8; (50 << 20) + 1];
    let (head, _) = send(
        app.addr,
        "POST",
        "/api/attachments",
        Some(&token),
        "video/mp4",
        &too_big,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let (head, body) = send(
        app.addr,
        "GET",
        "/api/attachments/../../etc/passwd",
        Some(&office),
        "image/png",
        &[],
    )
    .await;
    assert!(
        !head.starts_with("HTTP/1.1 200") && !String::from_utf8_lossy(&body).contains("root:"),
        "{head}"
    );
    for path in [
        "/api/attachments/abc",
        &format!("/api/attachments/{}", "0".repeat(64)),
    ] {
        let (head, _) = send(app.addr, "GET", path, Some(&office), "image/png", &[]).await;
        assert!(head.starts_with("HTTP/1.1 404"), "{path}: {head}");
    }
    let leftovers = std::fs::read_dir(dir.path().join("blobs/tmp"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 0, "rejected uploads leave no partial files");
    app.stop().await;
}

#[tokio::test]
async fn field_staff_download_only_what_they_uploaded_or_a_visible_record_references() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let north = login(app.addr, "north").await;
    let south = login(app.addr, "south").await;
    let office = login(app.addr, "office").await;
    let photo: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 256) as u8).collect();
    let hash = hex(&Sha256::digest(&photo));
    let (head, _) = send(
        app.addr,
        "POST",
        "/api/attachments",
        Some(&north),
        "image/jpeg",
        &photo,
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    let get = |token: String| {
        let path = format!("/api/attachments/{hash}");
        async move {
            send(app.addr, "GET", &path, Some(&token), "image/jpeg", &[])
                .await
                .0
        }
    };
    assert!(
        get(north.clone()).await.starts_with("HTTP/1.1 200"),
        "the uploader"
    );
    assert!(
        get(office.clone()).await.starts_with("HTTP/1.1 200"),
        "head office"
    );
    let refused = get(south.clone()).await;
    assert!(
        refused.starts_with("HTTP/1.1 404"),
        "another team: {refused}"
    );

    // A south record that references the photo opens it to the south team.
    let mut tablet = Client::connect(app.addr, "south").await;
    tablet.capture(id(9), "照片里是破损的包装").await;
    let photo_ref = Attachment {
        sha256: hash.clone(),
        media_type: "image/jpeg".into(),
        size: photo.len() as u64,
        name: "包装.jpg".into(),
    };
    let fx = tablet
        .hub
        .change(id(9), |d| add_attachment(d, &photo_ref, 1_700_000_100_000))
        .unwrap();
    tablet.run(fx).await;
    tablet.acked(id(9)).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let head = get(south.clone()).await;
        if head.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still refused: {head}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    app.stop().await;
}
