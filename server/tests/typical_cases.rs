//! The typical-case library: head office marks records as examples or
//! lessons with why, searches them by the note or the record's text, and
//! takes a mark off; field staff neither mark nor read the library.

mod support;

use closeloop_shared::cases::TypicalCase;
use support::{Client, TestApp, id, wait_stored};

#[tokio::test]
async fn cases_are_marked_with_why_searched_and_unmarked() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let mut north = Client::connect(app.addr, "north").await;
    north
        .capture(id(1), "安装师傅迟到两小时，没有提前通知")
        .await;
    north.capture(id(2), "店员耐心讲解，顾客很满意").await;
    wait_stored(app.addr, id(2)).await;
    let (field, office) = (app.token("north").await, app.token("office").await);
    let mark = |n: u8| format!("/api/records/{}/typical-case", id(n));
    let lesson = r#"{"kind":"lesson","note":" 上门前必须电话确认时间 "}"#;

    let (status, _): (u16, serde_json::Value) =
        app.call("PUT", &mark(1), Some(&field), Some(lesson)).await;
    assert_eq!(status, 403, "field staff do not mark cases");
    let (status, err): (u16, serde_json::Value) = app
        .call(
            "PUT",
            &mark(1),
            Some(&office),
            Some(r#"{"kind":"lesson","note":"  "}"#),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("case_bad_note")));
    let (status, err): (u16, serde_json::Value) = app
        .call(
            "PUT",
            &mark(1),
            Some(&office),
            Some(r#"{"kind":"other","note":"x"}"#),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let (status, case): (u16, Option<TypicalCase>) =
        app.call("PUT", &mark(1), Some(&office), Some(lesson)).await;
    assert_eq!(status, 200);
    let case = case.expect("marked");
    assert_eq!(
        (case.note.as_str(), case.marked_by.as_str()),
        ("上门前必须电话确认时间", "office")
    );
    let example = r#"{"kind":"example","note":"讲解耐心，值得推广"}"#;
    let (status, _): (u16, Option<TypicalCase>) = app
        .call("PUT", &mark(2), Some(&office), Some(example))
        .await;
    assert_eq!(status, 200);

    let search = |q: &str| format!("/api/typical-cases?{q}");
    let ids = |cases: &[TypicalCase]| cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    for (q, want) in [
        ("", vec![id(2), id(1)]),
        ("q=%E7%94%B5%E8%AF%9D", vec![id(1)]), // 电话, in the note
        ("q=%E8%80%90%E5%BF%83", vec![id(2)]), // 耐心, in the record's text
        ("kind=lesson", vec![id(1)]),
        ("q=%25", vec![]), // a literal %, not every case
    ] {
        let (status, cases): (u16, Vec<TypicalCase>) =
            app.call("GET", &search(q), Some(&office), None).await;
        assert_eq!(status, 200, "{q}");
        let want: Vec<String> = want.iter().map(|d| d.to_string()).collect();
        assert_eq!(ids(&cases), want, "{q}");
    }
    let (status, _): (u16, serde_json::Value) =
        app.call("GET", &search(""), Some(&field), None).await;
    assert_eq!(status, 403);

    let (status, _): (u16, serde_json::Value) =
        app.call("DELETE", &mark(1), Some(&office), None).await;
    assert_eq!(status, 200);
    let (_, shown): (u16, Option<TypicalCase>) =
        app.call("GET", &mark(1), Some(&office), None).await;
    assert_eq!(shown, None);
    let (_, cases): (u16, Vec<TypicalCase>) =
        app.call("GET", &search(""), Some(&office), None).await;
    assert_eq!(ids(&cases), vec![id(2).to_string()]);
    app.stop().await;
}
