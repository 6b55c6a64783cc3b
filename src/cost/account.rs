//! One meter's running costs: fed each telegram's guarded registers, it
//! bills each register's increase at the price in force at the meter's
//! time, in exact integers.
//!
//! A register is billed from the value it had at the previous telegram.
//! Its first value (at start) and a value after a reset (a new device, or
//! a reset the register guard confirmed) only set the base: a reset never
//! bills the whole register. A register held back by the guard shows no
//! increase, so it bills nothing. An increase whose price is missing is
//! not billed at all (the base moves on; it is never billed at a zero or
//! at a later price) and the price reads as unavailable.
//!
//! An account restored after a restart ([`Account::restore`]) goes on from
//! the registers it saw last. The first telegram then shows what was used
//! while the exporter was down; when that was billed is unknown, so it is
//! billed only at a price that held over the whole gap (a fixed price, or
//! one dynamic price from the saved time to now) and only when the meter
//! could have counted it in that time; otherwise it is not billed at all
//! and [`Account::take_gap`] says how much was left out.

use super::money::{billed_quantity, cost, heat_quantity, Atto, Nanos};
use super::plan::{Commodity, Direction, Plan, Spec};
use super::saved::Saved;
use dsmr_engine::Quantity;
use std::sync::Arc;

/// A register value as the guard left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The (held) value.
    pub value: Quantity,
    /// Unix second whose price applies: the meter's clock for it.
    pub at: i64,
    /// True when the guard took a reset or a new device: a new base.
    pub reset: bool,
}

/// The billable registers of one telegram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readings {
    /// The meter's clock (arrival time when it has none), Unix seconds.
    pub at: i64,
    /// The tariff the meter counts in now, 1 to 4, if it says.
    pub tariff: Option<u8>,
    /// Electricity imported: total (0) and tariffs 1 to 4.
    pub imported: [Option<Reading>; 5],
    /// Electricity exported, likewise.
    pub exported: [Option<Reading>; 5],
    /// M-Bus channels 1 to 4: what each counts and its reading.
    pub mbus: [Option<(Commodity, Reading)>; 4],
}

/// The price series of one commodity and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceNow {
    /// What it prices.
    pub commodity: Commodity,
    /// Import or export.
    pub direction: Direction,
    /// The all-in price at the latest telegram, `None` when missing.
    pub price: Option<Nanos>,
}

/// One price known ahead: an interval of a dynamic price that has not
/// passed at the meter's latest telegram, all-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ahead {
    /// What it prices.
    pub commodity: Commodity,
    /// Import or export.
    pub direction: Direction,
    /// The interval's first second (Unix).
    pub start: i64,
    /// The all-in price over it.
    pub price: Nanos,
}

/// How far [`Account::ahead`] looks: two days, today's and tomorrow's
/// day-ahead prices at the most a feed publishes.
pub const AHEAD_SECONDS: i64 = 2 * 86_400;

/// The most intervals [`Account::ahead`] gives per commodity and direction:
/// two days of quarter hours and a DST day's four more, whatever a price
/// file holds, so the series stay bounded.
pub const AHEAD_MAX: usize = 2 * 96 + 8;

/// The cost counters of one meter.
#[derive(Debug)]
pub struct Account {
    plan: Arc<Plan>,
    last_imported: [Option<i128>; 5],
    last_exported: [Option<i128>; 5],
    last_mbus: [Option<(Commodity, i128)>; 4],
    last_at: Option<i64>,
    /// Money spent: electricity, gas, water, heat.
    spent: [Atto; 4],
    /// Money earned by export.
    earned: Atto,
    /// Standing charges: nanos per day times seconds.
    fixed: i128,
    /// Prices at the latest telegram, in [`Account::prices`] order.
    now: [Option<Nanos>; 5],
    /// Whether a telegram has been billed (prices are known only then).
    seen: bool,
    /// Restored and no telegram since: the saved meter time.
    gap_from: Option<i64>,
    /// What the first telegram after a restore showed, until taken.
    gap: Option<Gap>,
}

