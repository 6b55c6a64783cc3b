//! [`Price`]: the capacity tariff's price per kW per year, an exact decimal,
//! and the yearly cost it gives for an average peak.

use dsmr_engine::Fixed;
use std::fmt;

/// At most this many decimals (a tenth of a thousandth of a cent is beyond
/// any tariff sheet), so a cost always fits an exact [`Fixed`].
pub const MAX_DECIMALS: u8 = 6;

/// At most this many digits before the decimal point.
const MAX_WHOLE_DIGITS: usize = 6;

/// A price per kW per year (e.g. `53.2645`), held as the integer of its
/// last written digit, never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(Fixed);

impl Price {
    /// Parses `digits[.digits]`: not negative, at most six digits on each
    /// side of the point. The error says what was wrong.
    pub fn parse(text: &str) -> Result<Price, &'static str> {
        let text = text.trim();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || text.ends_with('.') {
            return Err("expected a decimal price such as 53.2645");
        }
        if whole.len() > MAX_WHOLE_DIGITS || frac.len() > MAX_DECIMALS as usize {
            return Err("at most 6 digits before and 6 after the decimal point");
        }
        Fixed::parse(text.as_bytes())
            .map(Price)
            .ok_or("expected a decimal price such as 53.2645")
    }

    /// The price as written.
    pub fn value(self) -> Fixed {
        self.0
    }

    /// The yearly cost of an average peak of `avg_mw` milliwatts: exactly
    /// `avg_mw / 1 000 000 × price`, as a decimal with the price's digits
    /// plus six (trailing zeros dropped); only a product beyond 18 digits
    /// loses its last decimals (rounded half up). `None` for a negative
    /// average.
    pub fn yearly_cost(self, avg_mw: i64) -> Option<Fixed> {
        if avg_mw < 0 {
            return None;
        }
        let mut m = i128::from(avg_mw) * i128::from(self.0.mantissa);
        let mut scale = self.0.scale + 6;
        while scale > 0 && (m % 10 == 0 || i64::try_from(m).is_err()) {
            m = if m % 10 == 0 { m / 10 } else { (m + 5) / 10 };
            scale -= 1;
        }
        Some(Fixed::new(i64::try_from(m).ok()?, scale))
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_price_is_an_exact_decimal() {
        assert_eq!(
            Price::parse("53.2645").unwrap().value(),
            Fixed::new(532645, 4)
        );
        assert_eq!(Price::parse("40").unwrap().value(), Fixed::new(40, 0));
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1e3",
            "1.2345678",
            "1234567",
            "4,5",
            "nan",
        ] {
            assert!(Price::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_cost_is_exact() {
        let p = Price::parse("53.2645").unwrap();
        // 3.444 kW × 53.2645 = 183.4429380 exactly.
        assert_eq!(p.yearly_cost(3_444_000), Some(Fixed::new(183442938, 6)));
        // 2.5 kW × 40 = 100.
        let p = Price::parse("40").unwrap();
        assert_eq!(p.yearly_cost(2_500_000), Some(Fixed::new(100, 0)));
        assert_eq!(p.yearly_cost(-1), None);
        // The largest price and a 1 GW average still fit.
        let p = Price::parse("999999.999999").unwrap();
        let big = p.yearly_cost(1_000_000_000_000).unwrap();
        assert_eq!(big, Fixed::new(999_999_999_999, 0));
    }
}
