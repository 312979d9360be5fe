//! Strings of the typical-case library.

/// `(zh, en)` of a case key, if it is one.
pub(super) fn cases(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "nav.cases" => ("典型案例", "Cases"),
        "case.title" => ("典型案例", "Typical case"),
        "case.loading" => ("正在读取…", "Reading…"),
        "case.offline" => ("需要联网。", "This needs a connection."),
        "case.forbidden" => (
            "只有总部、主管和管理员可以标记和查看典型案例。",
            "Only head office, supervisors and admins mark and read typical cases.",
        ),
        "case.note" => ("为什么典型", "Why it is typical"),
        "case.note_hint" => (
            "例如：上门前必须电话确认时间",
            "e.g. always call before a home visit",
        ),
        "case.mark_example" => ("标为示范案例", "Mark as an example"),
        "case.mark_lesson" => ("标为教训案例", "Mark as a lesson"),
        "case.edit" => ("修改", "Edit"),
        "case.unmark" => ("取消标记", "Unmark"),
        "case.kind" => ("类别", "Kind"),
        "case.kind.any" => ("全部", "Any"),
        "case.kind.example" => ("示范", "Example"),
        "case.kind.lesson" => ("教训", "Lesson"),
        "case.error.case_bad_note" => (
            "请写明为什么典型（1–500 字）",
            "Say why it is typical (1–500 characters)",
        ),
        "case.error.case_bad_query" => ("搜索词最多 100 字", "A search is at most 100 characters"),
        "case.library" => ("典型案例库", "Typical-case library"),
        "case.library_hint" => (
            "表扬作为示范、投诉作为教训：在记录页标记，在这里查找，并写入季度报告。",
            "Praise as examples, complaints as lessons: marked on the record page, found here, and included in the quarterly report.",
        ),
        "case.search" => ("搜索说明或反馈内容", "Search the notes and feedback"),
        "case.find" => ("查找", "Find"),
        "case.none" => ("没有符合的典型案例。", "No typical cases match."),
        _ => return None,
    })
}
