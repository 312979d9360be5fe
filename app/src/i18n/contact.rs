//! Strings of the customer contact section, the contact outbox and the
//! record page's contact panel.

/// `(zh, en)` of a contact key, if it is one.
pub(super) fn contact(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "contact.section" => ("客户联系方式（选填）", "Customer contact (optional)"),
        "contact.hint" => (
            "单独加密保存，不写入反馈记录；客户可随时要求删除。",
            "Kept apart from the record, encrypted; the customer may ask for erasure at any time.",
        ),
        "contact.phone" => ("电话", "Phone"),
        "contact.email" => ("邮箱", "Email"),
        "contact.name" => ("真实姓名", "Real name"),
        "contact.name.hint" => ("仅在客户愿意提供时填写", "Only if the customer offers it"),
        "contact.consent" => ("客户同意", "The customer agrees to"),
        "contact.consent.follow_up" => ("就此反馈回访联系", "be contacted about this feedback"),
        "contact.consent.survey" => ("接收满意度调查", "receive satisfaction surveys"),
        "contact.invalid" => (
            "联系方式有误，请修改标出的项；记录尚未保存",
            "Correct the marked contact fields; nothing was saved yet",
        ),
        "contact.waiting" => ("待上传的联系方式", "Contact details waiting to upload"),
        "contact.failed" => (
            "服务器拒绝了以下记录的联系方式，已从本机删除：",
            "The server refused the contact details of these records; they were deleted from this device:",
        ),
        "contact.unknown_record" => ("（本机没有的记录）", "(a record not on this device)"),
        "contact.dismiss" => ("知道了", "Dismiss"),
        "contact.upload_failed" => (
            "联系方式未能保存到服务器，记录未保存：",
            "The contact details could not be saved on the server, so the record was not saved: ",
        ),
        "contact.panel" => ("客户联系方式", "Customer contact"),
        "contact.show" => ("查看联系方式", "Show contact"),
        "contact.hide" => ("隐藏", "Hide"),
        "contact.logged" => (
            "每次查看都会以你的名义记入审计日志。",
            "Each view is written to the audit log in your name.",
        ),
        "contact.loading" => ("正在读取…", "Loading…"),
        "contact.none" => ("此记录没有联系方式", "This record has no contact details"),
        "contact.not_uploaded" => (
            "联系方式尚未到达服务器：采集设备联网后会自动上传",
            "The contact details have not reached the server yet: the capturing device uploads them once online",
        ),
        "contact.forbidden" => (
            "你的角色不能查看此客户的联系方式",
            "Your role may not see this customer's contact details",
        ),
        "contact.offline" => (
            "无法连接服务器，请联网后再试",
            "Cannot reach the server; try again when online",
        ),
        "contact.bad_answer" => (
            "服务器返回了无法读取的结果",
            "The server's answer could not be read",
        ),
        "contact.erased" => (
            "客户的联系方式已删除于",
            "The customer's details were erased on",
        ),
        "contact.consents" => ("同意事项", "Consent"),
        "contact.no_consent" => ("客户未同意任何用途", "No consent given"),
        "contact.taken" => ("采集", "Taken down"),
        "contact_empty" => (
            "请填写电话、邮箱或姓名中的至少一项（或取消勾选同意项）",
            "Give a phone number, an email address or a name (or untick the consent)",
        ),
        "contact_bad_phone" => (
            "电话应为 5–20 位数字，可带 +、空格或短横线",
            "A phone number has 5 to 20 digits (a leading +, spaces or hyphens allowed)",
        ),
        "contact_bad_email" => ("邮箱地址格式不正确", "The email address is not valid"),
        "contact_name_too_long" => (
            "姓名不能超过 60 个字",
            "The name may have at most 60 characters",
        ),
        "contact_bad_ref" => ("联系方式编号无效", "The contact reference is not valid"),
        "contact_exists" => (
            "联系方式编号已被其他用户使用",
            "The contact reference belongs to another user",
        ),
        "contact_unreadable" => (
            "本机无法再解密这条联系方式",
            "This device can no longer open these contact details",
        ),
        "contact_bad_time" => (
            "采集时间不合理，请检查设备时钟",
            "The capture time is not plausible; check the device's clock",
        ),
        "contact_refused" => (
            "服务器拒绝了联系方式",
            "The server refused the contact details",
        ),
        "pii.move" => ("移到联系方式", "Move to contact"),
        _ => return None,
    })
}

/// A contact refusal code (`ContactError::code()`, `contact_exists`…) in
/// the user's language; any other code by the generic words.
pub fn contact_error(lang: super::Lang, code: &str) -> &'static str {
    let key = if contact(code).is_some() && code.starts_with("contact_") {
        code
    } else {
        "contact_refused"
    };
    super::tr(lang, key)
}