/// What was used while the exporter was down, as the first telegram after
/// a restore showed it: quantities in 10^-9 of the price's unit, per side
/// in [`Account::prices`] order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gap {
    /// The saved meter time and the first telegram's.
    pub from: i64,
    /// The first telegram's meter time.
    pub to: i64,
    /// Billed at the one price that held over the gap.
    pub billed: [i128; 5],
    /// Not billed: no one known price over the gap, or more than the meter
    /// could count in it (another device).
    pub unbilled: [i128; 5],
}

impl Gap {
    /// (commodity, direction, billed, unbilled) of each side that used
    /// something.
    pub fn sides(&self) -> impl Iterator<Item = (Commodity, Direction, i128, i128)> + '_ {
        SIDES
            .into_iter()
            .enumerate()
            .filter(|&(i, _)| self.billed[i] != 0 || self.unbilled[i] != 0)
            .map(|(i, (c, d))| (c, d, self.billed[i], self.unbilled[i]))
    }
}

/// The most a register can grow in an hour, in 10^-9 of the price's unit,
/// as the register guard bounds it: 250 kW, 250 m³/h of gas, 50 m³/h of
/// water, 1 MW of heat (3.6 GJ/h).
fn per_hour(c: Commodity) -> i128 {
    match c {
        Commodity::Electricity | Commodity::Gas => 250_000_000_000,
        Commodity::Water => 50_000_000_000,
        Commodity::Heat => 3_600_000_000,
        Commodity::Fixed => 0,
    }
}

const SIDES: [(Commodity, Direction); 5] = [
    (Commodity::Electricity, Direction::Import),
    (Commodity::Electricity, Direction::Export),
    (Commodity::Gas, Direction::Import),
    (Commodity::Water, Direction::Import),
    (Commodity::Heat, Direction::Import),
];

impl Account {
    /// A fresh account: nothing billed, no base yet.
    pub fn new(plan: Arc<Plan>) -> Account {
        Account {
            plan,
            last_imported: [None; 5],
            last_exported: [None; 5],
            last_mbus: [None; 4],
            last_at: None,
            spent: [0; 4],
            earned: 0,
            fixed: 0,
            now: [None; 5],
            seen: false,
            gap_from: None,
            gap: None,
        }
    }

    /// An account that goes on from `saved` (see the module doc); refused
    /// when the plan's currency is not the saved one.
    pub fn restore(plan: Arc<Plan>, saved: &Saved) -> Result<Account, String> {
        if plan.currency != saved.currency {
            return Err(format!(
                "saved in {}, but the prices are now in {}: counting from zero",
                saved.currency, plan.currency
            ));
        }
        let mut a = Account::new(plan);
        a.last_imported = saved.imported;
        a.last_exported = saved.exported;
        a.last_mbus = saved.mbus;
        a.last_at = Some(saved.at);
        a.spent = saved.spent;
        a.earned = saved.earned;
        a.fixed = saved.fixed;
        a.gap_from = Some(saved.at);
        Ok(a)
    }

    /// What to keep across a restart; `None` before the first telegram of
    /// a fresh account (nothing to keep).
    pub fn saved(&self) -> Option<Saved> {
        Some(Saved {
            currency: self.plan.currency.clone(),
            at: self.last_at?,
            spent: self.spent,
            earned: self.earned,
            fixed: self.fixed,
            imported: self.last_imported,
            exported: self.last_exported,
            mbus: self.last_mbus,
        })
    }

    /// What the first telegram after a restore showed of the time the
    /// exporter was down, once.
    pub fn take_gap(&mut self) -> Option<Gap> {
        self.gap.take()
    }

    /// The plan's currency (the `currency` label).
    pub fn currency(&self) -> &str {
        &self.plan.currency
    }

    fn spec(&self, side: usize) -> Option<&Spec<Arc<super::Feed>>> {
        match side {
            0 => self.plan.import.as_ref(),
            1 => self.plan.export.as_ref(),
            2 => self.plan.gas.as_ref(),
            3 => self.plan.water.as_ref(),
            _ => self.plan.heat.as_ref(),
        }
    }

