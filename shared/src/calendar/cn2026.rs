//! Mainland China public holidays and make-up workdays for 2026, as
//! announced by the General Office of the State Council on 2025-11-04
//! (国办发明电〔2025〕… 关于2026年部分节假日安排的通知). Admins extend the
//! calendar for later years; this is only the shipped default.

/// Days off (放假), including weekend days inside a holiday block.
pub(super) const HOLIDAYS: &[&str] = &[
    // 元旦 New Year's Day: Jan 1–3
    "2026-01-01",
    "2026-01-02",
    "2026-01-03",
    // 春节 Spring Festival: Feb 15–23
    "2026-02-15",
    "2026-02-16",
    "2026-02-17",
    "2026-02-18",
    "2026-02-19",
    "2026-02-20",
    "2026-02-21",
    "2026-02-22",
    "2026-02-23",
    // 清明节 Qingming: Apr 4–6
    "2026-04-04",
    "2026-04-05",
    "2026-04-06",
    // 劳动节 Labour Day: May 1–5
    "2026-05-01",
    "2026-05-02",
    "2026-05-03",
    "2026-05-04",
    "2026-05-05",
    // 端午节 Dragon Boat: Jun 19–21
    "2026-06-19",
    "2026-06-20",
    "2026-06-21",
    // 中秋节 Mid-Autumn: Sep 25–27
    "2026-09-25",
    "2026-09-26",
    "2026-09-27",
    // 国庆节 National Day: Oct 1–7
    "2026-10-01",
    "2026-10-02",
    "2026-10-03",
    "2026-10-04",
    "2026-10-05",
    "2026-10-06",
    "2026-10-07",
];

/// Weekend days that are working days (调休上班).
pub(super) const MAKEUP_WORKDAYS: &[&str] = &[
    "2026-01-04",
    "2026-02-14",
    "2026-02-28",
    "2026-05-09",
    "2026-09-20",
    "2026-10-10",
];
