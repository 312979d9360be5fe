//! Strings of record-keeping: the customer file, erasure, archive and
//! retention, and the audit log.

/// `(zh, en)` of a record-keeping key, if it is one.
pub(super) fn keeping(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        // Customer file (顾客档案).
        "file.title" => ("顾客档案", "Customer file"),
        "file.hint" => (
            "同一顾客的全部反馈、答复与评价：按相同电话或邮箱自动关联，或由总部确认。",
            "Every record of this customer with replies and answers: linked by the same phone or email, or confirmed by head office.",
        ),
        "file.loading" => ("正在读取档案…", "Reading the file…"),
        "file.unavailable" => ("无法读取顾客档案", "The customer file could not be read"),
        "file.link.this" => ("本条", "This record"),
        "file.link.contact" => ("同一联系方式", "Same contact"),
        "file.link.confirmed" => ("已确认", "Confirmed"),
        "file.replies" => ("答复", "Replies"),
        "file.no_replies" => ("尚未答复", "No reply yet"),
        "file.important" => ("重要", "Important"),
        "file.mark" => ("标为重要", "Mark important"),
        "file.unmark" => ("取消重要", "Unmark"),
        "file.note" => ("原因", "Why"),
        "file.note.placeholder" => (
            "例如：重复投诉，需回访",
            "e.g. repeated complaint, call back",
        ),
        "file.save_mark" => ("保存", "Save"),
        "file.bad_note" => ("请写明原因（1–500 字）", "Say why (1–500 characters)"),
        "file.candidates" => ("昵称相同的其他记录", "Other records with the same nickname"),
        "file.candidates.hint" => (
            "昵称相同不一定是同一顾客，请核对后确认。",
            "A shared nickname need not be the same customer: check before confirming.",
        ),
        "file.confirm" => ("确认为同一顾客", "Same customer"),
        "file.failed" => ("未能保存，请重试", "Not saved; try again"),
        // Erasure.
        "erase.button" => ("删除顾客个人信息…", "Erase this customer…"),
        "erase.warning" => (
            "将永久删除该顾客的联系方式，并把其所有记录中的昵称和个人信息替换为“（已删除）”。记录会以新编号重建，统计数据保留。此操作不可撤销。",
            "This permanently erases the customer's contact details and replaces their nickname and personal data in every record with “(erased)”. The records are re-created under new numbers; statistics are kept. This cannot be undone.",
        ),
        "erase.confirm" => ("永久删除", "Erase for good"),
        "erase.cancel" => ("取消", "Cancel"),
        "erase.working" => ("正在删除…", "Erasing…"),
        "erase.done" => (
            "已删除。记录已重建：",
            "Erased. The records were re-created:",
        ),
        "erase.failed" => (
            "删除未完成，请重试",
            "The erasure did not finish; try again",
        ),
        "erase.open_new" => ("打开重建的记录", "Open the re-created record"),
        // Archive.
        "record.archived" => ("已归档 · 只读", "Archived · read-only"),
        "inbox.view.archived" => ("归档", "Archive"),
        "archive.export" => (
            "下载归档（ZIP：CSV、XLSX 与附件）",
            "Download the archive (ZIP: CSV, XLSX and attachments)",
        ),
        "archive.export.hint" => (
            "按上方接收时间筛选期间；不选则为全部归档记录。",
            "The received-time filter above sets the period; without it, every archived record.",
        ),
        // Retention settings.
        "admin.nav.retention" => ("归档与保存期限", "Archive and retention"),
        "retention.title" => ("归档与保存期限", "Archive and retention"),
        "retention.hint" => (
            "已关闭的记录在设定天数后归档（只读，仍可搜索与导出）；记录至少保存三年（S002 5.4），期满后匿名化或删除，每次运行都记入审计日志。",
            "Closed records are archived after the set number of days (read-only, still searchable and exportable); records are kept at least three years (S002 5.4) and then anonymised or deleted, each run written to the audit log.",
        ),
        "retention.archive_after" => ("关闭后多少天归档", "Archive this many days after closing"),
        "retention.keep_years" => (
            "记录保存年数（至少 3 年）",
            "Keep records this many years (at least 3)",
        ),
        "retention.at_end" => ("期满后", "At the end of retention"),
        "retention.anonymise" => ("匿名化（保留统计）", "Anonymise (statistics kept)"),
        "retention.delete" => ("彻底删除", "Delete entirely"),
        "retention.audit_years" => (
            "审计日志保存年数（至少 3 年）",
            "Keep audit entries this many years (at least 3)",
        ),
        "retention.save" => ("保存", "Save"),
        "admin.error.bad_retention" => (
            "设置无效：归档天数 1–3650，保存年数 3–100",
            "Not valid: archive after 1–3650 days, keep 3–100 years",
        ),
        // Audit log.
        "nav.audit" => ("审计日志", "Audit log"),
        "audit.title" => ("审计日志", "Audit log"),
        "audit.hint" => (
            "登录、查看联系方式、导出、删除、权限变更与归档清理的记录；只增不改。",
            "Sign-ins, contact views, exports, erasures, role changes, archive and purge runs; written once, never changed.",
        ),
        "audit.action" => ("操作", "Action"),
        "audit.all_actions" => ("全部操作", "Every action"),
        "audit.actor" => ("操作人", "Who"),
        "audit.from" => ("从", "From"),
        "audit.to" => ("到", "To"),
        "audit.at" => ("时间", "When"),
        "audit.subject" => ("对象", "Concerning"),
        "audit.detail" => ("详情", "Details"),
        "audit.more" => ("更早的记录", "Older entries"),
        "audit.export" => ("导出 CSV", "Export CSV"),
        "audit.empty" => ("没有符合条件的记录", "No entries match"),
        "audit.forbidden" => (
            "只有主管和管理员可以查看审计日志",
            "Only supervisors and administrators see the audit log",
        ),
        "audit.system" => ("系统", "System"),
        "audit.a.login" => ("登录", "Signed in"),
        "audit.a.login_failed" => ("登录失败", "Sign-in failed"),
        "audit.a.logout" => ("退出登录", "Signed out"),
        "audit.a.contact_created" => ("登记联系方式", "Contact recorded"),
        "audit.a.contact_viewed" => ("查看联系方式", "Contact viewed"),
        "audit.a.contact_erased" => ("删除顾客信息", "Customer erased"),
        "audit.a.records_exported" => ("导出记录", "Records exported"),
        "audit.a.audit_exported" => ("导出审计日志", "Audit log exported"),
        "audit.a.user_created" => ("新建用户", "User created"),
        "audit.a.user_disabled" => ("停用用户", "User disabled"),
        "audit.a.user_enabled" => ("启用用户", "User enabled"),
        "audit.a.password_reset" => ("重置密码", "Password reset"),
        "audit.a.sessions_revoked" => ("注销会话", "Sessions revoked"),
        "audit.a.role_changed" => ("变更角色", "Role changed"),
        "audit.a.settings_changed" => ("修改设置", "Settings changed"),
        "audit.a.archive_run" => ("归档运行", "Archive run"),
        "audit.a.purge_run" => ("清理运行", "Purge run"),
        _ => return None,
    })
}