    /// Bills one telegram's registers (see the module doc).
    pub fn apply(&mut self, r: &Readings) {
        let tariff = r.tariff.map_or(0, usize::from).min(4);
        for side in 0..SIDES.len() {
            self.now[side] = self.spec(side).and_then(|s| s.at(tariff, r.at));
        }
        self.seen = true;
        let gap_from = self.gap_from.take();
        let mut gap = gap_from.map(|from| Gap {
            from,
            to: r.at,
            ..Gap::default()
        });
        self.bill_fixed(r.at);
        let plan = self.plan.clone();
        // Tariff registers when the meter has them, else its total.
        let tariffs = if r.imported[1..].iter().any(Option::is_some) {
            1..5
        } else {
            0..1
        };
        for t in tariffs.clone() {
            let inc = increase(&mut self.last_imported[t], r.imported[t], billed_quantity);
            self.spent[0] += charge(plan.import.as_ref(), t, inc, gap.as_mut().map(|g| (g, 0)));
        }
        let tariffs = if r.exported[1..].iter().any(Option::is_some) {
            1..5
        } else {
            0..1
        };
        for t in tariffs {
            let inc = increase(&mut self.last_exported[t], r.exported[t], billed_quantity);
            self.earned += charge(plan.export.as_ref(), t, inc, gap.as_mut().map(|g| (g, 1)));
        }
        for c in 0..4 {
            self.bill_mbus(&plan, c, r.mbus[c], gap.as_mut());
        }
        self.gap = gap.filter(|g| g.sides().next().is_some());
    }

    fn bill_fixed(&mut self, at: i64) {
        if let (Some(per_day), Some(last)) = (self.plan.fixed_per_day, self.last_at) {
            let dt = at.saturating_sub(last).clamp(0, 86_400);
            self.fixed += i128::from(per_day.0) * i128::from(dt);
        }
        if self.last_at.is_none_or(|l| at > l) {
            self.last_at = Some(at);
        }
    }

