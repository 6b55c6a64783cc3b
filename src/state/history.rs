//! A meter's short past, for the live page: the net power of the last
//! hours in a bounded ring, so a freshly opened page draws them at once, and
//! the cost totals at the start of the local day, so it can show "today so
//! far". Written on every valid telegram, read by `http`.
//!
//! Bounded: [`POINTS`] samples (one per [`SLOT_SECONDS`], six hours) of
//! 8 bytes, in a ring grown as samples come (by doubling, to 1 024 slots:
//! 8 KiB per meter after six hours, 80 MiB at 10 000 meters; it was 16 KiB
//! with 16-byte samples); the oldest falls out when a new one comes in.

use crate::cost::money::Atto;
use crate::cost::{Account, Commodity};
use dsmr_engine::value::Dimension;
use dsmr_engine::{Quantity, Telegram};
use std::collections::VecDeque;

/// One sample per this many seconds: the first telegram of each slot.
pub const SLOT_SECONDS: i64 = 30;

/// Samples kept: six hours of 30-second slots.
pub const POINTS: usize = 720;

/// The power ring and today's cost base of one meter.
#[derive(Debug, Default)]
pub struct History {
    /// (Unix second, net watts): a u32 second lasts until 2106, and i32
    /// watts are ±2 GW; a value outside either is not sampled.
    power: VecDeque<(u32, i32)>,
    /// The newest sample, when newer than the ring's last: the charts end at it.
    latest: Option<(i64, i64)>,
    cost_base: Option<CostBase>,
}

/// The account's totals when the local day began (or when the exporter
/// started, if later): today's cost is the totals now minus these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostBase {
    /// The local date, days since 1970-01-01.
    pub day: i64,
    /// Unix second the base was taken.
    pub since: i64,
    /// Spent on electricity, gas, water, heat; then the fixed charges.
    pub spent: [Atto; 5],
    /// Earned by export.
    pub earned: Atto,
}

impl History {
    /// Samples the telegram's net power (import minus export, watts) at
    /// Unix second `at`, once per slot.
    pub fn observe_power(&mut self, t: &Telegram, at: i64) {
        let import = t.power_import.and_then(watts);
        let export = t.power_export.and_then(watts);
        let net = match (import, export) {
            (None, None) => return,
            (i, e) => i.unwrap_or(0) - e.unwrap_or(0),
        };
        self.latest = Some((at, net));
        let (Ok(sample_at), Ok(sample_net)) = (u32::try_from(at), i32::try_from(net)) else {
            return;
        };
        let slot = at.div_euclid(SLOT_SECONDS);
        if self
            .power
            .back()
            .is_some_and(|&(s, _)| i64::from(s).div_euclid(SLOT_SECONDS) >= slot)
        {
            return;
        }
        if self.power.len() == POINTS {
            self.power.pop_front();
        }
        self.power.push_back((sample_at, sample_net));
    }

    /// `(unix second, net watts)`, oldest first, ending with the newest
    /// telegram's.
    pub fn power(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        let last = self.power.back().map(|p| i64::from(p.0));
        let newer = self.latest.filter(|l| Some(l.0) > last);
        self.power
            .iter()
            .map(|&(at, net)| (i64::from(at), i64::from(net)))
            .chain(newer)
    }

    /// Takes a new cost base on the first telegram of local day `day`.
    pub fn observe_cost(&mut self, account: &Account, day: i64, at: i64) {
        if self.cost_base.is_some_and(|b| b.day == day) {
            return;
        }
        self.cost_base = Some(CostBase {
            day,
            since: at,
            spent: totals(account),
            earned: account.earned().unwrap_or(0),
        });
    }

    /// Today's base, if the meter has prices.
    pub fn cost_base(&self) -> Option<CostBase> {
        self.cost_base
    }
}

/// The account's spent totals: electricity, gas, water, heat, fixed.
pub fn totals(account: &Account) -> [Atto; 5] {
    let mut out = [0; 5];
    for (c, a) in account.spent() {
        let i = match c {
            Commodity::Electricity => 0,
            Commodity::Gas => 1,
            Commodity::Water => 2,
            Commodity::Heat | Commodity::Fixed => 3,
        };
        out[i] = a;
    }
    out[4] = account.fixed().map_or(0, |n| i128::from(n) * 1_000_000_000);
    out
}

/// A power in whole watts (cut toward zero).
fn watts(q: Quantity) -> Option<i64> {
    if q.dimension() != Some(Dimension::Power) {
        return None;
    }
    Some(q.base()?.times(1000)?.as_integer()? / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsmr_engine::{Fixed, Unit};

    fn telegram(kw_in: i64, kw_out: i64) -> Telegram {
        let q = |v| Quantity {
            value: Fixed::new(v, 3),
            unit: Unit::KW,
        };
        let mut t = Telegram::default();
        t.power_import = Some(q(kw_in));
        t.power_export = Some(q(kw_out));
        t
    }

    #[test]
    fn one_sample_a_slot_and_never_more_than_points() {
        let mut h = History::default();
        h.observe_power(&telegram(1_500, 200), 60);
        h.observe_power(&telegram(9_000, 0), 89);
        assert_eq!(h.power().collect::<Vec<_>>(), vec![(60, 1300), (89, 9000)]);
        for i in 0..2 * POINTS as i64 {
            h.observe_power(&telegram(1, 0), 90 + i * SLOT_SECONDS);
        }
        assert_eq!(h.power().count(), POINTS);
        assert!(h.power.capacity() <= POINTS.next_power_of_two());
        assert_eq!(std::mem::size_of_val(&h.power[0]), 8);
        h.observe_power(&telegram(7, 0), 90 + (2 * POINTS as i64 - 1) * 30 + 1);
        assert_eq!(h.power().count(), POINTS + 1, "the newest telegram ends it");
        assert_eq!(
            h.power().last(),
            Some((90 + (2 * POINTS as i64 - 1) * 30 + 1, 7))
        );
    }
}
