//! Durations as people write them on a command line: `500ms`, `2s`, `1m30s`, `1h`.
//!
//! The same syntax as Prometheus and Go (`time.ParseDuration` without
//! fractions), so a value copied from a Prometheus config works here too.

use std::time::Duration;
use thiserror::Error;

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    /// Nothing was given.
    #[error("empty duration (write e.g. 500ms, 10s, 1m30s or 0)")]
    Empty,
    /// A number without a unit (other than a bare `0`).
    #[error("'{0}' has no unit (write e.g. {0}s or {0}ms)")]
    MissingUnit(String),
    /// A unit this parser does not know.
    #[error("unknown unit '{unit}' in '{input}' (use ms, s, m or h)")]
    UnknownUnit { unit: String, input: String },
    /// A unit without a number in front of it, or another stray character.
    #[error("'{0}' is not a duration (write e.g. 500ms, 10s, 1m30s or 0)")]
    Invalid(String),
    /// More than a `u64` of milliseconds.
    #[error("'{0}' is too long")]
    Overflow(String),
}

/// Parses `0`, or one or more `<integer><unit>` parts with units `ms`, `s`,
/// `m`, `h` (`1m30s`, `1h5m`). Spaces around the whole value are ignored.
pub fn parse(input: &str) -> Result<Duration, DurationError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if s.bytes().all(|b| b == b'0') {
        return Ok(Duration::ZERO);
    }
    let overflow = || DurationError::Overflow(s.to_owned());
    let mut rest = s;
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::Invalid(s.to_owned()));
        }
        let n: u64 = rest[..digits].parse().map_err(|_| overflow())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        if unit_len == 0 {
            return Err(if rest.is_empty() {
                DurationError::MissingUnit(s.to_owned())
            } else {
                DurationError::Invalid(s.to_owned())
            });
        }
        let ms_per_unit: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            other => {
                return Err(DurationError::UnknownUnit {
                    unit: other.to_owned(),
                    input: s.to_owned(),
                })
            }
        };
        rest = &rest[unit_len..];
        let part = n.checked_mul(ms_per_unit).ok_or_else(overflow)?;
        total_ms = total_ms.checked_add(part).ok_or_else(overflow)?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Writes a duration the way [`parse`] reads it (`1m30s`, `250ms`, `0`),
/// for messages and `--check-config` output.
pub fn format(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Result<Duration, DurationError> {
        Ok(Duration::from_millis(n))
    }

    #[test]
    fn accepts_the_usual_forms() {
        assert_eq!(parse("500ms"), ms(500));
        assert_eq!(parse("2s"), ms(2_000));
        assert_eq!(parse("1m"), ms(60_000));
        assert_eq!(parse("1h"), ms(3_600_000));
        assert_eq!(parse("1m30s"), ms(90_000));
        assert_eq!(parse("1h2m3s4ms"), ms(3_723_004));
        assert_eq!(parse(" 10s "), ms(10_000));
        assert_eq!(parse("0"), ms(0));
        assert_eq!(parse("000"), ms(0));
        assert_eq!(parse("0s"), ms(0));
    }

    #[test]
    fn refuses_everything_else_with_a_reason() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert_eq!(parse("5"), Err(DurationError::MissingUnit("5".into())));
        assert!(matches!(
            parse("5x"),
            Err(DurationError::UnknownUnit { unit, .. }) if unit == "x"
        ));
        assert!(matches!(
            parse("1d"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(parse("s"), Err(DurationError::Invalid(_))));
        assert!(matches!(parse("-1s"), Err(DurationError::Invalid(_))));
        assert!(matches!(parse("1.5s"), Err(DurationError::Invalid(_))));
        assert!(matches!(parse("1s 2s"), Err(DurationError::Invalid(_))));
        assert!(matches!(
            parse("99999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
        assert!(matches!(
            parse("9999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
        let msg = parse("10 seconds").unwrap_err().to_string();
        assert!(msg.contains("10 seconds"), "{msg}");
    }

    #[test]
    fn format_round_trips() {
        for s in ["0", "250ms", "1s", "1m30s", "2h", "1h1m1s1ms"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
