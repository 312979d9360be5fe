//! Survey links: issued by head office for a record they see, read any
//! number of times without being used up, answered once (a retry of the
//! same submission is told "done"), checked against the survey version the
//! link asks, closed when used or expired, and unguessable.

mod support;

use closeloop_shared::survey::{RecordSurveyAnswer, SurveyLinkIssued, SurveyPage};
use support::{Client, StepClock, TestApp, id, storage_for};

const NOW: i64 = 1_790_000_000_000;
const DAY: i64 = 24 * 3_600_000;

/// Answers to the default survey as the public page sends them.
fn submit(submission: &str, overall: u8) -> String {
    serde_json::json!({
        "submission": submission,
        "answers": {
            "overall": overall, "speed": 4, "attitude": 5, "solution": 4,
            "recommend": 8, "disappointed": "等了太久", "comment": ""
        }
    })
    .to_string()
}

#[tokio::test]
async fn a_link_is_read_freely_answered_once_and_closed_after() {
    let dir = tempfile::tempdir().unwrap();
    let clock = StepClock::at(NOW);
    let app = TestApp::spawn_with_clock(dir.path(), |_| {}, clock.clone()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "门店空调太冷").await;
    let mut desk = Client::connect(app.addr, "office").await;
    desk.fetch(id(1)).await.expect("office reaches it");
    let (field, office) = (app.token("north").await, app.token("office").await);
    let issue = format!("/api/records/{}/survey-link", id(1));

    let (status, _): (u16, serde_json::Value) = app.call("POST", &issue, Some(&field), None).await;
    assert_eq!(status, 403, "field staff do not send surveys");
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            &format!("/api/records/{}/survey-link", id(9)),
            Some(&office),
            None,
        )
        .await;
    assert_eq!(status, 404, "no such record");
    let (status, link): (u16, SurveyLinkIssued) =
        app.call("POST", &issue, Some(&office), None).await;
    assert_eq!(status, 201);
    assert_eq!(link.expires_at, NOW + 14 * DAY);
    let token = link
        .path
        .strip_prefix("/s/")
        .expect("a /s/ path")
        .to_string();
    assert_eq!(token.len(), 22, "128 bits in URL-safe base64");
    let api = format!("/api/s/{token}");

    // Reading, as a chat app's preview does, twice: the link stays open.
    for _ in 0..2 {
        let (status, page): (u16, SurveyPage) = app.call("GET", &api, None, None).await;
        assert_eq!(status, 200);
        assert_eq!(page.version, 1);
        assert_eq!(page.survey.questions[0].key, "overall");
    }
    let page_json = app
        .call::<serde_json::Value>("GET", &api, None, None)
        .await
        .1
        .to_string();
    assert!(
        !page_json.contains("门店空调太冷") && !page_json.contains(&id(1).to_string()),
        "nothing of the record"
    );

    // Answers off the survey are refused, naming the question; nothing is used up.
    let missing =
        serde_json::json!({ "submission": "s-0", "answers": { "overall": 5 } }).to_string();
    let (status, err): (u16, serde_json::Value) =
        app.call("POST", &api, None, Some(&missing)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("answer_required")),
        "{err}"
    );
    let off_scale = submit("s-0", 9);
    let (status, err): (u16, serde_json::Value) =
        app.call("POST", &api, None, Some(&off_scale)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("answer_invalid")),
        "{err}"
    );

    // Answered once; the same submission again is "done"; another is refused.
    let (status, _): (u16, serde_json::Value) =
        app.call("POST", &api, None, Some(&submit("s-1", 2))).await;
    assert_eq!(status, 201);
    let (status, _): (u16, serde_json::Value) =
        app.call("POST", &api, None, Some(&submit("s-1", 2))).await;
    assert_eq!(status, 200, "a retry of the stored submission");
    let (status, err): (u16, serde_json::Value) =
        app.call("POST", &api, None, Some(&submit("s-2", 5))).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (410, Some("survey_link_used"))
    );
    let (status, err): (u16, serde_json::Value) = app.call("GET", &api, None, None).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (410, Some("survey_link_used"))
    );

    // Head office sees the answer on the record, kept as checked.
    let answers_path = format!("/api/records/{}/survey-answers", id(1));
    let (status, given): (u16, Vec<RecordSurveyAnswer>) =
        app.call("GET", &answers_path, Some(&office), None).await;
    assert_eq!(status, 200);
    assert_eq!(given.len(), 1, "{given:?}");
    assert!(given[0].dissatisfied, "overall 2");
    let values: Vec<&str> = given[0].lines.iter().map(|l| l.value.zh.as_str()).collect();
    let want = ["2/5", "4/5", "5/5", "4/5", "8/10", "“等了太久”"];
    assert_eq!(values, want, "a blank comment is not kept");
    assert_eq!(given[0].lines[1].question.en, "How quickly we responded");
    let (status, _): (u16, serde_json::Value) = app
        .call("GET", &answers_path, Some(&app.token("south").await), None)
        .await;
    assert_eq!(
        status, 404,
        "another team's field staff do not see the record"
    );

    // A newer version of the survey: a link issued before still asks its own.
    let (_, second): (u16, SurveyLinkIssued) = app.call("POST", &issue, Some(&office), None).await;
    let storage = storage_for(dir.path()).await;
    let (_, mut changed) = storage.survey("satisfaction", NOW).await.unwrap().unwrap();
    changed.questions.truncate(1);
    assert_eq!(
        storage
            .save_survey("satisfaction", &changed, "office", NOW)
            .await
            .unwrap(),
        2
    );
    let second_api = format!("/api{}", second.path);
    let (_, page): (u16, SurveyPage) = app.call("GET", &second_api, None, None).await;
    assert_eq!((page.version, page.survey.questions.len()), (1, 7));

    // Expired: closed for reading and answering.
    clock.set(NOW + 15 * DAY);
    let (status, err): (u16, serde_json::Value) = app.call("GET", &second_api, None, None).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (410, Some("survey_link_expired"))
    );
    let (status, _): (u16, serde_json::Value) = app
        .call("POST", &second_api, None, Some(&submit("s-3", 5)))
        .await;
    assert_eq!(status, 410);
    storage.close().await;
    app.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_tokens_say_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    for token in [
        "AAAAAAAAAAAAAAAAAAAAAA",
        "short",
        "with%20space%20in%20it%20ok",
        &"x".repeat(300),
    ] {
        let (status, err): (u16, serde_json::Value) = app
            .call("GET", &format!("/api/s/{token}"), None, None)
            .await;
        assert_eq!(
            (status, err["code"].as_str()),
            (404, Some("not_found")),
            "{token}"
        );
        let (status, _): (u16, serde_json::Value) = app
            .call(
                "POST",
                &format!("/api/s/{token}"),
                None,
                Some(&submit("s", 5)),
            )
            .await;
        assert_eq!(status, 404, "{token}");
    }
    let huge = format!(
        r#"{{"submission":"s","answers":{{"comment":"{}"}}}}"#,
        "x".repeat(70_000)
    );
    let (status, _): (u16, serde_json::Value) = app
        .call("POST", "/api/s/AAAAAAAAAAAAAAAAAAAAAA", None, Some(&huge))
        .await;
    assert_eq!(status, 413, "bounded before it is read");
    app.stop().await;
}

