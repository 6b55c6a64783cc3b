//! OBIS identifiers `A-B:C.D.E[.F]`.
//!
//! Parsing is lenient about what real meters and spec examples get wrong
//! (`1-0:99:97.0`, a `.255` or `*255` F group) and strict about digits, so
//! a damaged code such as `1-021.7.0` is refused rather than misread.

use core::fmt;

/// An OBIS code without its F group (always 255 on P1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Obis {
    /// Medium: 0 for abstract objects (clock, ids, M-Bus), 1 for electricity.
    pub a: u8,
    /// Channel: 0 for the meter itself, 1–4 for M-Bus devices (gas, water,
    /// heat); Luxembourg writes 1 for some electricity objects.
    pub b: u8,
    /// The quantity: 1 active import, 2 active export, 32 L1 voltage, …
    pub c: u8,
    /// How it is processed: 7 instantaneous, 8 cumulative, 6 maximum, …
    pub d: u8,
    /// Tariff (1.8.1, 1.8.2) or a further distinction within the quantity.
    pub e: u8,
}

impl Obis {
    /// Builds a code from its groups.
    pub const fn new(a: u8, b: u8, c: u8, d: u8, e: u8) -> Obis {
        Obis { a, b, c, d, e }
    }

    /// Parses a code, tolerating `:` for `.` after the C group and an F group.
    #[inline]
    pub fn parse(s: &[u8]) -> Option<Obis> {
        // Fast path for the P1 shape `a-b:c.d.e` with one-digit A and B,
        // which every line of every telegram has.
        if let [a @ b'0'..=b'9', b'-', b @ b'0'..=b'9', b':', rest @ ..] = s {
            let (c, rest) = group(rest)?;
            let (d, rest) = match rest {
                [b'.' | b':', r @ ..] => group(r)?,
                _ => return None,
            };
            let (e, rest) = match rest {
                [b'.' | b':', r @ ..] => group(r)?,
                _ => return None,
            };
            let tail_ok = match rest {
                [] => true,
                [b'.' | b'*', r @ ..] => matches!(group(r), Some((_, []))),
                _ => false,
            };
            return tail_ok.then_some(Obis {
                a: a - b'0',
                b: b - b'0',
                c,
                d,
                e,
            });
        }
        Self::parse_general(s)
    }

    fn parse_general(s: &[u8]) -> Option<Obis> {
        let mut v = [0u8; 5];
        let mut k = 0usize;
        let mut cur: u32 = 0;
        let mut digits = 0u32;
        for &c in s {
            if c.is_ascii_digit() {
                cur = cur * 10 + (c - b'0') as u32;
                digits += 1;
                if digits > 3 {
                    return None;
                }
                continue;
            }
            let sep_ok = match k {
                0 => c == b'-',
                1 => c == b':',
                2 | 3 => c == b'.' || c == b':',
                4 => c == b'.' || c == b'*',
                _ => false,
            };
            if digits == 0 || !sep_ok || cur > 255 {
                return None;
            }
            v[k] = cur as u8;
            k += 1;
            cur = 0;
            digits = 0;
        }
        if digits == 0 || cur > 255 {
            return None;
        }
        match k {
            4 => v[4] = cur as u8,
            5 => {} // the F group, always 255 on P1
            _ => return None,
        }
        Some(Obis {
            a: v[0],
            b: v[1],
            c: v[2],
            d: v[3],
            e: v[4],
        })
    }
}

/// One to three digits (at most 255) and the rest.
#[inline]
fn group(s: &[u8]) -> Option<(u8, &[u8])> {
    let mut v: u32 = 0;
    let mut n = 0;
    while n < 3 {
        match s.get(n) {
            Some(&c) if c.is_ascii_digit() => v = v * 10 + (c - b'0') as u32,
            _ => break,
        }
        n += 1;
    }
    if n == 0 || v > 255 || s.get(n).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some((v as u8, &s[n..]))
}

impl fmt::Display for Obis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}:{}.{}.{}", self.a, self.b, self.c, self.d, self.e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::prelude::rust_2021::*;

    #[test]
    fn parses_codes_and_their_typos() {
        assert_eq!(Obis::parse(b"1-0:1.8.1"), Some(Obis::new(1, 0, 1, 8, 1)));
        assert_eq!(
            Obis::parse(b"1-0:99:97.0"),
            Some(Obis::new(1, 0, 99, 97, 0))
        );
        assert_eq!(
            Obis::parse(b"1-0:72:32.0"),
            Some(Obis::new(1, 0, 72, 32, 0))
        );
        assert_eq!(
            Obis::parse(b"1-0:31.7.0.255"),
            Some(Obis::new(1, 0, 31, 7, 0))
        );
        assert_eq!(
            Obis::parse(b"1-0:1.8.0*255"),
            Some(Obis::new(1, 0, 1, 8, 0))
        );
        assert_eq!(
            Obis::parse(b"0-0:96.1.255*255"),
            Some(Obis::new(0, 0, 96, 1, 255))
        );
        assert_eq!(Obis::parse(b"1-021.7.0"), None);
        assert_eq!(Obis::parse(b"1,0:2.7.0"), None);
        assert_eq!(Obis::parse(b"1-0:!.8.1"), None);
        assert_eq!(Obis::parse(b"0%0:96.1.4"), None);
        assert_eq!(Obis::parse(b"1-0:1.8.1x"), None);
        assert_eq!(Obis::parse(b"1-0:1.8.256"), None);
        assert_eq!(Obis::parse(b""), None);
        assert_eq!(Obis::new(0, 1, 24, 2, 1).to_string(), "0-1:24.2.1");
    }
}
