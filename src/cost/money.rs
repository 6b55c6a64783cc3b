//! Exact money: decimals as integers of 10^-9 of the currency, and the
//! arithmetic of an all-in price. No `f64` anywhere: a price written as
//! `0.27` stays 270 000 000 nanos, and a cost is a product of integers.

use dsmr_engine::{Fixed, Quantity, Unit};
use std::fmt;
use thiserror::Error;

/// Digits after the point of a [`Nanos`] value.
pub const NANO_DIGITS: u32 = 9;
/// One currency unit in [`Nanos`].
pub const ONE: i64 = 1_000_000_000;
/// Digits after the point of a quantity as it is billed (10^-9 of a kWh,
/// m³ or GJ): finer than any meter register.
pub const QUANTITY_DIGITS: u32 = 9;

/// An amount (or a price per unit) in 10^-9 of the currency: 0.27 EUR/kWh
/// is `Nanos(270_000_000)`. Integers, so sums and products are exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nanos(pub i64);

impl fmt::Display for Nanos {
    /// The decimal, without trailing zeros (`0.27`, `-0.0215`, `12`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (int, frac) = (abs / ONE as u64, abs % ONE as u64);
        if frac == 0 {
            return write!(f, "{sign}{int}");
        }
        let digits = format!("{frac:09}");
        write!(f, "{sign}{int}.{}", digits.trim_end_matches('0'))
    }
}

/// Why a decimal was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecimalError {
    /// Not `[-+]digits[.digits]`.
    #[error("not a decimal number (write digits with an optional '.' and sign, e.g. 0.2715)")]
    Syntax,
    /// More digits after the point than the value keeps.
    #[error("more than {0} digits after the decimal point")]
    TooPrecise(u32),
    /// Beyond what the value can hold.
    #[error("out of range")]
    Range,
}

/// Parses `[-+]digits[.digits]` (also `1e-3` style exponents, as TOML
/// floats print) into an integer of 10^-`digits`; exact or refused.
pub fn parse_decimal(text: &str, digits: u32) -> Result<i64, DecimalError> {
    let s = text.trim();
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => {
            let e: i32 = s[i + 1..].parse().map_err(|_| DecimalError::Syntax)?;
            (&s[..i], e)
        }
        None => (s, 0),
    };
    let (neg, body) = match mantissa.as_bytes().first() {
        Some(b'-') => (true, &mantissa[1..]),
        Some(b'+') => (false, &mantissa[1..]),
        _ => (false, mantissa),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
        return Err(DecimalError::Syntax);
    }
    // value = int.frac * 10^exp, wanted as an integer of 10^-digits.
    let shift = i64::from(digits) + i64::from(exp) - frac.len() as i64;
    let mut v: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        v = v * 10 + i128::from(b - b'0');
        if v > i128::from(i64::MAX) * 1_000_000_000_000_000_000 {
            return Err(DecimalError::Range);
        }
    }
    if shift >= 0 {
        let p = 10i128
            .checked_pow(shift as u32)
            .ok_or(DecimalError::Range)?;
        v = v.checked_mul(p).ok_or(DecimalError::Range)?;
    } else {
        let p = 10i128.checked_pow((-shift) as u32);
        match p {
            Some(p) if v % p == 0 => v /= p,
            _ if v == 0 => {}
            _ => return Err(DecimalError::TooPrecise(digits)),
        }
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).map_err(|_| DecimalError::Range)
}

/// A quantity as billed: in the price's unit (kWh for electricity, m³,
/// GJ for heat) as an integer of 10^-[`QUANTITY_DIGITS`], or `None` when
/// the unit is not one a price applies to or the value is too fine.
pub fn billed_quantity(q: Quantity) -> Option<i128> {
    // (multiplier, extra digits): value_in_price_unit = value * m / 10^d.
    let (m, d): (i128, u32) = match q.unit {
        Unit::KWh | Unit::M3 | Unit::GJ => (1, 0),
        Unit::Wh | Unit::MJ => (1, 3),
        Unit::MWh => (1000, 0),
        // Gas and water registers without a unit are m³.
        Unit::None => (1, 0),
        _ => return None,
    };
    scaled(q.value, m, d)
}

/// A heat reading in kWh, in GJ as billed (1 kWh = 0.0036 GJ exactly).
pub fn heat_quantity(q: Quantity) -> Option<i128> {
    match q.unit {
        Unit::KWh => scaled(q.value, 36, 4),
        Unit::Wh => scaled(q.value, 36, 7),
        Unit::MWh => scaled(q.value, 36, 1),
        _ => billed_quantity(q),
    }
}

/// `f * m / 10^d` as an integer of 10^-QUANTITY_DIGITS, if exact.
fn scaled(f: Fixed, m: i128, d: u32) -> Option<i128> {
    let digits = u32::from(f.scale) + d;
    let v = i128::from(f.mantissa) * m;
    if digits <= QUANTITY_DIGITS {
        v.checked_mul(10i128.pow(QUANTITY_DIGITS - digits))
    } else {
        // Finer than a nano-unit: no meter writes this; the excess is cut.
        Some(v / 10i128.checked_pow(digits - QUANTITY_DIGITS)?)
    }
}

