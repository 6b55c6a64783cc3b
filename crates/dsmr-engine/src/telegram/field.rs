//! One value of a line: integers, exact decimals with their unit, timestamps.
//! Each parser has a fast path for what meters send and a general path that
//! decides everything else; a test checks that the two always agree.

use super::FieldErrorKind;
use crate::time::Timestamp;
use crate::value::{trim, Dimension, Fixed, Quantity, Unit};

pub(super) type FieldResult<T> = Result<T, FieldErrorKind>;

/// Position of `b` in `s`. Telegram lines are short (20-60 bytes), where a
/// plain loop beats a SIMD search's set-up cost.
#[inline]
pub(super) fn find(s: &[u8], b: u8) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

/// Splits `value*unit`.
pub(super) fn split_unit(s: &[u8]) -> (&[u8], &[u8]) {
    match find(s, b'*') {
        Some(i) => (trim(&s[..i]), &s[i + 1..]),
        None => (trim(s), &[][..]),
    }
}

/// A quantity in `dims`; `default` is the unit assumed when none is written.
pub(super) fn quantity(
    s: &[u8],
    group: u8,
    dims: &[Dimension],
    default: Unit,
) -> FieldResult<Option<Quantity>> {
    // Fast path for what meters send: digits, an optional fraction, then
    // nothing or `*unit` (no sign, no spaces). Anything else, or more than
    // 18 digits, takes the general path below, which decides it.
    if let Some((value, n)) = plain_decimal(s) {
        let unit = match &s[n..] {
            [] => Some(Unit::None),
            [b'*', u @ ..] => Some(Unit::parse(u)),
            _ => None,
        };
        if let Some(mut unit) = unit {
            if unit == Unit::None {
                unit = default;
            }
            return match unit.base() {
                Some((d, _)) if dims.contains(&d) => Ok(Some(Quantity { value, unit })),
                _ => Err(FieldErrorKind::UnexpectedUnit { group, unit }),
            };
        }
    }
    quantity_general(s, group, dims, default)
}

/// [`quantity`] for any spelling: signs, spaces, long numbers.
pub(super) fn quantity_general(
    s: &[u8],
    group: u8,
    dims: &[Dimension],
    default: Unit,
) -> FieldResult<Option<Quantity>> {
    let s = trim(s);
    if s.is_empty() {
        return Ok(None);
    }
    // One pass: the number, then `*unit` (spaces allowed around either).
    let (value, n) = Fixed::parse_prefix(s).ok_or(FieldErrorKind::BadNumber { group })?;
    let unit = match trim(&s[n..]) {
        [] => &[][..],
        [b'*', u @ ..] => u,
        _ => return Err(FieldErrorKind::BadNumber { group }),
    };
    let mut unit = Unit::parse(unit);
    if unit == Unit::None {
        unit = default;
    }
    match unit.base() {
        Some((d, _)) if dims.contains(&d) => Ok(Some(Quantity { value, unit })),
        _ => Err(FieldErrorKind::UnexpectedUnit { group, unit }),
    }
}

/// `digits[.digits]` at the start of `s` with at most 18 digits in all and a
/// digit first: the value and its length. `None` leaves it to
/// [`Fixed::parse_prefix`], which gives the same value when there is one.
#[inline(always)]
pub(super) fn plain_decimal(s: &[u8]) -> Option<(Fixed, usize)> {
    let mut m: i64 = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        m = m.wrapping_mul(10).wrapping_add(d as i64);
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut scale = 0usize;
    if s.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&c) = s.get(i) {
            let d = c.wrapping_sub(b'0');
            if d >= 10 {
                break;
            }
            m = m.wrapping_mul(10).wrapping_add(d as i64);
            i += 1;
            scale += 1;
        }
        if i - 1 > 18 {
            return None;
        }
    } else if i > 18 {
        return None;
    }
    Some((
        Fixed {
            mantissa: m,
            scale: scale as u8,
        },
        i,
    ))
}

pub(super) fn integer(s: &[u8], group: u8) -> FieldResult<Option<u64>> {
    // Fast path: 1 to 19 digits, then the end or `*unit`.
    let mut v: u64 = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(d as u64);
        i += 1;
    }
    if (1..=19).contains(&i) && matches!(s.get(i), None | Some(b'*')) {
        return Ok(Some(v));
    }
    let (num, _) = split_unit(s);
    if num.is_empty() {
        return Ok(None);
    }
    if num.len() > 19 || !num.iter().all(u8::is_ascii_digit) {
        return Err(FieldErrorKind::BadNumber { group });
    }
    Ok(Some(
        num.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64),
    ))
}

pub(super) fn small<T: TryFrom<u64>>(s: &[u8], group: u8) -> FieldResult<Option<T>> {
    match integer(s, group)? {
        None => Ok(None),
        Some(v) => T::try_from(v)
            .map(Some)
            .map_err(|_| FieldErrorKind::BadNumber { group }),
    }
}

pub(super) fn timestamp(s: &[u8], group: u8) -> FieldResult<Option<Timestamp>> {
    if trim(s).is_empty() {
        return Ok(None);
    }
    Timestamp::parse(s)
        .map(Some)
        .ok_or(FieldErrorKind::BadTimestamp { group })
}

/// `1` to `19` digits and nothing else, as [`integer`] reads them.
#[inline(always)]
pub(super) fn all_digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telegram::meaning::{ENERGY, MBUS, NONE, POWER, VOLTAGE};
    use std::prelude::rust_2021::*;

    #[test]
    fn fast_paths_agree_with_the_general_parsers() {
        let alphabet = b"0123456789.*kWhVm3 -+";
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut cases: Vec<Vec<u8>> = vec![
            b"9999999999999999999".to_vec(),
            b"99999999999999999999".to_vec(),
            b"123456789012345678".to_vec(),
            b"1234567890.12345678".to_vec(),
            b"1234567890.123456789".to_vec(),
            b"5.".to_vec(),
            b"5.*kW".to_vec(),
            b"1.2.3".to_vec(),
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let mut y = x;
            let mut c = Vec::with_capacity(len);
            for _ in 0..len {
                y = y
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                c.push(alphabet[((y >> 33) % alphabet.len() as u64) as usize]);
            }
            cases.push(c);
        }
        for c in &cases {
            if let Some(fast) = plain_decimal(c) {
                assert_eq!(Some(fast), Fixed::parse_prefix(c), "{c:?}");
            }
            let general = {
                let (num, _) = split_unit(c);
                if num.is_empty() {
                    Ok(None)
                } else if num.len() > 19 || !num.iter().all(u8::is_ascii_digit) {
                    Err(FieldErrorKind::BadNumber { group: 0 })
                } else {
                    Ok(Some(
                        num.iter().fold(0u64, |a, &d| a * 10 + (d - b'0') as u64),
                    ))
                }
            };
            assert_eq!(integer(c, 0), general, "{c:?}");
            for (dims, unit) in [
                (ENERGY, Unit::KWh),
                (POWER, Unit::KW),
                (VOLTAGE, Unit::V),
                (NONE, Unit::None),
                (MBUS, Unit::None),
            ] {
                assert_eq!(
                    quantity(c, 0, dims, unit),
                    quantity_general(c, 0, dims, unit),
                    "{c:?}"
                );
            }
        }
    }
}
