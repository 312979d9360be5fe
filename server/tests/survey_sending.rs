//! Surveys sent on their own (S003 §4): after a record is closed, once its
//! delay has passed, to the customer's email or phone from the contact
//! store, only with consent and at most once per customer and period; to a
//! campaign's segment, anonymously if asked; by SMTP when a server is
//! given. Every send, skip and failure is in the audit of sends.

mod support;

use closeloop_server::storage::RETRY_AFTER_MS;
use closeloop_shared::contact::contact_ref;
use closeloop_shared::record::FeedbackDraft;
use closeloop_shared::survey::sending::{CampaignView, SendView, SendingRules};
use closeloop_shared::sync::DocumentId;
use closeloop_shared::workflow::Action;
use support::{Client, StepClock, TestApp, id, rand_bytes};

const NOW: i64 = 1_790_000_000_000;
const HOUR: i64 = 3_600_000;

/// Stores a contact as the tablet uploads it; its reference.
async fn contact(app: &TestApp, token: &str, details: serde_json::Value, survey: bool) -> String {
    contact_at(app, token, details, survey, NOW - 10 * HOUR).await
}

/// As [`contact`], given when the customer gave them.
async fn contact_at(
    app: &TestApp,
    token: &str,
    details: serde_json::Value,
    survey: bool,
    captured_at_ms: i64,
) -> String {
    let reference = contact_ref(rand_bytes());
    let consents: &[&str] = if survey {
        &["follow_up", "survey"]
    } else {
        &["follow_up"]
    };
    let body = serde_json::json!({
        "contact_ref": reference,
        "details": details,
        "consents": consents,
        "captured_at_ms": captured_at_ms,
    })
    .to_string();
    let (status, answer): (u16, serde_json::Value) = app
        .call("POST", "/api/contacts", Some(token), Some(&body))
        .await;
    assert_eq!(status, 201, "{answer}");
    reference
}

/// Sign-in tokens of a field user, head office and a supervisor.
async fn tokens(app: &TestApp) -> (String, String, String) {
    (
        app.token("north").await,
        app.token("office").await,
        app.token("supervisor").await,
    )
}

/// Saves the sending rules as `token`'s user; the status.
async fn set_rules(app: &TestApp, token: &str, rules: &SendingRules) -> u16 {
    let body = serde_json::to_string(rules).expect("rules as JSON");
    let (status, _): (u16, serde_json::Value) = app
        .call("PUT", "/api/survey-sending", Some(token), Some(&body))
        .await;
    status
}

/// Captures a record for a contact (or none) on a given channel.
async fn capture(tablet: &mut Client, n: u8, channel: &str, contact: Option<&str>) {
    let draft = FeedbackDraft {
        channel: channel.into(),
        nickname: "王女士".into(),
        description: format!("第 {n} 条反馈"),
        contact_ref: contact.map(str::to_string),
        ..FeedbackDraft::default()
    };
    tablet.capture_draft(id(n), draft).await;
}

/// Works a record through to closed, the close at `closed_at`.
async fn close(desk: &mut Client, doc: DocumentId, closed_at: i64) {
    if desk.fetch(doc).await.is_none() {
        panic!(
            "the desk does not reach {doc}: closed {} ({:?}), unavailable {:?}",
            desk.closed, desk.close_reason, desk.unavailable
        );
    }
    desk.set_field(
        doc,
        closeloop_shared::record::Field::Priority,
        "P3",
        closed_at - 10,
    )
    .await;
    let assign = Action::Assign {
        owner: "office".into(),
        department: "store_ops".into(),
    };
    let steps = [
        Action::Register,
        assign,
        Action::Start,
        Action::Resolve,
        Action::Reply,
    ];
    for (n, step) in steps.iter().enumerate() {
        desk.transition(doc, step, closed_at - 9 + n as i64).await;
    }
    desk.transition(doc, &Action::Close, closed_at).await;
}