/// How a spot price becomes what the household pays:
/// `(spot + markup + tax) * (1 + vat)`, rounded half away from zero to a
/// nano of the currency. Fixed prices are taken as written (already all-in).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Formula {
    /// The supplier's mark-up per unit (may be negative: a feed-in fee).
    pub markup: Nanos,
    /// Energy tax per unit.
    pub tax: Nanos,
    /// VAT as a fraction in millionths: 21 % is 210 000.
    pub vat_ppm: i64,
}

impl Formula {
    /// The all-in price of a spot price.
    pub fn all_in(&self, spot: Nanos) -> Nanos {
        let sum = i128::from(spot.0) + i128::from(self.markup.0) + i128::from(self.tax.0);
        let num = sum * (1_000_000 + i128::from(self.vat_ppm));
        let q = num / 1_000_000;
        let r = num % 1_000_000;
        let rounded = if r.abs() * 2 >= 1_000_000 {
            q + num.signum()
        } else {
            q
        };
        Nanos(rounded.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

/// Money in 10^-18 of the currency: a nano-price times a nano-quantity,
/// summed without rounding.
pub type Atto = i128;

/// `price * quantity` exactly, in [`Atto`].
pub fn cost(price: Nanos, quantity: i128) -> Atto {
    i128::from(price.0).saturating_mul(quantity)
}

/// An [`Atto`] sum as a decimal of nanos (for the exposition, which
/// converts it to a double once), cut toward zero.
pub fn atto_to_fixed(a: Atto) -> Fixed {
    let n = a / 1_000_000_000;
    Fixed {
        mantissa: n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
        scale: NANO_DIGITS as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly_or_are_refused() {
        assert_eq!(parse_decimal("0.27", 9), Ok(270_000_000));
        assert_eq!(parse_decimal("-0.0215", 9), Ok(-21_500_000));
        assert_eq!(parse_decimal("12", 9), Ok(12_000_000_000));
        assert_eq!(parse_decimal("1.5e-2", 9), Ok(15_000_000));
        assert_eq!(parse_decimal("93.07", 2), Ok(9307));
        assert_eq!(
            parse_decimal("0.0000000001", 9),
            Err(DecimalError::TooPrecise(9))
        );
        assert_eq!(parse_decimal("0.10", 1), Ok(1));
        for bad in ["", "-", ".", "1.2.3", "1,5", "abc", "1e", "0x10", " - 1"] {
            assert_eq!(parse_decimal(bad, 9), Err(DecimalError::Syntax), "{bad:?}");
        }
        assert_eq!(parse_decimal("99999999999", 9), Err(DecimalError::Range));
        assert_eq!(parse_decimal("1e400", 9), Err(DecimalError::Range));
    }

    #[test]
    fn an_all_in_price_is_spot_plus_markup_plus_tax_plus_vat_rounded_once() {
        let f = Formula {
            markup: Nanos(20_000_000),
            tax: Nanos(101_540_000),
            vat_ppm: 210_000,
        };
        // (0.09307 + 0.02 + 0.10154) * 1.21 = 0.2596781
        assert_eq!(f.all_in(Nanos(93_070_000)), Nanos(259_678_100));
        // Negative spot prices stay negative before tax.
        let bare = Formula::default();
        assert_eq!(bare.all_in(Nanos(-5_000_000)), Nanos(-5_000_000));
        let vat = Formula {
            vat_ppm: 90_000,
            ..Formula::default()
        };
        // 0.000000005 * 1.09 = 0.00000000545 -> 0.000000005
        assert_eq!(vat.all_in(Nanos(5)), Nanos(5));
        assert_eq!(vat.all_in(Nanos(-50)), Nanos(-55));
    }

    #[test]
    fn quantities_are_billed_in_the_price_unit() {
        let q = |m, s, unit| Quantity {
            value: Fixed {
                mantissa: m,
                scale: s,
            },
            unit,
        };
        assert_eq!(billed_quantity(q(1_500, 3, Unit::KWh)), Some(1_500_000_000));
        assert_eq!(billed_quantity(q(1_500, 0, Unit::Wh)), Some(1_500_000_000));
        assert_eq!(billed_quantity(q(12, 3, Unit::M3)), Some(12_000_000));
        assert_eq!(heat_quantity(q(1_000, 0, Unit::KWh)), Some(3_600_000_000));
        assert_eq!(billed_quantity(q(1, 0, Unit::V)), None);
        assert_eq!(
            cost(Nanos(270_000_000), 1_500_000_000),
            405_000_000_000_000_000
        );
        assert_eq!(
            atto_to_fixed(405_000_000_000_000_000).to_string(),
            "0.405000000"
        );
        assert_eq!(Nanos(-21_500_000).to_string(), "-0.0215");
    }
}
