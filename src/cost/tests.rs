//! The account against hand-computed bills.

use super::*;
use crate::cost::saved;
use dsmr_engine::{Fixed, Quantity, Unit};
use std::sync::Arc;

fn kwh(wh: i64) -> Quantity {
    Quantity {
        value: Fixed {
            mantissa: wh,
            scale: 3,
        },
        unit: Unit::KWh,
    }
}

fn reading(wh: i64, at: i64) -> Option<Reading> {
    Some(Reading {
        value: kwh(wh),
        at,
        reset: false,
    })
}

fn telegram(at: i64, t1: i64, t2: i64, export: i64) -> Readings {
    Readings {
        at,
        tariff: Some(2),
        imported: [None, reading(t1, at), reading(t2, at), None, None],
        exported: [None, reading(export, at), None, None, None],
        mbus: [None; 4],
    }
}

fn fixed(p: &[(usize, i64)]) -> Option<Spec<Arc<Feed>>> {
    let mut prices = [None; 5];
    for &(t, n) in p {
        prices[t] = Some(Nanos(n));
    }
    Some(Spec::Fixed(prices))
}

fn plan() -> Plan {
    Plan {
        import: fixed(&[(1, 250_000_000), (2, 300_000_000)]),
        export: fixed(&[(0, 70_000_000)]),
        fixed_per_day: Some(Nanos(864_000_000)),
        ..Plan::default()
    }
}

fn spent(a: &Account, c: Commodity) -> Option<i128> {
    a.spent().find(|(k, _)| *k == c).map(|(_, v)| v)
}

const E: i128 = 1_000_000_000_000_000_000;

#[test]
fn each_tariff_is_billed_at_its_own_price_and_export_earns() {
    let mut a = Account::new(Arc::new(plan()));
    a.apply(&telegram(0, 1_000_000, 2_000_000, 500_000));
    assert_eq!(
        spent(&a, Commodity::Electricity),
        Some(0),
        "the first telegram is the base"
    );
    // +1 kWh tariff 1 (0.25), +2 kWh tariff 2 (0.30), +3 kWh export (0.07).
    a.apply(&telegram(3_600, 1_001_000, 2_002_000, 503_000));
    assert_eq!(spent(&a, Commodity::Electricity), Some(85 * E / 100));
    assert_eq!(a.earned(), Some(21 * E / 100));
    // 0.864 a day for an hour: 0.036.
    assert_eq!(a.fixed(), Some(36_000_000));
    let now: Vec<_> = a.prices().map(|p| p.price).collect();
    assert_eq!(now, vec![Some(Nanos(300_000_000)), Some(Nanos(70_000_000))]);
}

#[test]
fn a_reset_sets_a_new_base_and_bills_nothing() {
    let mut a = Account::new(Arc::new(plan()));
    a.apply(&telegram(0, 1_000_000, 0, 0));
    let mut t = telegram(60, 10, 0, 0);
    t.imported[1] = Some(Reading {
        reset: true,
        ..t.imported[1].unwrap()
    });
    a.apply(&t);
    assert_eq!(spent(&a, Commodity::Electricity), Some(0));
    a.apply(&telegram(120, 1_010, 0, 0));
    assert_eq!(spent(&a, Commodity::Electricity), Some(E / 4));
}

#[test]
fn a_missing_price_bills_nothing_and_reads_unavailable() {
    let feed = Arc::new(Feed::new("test"));
    feed.merge(
        &[Interval {
            start: 0,
            end: 900,
            price: Nanos(100_000_000),
        }],
        i64::MIN,
    );
    let mut p = plan();
    p.import = Some(Spec::Dynamic {
        feed,
        formula: Formula {
            markup: Nanos(0),
            tax: Nanos(0),
            vat_ppm: 210_000,
        },
    });
    let mut a = Account::new(Arc::new(p));
    a.apply(&telegram(0, 0, 0, 0));
    a.apply(&telegram(600, 1_000, 0, 0));
    assert_eq!(spent(&a, Commodity::Electricity), Some(121 * E / 1000));
    a.apply(&telegram(1_200, 2_000, 0, 0));
    assert_eq!(spent(&a, Commodity::Electricity), Some(121 * E / 1000));
    let first = a.prices().next().expect("import price");
    assert_eq!((first.direction, first.price), (Direction::Import, None));
}

