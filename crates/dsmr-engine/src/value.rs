//! Exact decimals, units and meter timestamps.
//!
//! A meter publishes decimals with a fixed number of digits. They are held as
//! an integer of the smallest published digit plus a scale, and converted to
//! Prometheus base units by integer multiplication, so `000687.138*kWh` is
//! exactly 2 473 696 800 J. No parsed float is ever multiplied.

use core::fmt;

/// A decimal `mantissa / 10^scale`, exactly as the meter wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
            return write!(f, "{}", self.mantissa);
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
    /// No `*unit` at all.
    None,
    Wh,
    KWh,
    MWh,
    MJ,
    GJ,
    W,
    KW,
    Var,
    KVar,
    Varh,
    KVarh,
    VA,
    KVA,
    V,
    A,
    M3,
    Hz,
    Seconds,
    /// A unit this engine does not know; the value is still decoded.
    Other,
}

/// What a unit measures, so a value in the wrong dimension is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    Energy,
    Power,
    ReactivePower,
    ReactiveEnergy,
    ApparentPower,
    Voltage,
    Current,
    Volume,
    Frequency,
    Time,
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
    pub value: Fixed,
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

/// The daylight-saving flag after a meter timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dst {
    /// `W`: normal (winter) time.
    Winter,
    /// `S` (or `s`): summer time.
    Summer,
    /// No flag (DSMR 2.2/3.0, Iskra IE.5): the zone's rules decide.
    Unknown,
}

/// A meter's wall-clock time `YYMMDDhhmmss[X]`, as written. Dates are
/// checked (the placeholders `632525252525W` and `000000000000S` are not
/// dates), but a clock that is merely wrong (2000-01-01) decodes as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub dst: Dst,
}

impl Timestamp {
    /// Parses 12 digits and an optional `W`/`S` flag. `None` for anything
    /// that is not a real date and time.
    pub fn parse(s: &[u8]) -> Option<Timestamp> {
        let s = trim(s);
        let (digits, dst) = match s.len() {
            12 => (s, Dst::Unknown),
            13 => (
                &s[..12],
                match s[12] {
                    b'W' | b'w' => Dst::Winter,
                    b'S' | b's' => Dst::Summer,
                    _ => return None,
                },
            ),
            _ => return None,
        };
        let mut n = [0u8; 6];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            if !a.is_ascii_digit() || !b.is_ascii_digit() {
                return None;
            }
            n[i] = (a - b'0') * 10 + (b - b'0');
        }
        // Two-digit years are 20YY; 70-99 only occur in placeholders such as
        // the Unix epoch `700101010000W`, so they are read as 19YY.
        let century = if n[0] >= 70 { 1900 } else { 2000 };
        let t = Timestamp {
            year: century + n[0] as u16,
            month: n[1],
            day: n[2],
            hour: n[3],
            minute: n[4],
            second: n[5],
            dst,
        };
        let valid = (1..=12).contains(&t.month)
            && t.day >= 1
            && t.day <= days_in_month(t.year, t.month)
            && t.hour < 24
            && t.minute < 60
            && t.second < 60;
        valid.then_some(t)
    }

    /// Seconds since the Unix epoch of this wall time read in `zone`:
    /// `W` is the zone's standard offset, `S` one hour more, and a time
    /// without a flag follows the zone's daylight-saving rules.
    pub fn to_unix(&self, zone: &Zone) -> i64 {
        let local = days_from_civil(self.year as i64, self.month as i64, self.day as i64) * 86_400
            + self.hour as i64 * 3_600
            + self.minute as i64 * 60
            + self.second as i64;
        let std = zone.std_offset as i64;
        match self.dst {
            Dst::Winter => local - std,
            Dst::Summer => local - std - 3_600,
            Dst::Unknown => zone.resolve(local),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            match self.dst {
                Dst::Winter => " W",
                Dst::Summer => " S",
                Dst::Unknown => "",
            }
        )
    }
}

fn is_leap(y: u16) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The time zone in which meters without a DST flag write their clock.
///
/// Every P1 country follows the EU rule: summer time from the last Sunday of
/// March 01:00 UTC to the last Sunday of October 01:00 UTC. In the autumn
/// hour that occurs twice, a flagless time is read as the first occurrence
/// (summer time); a time in the skipped spring hour is read as standard time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone {
    /// Standard (winter) offset from UTC in seconds.
    pub std_offset: i32,
    /// Whether the EU summer-time rule applies.
    pub eu_dst: bool,
}

impl Default for Zone {
    /// Europe/Amsterdam: what DSMR specifies.
    fn default() -> Self {
        Zone::CET
    }
}

impl Zone {
    /// Central European Time with EU summer time (NL, BE, LU, AT, HU, SE, …).
    pub const CET: Zone = Zone {
        std_offset: 3_600,
        eu_dst: true,
    };
    /// Coordinated Universal Time.
    pub const UTC: Zone = Zone {
        std_offset: 0,
        eu_dst: false,
    };

