//! The demo's prices, so a new user sees cost without a price feed: a
//! synthetic day-ahead curve (15-minute intervals, today's and tomorrow's)
//! for electricity and fixed prices for gas, water and the standing charge.
//!
//! The curve plugs in the way `crate::price` feeds a real meter: a shared
//! [`Feed`] that the meter's [`Plan`] reads, filled here instead of by a
//! fetch. Pure functions of the local date and quarter, so every run and
//! every test sees the same prices.

use crate::cost::{Feed, Formula, Interval, Nanos, Plan, Spec};
use crate::state::local_day;
use dsmr_engine::Zone;
use std::f64::consts::PI;
use std::sync::Arc;

/// Quarter-hours in a day.
pub const QUARTERS: i64 = 96;

/// The spot price (EUR/kWh, before mark-up, tax and VAT) of quarter
/// `q` (0..96) of local day `day` (days since 1970-01-01): cheap nights, a
/// morning peak, a solar dip at midday (below zero on some days) and the
/// evening peak, shifted a little from day to day.
pub fn spot(day: i64, q: i64) -> Nanos {
    let h = q as f64 / 4.0;
    let bump = |centre: f64, width: f64| (-((h - centre) / width).powi(2)).exp();
    // A day's own level and solar depth, from a small hash of the date.
    let mix = (day.wrapping_mul(2_654_435_761).rem_euclid(1000)) as f64 / 1000.0;
    let base = 0.075 + 0.03 * mix;
    let eur = base + 0.06 * bump(8.0, 1.5) + 0.13 * bump(19.0, 1.8)
        - (0.08 + 0.04 * mix) * bump(13.5, 2.2)
        + 0.004 * (2.0 * PI * h / 24.0 * 3.0).sin();
    Nanos((eur * 1e5).round() as i64 * 10_000)
}

/// The curve of local day `day` and the next, as intervals: each quarter
/// starts at its local wall-clock time in `zone`.
pub fn curve(zone: Zone, now: i64) -> Vec<Interval> {
    let (day, secs) = local_day(zone, now);
    let midnight = now - secs;
    (0..2 * QUARTERS)
        .map(|i| {
            let start = midnight + i * 900;
            Interval {
                start,
                end: start + 900,
                price: spot(day + i / QUARTERS, i % QUARTERS),
            }
        })
        .collect()
}

/// EUR per unit, written as nanos.
const fn eur(milli: i64) -> Nanos {
    Nanos(milli * 1_000_000)
}

/// The demo's plan: the curve for import (plus 2 ct mark-up, 10.2 ct
/// energy tax and 21 % VAT) and export (the bare spot price less a 2 ct
/// fee), gas 1.35 and water 1.10 EUR/m³, 0.85 EUR a day standing charges.
pub fn plan(feed: Arc<Feed>) -> Plan {
    Plan {
        currency: "EUR".into(),
        import: Some(Spec::Dynamic {
            feed: feed.clone(),
            formula: Formula {
                markup: eur(20),
                tax: eur(102),
                vat_ppm: 210_000,
            },
        }),
        export: Some(Spec::Dynamic {
            feed,
            formula: Formula {
                markup: eur(-20),
                tax: Nanos(0),
                vat_ppm: 0,
            },
        }),
        gas: Some(Spec::Fixed([Some(eur(1350)), None, None, None, None])),
        water: Some(Spec::Fixed([Some(eur(1100)), None, None, None, None])),
        heat: None,
        fixed_per_day: Some(eur(850)),
        ahead: true,
    }
}

/// Fills `feed` with the curve around `now` (keeping a day of the past).
pub fn refresh(feed: &Feed, zone: Zone, now: i64) {
    feed.merge(&curve(zone, now), now - 86_400);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_is_deterministic_with_a_daily_shape() {
        let day = 20_000;
        let at = |h: i64| spot(day, h * 4).0;
        assert_eq!(spot(day, 40), spot(day, 40));
        assert!(at(19) > at(3), "evening above night");
        assert!(at(8) > at(4), "morning peak");
        assert!(at(13) < at(3), "solar dip");
        for q in 0..QUARTERS {
            let p = spot(day, q).0;
            assert!((-100_000_000..400_000_000).contains(&p), "{q}: {p}");
        }
    }

    #[test]
    fn today_and_tomorrow_in_quarters_from_local_midnight() {
        let zone = Zone::default();
        let now = 1_764_669_600; // 2025-12-02 10:00 UTC
        let c = curve(zone, now);
        assert_eq!(c.len(), 192);
        assert!(c[0].start <= now && now < c[0].start + 86_400);
        assert!(c.windows(2).all(|w| w[0].end == w[1].start));
        let feed = Feed::new("demo");
        refresh(&feed, zone, now);
        assert!(feed.at(now).is_some() && feed.at(now + 86_400).is_some());
        assert_eq!(feed.at(c[191].end), None);
    }
}
