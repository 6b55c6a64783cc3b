//! Exact decimals and units.
//!
//! A meter publishes decimals with a fixed number of digits. They are held as
//! an integer of the smallest published digit plus a scale, and converted to
//! Prometheus base units by integer multiplication, so `000687.138*kWh` is
//! exactly 2 473 696 800 J. No parsed float is ever multiplied.

use core::fmt;

/// A decimal `mantissa / 10^scale`, exactly as the meter wrote it.
///
/// Aligned to 4 bytes, not 8: 12 bytes instead of 16, so that a
/// [`Quantity`] (this and its unit) takes 16 bytes instead of 24. A decoded
/// telegram holds some 70 of them (1 816 bytes instead of 2 392) and an
/// exporter keeps one telegram per meter: 10 000 meters hold 5.5 MiB less,
/// and each telegram recorded swaps a quarter fewer bytes. Fields are read
/// by copy (`f.mantissa`), never by reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(C, packed(4))]
pub struct Fixed {
    /// The digits without the decimal point (`000687.138` is 687138).
    pub mantissa: i64,
    /// How many digits stood after the decimal point.
    pub scale: u8,
}

const POW10: [i64; 19] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
];

impl Fixed {
    /// Builds a value from its digits and scale.
    pub const fn new(mantissa: i64, scale: u8) -> Fixed {
        Fixed { mantissa, scale }
    }

    /// Parses `[+-]digits[.digits]`; at most 18 digits, so it always fits.
    pub fn parse(s: &[u8]) -> Option<Fixed> {
        match Fixed::parse_prefix(s) {
            Some((f, n)) if n == s.len() => Some(f),
            _ => None,
        }
    }

    /// Parses a number at the start of `s`; returns it and how many bytes it
    /// took, so a caller can read `value*unit` in one pass.
    #[inline]
    pub fn parse_prefix(s: &[u8]) -> Option<(Fixed, usize)> {
        let (neg, start) = match s.first() {
            Some(b'-') => (true, 1),
            Some(b'+') => (false, 1),
            _ => (false, 0),
        };
        let mut mantissa: i64 = 0;
        let mut scale: u8 = 0;
        let mut point: Option<usize> = None;
        let mut n_digits = 0u32;
        let mut i = start;
        while let Some(&c) = s.get(i) {
            if c.is_ascii_digit() {
                n_digits += 1;
                if n_digits > 18 {
                    return None;
                }
                mantissa = mantissa * 10 + (c - b'0') as i64;
            } else if c == b'.' && point.is_none() {
                point = Some(i);
            } else {
                break;
            }
            i += 1;
        }
        if n_digits == 0 {
            return None;
        }
        if let Some(p) = point {
            scale = (i - p - 1) as u8;
        }
        Some((
            Fixed {
                mantissa: if neg { -mantissa } else { mantissa },
                scale,
            },
            i,
        ))
    }

    /// True when the value is zero, whatever its scale.
    pub fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// Multiplies by an integer factor exactly, then drops trailing zero
    /// decimals; `None` on overflow (not reachable with 18-digit inputs and
    /// the factors of [`Unit`]).
    pub fn times(self, factor: i64) -> Option<Fixed> {
        let mut m = self.mantissa.checked_mul(factor)?;
        let mut s = self.scale;
        while s > 0 && m % 10 == 0 {
            m /= 10;
            s -= 1;
        }
        Some(Fixed {
            mantissa: m,
            scale: s,
        })
    }

    /// The value as an integer if it has no fractional part.
    pub fn as_integer(self) -> Option<i64> {
        let p = *POW10.get(self.scale as usize)?;
        (self.mantissa % p == 0).then_some(self.mantissa / p)
    }

    /// The nearest `f64`: one correctly rounded division of two exactly
    /// representable numbers, the same double that parsing the decimal text
    /// would give (for mantissas below 2^53).
    pub fn to_f64(self) -> f64 {
        let p = POW10[(self.scale as usize).min(18)] as f64;
        self.mantissa as f64 / p
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            let mantissa = self.mantissa;
            return write!(f, "{mantissa}");
        }
        let p = POW10[(self.scale as usize).min(18)];
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let a = self.mantissa.unsigned_abs();
        let p = p as u64;
        write!(
            f,
            "{sign}{}.{:0width$}",
            a / p,
            a % p,
            width = self.scale as usize
        )
    }
}

