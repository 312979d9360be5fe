//! Strings of improvement actions.

/// `(zh, en)` of an action key, if it is one.
pub(super) fn actions(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "nav.actions" => ("改进措施", "Actions"),
        "action.title" => ("改进措施", "Improvement actions"),
        "action.new" => ("新建改进措施", "New action"),
        "action.start" => ("发起改进措施", "Start an improvement action"),
        "action.for_list" => (
            "为这些记录发起改进措施",
            "Start an action for these records",
        ),
        "action.none" => ("还没有改进措施。", "No improvement actions yet."),
        "action.name" => ("措施", "Action"),
        "action.plan" => ("计划（改什么、怎么改）", "Plan (what changes, how)"),
        "action.owner" => ("负责人", "Owner"),
        "action.deadline" => ("截止", "Deadline"),
        "action.metric" => ("衡量指标", "Figure to move"),
        "action.scope" => ("衡量范围：", "Measured on:"),
        "action.records" => ("关联记录", "Linked records"),
        "action.save" => ("保存", "Save"),
        "action.cancel" => ("取消", "Cancel"),
        "action.effect" => ("查看效果", "Show the effect"),
        "action.before" => ("开始前 28 天", "28 days before"),
        "action.after" => ("完成后", "After done"),
        "action.improved" => ("指标已改善。", "The figure improved."),
        "action.not_improved" => ("指标没有改善。", "The figure did not improve."),
        "action.not_yet" => (
            "完成后才能比较效果。",
            "The effect is compared once the action is done.",
        ),
        "action.no_data" => (
            "完成后的数据还不够，稍后再看。",
            "Not enough figures since it was done yet; look again later.",
        ),
        "action.overdue" => ("已逾期", "Overdue"),
        "action.forbidden" => (
            "只有总部、主管和管理员可以管理改进措施。",
            "Only head office, supervisors and admins manage improvement actions.",
        ),
        "action.status.open" => ("待开始", "Open"),
        "action.status.in_progress" => ("进行中", "In progress"),
        "action.status.done" => ("已完成", "Done"),
        "action.status.dropped" => ("已放弃", "Dropped"),
        "action.error.action_bad_title" => (
            "请填写措施（1–100 字）",
            "Name the action (1–100 characters)",
        ),
        "action.error.action_bad_plan" => {
            ("计划最多 2000 字", "The plan is at most 2,000 characters")
        }
        "action.error.action_bad_owner" => ("请填写负责人", "Name the owner"),
        "action.error.action_bad_deadline" => ("请选择截止日期", "Choose a deadline"),
        "action.error.action_too_many_records" => (
            "一项措施最多关联 200 条记录",
            "An action links at most 200 records",
        ),
        "action.error.action_bad_filter" => ("衡量范围无效", "The measured scope is not valid"),
        _ => return None,
    })
}
