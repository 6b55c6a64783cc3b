//! OBIS identifiers `A-B:C.D.E[.F]`.
//!
//! Parsing is lenient about what real meters and spec examples get wrong
//! (`1-0:99:97.0`, a `.255` or `*255` F group) and strict about digits, so
//! a damaged code such as `1-021.7.0` is refused rather than misread.

use std::fmt;

/// An OBIS code without its F group (always 255 on P1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Obis {
    pub a: u8,
    pub b: u8,
    pub c: u8,
    pub d: u8,
    pub e: u8,
}

impl Obis {
    /// Builds a code from its groups.
    pub const fn new(a: u8, b: u8, c: u8, d: u8, e: u8) -> Obis {
        Obis { a, b, c, d, e }
    }

    /// Parses a code, tolerating `:` for `.` after the C group and an F group.
    pub fn parse(s: &[u8]) -> Option<Obis> {
        let mut p = Parser { s, i: 0 };
        let a = p.num()?;
        p.sep(b"-")?;
        let b = p.num()?;
        p.sep(b":")?;
        let c = p.num()?;
        p.sep(b".:")?;
        let d = p.num()?;
        p.sep(b".:")?;
        let e = p.num()?;
        if p.i < s.len() {
            p.sep(b".*")?;
            p.num()?;
            if p.i != s.len() {
                return None;
            }
        }
        Some(Obis { a, b, c, d, e })
    }
}

impl fmt::Display for Obis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}:{}.{}.{}", self.a, self.b, self.c, self.d, self.e)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn num(&mut self) -> Option<u8> {
        let start = self.i;
        let mut v: u32 = 0;
        while let Some(&c) = self.s.get(self.i) {
            if !c.is_ascii_digit() || self.i - start == 3 {
                break;
            }
            v = v * 10 + (c - b'0') as u32;
            self.i += 1;
        }
        if self.i == start || v > 255 {
            return None;
        }
        Some(v as u8)
    }

    fn sep(&mut self, allowed: &[u8]) -> Option<()> {
        let c = self.s.get(self.i)?;
        if allowed.contains(c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