/// The units meters write after `*`, matched without regard to case
/// (`kWh`, `kwh`, `kVArh`, `kvarh` are all seen).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unit {
    /// No `*unit` at all: counts, power factors, and registers the decoder
    /// gives their default unit instead.
    None,
    /// Watt-hours: Austrian and German meters count energy in Wh.
    Wh,
    /// Kilowatt-hours: the energy registers `1-0:1.8.x` / `2.8.x`.
    KWh,
    /// Megawatt-hours, for heat meters that count in them.
    MWh,
    /// Megajoules, for heat meters that count in them.
    MJ,
    /// Gigajoules: district heating on M-Bus.
    GJ,
    /// Watts: Austrian and German meters; NL/BE/LU write kW.
    W,
    /// Kilowatts: the power registers `1-0:1.7.0`, `21.7.0`, …
    KW,
    /// Volt-ampere reactive.
    Var,
    /// Kilovar: reactive power (BE, LU, e-MUCS).
    KVar,
    /// Var-hours.
    Varh,
    /// Kilovar-hours: reactive energy registers `1-0:3.8.x` / `4.8.x`.
    KVarh,
    /// Volt-amperes.
    VA,
    /// Kilovolt-amperes: apparent power, and the Luxembourg threshold.
    KVA,
    /// Volts: phase voltages `1-0:32.7.0`, …
    V,
    /// Amperes: phase currents, fuse limits, the DSMR 3 threshold.
    A,
    /// Cubic metres: gas and water on M-Bus.
    M3,
    /// Hertz: grid frequency `1-0:14.7.0`.
    Hz,
    /// Seconds: durations in the power failure log `1-0:99.97.0`.
    Seconds,
    /// A unit this engine does not know; the value is still decoded.
    Other,
}

/// What a unit measures, so a value in the wrong dimension is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// Base unit J (Prometheus' unit for energy, not kWh).
    Energy,
    /// Base unit W.
    Power,
    /// Base unit var; kept apart from W so reactive power is never summed
    /// with active power.
    ReactivePower,
    /// Base unit varh: no joule equivalent, so it stays in var-hours.
    ReactiveEnergy,
    /// Base unit VA.
    ApparentPower,
    /// Base unit V.
    Voltage,
    /// Base unit A.
    Current,
    /// Base unit m³.
    Volume,
    /// Base unit Hz.
    Frequency,
    /// Base unit s.
    Time,
    /// No unit: counts and power factors.
    Dimensionless,
}

impl Unit {
    /// Reads a unit, ignoring case and surrounding spaces.
    pub fn parse(s: &[u8]) -> Unit {
        // The spellings of the specification first, without case folding.
        match s {
            b"kWh" => return Unit::KWh,
            b"kW" => return Unit::KW,
            b"V" => return Unit::V,
            b"A" => return Unit::A,
            b"m3" => return Unit::M3,
            b"s" => return Unit::Seconds,
            b"" => return Unit::None,
            _ => {}
        }
        let s = trim(s);
        let mut buf = [0u8; 8];
        if s.len() > buf.len() {
            return Unit::Other;
        }
        for (d, c) in buf.iter_mut().zip(s) {
            *d = c.to_ascii_lowercase();
        }
        match &buf[..s.len()] {
            b"" => Unit::None,
            b"wh" => Unit::Wh,
            b"kwh" => Unit::KWh,
            b"mwh" => Unit::MWh,
            b"mj" => Unit::MJ,
            b"gj" => Unit::GJ,
            b"w" => Unit::W,
            b"kw" => Unit::KW,
            b"var" => Unit::Var,
            b"kvar" => Unit::KVar,
            b"varh" => Unit::Varh,
            b"kvarh" => Unit::KVarh,
            b"va" => Unit::VA,
            b"kva" => Unit::KVA,
            b"v" => Unit::V,
            b"a" => Unit::A,
            b"m3" => Unit::M3,
            b"hz" => Unit::Hz,
            b"s" => Unit::Seconds,
            _ => Unit::Other,
        }
    }

    /// The dimension and the integer factor to the Prometheus base unit
    /// (J, W, var, varh, VA, V, A, m³, Hz, s).
    pub fn base(self) -> Option<(Dimension, i64)> {
        use Dimension as D;
        Some(match self {
            Unit::Wh => (D::Energy, 3_600),
            Unit::KWh => (D::Energy, 3_600_000),
            Unit::MWh => (D::Energy, 3_600_000_000),
            Unit::MJ => (D::Energy, 1_000_000),
            Unit::GJ => (D::Energy, 1_000_000_000),
            Unit::W => (D::Power, 1),
            Unit::KW => (D::Power, 1_000),
            Unit::Var => (D::ReactivePower, 1),
            Unit::KVar => (D::ReactivePower, 1_000),
            Unit::Varh => (D::ReactiveEnergy, 1),
            Unit::KVarh => (D::ReactiveEnergy, 1_000),
            Unit::VA => (D::ApparentPower, 1),
            Unit::KVA => (D::ApparentPower, 1_000),
            Unit::V => (D::Voltage, 1),
            Unit::A => (D::Current, 1),
            Unit::M3 => (D::Volume, 1),
            Unit::Hz => (D::Frequency, 1),
            Unit::Seconds => (D::Time, 1),
            Unit::None => (D::Dimensionless, 1),
            Unit::Other => return None,
        })
    }

