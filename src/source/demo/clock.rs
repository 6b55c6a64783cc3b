//! Wall-clock time in the Netherlands, where the demo meter hangs: the
//! engine's CET zone and EU summer-time rule decide the offset, so the demo
//! writes times the decoder reads back to the same instant.

use crate::state::local_day;
use dsmr_engine::time::{civil_from_days, days_from_civil};
use dsmr_engine::Zone;

/// The demo meter's zone.
const NL: Zone = Zone::CET;

/// Wall-clock time in the Netherlands (CET with EU summer time).
#[derive(Debug, Clone, Copy)]
pub(super) struct LocalTime {
    pub(super) unix: i64,
    year: i64,
    month: u32,
    day: u32,
    pub(super) hour: u32,
    minute: u32,
    second: u32,
    /// 0 = Monday … 6 = Sunday.
    weekday: u32,
    /// 1 = 1 January.
    pub(super) day_of_year: u32,
    pub(super) summer: bool,
}

impl LocalTime {
    /// The Dutch wall-clock time at a Unix time.
    pub(super) fn from_unix(unix: i64) -> LocalTime {
        let summer = NL.offset_at(unix) != NL.std_offset;
        let (days, secs) = local_day(NL, unix);
        let (year, month, day) = civil_from_days(days);
        LocalTime {
            unix,
            year,
            month,
            day,
            hour: (secs / 3_600) as u32,
            minute: (secs / 60 % 60) as u32,
            second: (secs % 60) as u32,
            // 1970-01-01 was a Thursday.
            weekday: (days + 3).rem_euclid(7) as u32,
            day_of_year: (days - days_from_civil(year, 1, 1) + 1) as u32,
            summer,
        }
    }

    /// The hour of the day with its fraction, for the load curves.
    pub(super) fn hour_f64(&self) -> f64 {
        self.hour as f64 + self.minute as f64 / 60.0 + self.second as f64 / 3600.0
    }

    /// The month as a count (`year × 12 + month − 1`), for the Belgian
    /// demo's monthly peaks.
    pub(super) fn month_key(&self) -> i64 {
        self.year * 12 + i64::from(self.month) - 1
    }

    /// The Unix time of local midnight starting the 1st of month `key`
    /// (as [`LocalTime::month_key`] counts).
    pub(super) fn month_start(key: i64) -> i64 {
        let local = days_from_civil(key.div_euclid(12), key.rem_euclid(12) + 1, 1) * 86_400;
        // Midnight is never inside the EU switch (01:00 UTC), so one of
        // the zone's two offsets is the one in force.
        let summer = NL.std_offset as i64 + 3_600;
        let winter = local - NL.std_offset as i64;
        if NL.offset_at(winter) == NL.std_offset {
            winter
        } else {
            local - summer
        }
    }

    /// Saturday or Sunday: a later morning and the low tariff all day.
    pub(super) fn is_weekend(&self) -> bool {
        self.weekday >= 5
    }

    /// The DSMR timestamp `YYMMDDhhmmssX`, X = `S` in summer time, else `W`.
    pub(super) fn tst(&self) -> String {
        format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}{}",
            self.year.rem_euclid(100),
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            if self.summer { 'S' } else { 'W' }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsmr_engine::Timestamp;

    #[test]
    fn local_time_follows_eu_summer_time() {
        // 2026-03-29 00:59:59 UTC is still winter time, 01:00 is summer time.
        let before = LocalTime::from_unix(1_774_745_999);
        assert_eq!((before.hour, before.summer), (1, false));
        let after = LocalTime::from_unix(1_774_746_000);
        assert_eq!((after.hour, after.summer), (3, true));
        assert_eq!(after.tst(), "260329030000S");
        // 2026-10-25 01:00 UTC: back to 02:00 winter time.
        let autumn = LocalTime::from_unix(1_792_890_000);
        assert_eq!(autumn.tst(), "261025020000W");
        // 2026-06-17 is a Wednesday, day 168 of the year.
        let june = LocalTime::from_unix(1_781_654_400);
        assert_eq!((june.weekday, june.day_of_year, june.hour), (2, 168, 2));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        // Month starts: 1 June and 1 July 2026 (CEST), 1 December 2026 (CET).
        let month = LocalTime::from_unix(1_781_654_400).month_key();
        assert_eq!(
            LocalTime::from_unix(LocalTime::month_start(month)).tst(),
            "260601000000S"
        );
        assert_eq!(LocalTime::month_start(month + 1), 1_782_856_800);
        assert_eq!(
            LocalTime::from_unix(LocalTime::month_start(month + 6)).tst(),
            "261201000000W"
        );
        // What the demo writes, the engine reads back to the same instant.
        for unix in [1_774_745_999, 1_774_746_000, 1_792_890_000, 1_781_654_400] {
            let tst = LocalTime::from_unix(unix).tst();
            let read = Timestamp::parse(tst.as_bytes()).expect("a DSMR timestamp");
            assert_eq!(read.to_unix(&NL), unix, "{tst}");
        }
    }
}