    /// Reads `Europe/<city>` (the zones of EU-rule countries), `UTC`, or a
    /// fixed offset `+01:00`.
    pub fn parse(s: &str) -> Option<Zone> {
        let eu = |h: i32| Zone {
            std_offset: h * 3_600,
            eu_dst: true,
        };
        match s {
            "UTC" | "Etc/UTC" | "Z" => return Some(Zone::UTC),
            "Europe/London" | "Europe/Dublin" | "Europe/Lisbon" | "WET" => return Some(eu(0)),
            "Europe/Helsinki" | "Europe/Athens" | "Europe/Riga" | "Europe/Tallinn"
            | "Europe/Vilnius" | "Europe/Sofia" | "Europe/Bucharest" | "EET" => return Some(eu(2)),
            "CET" => return Some(Zone::CET),
            _ => {}
        }
        if let Some(city) = s.strip_prefix("Europe/") {
            const CET_CITIES: &[&str] = &[
                "Amsterdam",
                "Brussels",
                "Luxembourg",
                "Vienna",
                "Budapest",
                "Stockholm",
                "Berlin",
                "Paris",
                "Copenhagen",
                "Oslo",
                "Prague",
                "Warsaw",
                "Madrid",
                "Rome",
                "Zurich",
                "Bratislava",
                "Ljubljana",
                "Zagreb",
                "Belgrade",
                "Monaco",
                "Malta",
            ];
            return CET_CITIES.contains(&city).then_some(Zone::CET);
        }
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return None,
        };
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        let h: i32 = h.parse().ok()?;
        let m: i32 = m.parse().ok()?;
        if !(0..=14).contains(&h) || !(0..60).contains(&m) {
            return None;
        }
        Some(Zone {
            std_offset: sign * (h * 3_600 + m * 60),
            eu_dst: false,
        })
    }

    /// The offset from UTC in seconds in force at a Unix time (standard
    /// offset, plus one hour in EU summer time when the zone follows it).
    pub fn offset_at(&self, unix: i64) -> i32 {
        if self.eu_dst && eu_summer_time(unix) {
            self.std_offset + 3_600
        } else {
            self.std_offset
        }
    }

    /// Unix seconds of a local wall time (given as seconds since the local epoch).
    fn resolve(&self, local: i64) -> i64 {
        let std = self.std_offset as i64;
        let as_std = local - std;
        if !self.eu_dst {
            return as_std;
        }
        let as_dst = local - std - 3_600;
        if eu_summer_time(as_dst) {
            as_dst // summer time, or the first of the two autumn hours
        } else {
            as_std // winter time, or the skipped spring hour
        }
    }
}

/// Whether EU summer time is in force at this Unix time.
fn eu_summer_time(unix: i64) -> bool {
    let days = unix.div_euclid(86_400);
    let year = civil_year(days);
    let start = last_sunday(year, 3) * 86_400 + 3_600;
    let end = last_sunday(year, 10) * 86_400 + 3_600;
    unix >= start && unix < end
}

fn civil_year(days: i64) -> i64 {
    // Good enough around the present: start from an estimate and correct.
    let mut y = 1970 + days.div_euclid(365);
    while days_from_civil(y, 1, 1) > days {
        y -= 1;
    }
    while days_from_civil(y + 1, 1, 1) <= days {
        y += 1;
    }
    y
}

/// Day number (since 1970-01-01) of the last Sunday of a month with 31 days.
fn last_sunday(year: i64, month: i64) -> i64 {
    let last = days_from_civil(year, month, 31);
    // 1970-01-01 was a Thursday: weekday 0 = Sunday is (days + 4) % 7.
    let weekday = (last + 4).rem_euclid(7);
    last - weekday
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::prelude::rust_2021::*;

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

    #[test]
    fn timestamps_with_flags() {
        let w = Timestamp::parse(b"101209113020W").unwrap();
        assert_eq!(w.to_unix(&Zone::CET), 1_291_890_620);
        let s = Timestamp::parse(b"170102192002S").unwrap();
        // 2017-01-02 19:20:02 at UTC+2 (the flag wins even if implausible)
        assert_eq!(s.to_unix(&Zone::CET), 1_483_377_602);
        assert!(Timestamp::parse(b"632525252525W").is_none());
        assert!(Timestamp::parse(b"000000000000S").is_none());
        assert!(Timestamp::parse(b"220201000000T").is_none());
        assert!(Timestamp::parse(b"230229000000W").is_none()); // not a leap year
        assert!(Timestamp::parse(b"240229000000W").is_some());
        let unset = Timestamp::parse(b"000101000000W").unwrap();
        assert_eq!(unset.to_unix(&Zone::CET), 946_681_200);
        assert_eq!(
            Timestamp::parse(b"700101010000W")
                .unwrap()
                .to_unix(&Zone::CET),
            0
        );
    }

    #[test]
    fn flagless_times_follow_the_eu_rule() {
        let z = Zone::CET;
        let t = |s: &[u8]| Timestamp::parse(s).unwrap().to_unix(&z);
        // Winter: UTC+1.
        assert_eq!(t(b"230115120000"), 1_673_780_400);
        // Summer: UTC+2 (2023-04-04 21:31:04 CEST = 19:31:04 UTC).
        assert_eq!(t(b"230404213104"), 1_680_636_664);
        // Spring gap 2023-03-26 02:30 does not exist: read as standard time.
        assert_eq!(t(b"230326023000"), 1_679_794_200);
        // Autumn 2023-10-29 02:30 happens twice: the first (summer) one.
        assert_eq!(t(b"231029023000"), 1_698_539_400);
        // 03:00 after the change is winter time again.
        assert_eq!(t(b"231029030000"), 1_698_544_800);
        assert_eq!(Zone::parse("Europe/Amsterdam"), Some(Zone::CET));
        assert_eq!(Zone::parse("UTC"), Some(Zone::UTC));
        assert_eq!(
            Zone::parse("+05:30").map(|z| z.std_offset),
            Some(5 * 3600 + 1800)
        );
        assert_eq!(Zone::parse("Mars/Olympus"), None);
        // Summer time starts 2023-03-26 01:00 UTC and ends 2023-10-29 01:00 UTC.
        assert_eq!(z.offset_at(1_679_792_399), 3_600);
        assert_eq!(z.offset_at(1_679_792_400), 7_200);
        assert_eq!(z.offset_at(1_698_541_199), 7_200);
        assert_eq!(z.offset_at(1_698_541_200), 3_600);
        assert_eq!(Zone::UTC.offset_at(1_690_000_000), 0);
    }
}
