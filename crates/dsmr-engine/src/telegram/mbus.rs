//! The objects of M-Bus channels 1 to 4 (gas, water, heat) beyond their ids:
//! device type, valve and breaker, and the reading with its capture time.

use super::decode::Groups;
use super::field::{quantity, small, FieldResult};
use super::meaning::{Slot, MBUS};
use super::{FieldErrorKind, MbusReading, ReadingKind, Telegram};
use crate::time::Timestamp;
use crate::value::{trim, Unit};

impl Telegram {
    /// An object of an M-Bus channel other than its ids (those are spans,
    /// filled by [`object`](Telegram::object)); `first` is its first group.
    pub(super) fn mbus_object(
        &mut self,
        slot: Slot,
        g: Groups<'_>,
        first: &[u8],
    ) -> FieldResult<()> {
        use Slot::*;
        match slot {
            MbusDeviceType(ch) => {
                let s = trim(first);
                self.mbus[ch as usize].device_type = if s.is_empty() {
                    None
                } else {
                    // Decimal as DSMR writes it ("003"); hex for "00C".
                    let dec = small::<u16>(s, 0).ok().flatten();
                    let hex = core::str::from_utf8(s)
                        .ok()
                        .and_then(|h| u16::from_str_radix(h, 16).ok());
                    Some(dec.or(hex).ok_or(FieldErrorKind::BadNumber { group: 0 })?)
                };
            }
            MbusValve(ch) => self.mbus[ch as usize].valve = small(first, 0)?,
            MbusBreaker(ch) => self.mbus[ch as usize].breaker = small(first, 0)?,
            MbusReading(ch, kind) => {
                let mut g = g;
                let time = g.next().unwrap_or_default();
                let value = g.next().ok_or(FieldErrorKind::MissingValue { group: 1 })?;
                self.mbus_reading(ch as usize, time, value, 1, Unit::None, kind)?;
            }
            MbusProfile(ch) => {
                // (time)(status)(interval)(count)(obis)(unit) then the value.
                let time = g.nth_span(0).map(|(a, b)| &g.raw[a..b]).unwrap_or_default();
                let unit = g.nth_span(5).map(|(a, b)| &g.raw[a..b]).unwrap_or_default();
                let value = g
                    .nth_span(6)
                    .map(|(a, b)| &g.raw[a..b])
                    .ok_or(FieldErrorKind::MissingValue { group: 6 })?;
                self.mbus_reading(
                    ch as usize,
                    time,
                    value,
                    6,
                    Unit::parse(unit),
                    ReadingKind::Profile,
                )?;
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn mbus_reading(
        &mut self,
        ch: usize,
        time: &[u8],
        value: &[u8],
        group: u8,
        default: Unit,
        kind: ReadingKind,
    ) -> FieldResult<()> {
        let q = quantity(value, group, MBUS, default)?;
        let m = &mut self.mbus[ch];
        match (Timestamp::parse(time), q) {
            (_, None) => m.placeholder = true,
            (None, Some(_)) => m.placeholder = true,
            (Some(t), Some(v)) if v.value.is_zero() && t.year <= 2000 => m.placeholder = true,
            (Some(t), Some(v)) => {
                if m.reading.is_none() {
                    m.reading = Some(MbusReading {
                        time: t,
                        value: v,
                        kind,
                    });
                }
            }
        }
        Ok(())
    }
}
