//! The typical-case library's rows (see `closeloop_shared::cases`).

use closeloop_shared::cases::{CaseKind, MarkCase, TypicalCase};
use sqlx::Row;

use super::{Storage, StorageError};

/// Cases listed at most.
pub const MAX_CASES_LISTED: i64 = 500;

const SELECT: &str =
    "SELECT c.document_id, c.kind, c.note, c.marked_by, c.marked_at, r.description,
        r.feedback_type, r.nature, r.department, r.channel, r.received_at
     FROM typical_cases c JOIN records r ON r.document_id = c.document_id";

fn case(r: &sqlx::any::AnyRow) -> Result<TypicalCase, StorageError> {
    let kind: String = r.try_get("kind")?;
    Ok(TypicalCase {
        id: r.try_get("document_id")?,
        kind: CaseKind::from_key(&kind)
            .ok_or_else(|| StorageError::Corrupt(format!("case kind {kind}")))?,
        note: r.try_get("note")?,
        marked_by: r.try_get("marked_by")?,
        marked_at: r.try_get("marked_at")?,
        description: r.try_get("description")?,
        feedback_type: r.try_get("feedback_type")?,
        nature: r.try_get("nature")?,
        department: r.try_get("department")?,
        channel: r.try_get("channel")?,
        received_at: r.try_get("received_at")?,
    })
}

/// `%…%` for LIKE, with the query's own `%`, `_` and `\` taken literally.
fn contains(q: &str) -> String {
    let escaped: String = q
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

impl Storage {
    /// Marks a record as a typical case, or changes its mark.
    pub async fn mark_case(
        &self,
        document_id: &str,
        case: &MarkCase,
        by: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO typical_cases (document_id, kind, note, marked_by, marked_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (document_id) DO UPDATE SET kind = excluded.kind, note = excluded.note,
                 marked_by = excluded.marked_by, marked_at = excluded.marked_at",
        )
        .bind(document_id)
        .bind(case.kind.key())
        .bind(&case.note)
        .bind(by)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes the mark off; whether there was one.
    pub async fn unmark_case(&self, document_id: &str) -> Result<bool, StorageError> {
        let done = sqlx::query("DELETE FROM typical_cases WHERE document_id = $1")
            .bind(document_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The record's mark, if it is a typical case.
    pub async fn typical_case(
        &self,
        document_id: &str,
    ) -> Result<Option<TypicalCase>, StorageError> {
        let row = sqlx::query(&format!("{SELECT} WHERE c.document_id = $1"))
            .bind(document_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(case).transpose()
    }

    /// The library, newest marks first: of one kind when given, with `query`
    /// in the note or the record's text when not empty, of records received
    /// in `[from, to)`.
    pub async fn typical_cases(
        &self,
        kind: Option<CaseKind>,
        query: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<TypicalCase>, StorageError> {
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE ($1 IS NULL OR c.kind = $1)
               AND ($2 = '' OR LOWER(c.note) LIKE $3 ESCAPE '\\' OR LOWER(r.description) LIKE $3 ESCAPE '\\')
               AND r.received_at >= $4 AND r.received_at < $5
             ORDER BY c.marked_at DESC, c.document_id LIMIT $6"
        ))
        .bind(kind.map(CaseKind::key))
        .bind(query)
        .bind(contains(query))
        .bind(from_ms)
        .bind(to_ms)
        .bind(MAX_CASES_LISTED)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_search_takes_its_wildcards_literally() {
        assert_eq!(super::contains("50%_OFF\\"), "%50\\%\\_off\\\\%");
    }
}
