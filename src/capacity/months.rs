//! Months and the rolling average of monthly peaks, as Fluvius bills it:
//! each month's peak counts at least 2.5 kW, and the average runs over the
//! current month and the 11 before it (fewer while fewer months are known).

use dsmr_engine::telegram::Peak;
use dsmr_engine::Timestamp;
use std::collections::BTreeMap;

/// A month's peak counts at least this much (2.5 kW), in milliwatts.
pub const FLOOR_MW: i64 = 2_500_000;

/// How many months the rolling average covers, the current one included.
pub const WINDOW: i32 = 12;

/// A calendar month of the meter's wall clock: `year × 12 + month − 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub i32);

impl Month {
    /// The month of a year and a month number (1–12).
    pub fn new(year: i32, month: u8) -> Month {
        Month(year * 12 + i32::from(month) - 1)
    }

    /// The month a meter timestamp falls in (its own wall time).
    pub fn of(t: &Timestamp) -> Month {
        Month::new(i32::from(t.year), t.month)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// 1–12.
    pub fn number(self) -> u8 {
        (self.0.rem_euclid(12) + 1) as u8
    }

    /// The month `n` months earlier.
    pub fn back(self, n: i32) -> Month {
        Month(self.0 - n)
    }

    /// `YYYY-MM`, as the state file and the API write it.
    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year(), self.number())
    }

    /// Reads `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (y, m): (i32, u8) = (y.parse().ok()?, m.parse().ok()?);
        (1..=12).contains(&m).then(|| Month::new(y, m))
    }
}

/// The month a `0-0:98.1.0` history entry is the peak of. Its first time
/// is the end of the billing month (the 1st of the next month, 00:00: the
/// peak times of real telegrams lie in the month before it), so the month
/// before that; without one (a placeholder), the month of the peak itself.
pub fn history_month(p: &Peak) -> Option<Month> {
    match (&p.period_start, &p.time) {
        (Some(end), _) => Some(Month::of(end).back(1)),
        (None, Some(at)) => Some(Month::of(at)),
        (None, None) => None,
    }
}

/// The highest quarter-hour average of each month, in milliwatts: what the
/// exporter recorded, or what the meter's history says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthPeaks {
    peaks: BTreeMap<Month, i64>,
}

impl MonthPeaks {
    /// Records `mw` for `month` when it is higher than what is known;
    /// returns true when that changed anything.
    pub fn raise(&mut self, month: Month, mw: i64) -> bool {
        let slot = self.peaks.entry(month).or_insert(i64::MIN);
        if mw > *slot {
            *slot = mw;
            true
        } else {
            false
        }
    }

    /// The peak of `month`, if known.
    pub fn get(&self, month: Month) -> Option<i64> {
        self.peaks.get(&month).copied()
    }

    /// Forgets months that no longer count for a rolling average ending
    /// at `current`, so the set (and the state file) stays small.
    pub fn prune(&mut self, current: Month) {
        let first = current.back(WINDOW - 1);
        self.peaks.retain(|m, _| *m >= first);
    }

    /// Every month and its peak, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = (Month, i64)> + '_ {
        self.peaks.iter().map(|(m, v)| (*m, *v))
    }

    /// The 11 months before `current` as [`Earlier`].
    pub fn earlier(&self, current: Month) -> Earlier {
        std::array::from_fn(|i| self.get(current.back(i as i32 + 1)))
    }
}

/// The peaks of the 11 months before the current one (index 0 is the
/// month before), in milliwatts; `None` where not known. A fixed array, so
/// a telegram's history is read without allocating.
pub type Earlier = [Option<i64>; WINDOW as usize - 1];

/// The meter's `0-0:98.1.0` history as [`Earlier`] for `current`. A
/// placeholder entry (no time, `00.000`) is a month with no demand: it
/// counts as 0, which the floor raises to 2.5 kW. Entries outside the 11
/// months are left out.
pub fn history_earlier(history: &[Peak], current: Month) -> Earlier {
    let mut out: Earlier = [None; WINDOW as usize - 1];
    for p in history {
        let (Some(month), Some(mw)) = (history_month(p), super::tracker::milliwatts(p.value))
        else {
            continue;
        };
        let back = current.0 - month.0;
        if let Some(slot) = usize::try_from(back - 1).ok().and_then(|i| out.get_mut(i)) {
            *slot = Some(slot.map_or(mw, |old| old.max(mw)));
        }
    }
    out
}

