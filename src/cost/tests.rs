//! The account against hand-computed bills.

use super::*;
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
        currency: "EUR".into(),
        import: fixed(&[(1, 250_000_000), (2, 300_000_000)]),
        export: fixed(&[(0, 70_000_000)]),
        gas: None,
        water: None,
        heat: None,
        fixed_per_day: Some(Nanos(864_000_000)),
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
