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