/// The rolling average: the current month's peak (`current_mw`, 0 when
/// none yet) and each earlier month that is known, each at least
/// [`FLOOR_MW`], averaged and rounded half up to the milliwatt. Returns
/// the average and how many months it counted.
pub fn rolling_average(current_mw: i64, earlier: &Earlier) -> (i64, u8) {
    let mut sum = i128::from(current_mw.max(FLOOR_MW));
    let mut n: i128 = 1;
    for mw in earlier.iter().flatten() {
        sum += i128::from((*mw).max(FLOOR_MW));
        n += 1;
    }
    let avg = (2 * sum + n) / (2 * n);
    (i64::try_from(avg).unwrap_or(i64::MAX), n as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsmr_engine::time::Dst;
    use dsmr_engine::Quantity;

    fn ts(year: u16, month: u8, day: u8) -> Timestamp {
        Timestamp {
            year,
            month,
            day,
            hour: 0,
            minute: 0,
            second: 0,
            dst: Dst::Winter,
        }
    }

    fn kw(mantissa: i64) -> Quantity {
        Quantity {
            value: dsmr_engine::Fixed::new(mantissa, 3),
            unit: dsmr_engine::Unit::KW,
        }
    }

    #[test]
    fn months_count_and_print() {
        let m = Month::new(2023, 1);
        assert_eq!(m.back(1).label(), "2022-12");
        assert_eq!(Month::parse("2022-12"), Some(m.back(1)));
        assert_eq!(Month::parse("2022-13"), None);
        assert_eq!(Month::parse("22-12"), None);
    }

    #[test]
    fn a_history_entry_is_the_peak_of_the_month_before_its_period() {
        let p = Peak {
            period_start: Some(ts(2023, 11, 1)),
            time: Some(ts(2023, 10, 16)),
            value: kw(4927),
        };
        assert_eq!(history_month(&p), Some(Month::new(2023, 10)));
        let h = history_earlier(&[p], Month::new(2023, 11));
        assert_eq!(h[0], Some(4_927_000));
        assert_eq!(h[1..], [None; 10]);
        // Twelve months back is outside the window; so is the month itself.
        assert_eq!(history_earlier(&[p], Month::new(2024, 10)), [None; 11]);
        assert_eq!(history_earlier(&[p], Month::new(2023, 10)), [None; 11]);
    }

    #[test]
    fn every_month_counts_at_least_the_floor() {
        let now = Month::new(2023, 11);
        let mut h = MonthPeaks::default();
        h.raise(now.back(1), 4_927_000);
        h.raise(now.back(2), 4_229_000);
        h.raise(now.back(3), 1_862_000);
        h.raise(now.back(4), 0);
        // 3.064 + 4.927 + 4.229 + 2.5 + 2.5 = 17.22 kW over five months.
        assert_eq!(rolling_average(3_064_000, &h.earlier(now)), (3_444_000, 5));
        // A month 12 back no longer counts.
        h.raise(now.back(12), 9_000_000);
        assert_eq!(rolling_average(3_064_000, &h.earlier(now)), (3_444_000, 5));
        // Only the current month, below the floor: 2.5 kW.
        assert_eq!(rolling_average(0, &[None; 11]), (2_500_000, 1));
        // Rounded half up to the milliwatt: (2.5 + 2.5 + 2.501) / 3.
        let mut h = MonthPeaks::default();
        h.raise(now.back(1), 2_500_000);
        h.raise(now.back(2), 2_501_000);
        assert_eq!(rolling_average(0, &h.earlier(now)), (2_500_333, 3));
        h.prune(now);
        assert_eq!(h.iter().count(), 2);
        h.raise(now.back(11), 1);
        h.raise(now.back(12), 1);
        h.prune(now);
        assert_eq!(h.iter().count(), 3);
    }
}