/// Polls the audit of sends until `done` holds for it (20 s at most).
async fn sends_until(
    app: &TestApp,
    token: &str,
    done: impl Fn(&[SendView]) -> bool,
) -> Vec<SendView> {
    for _ in 0..200 {
        let (status, sends): (u16, Vec<SendView>) = app
            .call("GET", "/api/survey-sends", Some(token), None)
            .await;
        assert_eq!(status, 200);
        if done(&sends) {
            return sends;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the sends never got there");
}

fn about(sends: &[SendView], doc: DocumentId) -> Option<&SendView> {
    let doc = doc.to_string();
    sends
        .iter()
        .find(|s| s.document_id.as_deref() == Some(doc.as_str()))
}

/// The campaigns once the newest has reached everyone (20 s at most).
async fn campaigns_until_done(app: &TestApp, token: &str) -> Vec<CampaignView> {
    let path = "/api/surveys/satisfaction/campaigns";
    for _ in 0..200 {
        let (_, list): (u16, Vec<CampaignView>) = app.call("GET", path, Some(token), None).await;
        if list.first().is_some_and(|c| !c.sending) {
            return list;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the campaign never finished");
}

/// The links written to an outbox file.
fn outbox_links(dir: &std::path::Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("outbox").join(file)).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let body = v["body"].as_str().expect("a body").to_string();
            let at = body.find("/s/").expect("a link");
            body[at + 3..at + 25].to_string()
        })
        .collect()
}

#[tokio::test]
async fn a_closed_record_sends_its_customer_one_survey_a_period_and_the_audit_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let clock = StepClock::at(NOW);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;
    let (field, office, supervisor) = tokens(&app).await;

    // Head office reads the rules; a supervisor sets them: one hour after closing.
    let (status, rules): (u16, SendingRules) = app
        .call("GET", "/api/survey-sending", Some(&office), None)
        .await;
    assert_eq!((status, rules.after_close_hours), (200, Some(2)));
    let one_hour = SendingRules {
        after_close_hours: Some(1),
        ..rules
    };
    for (token, want) in [(&field, 403), (&office, 403), (&supervisor, 200)] {
        assert_eq!(set_rules(&app, token, &one_hour).await, want);
    }
    let bad = serde_json::to_string(&one_hour)
        .unwrap()
        .replace(r#""link_days":14"#, r#""link_days":0"#);
    let (status, err): (u16, serde_json::Value) = app
        .call("PUT", "/api/survey-sending", Some(&supervisor), Some(&bad))
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("sending_bad_link_days"))
    );

    // Customer A (email) twice, B (phone only), C (no survey consent), and no contact.
    let email = serde_json::json!({ "email": "Wang.Fang@Example.com", "phone": "139 1234 5678" });
    let a1 = contact(&app, &field, email.clone(), true).await;
    let a2 = contact(&app, &field, email, true).await;
    let b = contact(
        &app,
        &field,
        serde_json::json!({ "phone": "138 0000 4321" }),
        true,
    )
    .await;
    let c = contact(
        &app,
        &field,
        serde_json::json!({ "email": "c@example.com" }),
        false,
    )
    .await;
    let mut tablet = Client::connect(app.addr, "north").await;
    for (n, who) in [
        (1, Some(&a1)),
        (2, Some(&a2)),
        (3, Some(&b)),
        (4, Some(&c)),
        (5, None),
    ] {
        capture(&mut tablet, n, "store_box", who.map(String::as_str)).await;
    }
    // Record 6's customer was sent a link from its page before it was closed.
    let d = contact(
        &app,
        &field,
        serde_json::json!({ "phone": "137 0000 1111" }),
        true,
    )
    .await;
    capture(&mut tablet, 6, "store_box", Some(&d)).await;
    let mut desk = Client::connect(app.addr, "office").await;
    support::wait_stored(app.addr, id(6)).await;
    let by_hand = format!("/api/records/{}/survey-link", id(6));
    let (status, _): (u16, serde_json::Value) =
        app.call("POST", &by_hand, Some(&office), None).await;
    assert_eq!(status, 201);
    close(&mut desk, id(6), NOW - 2 * HOUR).await;
    // Record 1 closed half an hour ago: not due yet. The others two hours ago.
    close(&mut desk, id(1), NOW - HOUR / 2).await;
    for n in 2..=5 {
        close(&mut desk, id(n), NOW - 2 * HOUR).await;
    }
    let sends = sends_until(&app, &office, |s| {
        (2..=5).all(|n| about(s, id(n)).is_some())
    })
    .await;
    assert!(about(&sends, id(1)).is_none(), "not due before its delay");
    assert!(
        about(&sends, id(6)).is_none(),
        "its link was created by hand"
    );
    let shown = |n: u8| {
        let s = about(&sends, id(n)).unwrap();
        (
            s.status.as_str(),
            s.channel.as_deref(),
            s.recipient.as_deref(),
            s.detail.as_deref(),
        )
    };
    assert_eq!(
        shown(2),
        ("sent", Some("email"), Some("w***@example.com"), None)
    );
    assert_eq!(shown(3), ("sent", Some("sms"), Some("****4321"), None));
    assert_eq!(shown(4), ("skipped", None, None, Some("no_consent")));
    assert_eq!(shown(5), ("skipped", None, None, Some("no_contact")));

    // The outbox holds one email and one text message, each with a working link.
    let emails = outbox_links(dir.path(), "email.jsonl");
    let texts = outbox_links(dir.path(), "sms.jsonl");
    assert_eq!((emails.len(), texts.len()), (1, 1));
    let outbox = std::fs::read_to_string(dir.path().join("outbox/email.jsonl")).unwrap();
    assert!(
        outbox.contains(&format!("http://{}/s/", app.addr)),
        "{outbox}"
    );
    let (status, page): (u16, serde_json::Value) = app
        .call("GET", &format!("/api/s/{}", emails[0]), None, None)
        .await;
    assert_eq!((status, page["version"].as_i64()), (200, Some(1)));

    // An hour later record 1 is due, but its customer had a survey this quarter.
    clock.set(NOW + HOUR);
    let sends = sends_until(&app, &office, |s| about(s, id(1)).is_some()).await;
    let one = about(&sends, id(1)).unwrap();
    assert_eq!(
        (one.status.as_str(), one.detail.as_deref()),
        ("skipped", Some("surveyed_this_period"))
    );
    assert_eq!(
        outbox_links(dir.path(), "email.jsonl").len(),
        1,
        "nothing more sent"
    );

    // Answered, the answer is about the record it was sent for.
    let answer = serde_json::json!({
        "submission": "s-1",
        "answers": { "overall": 5, "speed": 5, "attitude": 5, "solution": 5, "recommend": 9 }
    })
    .to_string();
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            &format!("/api/s/{}", emails[0]),
            None,
            Some(&answer),
        )
        .await;
    assert_eq!(status, 201);
    let (_, given): (u16, Vec<serde_json::Value>) = app
        .call(
            "GET",
            &format!("/api/records/{}/survey-answers", id(2)),
            Some(&office),
            None,
        )
        .await;
    assert_eq!(given.len(), 1);
    let (status, _): (u16, serde_json::Value) = app
        .call("GET", "/api/survey-sends", Some(&field), None)
        .await;
    assert_eq!(status, 403, "field staff do not read the audit of sends");

    // Erasing the customer leaves no address or key of theirs in the audit.
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            &format!("/api/contacts/{a2}/erase"),
            Some(&supervisor),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let sends = sends_until(&app, &office, |_| true).await;
    let two = about(&sends, id(2)).unwrap();
    assert_eq!(
        (two.status.as_str(), two.recipient.as_deref()),
        ("sent", None)
    );
    app.stop().await;
}

