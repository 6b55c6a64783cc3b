//! RFC 3339 times (`2025-10-01T22:00:00Z`, `2025-10-02T00:00+02:00`) to
//! Unix seconds: what price rows and ENTSO-E documents write.

use dsmr_engine::time::{civil_from_days, days_from_civil};

/// Unix seconds of an RFC 3339 date-time. Seconds may be left out (as
/// ENTSO-E does: `2025-10-01T22:00Z`); a fraction must be zero; `T`, `t`
/// or a space between date and time; `Z` or `±HH:MM` at the end.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then_some(())?;
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (h, mi) = (num(11, 2)?, num(14, 2)?);
    (b.get(13) == Some(&b':')).then_some(())?;
    let mut i = 16;
    let mut sec = 0;
    if b.get(i) == Some(&b':') {
        sec = num(i + 1, 2)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(|c| *c == b'0') {
                i += 1;
            }
            if i == start || b.get(i).is_some_and(u8::is_ascii_digit) {
                return None;
            }
        }
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let oh = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let om = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && sec < 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    // 31 February is refused, not rolled over.
    if civil_from_days(days) != (y, mo as u32, d as u32) {
        return None;
    }
    let unix = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    // 1970 to 9998: what a price can be for, and what `format_utc` writes
    // back with four digits of year.
    (0..MAX_UNIX).contains(&unix).then_some(unix)
}

/// 9999-01-01T00:00:00Z.
const MAX_UNIX: i64 = 253_370_764_800;

/// `yyyyMMddHHmm` in UTC, the period format of ENTSO-E's query.
pub fn entsoe_period(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    format!("{y:04}{m:02}{d:02}{:02}{:02}", s / 3600, s % 3600 / 60)
}

/// `2025-10-01T22:00:00Z`: what the store writes.
pub fn format_utc(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_with_and_without_seconds_and_offsets() {
        let t = 1_759_356_000; // 2025-10-01T22:00:00Z
        assert_eq!(parse_rfc3339("2025-10-01T22:00:00Z"), Some(t));
        assert_eq!(parse_rfc3339("2025-10-01T22:00Z"), Some(t));
        assert_eq!(parse_rfc3339("2025-10-02T00:00:00+02:00"), Some(t));
        assert_eq!(parse_rfc3339("2025-10-01 21:00:00.000-01:00"), Some(t));
        for bad in [
            "2025-02-31T00:00Z",
            "2025-10-01T22:00:00",
            "2025-10-01T24:00Z",
            "2025-10-01T22:00:00.5Z",
            "2025-10-01T22:00+2:00",
            "20251001T2200Z",
            "1969-12-31T23:59:59Z",
            "9999-12-31T23:00:00-23:00",
            "",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
        assert_eq!(entsoe_period(t), "202510012200");
    }
}
