//! Moments in the device's local time, as pages show them and as date
//! and datetime inputs read and write them: one place for the browser's
//! calendar arithmetic.

use wasm_bindgen::JsValue;

/// `(year, month 1–12, day, hour, minute)` of a moment, local time.
fn parts(ms: i64) -> (i32, u32, u32, u32, u32) {
    let d = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    (
        d.get_full_year() as i32,
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
    )
}

/// `yyyy-mm-dd hh:mm`, to the minute (S002 §3).
pub fn minute(ms: i64) -> String {
    let (y, mo, d, h, mi) = parts(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}")
}

/// `yyyy-mm-dd`, for a date input.
pub fn day(ms: i64) -> String {
    minute(ms)[..10].to_string()
}

/// `yyyy-mm-ddThh:mm`, for a datetime-local input.
pub fn input_minute(ms: i64) -> String {
    minute(ms).replacen(' ', "T", 1)
}

/// The moment a date (`yyyy-mm-dd`, midnight) or datetime-local
/// (`yyyy-mm-ddThh:mm`) input's value names; `None` if it names none.
pub fn parse(value: &str) -> Option<i64> {
    let (date, time) = value.split_once('T').unwrap_or((value, "00:00"));
    let mut d = date.split('-').map(|p| p.parse::<i32>().ok());
    let mut t = time.split(':').map(|p| p.parse::<i32>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (h, min) = (t.next()??, t.next()??);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let ms =
        js_sys::Date::new_with_year_month_day_hr_min(u32::try_from(y).ok()?, m - 1, day, h, min)
            .get_time();
    ms.is_finite().then_some(ms as i64)
}
