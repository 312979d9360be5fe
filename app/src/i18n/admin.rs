//! Administration strings (SLA settings, calendar, taxonomy).

/// `(zh, en)` of an administration key, if it is one.
pub(super) fn admin(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "admin.nav" => ("管理", "Administration"),
        "admin.nav.users" => ("用户", "Users"),
        "admin.nav.sla" => ("时限与工作日历", "SLA and calendar"),
        "admin.nav.taxonomy" => ("分类与渠道", "Taxonomy and channels"),
        "admin.settings_saved" => ("已保存，立即生效", "Saved; in effect now"),
        "admin.error.bad_sla" => (
            "服务器拒绝了这些时限设置",
            "The server refused these SLA settings",
        ),
        "admin.error.bad_taxonomy" => {
            ("服务器拒绝了这个分类表", "The server refused this taxonomy")
        }
        "sla.title" => (
            "服务时限（SLA）与工作日历",
            "SLA policy and working calendar",
        ),
        "sla.hint" => (
            "保存后立即生效：收件箱、超时提醒和升级都按新设置计算，已有记录的到期时间会在后台重新计算。",
            "Saved settings take effect at once: the inbox, near-due warnings and escalation use them, and existing records' due times are recomputed in the background.",
        ),
        "sla.preset" => ("时限方案", "Policy"),
        "sla.priority" => ("优先级", "Priority"),
        "sla.first_response" => ("首次响应", "First response"),
        "sla.resolution" => ("解决", "Resolution"),
        "sla.amount" => ("时长", "Amount"),
        "sla.unit" => ("单位", "Unit"),
        "sla.unit.none" => ("无时限", "No deadline"),
        "sla.unit.calendar_hours" => ("自然小时", "Calendar hours"),
        "sla.unit.business_hours" => ("工作小时", "Business hours"),
        "sla.unit.working_days" => ("工作日", "Working days"),
        "sla.near_due" => (
            "剩余不足百分之几时提示即将到期",
            "Near due when this % is left",
        ),
        "sla.pause" => ("等待客户时暂停计时", "Pause while waiting for the customer"),
        "sla.calendar" => ("工作日历", "Working calendar"),
        "sla.hours" => (
            "工作时间（如 09:00-12:00, 13:00-18:00）",
            "Business hours (e.g. 09:00-12:00, 13:00-18:00)",
        ),
        "sla.weekend" => ("每周休息日", "Weekly days off"),
        "sla.holidays" => (
            "法定节假日（每行一个日期，YYYY-MM-DD）",
            "Public holidays (one date per line, YYYY-MM-DD)",
        ),
        "sla.workdays" => (
            "调休上班日（每行一个日期）",
            "Make-up workdays (one date per line)",
        ),
        "sla.save" => ("保存时限设置", "Save the SLA settings"),
        "sla.error.name" => ("方案需要名称", "The policy needs a name"),
        "sla.error.target" => (
            "时限须大于 0 且不超过一年：",
            "A target must be above 0 and at most a year:",
        ),
        "sla.error.near_due" => ("即将到期的比例须在 1–90 之间", "Near due must be 1–90 %"),
        "sla.error.calendar" => (
            "工作日历无效：工作时间须按顺序且不重叠，同一天不能既是节假日又是调休上班日",
            "The calendar is invalid: business hours must be in order without overlap, and no day can be both a holiday and a make-up workday",
        ),
        "sla.error.hours" => ("看不懂这个工作时间：", "Cannot read these business hours:"),
        "sla.error.date" => ("看不懂这个日期：", "Cannot read this date:"),
        "day.Mon" => ("周一", "Mon"),
        "day.Tue" => ("周二", "Tue"),
        "day.Wed" => ("周三", "Wed"),
        "day.Thu" => ("周四", "Thu"),
        "day.Fri" => ("周五", "Fri"),
        "day.Sat" => ("周六", "Sat"),
        "day.Sun" => ("周日", "Sun"),
        "taxonomy.channels" => ("渠道与负责人", "Channels and their owners"),
        "taxonomy.hint" => (
            "每一项需要英文小写键（a–z、0–9、_ 或 .）和中英文名称。已用于记录的键请勿改名：旧记录会显示原键。",
            "Every entry needs a lower-case key (a–z, 0–9, _ or .) and Chinese and English labels. Keep keys records already use: old records show the key itself.",
        ),
        "taxonomy.key" => ("键", "Key"),
        "taxonomy.zh" => ("中文名称", "Chinese label"),
        "taxonomy.en" => ("英文名称", "English label"),
        "taxonomy.owner" => ("负责人", "Owner"),
        "taxonomy.field" => ("现场可选", "On tablets"),
        "taxonomy.remove" => ("删除", "Remove"),
        "taxonomy.add" => ("添加一项", "Add an entry"),
        "taxonomy.lists" => ("分类列表", "Classification lists"),
        "taxonomy.list" => ("列表", "List"),
        "taxonomy.list.source" => ("来源", "Source"),
        "taxonomy.list.feedback_type" => ("反馈类型", "Feedback type"),
        "taxonomy.list.aspect" => ("涉及方面", "Aspects"),
        "taxonomy.list.event_category" => ("活动类别", "Event category"),
        "taxonomy.list.complaint_kind" => ("投诉类别", "Complaint kind"),
        "taxonomy.list.nature" => ("性质", "Nature"),
        "taxonomy.list.urgency" => ("紧急程度", "Urgency"),
        "taxonomy.list.impact" => ("影响范围", "Impact"),
        "taxonomy.list.problem_class" => ("问题类别", "Problem class"),
        "taxonomy.list.department" => ("部门", "Departments"),
        "taxonomy.save" => ("保存分类表", "Save the taxonomy"),
        "taxonomy.error.duplicate" => ("同一列表中键重复：", "A key is used twice in one list:"),
        "taxonomy.error.key" => (
            "键须为 1–40 个 a–z、0–9、_ 或 . 字符：",
            "Keys are 1–40 characters of a–z, 0–9, _ or .:",
        ),
        "taxonomy.error.label" => (
            "缺少中文或英文名称：",
            "A Chinese or English label is missing:",
        ),
        _ => return None,
    })
}
