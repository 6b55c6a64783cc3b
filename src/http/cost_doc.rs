//! The cost and chart blocks of a meter's API document, for the live page:
//! today's cost so far and the prices now ([`CostDoc`], in every document
//! and event of a meter with prices), and the last hours of power with the
//! electricity price curve of today and tomorrow ([`ChartDoc`], only in
//! `/api/v1/meters`, which the page reads once when it opens and now and
//! then after: too big to send with every event).
//!
//! Money is written exactly, as decimals with nine digits (a nano of the
//! currency), never through an `f64`.

use crate::cost::money::{atto_to_fixed, Atto};
use crate::cost::Account;
use crate::state::history::{totals, History};
use crate::state::local_day;
use dsmr_engine::{Fixed, Zone};
use serde::Serialize;

/// Today's cost and the prices now.
#[derive(Serialize)]
pub(crate) struct CostDoc {
    currency: String,
    /// Unix second "today" counts from: local midnight, or the exporter's
    /// first telegram of the day when it started later.
    since: i64,
    /// Spent today per commodity (those the plan prices), the fixed
    /// charges, the export earnings and spent minus earned.
    today: Vec<Amount>,
    /// The all-in price per unit at the latest telegram (`null` when
    /// missing).
    prices: Vec<PriceDoc>,
}

#[derive(Serialize)]
struct Amount {
    what: &'static str,
    amount: Fixed,
}

#[derive(Serialize)]
struct PriceDoc {
    commodity: &'static str,
    direction: &'static str,
    unit: &'static str,
    price: Option<Fixed>,
}

impl CostDoc {
    /// The block of a meter with an account and a day's base.
    pub(crate) fn of(account: &Account, history: &History) -> Option<CostDoc> {
        let base = history.cost_base()?;
        let now = totals(account);
        let names = ["electricity", "gas", "water", "heat", "fixed"];
        let priced: Vec<&str> = account
            .spent()
            .map(|(c, _)| c.as_str())
            .chain(account.fixed().map(|_| "fixed"))
            .collect();
        let mut today = Vec::new();
        let mut total: Atto = 0;
        for (i, what) in names.into_iter().enumerate() {
            if priced.contains(&what) {
                let spent = now[i] - base.spent[i];
                total += spent;
                today.push(Amount {
                    what,
                    amount: atto_to_fixed(spent),
                });
            }
        }
        if let Some(earned) = account.earned() {
            let earned = earned - base.earned;
            total -= earned;
            today.push(Amount {
                what: "earned",
                amount: atto_to_fixed(earned),
            });
        }
        today.push(Amount {
            what: "total",
            amount: atto_to_fixed(total),
        });
        let prices = account
            .prices()
            .map(|p| PriceDoc {
                commodity: p.commodity.as_str(),
                direction: p.direction.as_str(),
                unit: p.commodity.unit(),
                price: p.price.map(|n| Fixed::new(n.0, 9)),
            })
            .collect();
        Some(CostDoc {
            currency: account.currency().to_owned(),
            since: base.since,
            today,
            prices,
        })
    }
}

/// What the page's charts draw.
#[derive(Serialize)]
pub(crate) struct ChartDoc {
    /// Seconds between power samples.
    power_step_seconds: i64,
    /// `[unix second, net watts]` (import minus export), oldest first.
    power: Vec<[i64; 2]>,
    /// `[unix second, all-in import price per kWh]` from local midnight
    /// today to the end of tomorrow, as far as the prices are known.
    prices: Vec<(i64, Fixed)>,
}

impl ChartDoc {
    /// The chart at Unix second `wall`; `None` when there is nothing to draw.
    pub(crate) fn of(
        account: Option<&Account>,
        history: &History,
        zone: Zone,
        wall: i64,
    ) -> Option<ChartDoc> {
        let midnight = wall - local_day(zone, wall).1;
        let prices: Vec<(i64, Fixed)> = account
            .map(|a| a.import_curve(midnight, midnight + 2 * 86_400))
            .unwrap_or_default()
            .into_iter()
            .map(|(at, p)| (at, Fixed::new(p.0, 9)))
            .collect();
        let power: Vec<[i64; 2]> = history.power().map(|(t, w)| [t, w]).collect();
        if prices.is_empty() && power.is_empty() {
            return None;
        }
        Some(ChartDoc {
            power_step_seconds: crate::state::history::SLOT_SECONDS,
            power,
            prices,
        })
    }
}
