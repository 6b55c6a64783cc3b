//! The running quarter-hour: where it started, the import register then,
//! and the average it is heading for.
//!
//! The grid operator bills quarter-hours that start on the quarter of the
//! wall clock (:00, :15, :30, :45). The energy counted so far in the
//! quarter is the import register now minus the register at the quarter's
//! start, when the exporter saw a telegram within [`START_SLACK`] seconds
//! of it; otherwise the meter's own `1-0:1.4.0`, which is the energy so far
//! spread over the whole quarter (it climbs from 0 and drops back at each
//! quarter), so the energy is that demand × 900 s. The rest of the quarter
//! is taken at the power now (`1-0:1.7.0`).

/// A quarter-hour, in seconds.
pub const QUARTER_S: i64 = 900;

/// A first telegram at most this many seconds into a quarter counts as
/// the register at its start (P1 ports send every 1 to 10 seconds).
pub const START_SLACK: i64 = 10;

/// The start of the quarter-hour holding Unix time `unix` (the zones a
/// meter uses are offset from UTC by whole quarters).
pub fn quarter_start(unix: i64) -> i64 {
    unix - unix.rem_euclid(QUARTER_S)
}

/// The import register as first seen in a quarter, and as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarterBase {
    /// Unix start of the quarter.
    pub start: i64,
    /// When the register was first seen in it, and its value (mJ).
    pub first_at: i64,
    pub first_mj: i64,
    /// When it was last seen, and its value (mJ).
    pub last_at: i64,
    pub last_mj: i64,
}

impl QuarterBase {
    /// True when the first reading was at the quarter's start.
    pub fn from_start(&self) -> bool {
        self.first_at - self.start <= START_SLACK
    }

    /// The average of a quarter seen from its start to its end, in mW.
    pub fn complete_average_mw(&self) -> Option<i64> {
        let ended = self.last_at >= self.start + QUARTER_S - START_SLACK;
        (self.from_start() && ended)
            .then(|| div_round(i128::from(self.last_mj - self.first_mj), QUARTER_S))
    }
}

/// Follows the import register through the quarters.
#[derive(Debug, Clone, Default)]
pub struct QuarterWatch {
    base: Option<QuarterBase>,
}

impl QuarterWatch {
    /// Takes the register (mJ) at `unix`. Returns the average of the
    /// quarter that just ended when it was seen whole, with its start.
    pub fn observe(&mut self, unix: i64, register_mj: Option<i64>) -> Option<(i64, i64)> {
        let start = quarter_start(unix);
        let Some(mj) = register_mj else {
            self.base = None;
            return None;
        };
        match &mut self.base {
            Some(b) if b.start == start && unix >= b.last_at => {
                b.last_at = unix;
                b.last_mj = mj;
                None
            }
            old => {
                let ended = old
                    .filter(|b| b.start < start)
                    .and_then(|b| Some((b.start, b.complete_average_mw()?)));
                *old = Some(QuarterBase {
                    start,
                    first_at: unix,
                    first_mj: mj,
                    last_at: unix,
                    last_mj: mj,
                });
                ended
            }
        }
    }

    /// The energy counted in the quarter holding `unix` from its start,
    /// in mJ, when the register was seen at its start.
    pub fn energy_so_far_mj(&self, unix: i64) -> Option<i64> {
        let b = self
            .base
            .filter(|b| b.start == quarter_start(unix) && b.from_start())?;
        Some(b.last_mj - b.first_mj)
    }
}

/// The quarter's average if the power stays at `power_mw` for the rest of
/// it: (energy so far + power × seconds left) / 900 s, in mW, rounded half
/// up.
pub fn projected_mw(unix: i64, energy_mj: i64, power_mw: i64) -> i64 {
    let left = QUARTER_S - unix.rem_euclid(QUARTER_S);
    let total = i128::from(energy_mj) + i128::from(power_mw.max(0)) * i128::from(left);
    div_round(total, QUARTER_S)
}

/// `n / d` rounded half away from zero, saturated to `i64`.
fn div_round(n: i128, d: i64) -> i64 {
    let d = i128::from(d);
    let q = if n >= 0 {
        (2 * n + d) / (2 * d)
    } else {
        (2 * n - d) / (2 * d)
    };
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2023-11-02 12:15:00 CET.
    const Q: i64 = 1_698_923_700;

    #[test]
    fn quarters_start_on_the_clock() {
        assert_eq!(quarter_start(Q + 899), Q);
        assert_eq!(quarter_start(Q + 900), Q + 900);
    }

    #[test]
    fn the_projection_adds_the_power_now_for_the_rest() {
        // 300 s in, 100 Wh (360 000 000 mJ) counted, 2 kW now:
        // (360 000 J + 2000 W × 600 s) / 900 s = 1733.333 W.
        assert_eq!(projected_mw(Q + 300, 360_000_000, 2_000_000), 1_733_333);
        // At the very start the power now is the whole quarter.
        assert_eq!(projected_mw(Q, 0, 2_000_000), 2_000_000);
        // Exporting (negative power) adds nothing.
        assert_eq!(projected_mw(Q + 450, 900_000_000, -5), 1_000_000);
    }

    #[test]
    fn a_quarter_counts_from_a_register_seen_at_its_start() {
        let mut w = QuarterWatch::default();
        // Started mid-quarter: no energy so far, nothing ended.
        assert_eq!(w.observe(Q - 300, Some(0)), None);
        assert_eq!(w.energy_so_far_mj(Q - 300), None);
        // The next quarter seen from its first second.
        assert_eq!(w.observe(Q + 1, Some(1_000)), None);
        assert_eq!(w.observe(Q + 450, Some(451_000)), None);
        assert_eq!(w.energy_so_far_mj(Q + 450), Some(450_000));
        assert_eq!(w.observe(Q + 899, Some(901_000)), None);
        // It ended whole: 900 000 mJ over 900 s = 1 W.
        assert_eq!(w.observe(Q + 900, Some(901_000)), Some((Q, 1_000)));
        // No register: forgotten.
        assert_eq!(w.observe(Q + 901, None), None);
        assert_eq!(w.energy_so_far_mj(Q + 901), None);
        // Late in a quarter: not from its start.
        w.observe(Q + 1_800 + 11, Some(5));
        assert_eq!(w.energy_so_far_mj(Q + 1_800 + 20), None);
    }
}