#[test]
fn gas_is_billed_per_cubic_meter_and_heat_per_gigajoule() {
    let mut p = plan();
    p.gas = fixed(&[(0, 1_400_000_000)]);
    p.heat = fixed(&[(0, 40_000_000_000)]);
    let mut a = Account::new(Arc::new(p));
    let mbus = |m3: i64, heat_kwh: i64| {
        let r = |value| Reading {
            value,
            at: 0,
            reset: false,
        };
        let gas = Quantity {
            value: Fixed {
                mantissa: m3,
                scale: 3,
            },
            unit: Unit::M3,
        };
        let heat = Quantity {
            value: Fixed {
                mantissa: heat_kwh,
                scale: 0,
            },
            unit: Unit::KWh,
        };
        [
            Some((Commodity::Gas, r(gas))),
            Some((Commodity::Heat, r(heat))),
            None,
            None,
        ]
    };
    let mut t = telegram(0, 0, 0, 0);
    t.mbus = mbus(1_000, 100);
    a.apply(&t);
    t.mbus = mbus(3_500, 1_100);
    a.apply(&t);
    // 2.5 m3 at 1.40 = 3.50; 1000 kWh = 3.6 GJ at 40 = 144.
    assert_eq!(spent(&a, Commodity::Gas), Some(35 * E / 10));
    assert_eq!(spent(&a, Commodity::Heat), Some(144 * E));
}

#[test]
fn prices_ahead_are_the_feed_through_each_sides_formula_from_the_meters_time() {
    let feed = Arc::new(Feed::new("test"));
    let ivs: Vec<Interval> = (0..400)
        .map(|i| Interval {
            start: i * 900,
            end: (i + 1) * 900,
            price: Nanos(10_000_000 * (i % 7) - 20_000_000),
        })
        .collect();
    feed.merge(&ivs, i64::MIN);
    let mut p = plan();
    let import = Formula {
        markup: Nanos(20_000_000),
        tax: Nanos(101_540_000),
        vat_ppm: 210_000,
    };
    let export = Formula {
        markup: Nanos(-15_000_000),
        ..Formula::default()
    };
    p.import = Some(Spec::Dynamic {
        feed: feed.clone(),
        formula: import,
    });
    p.export = Some(Spec::Dynamic {
        feed,
        formula: export,
    });
    let p = Arc::new(p);
    let mut a = Account::new(p.clone());
    assert!(a.ahead().is_empty(), "nothing before the first telegram");
    a.apply(&telegram(1_000, 0, 0, 0));
    let ahead = a.ahead();
    let imports: Vec<_> = ahead
        .iter()
        .filter(|x| x.direction == Direction::Import)
        .collect();
    // From the interval in force (900) on, those that start within two
    // days of the meter's time (1 000 + 172 800): 193.
    assert_eq!(imports.len(), 193);
    assert_eq!(imports[0].start, 900);
    assert_eq!(imports[192].start, 900 + 192 * 900);
    for x in &ahead {
        let spot = ivs[(x.start / 900) as usize].price;
        let f = match x.direction {
            Direction::Import => import,
            Direction::Export => export,
        };
        assert_eq!(x.price, f.all_in(spot));
        assert_eq!(x.commodity, Commodity::Electricity);
    }
    // (0.01 * 1 - 0.02 + 0.02 + 0.10154) * 1.21
    assert_eq!(imports[0].price, Nanos(134_963_400));
    assert_eq!(ahead.len(), 386, "import and export");
    // Fixed prices have no curve.
    let mut fixed_only = Account::new(Arc::new(plan()));
    fixed_only.apply(&telegram(1_000, 0, 0, 0));
    assert!(fixed_only.ahead().is_empty());
    // `ahead = false`: the same dynamic plan, no curve; the price in force
    // is still there.
    let mut quiet = (*p).clone();
    quiet.ahead = false;
    let mut q = Account::new(Arc::new(quiet));
    q.apply(&telegram(1_000, 0, 0, 0));
    assert!(
        q.ahead().is_empty(),
        "ahead = false still exposed the curve"
    );
    assert!(q.prices().any(|p| p.price.is_some()));
}