    /// The unit as it is usually written.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::None => "",
            Unit::Wh => "Wh",
            Unit::KWh => "kWh",
            Unit::MWh => "MWh",
            Unit::MJ => "MJ",
            Unit::GJ => "GJ",
            Unit::W => "W",
            Unit::KW => "kW",
            Unit::Var => "var",
            Unit::KVar => "kvar",
            Unit::Varh => "varh",
            Unit::KVarh => "kvarh",
            Unit::VA => "VA",
            Unit::KVA => "kVA",
            Unit::V => "V",
            Unit::A => "A",
            Unit::M3 => "m3",
            Unit::Hz => "Hz",
            Unit::Seconds => "s",
            Unit::Other => "?",
        }
    }
}

/// A decimal with the unit the meter gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    /// The decimal exactly as written, digits and scale.
    pub value: Fixed,
    /// The unit written after `*`, or the register's usual unit when the
    /// meter wrote none (older meters often omit it).
    pub unit: Unit,
}

impl Quantity {
    /// The exact value in the Prometheus base unit of its dimension.
    pub fn base(self) -> Option<Fixed> {
        let (_, factor) = self.unit.base()?;
        self.value.times(factor)
    }

    /// The base-unit value as the nearest `f64`, for exposition.
    pub fn base_f64(self) -> Option<f64> {
        self.base().map(Fixed::to_f64)
    }

    /// The dimension of the unit, if known.
    pub fn dimension(self) -> Option<Dimension> {
        self.unit.base().map(|(d, _)| d)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit {
            Unit::None => write!(f, "{}", self.value),
            u => write!(f, "{} {}", self.value, u.as_str()),
        }
    }
}

#[inline]
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    // Nearly every value has no spaces: answer that case at once.
    match (s.first(), s.last()) {
        (Some(b' ' | b'\t'), _) | (_, Some(b' ' | b'\t')) => {}
        _ => return s,
    }
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::prelude::rust_2021::*;

    #[test]
    fn a_quantity_takes_sixteen_bytes() {
        // What `Fixed`'s 4-byte alignment is for (see its doc).
        assert_eq!(core::mem::size_of::<Fixed>(), 12);
        assert_eq!(core::mem::size_of::<Quantity>(), 16);
        assert_eq!(core::mem::size_of::<Option<Quantity>>(), 16);
    }

    #[test]
    fn fixed_parses_exactly_and_converts_without_floats() {
        let f = Fixed::parse(b"000687.138").unwrap();
        assert_eq!(f, Fixed::new(687138, 3));
        let q = Quantity {
            value: f,
            unit: Unit::parse(b"kWh"),
        };
        assert_eq!(q.base(), Some(Fixed::new(2_473_696_800, 0)));
        assert_eq!(q.base_f64(), Some(2_473_696_800.0));
        assert_eq!(Fixed::parse(b"-063"), Some(Fixed::new(-63, 0)));
        assert_eq!(Fixed::parse(b"0.48"), Some(Fixed::new(48, 2)));
        assert_eq!(Fixed::parse(b"1.2.3"), None);
        assert_eq!(Fixed::parse(b""), None);
        assert_eq!(Fixed::parse(b"."), None);
        assert_eq!(Fixed::parse(b"12a"), None);
        assert_eq!(Fixed::parse(b"1234567890123456789"), None);
        assert_eq!(Fixed::new(2301, 1).to_f64(), 230.1);
        assert_eq!(Fixed::new(-63, 0).to_string(), "-63");
        assert_eq!(Fixed::new(687138, 3).to_string(), "687.138");
        assert_eq!(Fixed::new(5, 3).to_string(), "0.005");
    }

    #[test]
    fn every_decimal_converts_to_the_float_of_its_text() {
        // Exhaustive over small mantissas and every scale used by meters:
        // the division gives the same double as parsing the decimal text.
        for scale in 0..=7u8 {
            for m in (0..200_000i64).step_by(7) {
                let f = Fixed::new(m, scale);
                let text = f.to_string();
                assert_eq!(f.to_f64(), text.parse::<f64>().unwrap(), "{text}");
            }
        }
        // kWh with 3 decimals to joules is always an integer.
        let q = Quantity {
            value: Fixed::new(99_999_999_999, 3),
            unit: Unit::KWh,
        };
        assert_eq!(q.base(), Some(Fixed::new(359_999_999_996_400, 0)));
    }

    #[test]
    fn units_ignore_case() {
        assert_eq!(Unit::parse(b"kwh"), Unit::KWh);
        assert_eq!(Unit::parse(b"KWH"), Unit::KWh);
        assert_eq!(Unit::parse(b"kVArh"), Unit::KVarh);
        assert_eq!(Unit::parse(b"v"), Unit::V);
        assert_eq!(Unit::parse(b"kWh "), Unit::KWh);
        assert_eq!(Unit::parse(b"furlong"), Unit::Other);
    }
}
