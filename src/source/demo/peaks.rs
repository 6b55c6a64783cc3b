//! The Belgian demo meter's demand registers: the running quarter-hour's
//! demand (`1-0:1.4.0`), this month's peak (`1-0:1.6.0`) and the peaks of
//! the 13 months before (`0-0:98.1.0`), kept as a Fluvius e-MUCS meter
//! keeps them: the demand is the quarter's import energy so far spread
//! over the whole quarter, so it climbs from 0 and drops back each quarter.

use super::clock::LocalTime;
use crate::source::random::SplitMix64;

/// A quarter-hour, in seconds.
const QUARTER_S: i64 = 900;

/// How many past months the meter lists.
pub(super) const HISTORY: usize = 13;

/// One month's peak: when its quarter ended (Unix) and its average in W.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MonthPeak {
    pub(super) at: i64,
    pub(super) watts: u64,
}

/// The demand registers.
#[derive(Debug, Clone)]
pub(super) struct Demand {
    /// The running quarter (Unix start) and the import energy in it (mJ).
    quarter: i64,
    quarter_mj: u64,
    /// The running month ([`LocalTime::month_key`]) and its peak so far.
    month: i64,
    pub(super) peak: Option<MonthPeak>,
    /// The months before, newest first: (month key, its peak if any).
    pub(super) history: Vec<(i64, Option<MonthPeak>)>,
}

impl Demand {
    /// Registers as if the meter had run for over a year: plausible peaks
    /// for the 13 months before `start` (higher in winter) and one earlier
    /// in the current month.
    pub(super) fn new(start: &LocalTime, rng: &mut SplitMix64) -> Demand {
        let month = start.month_key();
        let peak_in = |key: i64, until: i64, rng: &mut SplitMix64| {
            let from = LocalTime::month_start(key);
            let span = (until - from).max(1) as u64;
            let at = from + (rng.next_u64() % span) as i64;
            let winter = matches!(key.rem_euclid(12), 0 | 1 | 10 | 11);
            let base = if winter { 3_200 } else { 2_000 };
            MonthPeak {
                at: at - at.rem_euclid(QUARTER_S) + QUARTER_S,
                watts: base + rng.next_u64() % 2_800,
            }
        };
        let history = (1..=HISTORY as i64)
            .map(|back| {
                let key = month - back;
                (
                    key,
                    Some(peak_in(
                        key,
                        LocalTime::month_start(key + 1) - QUARTER_S,
                        rng,
                    )),
                )
            })
            .collect();
        let month_start = LocalTime::month_start(month);
        let peak = (start.unix - month_start > 2 * QUARTER_S).then(|| {
            let mut p = peak_in(month, start.unix - QUARTER_S, rng);
            p.watts = p.watts.min(3_900);
            p
        });
        // The quarter so far as if a base load of 450 W had run since its
        // start, so the first demand is not a quarter begun at zero.
        let elapsed = start.unix.rem_euclid(QUARTER_S) as u64;
        Demand {
            quarter: start.unix - start.unix.rem_euclid(QUARTER_S),
            quarter_mj: elapsed * 450_000,
            month,
            peak,
            history,
        }
    }

    /// Counts `import_mj` imported in the step ending at `t`: a new quarter
    /// first closes the last one (a new peak when it was the highest), a
    /// new month first moves its peak into the history.
    pub(super) fn add(&mut self, t: &LocalTime, import_mj: u64) {
        let quarter = t.unix - t.unix.rem_euclid(QUARTER_S);
        if quarter > self.quarter {
            let watts = self.quarter_mj / (QUARTER_S as u64 * 1000);
            let end = self.quarter + QUARTER_S;
            let month_of_end = LocalTime::from_unix(end - 1).month_key();
            self.roll_month(month_of_end);
            if self.peak.is_none_or(|p| watts > p.watts) {
                self.peak = Some(MonthPeak { at: end, watts });
            }
            self.quarter = quarter;
            self.quarter_mj = 0;
        }
        self.roll_month(t.month_key());
        self.quarter_mj += import_mj;
    }

    /// Moves to month `key`, filing the peaks of the months left.
    fn roll_month(&mut self, key: i64) {
        while self.month < key {
            self.history.insert(0, (self.month, self.peak.take()));
            self.history.truncate(HISTORY);
            self.month += 1;
        }
    }

    /// The running quarter's demand in W: its energy so far over 900 s.
    pub(super) fn demand_watts(&self) -> u64 {
        self.quarter_mj / (QUARTER_S as u64 * 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_make_peaks_and_months_make_history() {
        // 2026-06-17 02:00 CEST.
        let start = LocalTime::from_unix(1_781_654_400);
        let mut d = Demand::new(&start, &mut SplitMix64::new(7));
        assert_eq!(d.history.len(), HISTORY);
        assert_eq!(d.history[0].0, start.month_key() - 1);
        let before = d.peak.expect("a peak earlier in June");
        assert!(before.watts <= 3_900 && before.at < start.unix);
        // The start (02:00:00) is a quarter's first second: nothing yet.
        assert_eq!(d.demand_watts(), 0);
        // 6 kW for 900 one-second steps: the step at :15:00 is the next
        // quarter's, so the first closes with 899 s of it.
        for s in 1..=900 {
            d.add(&LocalTime::from_unix(start.unix + s), 6_000_000);
        }
        let peak = MonthPeak {
            at: start.unix + 900,
            watts: 5_993,
        };
        assert_eq!(d.peak, Some(peak));
        assert_eq!(d.demand_watts(), 6);
        // Into July: June's peak is filed, July has none yet.
        let july = LocalTime::month_start(start.month_key() + 1);
        d.add(&LocalTime::from_unix(july + 1), 1_000);
        assert_eq!(d.history[0], (start.month_key(), Some(peak)));
        assert_eq!(d.history.len(), HISTORY);
        assert_eq!(d.peak, None);
    }
}