#[tokio::test]
async fn a_dissatisfied_answer_reopens_the_record_and_tells_its_owner() {
    use closeloop_shared::record::Field;
    use closeloop_shared::workflow::Action;
    const RECEIVED: i64 = 1_700_000_000_000;

    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "发票开错了").await;
    let mut desk = Client::connect(app.addr, "office").await;
    desk.fetch(id(1)).await.expect("office reaches it");
    desk.set_field(id(1), Field::Priority, "P2", RECEIVED + 1)
        .await;
    let assign = Action::Assign {
        owner: "office".into(),
        department: "store_ops".into(),
    };
    for (n, step) in [Action::Register, assign, Action::Start, Action::Resolve]
        .iter()
        .enumerate()
    {
        desk.transition(id(1), step, RECEIVED + 2 + n as i64).await;
    }
    let office = app.token("office").await;
    let (_, link): (u16, SurveyLinkIssued) = app
        .call(
            "POST",
            &format!("/api/records/{}/survey-link", id(1)),
            Some(&office),
            None,
        )
        .await;
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "POST",
            &format!("/api{}", link.path),
            None,
            Some(&submit("s-1", 1)),
        )
        .await;
    assert_eq!(status, 201);

    // The record is reopened by the system, with the customer's words in its log.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    let detail = loop {
        let (_, detail): (u16, serde_json::Value) = app
            .call(
                "GET",
                &format!("/api/records/{}", id(1)),
                Some(&office),
                None,
            )
            .await;
        if detail["status"] == "in_progress" && detail["history"].to_string().contains("reopen") {
            break detail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reopened: {detail}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let log = detail["log"].to_string();
    assert!(
        log.contains("满意度调查") && log.contains("总体来说") && log.contains("1/5"),
        "{log}"
    );
    assert!(log.contains("等了太久"), "{log}");
    // The owner and the supervisors are told, once.
    for user in ["office", "supervisor"] {
        let token = app.token(user).await;
        let (_, bell): (u16, serde_json::Value) = app
            .call("GET", "/api/notifications", Some(&token), None)
            .await;
        let told = bell["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "survey_dissatisfied")
            .count();
        assert_eq!(told, 1, "{user}: {bell}");
    }
    app.stop().await;
}

#[tokio::test]
async fn requests_to_links_are_limited_per_address_and_per_link() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    // One link, asked again and again (in-process: no address to count).
    let mut statuses = Vec::new();
    for _ in 0..61 {
        let (status, _): (u16, serde_json::Value) = app
            .call("GET", "/api/s/BBBBBBBBBBBBBBBBBBBBBB", None, None)
            .await;
        statuses.push(status);
    }
    assert!(statuses[..60].iter().all(|s| *s == 404), "{statuses:?}");
    assert_eq!(statuses[60], 429);
    // One address, trying ever new links.
    let mut last = String::new();
    for n in 0..121 {
        last = support::http_get(app.addr, &format!("/api/s/{n:0>22}")).await;
        if n < 120 {
            assert!(last.starts_with("HTTP/1.1 404"), "{n}: {last}");
        }
    }
    assert!(last.starts_with("HTTP/1.1 429"), "{last}");
    assert!(last.to_ascii_lowercase().contains("retry-after:"), "{last}");
    assert!(last.contains("rate_limited"), "{last}");
    app.stop().await;
}

