//! A meter's short past, for the live page: the net power of the last
//! hours in a bounded ring, so a freshly opened page draws them at once, and
//! the cost totals at the start of the local day, so it can show "today so
//! far". Written on every valid telegram, read by `http`.
//!
//! Bounded: one `i32` of net watts per [`SLOT_SECONDS`] slot of the last
//! six hours ([`POINTS`] slots), 2.8 KiB per meter once the first sample
//! comes, 28 MiB at 10 000 meters (a ring of (second, watts) pairs that
//! grew by doubling was 8 KiB a meter after six hours). A slot's sample is
//! the first telegram in it, drawn at the slot's start; the newest
//! telegram ends the series at its own second.

use crate::cost::money::Atto;
use crate::cost::{Account, Commodity};
use dsmr_engine::value::Dimension;
use dsmr_engine::{Quantity, Telegram};

/// One sample per this many seconds: the first telegram of each slot.
pub const SLOT_SECONDS: i64 = 30;

/// Slots kept: six hours of 30-second slots.
pub const POINTS: usize = 720;

/// A slot without a telegram.
const MISSING: i32 = i32::MIN;

/// The power ring and today's cost base of one meter.
#[derive(Debug, Default)]
pub struct History {
    /// Net watts of slot `s` at `s mod POINTS`, [`MISSING`] where none
    /// came; allocated with the first sample. i32 watts are ±2 GW; a value
    /// outside is not sampled.
    ring: Option<Box<[i32]>>,
    /// The newest slot in the ring: it holds slots `newest - POINTS + 1`
    /// to `newest`.
    newest: i64,
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

/// Where slot `s` lives in the ring.
fn index(slot: i64) -> usize {
    // rem_euclid of a positive modulus is in 0..POINTS.
    slot.rem_euclid(POINTS as i64) as usize
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
        let Some(sample) = i32::try_from(net).ok().filter(|&w| w != MISSING) else {
            return;
        };
        let slot = at.div_euclid(SLOT_SECONDS);
        let ring = match &mut self.ring {
            Some(ring) => {
                // One sample per slot, and none for a slot already passed.
                if slot <= self.newest {
                    return;
                }
                // The slots skipped since the newest had no telegram.
                let gap = (slot - self.newest).min(POINTS as i64);
                for s in slot - gap + 1..slot {
                    ring[index(s)] = MISSING;
                }
                ring
            }
            None => self.ring.insert(vec![MISSING; POINTS].into_boxed_slice()),
        };
        ring[index(slot)] = sample;
        self.newest = slot;
    }

    /// `(unix second, net watts)`, oldest first, ending with the newest
    /// telegram's.
    pub fn power(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        let newest = self.newest;
        let samples = self.ring.iter().flat_map(move |ring| {
            (newest - POINTS as i64 + 1..=newest).filter_map(move |s| {
                let w = ring[index(s)];
                (w != MISSING).then_some((s * SLOT_SECONDS, i64::from(w)))
            })
        });
        let last = self.ring.as_ref().map(|_| newest * SLOT_SECONDS);
        let newer = self.latest.filter(|l| Some(l.0) > last);
        samples.chain(newer)
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
        assert_eq!(
            h.ring.as_deref().map(std::mem::size_of_val),
            Some(4 * POINTS)
        );
        h.observe_power(&telegram(7, 0), 90 + (2 * POINTS as i64 - 1) * 30 + 1);
        assert_eq!(h.power().count(), POINTS + 1, "the newest telegram ends it");
        assert_eq!(
            h.power().last(),
            Some((90 + (2 * POINTS as i64 - 1) * 30 + 1, 7))
        );
    }

    #[test]
    fn a_sample_stands_at_its_slots_start_and_gaps_stay_empty() {
        let mut h = History::default();
        h.observe_power(&telegram(100, 0), 1_000_017);
        h.observe_power(&telegram(200, 0), 1_000_050);
        // Ten minutes without a telegram, then one.
        h.observe_power(&telegram(300, 0), 1_000_660);
        let slot = |at: i64| at.div_euclid(SLOT_SECONDS) * SLOT_SECONDS;
        assert_eq!(
            h.power().collect::<Vec<_>>(),
            vec![
                (slot(1_000_017), 100),
                (slot(1_000_050), 200),
                (slot(1_000_660), 300),
                (1_000_660, 300),
            ]
        );
        // A clock that went back adds nothing to the ring.
        h.observe_power(&telegram(400, 0), 1_000_000);
        assert_eq!(h.power().filter(|p| p.1 == 400).count(), 0);
    }

    #[test]
    fn the_ring_holds_the_last_six_hours_by_time() {
        let mut h = History::default();
        h.observe_power(&telegram(100, 0), 0);
        h.observe_power(&telegram(200, 0), 3_600);
        // Six hours after the second sample: the first is older than the
        // ring, the second is its oldest slot.
        let at = 3_600 + (POINTS as i64 - 1) * SLOT_SECONDS;
        h.observe_power(&telegram(300, 0), at);
        assert_eq!(h.power().collect::<Vec<_>>(), vec![(3_600, 200), (at, 300)]);
        // Far later: only the new sample is left.
        h.observe_power(&telegram(400, 0), at + 86_400);
        assert_eq!(h.power().collect::<Vec<_>>(), vec![(at + 86_400, 400)]);
    }
}
