//! The hook between the register guard and a meter's cost account: the
//! guarded registers of a telegram as [`Readings`], with the guard's
//! resets, so only what the guard let through is billed.

use super::registers::{Outcome, EXPORTED, IMPORTED, MBUS_SLOTS};
use super::MbusKind;
use crate::cost::{Commodity, Reading, Readings};
use dsmr_engine::{Telegram, Zone};

/// The billable registers of `t` (already rewritten by the guard). Prices
/// apply at the meter's clock (0-0:1.0.0, an M-Bus reading's capture
/// time), or `arrived` (Unix seconds) when the telegram has no clock.
pub(super) fn readings(t: &Telegram, outcome: &Outcome, zone: Zone, arrived: i64) -> Readings {
    let at = t.timestamp.map_or(arrived, |ts| ts.to_unix(&zone));
    let reading = |q: Option<dsmr_engine::Quantity>, slot: usize| {
        q.map(|value| Reading {
            value,
            at,
            reset: outcome.reset(slot),
        })
    };
    let mbus = std::array::from_fn(|c| {
        let m = &t.mbus[c];
        let r = m.reading?;
        let kind = match MbusKind::of(m.device_type, r.value.dimension())? {
            MbusKind::Gas => Commodity::Gas,
            MbusKind::Water => Commodity::Water,
            MbusKind::Heat => Commodity::Heat,
        };
        let reading = Reading {
            value: r.value,
            at: r.time.to_unix(&zone),
            reset: outcome.reset(MBUS_SLOTS + c),
        };
        Some((kind, reading))
    });
    Readings {
        at,
        tariff: t.tariff.and_then(|n| u8::try_from(n).ok()),
        imported: std::array::from_fn(|i| reading(t.imported[i], IMPORTED + i)),
        exported: std::array::from_fn(|i| reading(t.exported[i], EXPORTED + i)),
        mbus,
    }
}

#[cfg(test)]
mod tests {
    use crate::cost::{Nanos, Plan, Spec};
    use crate::state::Meter;
    use dsmr_engine::{Telegram, Zone};
    use std::sync::Arc;

    /// A telegram at `minute` after 10:00 with import tariff 1 at `wh`.
    fn record(m: &Meter, minute: u32, id: &str, wh: u64) {
        let text = format!(
            "/XMX5LGBBFFB231216240\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(2301151{}{:02}00W)\r\n\
             0-0:96.1.1({id})\r\n1-0:1.8.1({:06}.{:03}*kWh)\r\n!\r\n",
            minute / 60,
            minute % 60,
            wh / 1000,
            wh % 1000
        );
        m.record_telegram(&mut Telegram::decode(text.as_bytes()).expect("a telegram"));
    }

    fn spent(m: &Meter) -> i128 {
        let st = m.lock();
        st.cost
            .as_ref()
            .expect("an account")
            .spent()
            .map(|(_, v)| v)
            .sum()
    }

    const ID: &str = "4530303034303031353934373534343134";
    const E: i128 = 1_000_000_000_000_000_000;

    #[test]
    fn held_registers_and_resets_are_never_billed() {
        let m = Meter::new("main", Zone::CET);
        let mut prices = [None; 5];
        prices[0] = Some(Nanos(1_000_000_000));
        m.set_plan(Arc::new(Plan {
            import: Some(Spec::Fixed(prices)),
            ..Plan::default()
        }));
        record(&m, 0, ID, 2_130_000);
        record(&m, 1, ID, 2_131_000);
        assert_eq!(spent(&m), E, "1 kWh at 1.00");
        // A dip for one telegram is held: nothing, and nothing on return.
        record(&m, 2, ID, 10_000);
        record(&m, 3, ID, 2_131_500);
        assert_eq!(spent(&m), E * 3 / 2);
        // A reset confirmed by three telegrams is a new base.
        for minute in 4..7 {
            record(&m, minute, ID, 5_000);
        }
        record(&m, 7, ID, 5_100);
        assert_eq!(spent(&m), E * 3 / 2 + E / 10);
        // A new meter (equipment id) starts from its own register.
        record(&m, 8, "4530303034303031353934373534343135", 900_000);
        record(&m, 9, "4530303034303031353934373534343135", 900_200);
        assert_eq!(spent(&m), E * 3 / 2 + E * 3 / 10);
    }
}
