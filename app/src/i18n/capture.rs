//! Strings of the tablet's capture form: its groups, the classification
//! fields, the received time, inline problems and the draft.

/// `(zh, en)` of a capture key, if it is one.
pub(super) fn capture(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "capture.group.who" => ("客户与来源", "Who"),
        "capture.group.what" => ("反馈内容", "What"),
        "capture.group.classify" => ("分类", "Classification"),
        "capture.group.classify.hint" => (
            "可现在填写，也可由总部稍后分类",
            "Fill in now, or leave it for head office to classify",
        ),
        "capture.optional" => ("可选", "optional"),
        "attach.add" => ("拍照或添加文件", "Take a photo or add a file"),
        "attach.hint" => (
            "照片、视频、截图或 PDF，每个不超过 50 MB；离线也会先保存在本机",
            "Photos, video, screenshots or PDF, up to 50 MB each; kept on this tablet even offline",
        ),
        "attach.keeping" => ("正在保存到本机…", "Keeping on this tablet…"),
        "attach.remove" => ("移除", "Remove"),
        "attach.record" => ("添加照片或文件", "Add photos or files"),
        "upload.keep_failed" => ("无法保存到本机：", "Could not keep on this tablet:"),
        "sync.files_waiting" => ("个附件待上传", "attachments waiting to upload"),
        "sync.files_refused" => ("服务器拒收的附件：", "Attachments the server refused:"),
        "device.signout.files" => ("个附件尚未上传", "attachments not uploaded yet"),
        "capture.required" => ("必填", "required"),
        "capture.source" => ("来源", "Source"),
        "capture.order" => ("订单号", "Order number"),
        "capture.order.too_long" => (
            "订单号不能超过 64 个字",
            "The order number may have at most 64 characters",
        ),
        "capture.received" => ("实际接收时间", "Received"),
        "capture.received.hint" => (
            "默认为现在；稍后录入的意见箱纸条请改为实际收到的时间",
            "Now by default; for a suggestion-box slip read later, enter when it was received",
        ),
        "capture.received.bad" => ("请填写有效的日期和时间", "Enter a valid date and time"),
        "capture.at_event" => ("在活动现场收集", "Collected at an event"),
        "capture.event_category" => ("活动反馈类别", "Event category"),
        "capture.type" => ("反馈类型", "Feedback type"),
        "capture.nature" => ("性质", "Nature"),
        "capture.complaint_kind" => ("投诉类别", "Complaint kind"),
        "capture.urgency" => ("紧急程度", "Urgency"),
        "capture.impact" => ("影响范围", "Impact"),
        "capture.aspects" => ("涉及方面", "Aspects"),
        "capture.not_set" => ("未选择", "Not set"),
        "capture.invalid" => (
            "有内容需要修改，尚未保存",
            "Some fields need correcting; nothing was saved",
        ),
        "capture.classify_failed" => (
            "记录已保存，但分类未能保存：",
            "The record was saved, but not its classification: ",
        ),
        "capture.draft.saved" => (
            "草稿已自动保存在本机（联系方式不存入草稿）",
            "Draft saved on this device (contact details are not kept in drafts)",
        ),
        "capture.draft.restored" => ("已恢复上次未保存的草稿", "Your unsaved draft was restored"),
        "capture.draft.discard" => ("放弃草稿", "Discard draft"),
        _ => return None,
    })
}