#[tokio::test]
async fn a_campaign_reaches_its_segment_once_and_an_anonymous_one_keeps_no_customer() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let (field, office, supervisor) = tokens(&app).await;
    let a = contact(
        &app,
        &field,
        serde_json::json!({ "email": "a@example.com" }),
        true,
    )
    .await;
    let b = contact(
        &app,
        &field,
        serde_json::json!({ "email": "b@example.com" }),
        true,
    )
    .await;
    let mut tablet = Client::connect(app.addr, "north").await;
    capture(&mut tablet, 1, "store_box", Some(&a)).await;
    capture(&mut tablet, 2, "face_to_face", Some(&b)).await;
    support::wait_stored(app.addr, id(2)).await;

    let campaign = serde_json::json!({
        "name": "新版小程序上线",
        "segment": { "channel": "store_box" },
        "anonymous": true,
    })
    .to_string();
    let path = "/api/surveys/satisfaction/campaigns";
    let (status, _): (u16, serde_json::Value) =
        app.call("POST", path, Some(&office), Some(&campaign)).await;
    assert_eq!(status, 403, "head office does not start campaigns");
    let unnamed = campaign.replace("新版小程序上线", " ");
    let (status, err): (u16, serde_json::Value) = app
        .call("POST", path, Some(&supervisor), Some(&unnamed))
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("campaign_bad_name"))
    );
    let (status, _): (u16, serde_json::Value) = app
        .call("POST", path, Some(&supervisor), Some(&campaign))
        .await;
    assert_eq!(status, 201);

    let done = campaigns_until_done(&app, &office).await;
    assert_eq!(done.len(), 1, "the campaign finished");
    assert_eq!((done[0].sent, done[0].skipped, done[0].failed), (1, 0, 0));
    assert!(done[0].anonymous);
    let links = outbox_links(dir.path(), "email.jsonl");
    assert_eq!(links.len(), 1, "only the store-box customer");
    let outbox = std::fs::read_to_string(dir.path().join("outbox/email.jsonl")).unwrap();
    assert!(outbox.contains("a@example.com") && !outbox.contains("b@example.com"));

    let answer = serde_json::json!({
        "submission": "s-1",
        "answers": { "overall": 1, "speed": 1, "attitude": 1, "solution": 1, "recommend": 0 }
    })
    .to_string();
    let (status, _): (u16, serde_json::Value) = app
        .call("POST", &format!("/api/s/{}", links[0]), None, Some(&answer))
        .await;
    assert_eq!(status, 201);
    let (_, list): (u16, Vec<CampaignView>) = app.call("GET", path, Some(&office), None).await;
    assert_eq!(list[0].answered, 1);
    // The link keeps no customer, and its moments only the day: they pair
    // it with neither its send nor its answer.
    let storage = support::storage_for(dir.path()).await;
    let hash = <sha2::Sha256 as sha2::Digest>::digest(links[0].as_bytes()).to_vec();
    let link = storage.survey_link(&hash).await.unwrap().expect("the link");
    assert!(link.anonymous(), "{link:?}");
    let used = link.used_at.expect("used");
    assert_eq!(used % (24 * HOUR), 0, "kept to the day");
    storage.close().await;
    // Anonymous: the answer is about no record, so nothing is reopened or shown there.
    let (_, given): (u16, Vec<serde_json::Value>) = app
        .call(
            "GET",
            &format!("/api/records/{}/survey-answers", id(1)),
            Some(&office),
            None,
        )
        .await;
    assert!(given.is_empty());
    let audit: serde_json::Value = app
        .call(
            "GET",
            "/api/audit?action=settings_changed",
            Some(&supervisor),
            None,
        )
        .await
        .1;
    assert!(audit.to_string().contains("campaign:cp-"), "{audit}");
    app.stop().await;
}