#[test]
fn a_restored_account_goes_on_and_bills_the_gap_at_a_fixed_price() {
    let mut a = Account::new(Arc::new(plan()));
    assert_eq!(a.saved(), None, "nothing to keep before a telegram");
    a.apply(&telegram(0, 1_000_000, 2_000_000, 500_000));
    a.apply(&telegram(3_600, 1_001_000, 2_002_000, 503_000));
    let saved = a.saved().expect("kept");
    let text = saved::format(&saved);
    let back = saved::parse(&text).expect("reads back");
    let mut b = Account::restore(Arc::new(plan()), &back).expect("same currency");
    assert_eq!(spent(&b, Commodity::Electricity), Some(85 * E / 100));
    assert_eq!(b.earned(), Some(21 * E / 100));
    assert_eq!(b.fixed(), Some(36_000_000));
    // Down for ten minutes: +0.5 kWh tariff 2 used meanwhile, at 0.30.
    b.apply(&telegram(4_200, 1_001_000, 2_002_500, 503_000));
    assert_eq!(
        spent(&b, Commodity::Electricity),
        Some(85 * E / 100 + 15 * E / 100)
    );
    assert_eq!(b.fixed(), Some(42_000_000), "ten minutes of 0.864 a day");
    let gap = b.take_gap().expect("a gap");
    assert_eq!((gap.from, gap.to), (3_600, 4_200));
    assert_eq!(gap.billed[0], 500_000_000);
    assert_eq!(gap.unbilled, [0; 5]);
    assert_eq!(b.take_gap(), None, "told once");
    // More than 250 kW could count in the gap: another device, not billed.
    let mut c = Account::restore(Arc::new(plan()), &back).expect("same currency");
    c.apply(&telegram(3_700, 1_001_000, 2_102_000, 503_000));
    assert_eq!(spent(&c, Commodity::Electricity), Some(85 * E / 100));
    assert_eq!(c.take_gap().map(|g| g.unbilled[0]), Some(100_000_000_000));
    // Another currency cannot go on.
    let mut usd = plan();
    usd.currency = "USD".into();
    assert!(Account::restore(Arc::new(usd), &back).is_err());
}

#[test]
fn a_gap_is_billed_at_a_dynamic_price_only_when_one_price_held_over_it() {
    let feed = Arc::new(Feed::new("test"));
    let iv = |start: i64, price: i64| Interval {
        start,
        end: start + 900,
        price: Nanos(price),
    };
    feed.merge(
        &[
            iv(0, 100_000_000),
            iv(900, 100_000_000),
            iv(1_800, 200_000_000),
        ],
        i64::MIN,
    );
    let mut p = plan();
    p.import = Some(Spec::Dynamic {
        feed,
        formula: Formula::default(),
    });
    let p = Arc::new(p);
    let mut a = Account::new(p.clone());
    a.apply(&telegram(100, 0, 1_000_000, 0));
    let saved = a.saved().expect("kept");
    // 100 to 1 700: two intervals of one price.
    let mut b = Account::restore(p.clone(), &saved).expect("restored");
    b.apply(&telegram(1_700, 0, 1_002_000, 0));
    assert_eq!(spent(&b, Commodity::Electricity), Some(2 * E / 10));
    // 100 to 1 900: the price changed meanwhile; when is unknown.
    let mut c = Account::restore(p, &saved).expect("restored");
    c.apply(&telegram(1_900, 0, 1_002_000, 0));
    assert_eq!(spent(&c, Commodity::Electricity), Some(0));
    let gap = c.take_gap().expect("a gap");
    assert_eq!((gap.billed[0], gap.unbilled[0]), (0, 2_000_000_000));
    // After the gap, billing is as ever.
    c.apply(&telegram(2_000, 0, 1_003_000, 0));
    assert_eq!(spent(&c, Commodity::Electricity), Some(2 * E / 10));
}
