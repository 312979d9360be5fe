//! Strings of the shared tablet: nobody signed in, signing out with data
//! not yet on the server, a session ended by expiry or by an administrator.

/// `(zh, en)` of a device key, if it is one.
pub(super) fn device(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "device.nobody" => (
            "未登录：本机不显示任何记录",
            "Nobody is signed in: no records are shown on this device",
        ),
        "device.sign_in_first.title" => ("请先登录", "Sign in first"),
        "device.sign_in_first.text" => (
            "每位用户的记录只保存在自己的账号下。登录后即可登记反馈并查看你的记录；登录一次后离线也能继续使用。",
            "Each user's records are kept under their own account. Sign in to register feedback and see your records; once signed in, the tablet keeps working offline.",
        ),
        "device.sign_in_first.action" => ("去登录", "Sign in"),
        "device.expired" => (
            "登录已过期，请重新登录。本机上的记录仍然保留，登录后继续同步。",
            "Your session has ended. Sign in again: the records on this device are kept and sync once you do.",
        ),
        "device.revoked" => (
            "管理员已结束你的登录，本机上你的账号数据已被删除。如需继续，请重新登录。",
            "An administrator ended your session, and your account's data on this device was deleted. Sign in again to continue.",
        ),
        "device.signout.title" => (
            "还有内容没有同步到服务器",
            "Not everything is on the server yet",
        ),
        "device.signout.records" => (
            "条记录的修改尚未同步",
            "records with changes not yet synced",
        ),
        "device.signout.contacts" => (
            "条客户联系方式尚未上传",
            "customer contacts not yet uploaded",
        ),
        "device.signout.lost" => (
            "退出登录会删除本机上你的账号数据，未同步的内容将会丢失。建议联网等待同步完成后再退出。",
            "Signing out deletes your account's data on this device, and what is not on the server is lost. Better: go online and wait until it has synced.",
        ),
        "device.signout.cancel" => ("取消", "Cancel"),
        "device.signout.anyway" => ("仍然退出", "Sign out anyway"),
        "device.signing_out" => ("正在退出…", "Signing out…"),
        "sync.records_waiting" => ("条记录待同步", "records waiting to sync"),
        "sync.contacts_waiting" => ("份联系方式待上传", "contact details waiting to upload"),
        "sync.in_step" => ("全部已同步", "Everything is on the server"),
        "sync.last" => ("上次同步", "Last synced"),
        "sync.never" => ("尚未同步", "Not synced yet"),
        "sync.now" => ("立即同步", "Sync now"),
        "sync.retrying" => ("正在重试…", "Trying again…"),
        "work.search" => ("搜索昵称或内容", "Search nickname or text"),
        "work.shown" => ("条记录", "records"),
        "update.available" => (
            "有新版本可用，本机数据不受影响",
            "A new version is available; the data on this device stays",
        ),
        "update.reload" => ("立即更新", "Update now"),
        "storage.used" => ("本机存储", "Storage on this device"),
        "storage.persisted" => ("已设为持久保存", "kept by the browser"),
        "storage.not_persisted" => (
            "未获持久保存：空间不足时浏览器可能清除本机数据，请及时同步",
            "not kept for sure: the browser may clear it when space runs short, so sync often",
        ),
        "storage.nearly_full" => (
            "空间将满，请同步后清理",
            "nearly full: sync, then free space",
        ),
        "work.all" => ("全部", "All"),
        "work.captured" => ("我登记的", "Captured by me"),
        "work.assigned" => ("分派给我", "Assigned to me"),
        "work.open" => ("未关闭", "Open"),
        "work.assigned_to_me" => ("分派给我", "Assigned to me"),
        "work.open_record" => ("打开", "Open"),
        "work.due" => ("到期", "Due"),
        _ => return None,
    })
}
