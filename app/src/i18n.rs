//! UI strings in Simplified Chinese (the default) and English.

use closeloop_shared::RecordError;
use closeloop_shared::record::{MAX_DESCRIPTION_CHARS, MAX_NICKNAME_CHARS};
use leptos::prelude::*;

mod actions;
mod admin;
mod capture;
mod cases;
mod contact;
mod dashboard;
mod device;
mod keeping;
mod office;
mod survey_design;

pub use contact::contact_error;

/// The UI language; stored in `localStorage` so a device keeps its choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The saved choice, or Chinese.
    pub fn saved() -> Lang {
        let stored = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item("closeloop.lang").ok().flatten());
        if stored.as_deref() == Some("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// Remembers the choice on this device.
    pub fn save(self) {
        if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = s.set_item("closeloop.lang", if self == Lang::En { "en" } else { "zh" });
        }
    }
}

/// The current language, from context.
pub fn lang() -> RwSignal<Lang> {
    expect_context::<RwSignal<Lang>>()
}

/// Looks up a UI string by key in the current language (tracked, for views).
pub fn t(key: &str) -> &'static str {
    tr(lang().get(), key)
}

/// Looks up a UI string in a given language (for async code outside a view).
pub fn tr(lang: Lang, key: &str) -> &'static str {
    let en = lang == Lang::En;
    let (zh, english) = match key {
        "app.title" => ("Closeloop 客户反馈", "Closeloop feedback"),
        "nav.field" => ("现场采集", "Field capture"),
        "nav.office" => ("总部工作台", "Head office"),
        "status.online" => ("已连接，自动同步", "Online, syncing"),
        "status.offline" => (
            "离线：记录保存在本机，联网后自动同步",
            "Offline: saved on this device, syncs when online",
        ),
        "status.signed_out" => ("登录后同步", "Sign in to sync"),
        "status.local_only" => (
            "未登录：请先登录，记录以你的名义保存并同步",
            "Not signed in: sign in so records are saved in your name and synced",
        ),
        "nav.logout" => ("退出登录", "Sign out"),
        "login.title" => ("登录", "Sign in"),
        "login.username" => ("用户名", "Username"),
        "login.password" => ("密码", "Password"),
        "login.submit" => ("登录", "Sign in"),
        "login.failed" => ("用户名或密码不正确", "Wrong username or password"),
        "login.unreachable" => (
            "无法连接服务器，请联网后再试",
            "Cannot reach the server; try again when online",
        ),
        "status.connecting" => ("正在连接…", "Connecting…"),
        "form.title" => ("登记反馈", "Register feedback"),
        "form.channel" => ("渠道", "Channel"),
        "form.nickname" => ("客户昵称或编号", "Customer nickname or id"),
        "form.nickname.hint" => ("无需真实姓名", "No real name needed"),
        "form.description" => (
            "反馈内容（客户原话）",
            "Feedback (the customer's own words)",
        ),
        "form.save" => ("保存", "Save"),
        "form.saving" => ("正在保存…", "Saving…"),
        "form.saved" => ("已保存到本机", "Saved on this device"),
        "list.mine" => ("本机记录", "Records on this device"),
        "list.all" => ("全部反馈", "All feedback"),
        "list.empty" => ("还没有记录", "No records yet"),
        "list.edit" => ("修改", "Edit"),
        "list.cancel" => ("取消", "Cancel"),
        "list.received" => ("接收时间", "Received"),
        "list.loading" => ("正在打开本地数据…", "Opening local data…"),
        "error.storage" => (
            "本机存储失败，记录未保存：",
            "Local storage failed, nothing was saved: ",
        ),
        "error.not_signed_in" => (
            "请先在本机登录一次，记录才能以你的名义保存",
            "Sign in once on this device so records are saved in your name",
        ),
        "edit.capture" => ("登记", "capture"),
        "edit.description" => ("修改反馈内容", "edit of the feedback text"),
        "edit.log" => ("处理日志", "log entry"),
        "edit.attach" => ("附件", "attachment"),
        "edit.other" => ("修改", "change"),
        "refused.title" => ("未被接受的修改", "Not accepted"),
        "refused.forbidden" => (
            "你的角色不能做这项修改",
            "Your role may not make this change",
        ),
        "refused.not_yours" => (
            "只能修改你登记的或分配给你的记录",
            "Only records you captured or are assigned can be changed",
        ),
        "refused.forged_author" => (
            "修改必须以登录用户的名义保存",
            "Changes must be saved in the signed-in user's name",
        ),
        "refused.rewrite" => (
            "已记录的流程、日志和附件不能改写或删除",
            "Recorded steps, log entries and attachments cannot be rewritten or deleted",
        ),
        "refused.too_long" => (
            "内容超过记录允许的长度",
            "The text is longer than a record allows",
        ),
        "refused.recreate" => ("记录只能创建一次", "A record is created only once"),
        "refused.archived" => ("记录已归档，只读", "The record is archived and read-only"),
        other => office::office(other)
            .or_else(|| admin::admin(other))
            .or_else(|| contact::contact(other))
            .or_else(|| keeping::keeping(other))
            .or_else(|| survey_design::survey_design(other))
            .or_else(|| cases::cases(other))
            .or_else(|| actions::actions(other))
            .or_else(|| dashboard::dashboard(other))
            .or_else(|| device::device(other))
            .or_else(|| capture::capture(other))
            .unwrap_or(("?", "?")),
    };
    if en { english } else { zh }
}

