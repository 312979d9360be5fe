//! `/api/audit` and `/api/audit/export.csv`: the audit log for supervisors
//! and administrators (S002 §6), filtered and paged; an export is itself
//! audited.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use closeloop_shared::access::Principal;
use closeloop_shared::audit::{AuditAction, AuditPage, AuditQuery, MAX_AUDIT_PAGE};

use super::auth::CurrentUser;
use super::export::{attachment, inert};
use crate::error::{AppError, AppQuery};
use crate::state::AppState;
use crate::storage::AuditNote;

/// Entries one export may hold; more needs a narrower filter.
const MAX_EXPORT_ENTRIES: usize = 200_000;

/// The routes, mounted under `/api`.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(list))
        .route("/audit/export.csv", get(export_csv))
}

fn governor(user: &Principal) -> Result<(), AppError> {
    if user.may_govern_records() {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<AuditQuery>,
) -> Result<Json<AuditPage>, AppError> {
    governor(&user)?;
    Ok(Json(state.storage.audit_page(&q).await?))
}

async fn export_csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    AppQuery(q): AppQuery<AuditQuery>,
) -> Result<Response, AppError> {
    governor(&user)?;
    let mut page_query = AuditQuery {
        limit: Some(MAX_AUDIT_PAGE),
        ..q.clone()
    };
    let mut entries = Vec::new();
    loop {
        let page = state.storage.audit_page(&page_query).await?;
        entries.extend(page.entries);
        if entries.len() > MAX_EXPORT_ENTRIES {
            return Err(AppError::TooLarge(format!(
                "more than {MAX_EXPORT_ENTRIES} entries; narrow the period or filter"
            )));
        }
        match page.next_before_id {
            Some(before) => page_query.before_id = Some(before),
            None => break,
        }
    }
    let note = AuditNote {
        actor: &user.username,
        action: AuditAction::AuditExported,
        subject: None,
        detail: Some(format!(
            "{} entries; filter {}",
            entries.len(),
            serde_json::to_string(&q).unwrap_or_default()
        )),
    };
    state.storage.audit(note, state.now_ms()).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, row: [String; 6]| {
        out.write_record(row.map(inert))
            .map_err(|e| AppError::Internal(format!("audit export: {e}")))
    };
    write(
        &mut out,
        [
            "时间 at (UTC)",
            "操作人 actor",
            "操作 action",
            "对象 subject",
            "详情 detail",
            "编号 id",
        ]
        .map(str::to_string),
    )?;
    for e in entries {
        let at = chrono::DateTime::from_timestamp_millis(e.at_ms)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        write(
            &mut out,
            [
                at,
                e.actor,
                e.action.key().to_string(),
                e.subject.unwrap_or_default(),
                e.detail.unwrap_or_default(),
                e.id.to_string(),
            ],
        )?;
    }
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend(
        out.into_inner()
            .map_err(|e| AppError::Internal(format!("audit export: {e}")))?,
    );
    Ok(attachment(
        "text/csv; charset=utf-8",
        "closeloop-audit.csv",
        body,
    ))
}