#[tokio::test]
async fn results_score_the_answers_by_the_records_they_are_about() {
    use closeloop_shared::survey::results::SurveyResults;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north.capture(id(1), "门店空调太冷").await;
    let by_phone = closeloop_shared::FeedbackDraft {
        channel: "phone".into(),
        nickname: "王女士".into(),
        description: "热线一直占线".into(),
        ..Default::default()
    };
    north.capture_draft(id(2), by_phone).await;
    let mut desk = Client::connect(app.addr, "office").await;
    for n in [1, 2] {
        desk.fetch(id(n)).await.expect("office reaches it");
    }
    let office = app.token("office").await;
    for (n, overall, recommend) in [(1, 5, 10), (2, 2, 3)] {
        let (_, link): (u16, SurveyLinkIssued) = app
            .call(
                "POST",
                &format!("/api/records/{}/survey-link", id(n)),
                Some(&office),
                None,
            )
            .await;
        let body = serde_json::json!({ "submission": "s", "answers": {
            "overall": overall, "speed": 4, "attitude": 4, "solution": 4, "recommend": recommend,
            "comment": format!("第 {n} 位客户") } })
        .to_string();
        let (status, _): (u16, serde_json::Value) = app
            .call("POST", &format!("/api{}", link.path), None, Some(&body))
            .await;
        assert_eq!(status, 201);
    }

    let (status, r): (u16, SurveyResults) = app
        .call(
            "GET",
            "/api/surveys/satisfaction/results?by=channel",
            Some(&office),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!((r.answers, r.csat.satisfied, r.csat.answered), (2, 1, 2));
    assert_eq!(r.nps.score(), Some(0.0), "one promoter, one detractor");
    let groups: Vec<(&str, u64)> = r
        .groups
        .iter()
        .map(|g| (g.group.as_str(), g.csat.satisfied))
        .collect();
    assert_eq!(groups, [("phone", 0), ("store_box", 1)]);
    let comment = r.questions.iter().find(|q| q.key == "comment").unwrap();
    assert_eq!(comment.texts.len(), 2);
    let (_, r): (u16, SurveyResults) = app
        .call(
            "GET",
            "/api/surveys/satisfaction/results?by=quarter",
            Some(&office),
            None,
        )
        .await;
    assert_eq!(r.groups.len(), 1, "both this quarter");
    assert!(r.groups[0].group.contains("-Q"), "{:?}", r.groups);

    // Every answer as a file, formulas made inert.
    let csv_path = "/api/surveys/satisfaction/answers.csv";
    let csv = support::http(app.addr, "GET", csv_path, Some(&office), None).await;
    assert!(
        csv.starts_with("HTTP/1.1 200") && csv.contains("text/csv"),
        "{csv}"
    );
    assert!(
        csv.contains("总体来说") && csv.contains("5/5") && csv.contains("2/5"),
        "{csv}"
    );
    assert!(
        csv.contains(&id(1).to_string()) && csv.contains("是 yes"),
        "{csv}"
    );
    let xlsx_path = "/api/surveys/satisfaction/answers.xlsx";
    let (head, body) = support::binary::send(
        app.addr,
        "GET",
        xlsx_path,
        Some(&office),
        "application/json",
        &[],
    )
    .await;
    assert!(
        head.starts_with("HTTP/1.1 200") && body.starts_with(b"PK"),
        "{head}"
    );
    let north = app.token("north").await;
    let refused = support::http(app.addr, "GET", csv_path, Some(&north), None).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "GET",
            "/api/surveys/satisfaction/results?by=salary",
            Some(&office),
            None,
        )
        .await;
    assert_eq!(status, 400);
    let (status, _): (u16, serde_json::Value) = app
        .call(
            "GET",
            "/api/surveys/satisfaction/results",
            Some(&app.token("north").await),
            None,
        )
        .await;
    assert_eq!(status, 403, "field staff do not read results");
    let (status, _): (u16, serde_json::Value) = app
        .call("GET", "/api/surveys/nosuch/results", Some(&office), None)
        .await;
    assert_eq!(status, 404);
    app.stop().await;
}