/// A workflow status key (`new`, `in_progress`…) in the user's language.
pub fn status_label(lang: Lang, status: &str) -> &'static str {
    match tr(lang, &format!("status.{status}")) {
        "?" => "?",
        known => known,
    }
}

/// A taxonomy term's label in the user's language (the key itself when
/// this build does not know it, so nothing recorded is hidden).
pub fn term_label(
    lang: Lang,
    taxonomy: &closeloop_shared::taxonomy::Taxonomy,
    list: closeloop_shared::taxonomy::TermList,
    key: &str,
) -> String {
    taxonomy
        .list(list)
        .iter()
        .find(|t| t.key == key)
        .map(|t| match lang {
            Lang::Zh => t.label.zh.clone(),
            Lang::En => t.label.en.clone(),
        })
        .unwrap_or_else(|| key.to_string())
}

/// A channel's label in the user's language; `None` for a channel this
/// taxonomy does not list (callers choose what to show then).
pub fn channel_label(
    lang: Lang,
    taxonomy: &closeloop_shared::taxonomy::Taxonomy,
    key: &str,
) -> Option<String> {
    taxonomy.channel(key).map(|c| match lang {
        Lang::Zh => c.label.zh.clone(),
        Lang::En => c.label.en.clone(),
    })
}

/// A workflow step's key (`assign`, `reopen`…) in the user's language.
pub fn action_label(lang: Lang, action: &str) -> String {
    match tr(lang, &format!("action.{action}")) {
        "?" => action.to_string(),
        known => known.to_string(),
    }
}

/// A record validation error in the current language.
pub fn record_error(lang: Lang, e: &RecordError) -> String {
    let en = lang == Lang::En;
    let s = match (e, en) {
        (RecordError::NicknameEmpty, false) => "请填写客户昵称或编号",
        (RecordError::NicknameEmpty, true) => "Enter the customer's nickname or id",
        (RecordError::NicknameTooLong, false) => {
            return format!("客户昵称不能超过 {MAX_NICKNAME_CHARS} 个字");
        }
        (RecordError::NicknameTooLong, true) => {
            return format!("The nickname may have at most {MAX_NICKNAME_CHARS} characters");
        }
        (RecordError::DescriptionEmpty, false) => "请填写反馈内容",
        (RecordError::DescriptionEmpty, true) => "Enter the feedback text",
        (RecordError::DescriptionTooLong, false) => {
            return format!("反馈内容不能超过 {MAX_DESCRIPTION_CHARS} 个字");
        }
        (RecordError::DescriptionTooLong, true) => {
            return format!("The feedback may have at most {MAX_DESCRIPTION_CHARS} characters");
        }
        (RecordError::ReceivedInFuture, false) => "接收时间不能晚于现在",
        (RecordError::ReceivedInFuture, true) => "The received time cannot be in the future",
        (RecordError::ReceivedTooLongAgo, false) => "接收时间不能早于一年前",
        (RecordError::ReceivedTooLongAgo, true) => {
            "The received time cannot be more than a year ago"
        }
        (RecordError::UnknownChannel(_), false) => "请选择渠道",
        (RecordError::UnknownChannel(_), true) => "Choose a channel",
        (other, _) => return other.to_string(),
    };
    s.to_string()
}

/// Why a save or an edit was not kept, in the user's language.
pub fn save_error(lang: Lang, e: &crate::repo::SaveError) -> String {
    use crate::repo::SaveError;
    match e {
        SaveError::Invalid(e) => record_error(lang, e),
        SaveError::Storage(e) => format!("{}{e}", tr(lang, "error.storage")),
        SaveError::NotSignedIn => tr(lang, "error.not_signed_in").to_string(),
        SaveError::Denied(d) => refusal_text(lang, d.code()).to_string(),
    }
}

/// A write-rule reason code (`docs/write-rules.md`) in the user's language.
pub fn refusal_text(lang: Lang, code: &str) -> &'static str {
    let key = match code {
        "forbidden" => "refused.forbidden",
        "not_yours" => "refused.not_yours",
        "forged_author" => "refused.forged_author",
        "rewrite" => "refused.rewrite",
        "too_long" => "refused.too_long",
        "archived" => "refused.archived",
        _ => "refused.recreate",
    };
    tr(lang, key)
}

/// What a dropped change did, from its change message, in the user's language.
pub fn edit_label(lang: Lang, message: &str) -> &'static str {
    let key = match message {
        "capture" => "edit.capture",
        "description" => "edit.description",
        "log" => "edit.log",
        "attach" => "edit.attach",
        _ => "edit.other",
    };
    tr(lang, key)
}

/// A received time as local date and time, to the minute (S002 §3).
pub fn format_time(ms: i64) -> String {
    crate::local_time::minute(ms)
}
