//! The meter's clock and RFC 3339 text, for tests that write telegrams at
//! a chosen time.

/// `YYMMDDhhmmssW`: the meter's clock in UTC+1 (the W flag says so).
pub fn meter_time(unix: i64) -> String {
    let t = unix + 3_600;
    let (y, m, d) = dsmr_engine::time::civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    format!(
        "{:02}{m:02}{d:02}{:02}{:02}{:02}W",
        y % 100,
        s / 3_600,
        s % 3_600 / 60,
        s % 60
    )
}

/// RFC 3339 UTC, as the `start` label and price files write it.
pub fn rfc3339(unix: i64) -> String {
    let (y, m, d) = dsmr_engine::time::civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3_600,
        s % 3_600 / 60,
        s % 60
    )
}
