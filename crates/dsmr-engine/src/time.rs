//! Meter timestamps and the time zones that read them: `YYMMDDhhmmss[X]`
//! with its daylight-saving flag, the EU summer-time rule for meters that
//! send none, and the civil-calendar arithmetic behind Unix times.

use crate::value::trim;
use core::fmt;

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
    /// Four digits: `YY` is read as 20YY, or 19YY for 70–99, which only
    /// placeholders such as the Unix epoch use.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1 to the month's length (leap years checked).
    pub day: u8,
    /// 0–23, local wall time of the meter.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–59: meters never write a leap second.
    pub second: u8,
    /// The flag that says which offset the wall time is in, if any.
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

/// (year, month, day) of a day number since 1970-01-01: the inverse of
/// [`days_from_civil`] (H. Hinnant's algorithm), so the summer-time rule and
/// anything that writes a meter's clock (the exporter's demo meter) share one
/// calendar.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    let (year, _, _) = civil_from_days(days);
    let start = last_sunday(year, 3) * 86_400 + 3_600;
    let end = last_sunday(year, 10) * 86_400 + 3_600;
    unix >= start && unix < end
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

    #[test]
    fn civil_from_days_inverts_days_from_civil() {
        // Every day from 1600 to 2400, leap days and century rules included.
        let (first, last) = (days_from_civil(1600, 1, 1), days_from_civil(2400, 12, 31));
        for days in first..=last {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
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
