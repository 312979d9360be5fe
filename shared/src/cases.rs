//! The typical-case library (S003 §2, S004): head office marks records as
//! typical cases, praise as examples to follow and complaints as lessons,
//! with a note saying why; the library is searched and the cases of a
//! period go into its reports.

/// Characters of a case's note.
pub const MAX_NOTE_CHARS: usize = 500;
/// Characters of a search.
pub const MAX_QUERY_CHARS: usize = 100;

/// What a case teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// Done well: an example to follow (usually praise).
    Example,
    /// Gone wrong: a lesson (usually a complaint).
    Lesson,
}

impl CaseKind {
    pub const ALL: [CaseKind; 2] = [CaseKind::Example, CaseKind::Lesson];

    pub fn key(self) -> &'static str {
        match self {
            CaseKind::Example => "example",
            CaseKind::Lesson => "lesson",
        }
    }

    pub fn from_key(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == s)
    }
}

/// `PUT /api/records/{id}/typical-case`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkCase {
    pub kind: CaseKind,
    /// Why it is typical: what to repeat or avoid.
    pub note: String,
}

/// Why a case was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("say why the record is a typical case, in 1 to {MAX_NOTE_CHARS} characters")]
    Note,
    #[error("a search is at most {MAX_QUERY_CHARS} characters")]
    Query,
}

impl CaseError {
    pub fn code(self) -> &'static str {
        match self {
            CaseError::Note => "case_bad_note",
            CaseError::Query => "case_bad_query",
        }
    }
}

impl MarkCase {
    /// The case as kept: the note trimmed, within bounds.
    pub fn checked(self) -> Result<MarkCase, CaseError> {
        let note = self.note.trim().to_string();
        if !(1..=MAX_NOTE_CHARS).contains(&note.chars().count()) {
            return Err(CaseError::Note);
        }
        Ok(MarkCase { note, ..self })
    }
}

/// A search of the library: words in the note or the record's text.
pub fn check_query(q: &str) -> Result<String, CaseError> {
    let q = q.trim();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(CaseError::Query);
    }
    Ok(q.to_string())
}

/// A case as the record page and the library show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TypicalCase {
    pub id: String,
    pub kind: CaseKind,
    pub note: String,
    pub marked_by: String,
    pub marked_at: i64,
    /// Of the record, for the library's list.
    pub description: String,
    pub feedback_type: Option<String>,
    pub nature: Option<String>,
    pub department: Option<String>,
    pub channel: String,
    pub received_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_needs_a_reason_and_a_search_is_bounded() {
        let mark = |note: &str| {
            MarkCase {
                kind: CaseKind::Lesson,
                note: note.into(),
            }
            .checked()
        };
        assert_eq!(
            mark("  安装超时未通知客户 ").unwrap().note,
            "安装超时未通知客户"
        );
        assert_eq!(mark("  "), Err(CaseError::Note));
        assert_eq!(mark(&"长".repeat(MAX_NOTE_CHARS + 1)), Err(CaseError::Note));
        assert_eq!(check_query(" 安装 ").unwrap(), "安装");
        assert_eq!(check_query(&"x".repeat(101)), Err(CaseError::Query));
        assert_eq!(CaseKind::from_key("lesson"), Some(CaseKind::Lesson));
        assert_eq!(CaseKind::from_key("other"), None);
    }
}