#[tokio::test]
async fn survey_emails_go_through_an_smtp_server_when_one_is_given() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let printed_to = tempfile::NamedTempFile::new().unwrap();
    // Debian 12's Python 3.11 still has `smtpd`, a real SMTP server that
    // prints what it receives.
    let python = if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let mut smtp = std::process::Command::new(python)
        .args([
            "-W",
            "ignore",
            "-u",
            "-m",
            "smtpd",
            "-n",
            "-c",
            "DebuggingServer",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(printed_to.reopen().unwrap())
        .spawn()
        .expect("python3's SMTP server starts");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(dir.path(), |c| {
        c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    })
    .await;
    let (field, office, supervisor) = tokens(&app).await;
    let rules = SendingRules {
        after_close_hours: Some(0),
        ..SendingRules::default()
    };
    assert_eq!(set_rules(&app, &supervisor, &rules).await, 200);
    let a = contact(
        &app,
        &field,
        serde_json::json!({ "email": "zhou@example.com" }),
        true,
    )
    .await;
    let mut tablet = Client::connect(app.addr, "north").await;
    capture(&mut tablet, 1, "store_box", Some(&a)).await;
    let mut desk = Client::connect(app.addr, "office").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    close(&mut desk, id(1), now).await;
    let sends = sends_until(&app, &office, |s| {
        s.iter()
            .any(|v| v.status == "sent" && v.channel.as_deref() == Some("email"))
    })
    .await;
    assert!(
        sends
            .iter()
            .all(|s| s.document_id == Some(id(1).to_string()))
    );
    assert!(
        !dir.path().join("outbox/email.jsonl").exists(),
        "email went to the SMTP server, not the file"
    );
    app.stop().await;
    smtp.kill().unwrap();
    smtp.wait().unwrap();
    let printed = std::fs::read_to_string(printed_to.path()).unwrap();
    assert!(printed.contains("zhou@example.com"), "{printed}");
}

#[tokio::test]
async fn a_periodic_survey_goes_once_a_quarter_to_customers_with_consent() {
    // The tablet's records say they were received at this moment.
    const RECEIVED: i64 = 1_700_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    let clock = StepClock::at(RECEIVED + 24 * HOUR);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock).await;
    let (field, office, supervisor) = tokens(&app).await;
    let (a, b) = (
        serde_json::json!({ "email": "a@example.com" }),
        serde_json::json!({ "email": "b@example.com" }),
    );
    let a = contact_at(&app, &field, a, true, RECEIVED).await;
    let b = contact_at(&app, &field, b, false, RECEIVED).await;
    let mut tablet = Client::connect(app.addr, "north").await;
    capture(&mut tablet, 1, "store_box", Some(&a)).await;
    capture(&mut tablet, 2, "store_box", Some(&b)).await;
    support::wait_stored(app.addr, id(2)).await;
    let rules = SendingRules {
        periodic: Some(closeloop_shared::survey::sending::Period::Quarter),
        ..SendingRules::default()
    };
    assert_eq!(set_rules(&app, &supervisor, &rules).await, 200);
    let done = campaigns_until_done(&app, &office).await;
    assert_eq!(
        done.len(),
        1,
        "one campaign for this quarter, however many runs"
    );
    assert_eq!(done[0].id, "periodic-2023-Q4");
    assert_eq!(done[0].sent, 1, "only the customer who agreed to surveys");
    assert_eq!(outbox_links(dir.path(), "email.jsonl").len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_send_is_tried_again_after_a_pause_not_at_once() {
    // A port nobody listens on: the mail server is down.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let clock = StepClock::at(NOW);
    let app = TestApp::spawn_with_clock(
        dir.path(),
        |c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}")),
        clock.clone(),
    )
    .await;
    let (field, office, supervisor) = tokens(&app).await;
    let rules = SendingRules {
        after_close_hours: Some(0),
        ..SendingRules::default()
    };
    assert_eq!(set_rules(&app, &supervisor, &rules).await, 200);
    let a = contact(
        &app,
        &field,
        serde_json::json!({ "email": "a@example.com" }),
        true,
    )
    .await;
    let mut tablet = Client::connect(app.addr, "north").await;
    capture(&mut tablet, 1, "store_box", Some(&a)).await;
    capture(&mut tablet, 2, "store_box", None).await;
    let mut desk = Client::connect(app.addr, "office").await;
    close(&mut desk, id(1), NOW - 1_000).await;
    let failed = |s: &[SendView]| {
        let one = id(1).to_string();
        s.iter()
            .filter(|v| v.document_id.as_deref() == Some(one.as_str()) && v.status == "failed")
            .count()
    };
    let sends = sends_until(&app, &office, |s| failed(s) == 1).await;
    let first = sends.iter().find(|v| v.status == "failed").unwrap();
    assert!(
        first
            .detail
            .as_deref()
            .is_some_and(|d| d.contains("mail server")),
        "{first:?}"
    );
    // Later runs (one surveys record 2) do not try record 1 again at once.
    close(&mut desk, id(2), NOW - 1_000).await;
    let sends = sends_until(&app, &office, |s| about(s, id(2)).is_some()).await;
    assert_eq!(failed(&sends), 1, "not retried within the pause");
    // After the pause it is tried again.
    clock.set(NOW + RETRY_AFTER_MS + 60_000);
    sends_until(&app, &office, |s| failed(s) == 2).await;
    app.stop().await;
}
