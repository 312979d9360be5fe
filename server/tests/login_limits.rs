//! Sign-in throttling per account and per client address, and the bound on
//! password checks waiting at once; over real sockets from distinct
//! loopback addresses (127.0.0.x all reach the server on Linux).

mod support;

use std::net::{IpAddr, SocketAddr};

use support::{PASSWORD, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `POST /api/login` from the client address `from`; the raw response.
async fn login_from(server: SocketAddr, from: [u8; 4], user: &str, password: &str) -> String {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::from(from), 0)).unwrap();
    let mut s = socket.connect(server).await.unwrap();
    let body = format!(r#"{{"username":"{user}","password":"{password}"}}"#);
    let req = format!(
        "POST /api/login HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn status(resp: &str) -> u16 {
    resp.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn retry_after(resp: &str) -> Option<u64> {
    resp.lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("retry-after:")
                .map(str::to_string)
        })
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_even_against_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let home = [127, 0, 0, 1];
    for _ in 0..5 {
        let out = login_from(app.addr, home, "north", "wrong password!").await;
        assert_eq!(status(&out), 401, "{out}");
    }
    let locked = login_from(app.addr, home, "north", PASSWORD).await;
    assert_eq!(status(&locked), 429, "{locked}");
    let wait = retry_after(&locked).expect("Retry-After");
    assert!((1..=900).contains(&wait), "{wait}");
    // From elsewhere too: the account is locked, not the address.
    let elsewhere = login_from(app.addr, [127, 0, 0, 2], "north", PASSWORD).await;
    assert_eq!(status(&elsewhere), 429, "{elsewhere}");
    // Another account from another address is not affected.
    let other = login_from(app.addr, [127, 0, 0, 2], "south", PASSWORD).await;
    assert_eq!(status(&other), 200, "{other}");
    app.stop().await;
}

#[tokio::test]
async fn an_address_guessing_across_accounts_is_locked_and_others_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let guesser = [127, 0, 0, 3];
    for i in 0..20 {
        let out = login_from(app.addr, guesser, &format!("guess{i}"), "password123").await;
        assert_eq!(status(&out), 401, "{out}");
    }
    let locked = login_from(app.addr, guesser, "office", PASSWORD).await;
    assert_eq!(status(&locked), 429, "{locked}");
    assert!(retry_after(&locked).is_some(), "{locked}");
    let other = login_from(app.addr, [127, 0, 0, 4], "office", PASSWORD).await;
    assert_eq!(status(&other), 200, "{other}");
    app.stop().await;
}

#[tokio::test]
async fn with_no_room_for_another_password_check_sign_in_is_answered_busy() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir.path(), |c| c.password_queue = 0).await;
    let busy = login_from(app.addr, [127, 0, 0, 1], "office", PASSWORD).await;
    assert_eq!(status(&busy), 503, "{busy}");
    assert_eq!(retry_after(&busy), Some(1), "{busy}");
    assert!(busy.contains(r#""code":"busy""#), "{busy}");
    app.stop().await;
}