    fn bill_mbus(
        &mut self,
        plan: &Plan,
        c: usize,
        m: Option<(Commodity, Reading)>,
        gap: Option<&mut Gap>,
    ) {
        let Some((kind, reading)) = m else {
            self.last_mbus[c] = None;
            return;
        };
        let (slot, spec) = match kind {
            Commodity::Gas => (1, plan.gas.as_ref()),
            Commodity::Water => (2, plan.water.as_ref()),
            Commodity::Heat => (3, plan.heat.as_ref()),
            _ => return,
        };
        // Another kind on the channel is another device: a new base.
        let mut last = self.last_mbus[c]
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v);
        let quantity = if kind == Commodity::Heat {
            heat_quantity
        } else {
            billed_quantity
        };
        let inc = increase(&mut last, Some(reading), quantity);
        self.last_mbus[c] = last.map(|v| (kind, v));
        // Sides 2 to 4 of the gap: gas, water, heat.
        self.spent[slot] += charge(spec, 0, inc, gap.map(|g| (g, slot + 1)));
    }

    /// Money spent per commodity so far (those the plan prices), in 10^-18
    /// of the currency.
    pub fn spent(&self) -> impl Iterator<Item = (Commodity, Atto)> + '_ {
        let kinds = [
            (Commodity::Electricity, self.plan.import.is_some()),
            (Commodity::Gas, self.plan.gas.is_some()),
            (Commodity::Water, self.plan.water.is_some()),
            (Commodity::Heat, self.plan.heat.is_some()),
        ];
        kinds
            .into_iter()
            .zip(self.spent)
            .filter(|((_, priced), _)| *priced)
            .map(|((k, _), v)| (k, v))
    }

    /// The all-in import price of electricity over `[from, to)` as
    /// `(start, price)` steps, for the page's price chart: a feed's
    /// intervals, or one step for a fixed price (tariff 0's); empty without
    /// an import price.
    pub fn import_curve(&self, from: i64, to: i64) -> Vec<(i64, Nanos)> {
        match &self.plan.import {
            Some(Spec::Dynamic { feed, formula }) => feed
                .between(from, to)
                .into_iter()
                .map(|iv| (iv.start, formula.all_in(iv.price)))
                .collect(),
            Some(s @ Spec::Fixed(_)) => s.at(0, from).map(|p| (from, p)).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// The all-in dynamic prices known ahead of the meter's latest
    /// telegram: the interval in force and those after it, up to
    /// [`AHEAD_SECONDS`] later and [`AHEAD_MAX`] per side, in the order of
    /// [`Account::prices`] then time. Fixed prices have no curve: none.
    pub fn ahead(&self) -> Vec<Ahead> {
        let Some(now) = self.last_at.filter(|_| self.seen && self.plan.ahead) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, (commodity, direction)) in SIDES.into_iter().enumerate() {
            if let Some(Spec::Dynamic { feed, formula }) = self.spec(i) {
                let to = now.saturating_add(AHEAD_SECONDS);
                out.extend(feed.ahead(now, to, AHEAD_MAX).into_iter().map(|iv| Ahead {
                    commodity,
                    direction,
                    start: iv.start,
                    price: formula.all_in(iv.price),
                }));
            }
        }
        out
    }

    /// Money earned by export, if the plan prices it.
    pub fn earned(&self) -> Option<Atto> {
        self.plan.export.as_ref().map(|_| self.earned)
    }

    /// Standing charges so far, in nanos of the currency (cut toward zero),
    /// if the plan has them.
    pub fn fixed(&self) -> Option<i64> {
        let n = self.fixed / 86_400;
        self.plan
            .fixed_per_day
            .map(|_| n.clamp(0, i128::from(i64::MAX)) as i64)
    }

    /// The all-in price of each priced commodity and direction at the
    /// latest telegram; nothing before the first one.
    pub fn prices(&self) -> impl Iterator<Item = PriceNow> + '_ {
        SIDES
            .into_iter()
            .enumerate()
            .filter(|&(i, _)| self.seen && self.spec(i).is_some())
            .map(|(i, (commodity, direction))| PriceNow {
                commodity,
                direction,
                price: self.now[i],
            })
    }
}

/// The increase of a register since `last` (in the price's unit, 10^-9),
/// with `last` moved on; `None` at a new base. The price applies at the
/// reading's time.
fn increase(
    last: &mut Option<i128>,
    r: Option<Reading>,
    quantity: fn(Quantity) -> Option<i128>,
) -> Option<(i128, i64)> {
    let Some(r) = r else {
        *last = None;
        return None;
    };
    let v = quantity(r.value)?;
    let previous = last.replace(v);
    match previous {
        Some(p) if !r.reset && v > p => Some((v - p, r.at)),
        _ => None,
    }
}

/// What an increase costs at the price of `spec` for `tariff`; nothing
/// when unpriced or the price is missing. Over a restart's `gap` (and the
/// side it is on), only at a price that held over all of it and only what
/// the meter could count in it; what is left out is noted there.
fn charge(
    spec: Option<&Spec<Arc<super::Feed>>>,
    tariff: usize,
    inc: Option<(i128, i64)>,
    gap: Option<(&mut Gap, usize)>,
) -> Atto {
    let (Some(s), Some((q, at))) = (spec, inc) else {
        return 0;
    };
    let Some((g, side)) = gap else {
        return s.at(tariff, at).map_or(0, |p| cost(p, q));
    };
    let (from, to) = (g.from.min(at), g.from.max(at));
    let most = per_hour(SIDES[side].0) * i128::from(to.saturating_sub(from).max(60)) / 3_600;
    match s.over(tariff, from, to).filter(|_| q <= most) {
        Some(p) => {
            g.billed[side] += q;
            cost(p, q)
        }
        None => {
            g.unbilled[side] += q;
            0
        }
    }
}
