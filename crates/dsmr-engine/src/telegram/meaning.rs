//! What an OBIS code means to this engine: the [`Slot`] it fills, resolved
//! once per code, and for quantity slots the field, the dimensions the
//! register accepts and the unit assumed when the meter writes none.

use super::{ReadingKind, Span, Telegram};
use crate::obis::Obis;
use crate::value::{Dimension, Quantity, Unit};

/// What an OBIS code means to this engine, resolved once per code (and
/// cached by position), so that dispatching a line is one jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Version,
    EmucsVersion,
    Timestamp,
    EquipmentId,
    Serial,
    Ean,
    LogicalName,
    DeviceId,
    Tariff,
    Breaker,
    Threshold,
    PowerFailures,
    LongPowerFailures,
    TextMessage,
    TextCode,
    /// `0-0:96.13.2` … `96.13.5`, index 0 for `96.13.2`.
    TextMessageExtra(u8),
    PeakHistory,
    Imported(u8),
    Exported(u8),
    /// `1-0:1.8.t` with `t` above 4.
    ImportedMore(u8),
    /// `1-0:2.8.t` with `t` above 4.
    ExportedMore(u8),
    ReactiveImported(u8),
    ReactiveExported(u8),
    ReactiveQuadrant(u8),
    AbsoluteEnergy,
    PowerImport,
    PowerExport,
    ReactivePowerImport,
    ReactivePowerExport,
    ReactivePowerQuadrant(u8),
    ApparentPowerImport,
    ApparentPowerExport,
    PowerFactor,
    Frequency,
    Demand,
    MonthPeak,
    PowerFailureLog,
    PhasePowerImport(u8),
    PhasePowerExport(u8),
    PhaseReactiveImport(u8),
    PhaseReactiveExport(u8),
    PhaseCurrent(u8),
    PhaseCurrentLimit(u8),
    PhaseVoltage(u8),
    PhaseSags(u8),
    PhaseSwells(u8),
    PhasePowerFactor(u8),
    MbusDeviceType(u8),
    MbusEquipmentId(u8),
    MbusEan(u8),
    MbusValve(u8),
    MbusBreaker(u8),
    MbusReading(u8, ReadingKind),
    MbusProfile(u8),
    Unknown,
}

impl Slot {
    /// The slot of a code. Indices are 0-based (phase L1, M-Bus channel 1).
    pub(super) fn of(o: Obis) -> Slot {
        use Slot::*;
        match (o.a, o.b, o.c, o.d, o.e) {
            (1, 3, 0, 2, 8) => Version,
            (0, 0, 96, 1, 4) => EmucsVersion,
            (0, 0, 1, 0, 0) => Timestamp,
            (0, 0, 96, 1, 1) => EquipmentId,
            (0, 0, 96, 1, 0) | (0, 0, 96, 1, 255) => Serial,
            (0, 0, 96, 1, 2) => Ean,
            (0, 0, 42, 0, 0) => LogicalName,
            (0 | 1, 0, 0, 0, 0) => DeviceId,
            (0, 0, 96, 14, 0) => Tariff,
            (0, 0, 96, 3, 10) => Breaker,
            (0, 0, 17, 0, 0) => Threshold,
            (0, 0, 96, 7, 21) => PowerFailures,
            (0, 0, 96, 7, 9) => LongPowerFailures,
            (0, 0, 96, 13, 0) => TextMessage,
            (0, 0, 96, 13, 1) => TextCode,
            (0, 0, 96, 13, e @ 2..=5) => TextMessageExtra(e - 2),
            (0, 0, 98, 1, 0) => PeakHistory,
            (1, 0 | 1, c, d, e) => Slot::electricity(c, d, e),
            (0, n @ 1..=4, c, d, e) => Slot::mbus(n - 1, c, d, e),
            _ => Unknown,
        }
    }

    /// Electricity objects of the meter itself.
    pub(super) fn electricity(c: u8, d: u8, e: u8) -> Slot {
        use Slot::*;
        match (c, d, e) {
            (1, 8, t @ 0..=4) => Imported(t),
            (2, 8, t @ 0..=4) => Exported(t),
            (1, 8, t) => ImportedMore(t),
            (2, 8, t) => ExportedMore(t),
            (3, 8, t @ 0..=4) => ReactiveImported(t),
            (4, 8, t @ 0..=4) => ReactiveExported(t),
            (5..=8, 8, 0) => ReactiveQuadrant(c - 5),
            (15, 8, 0) => AbsoluteEnergy,
            (1, 7, 0) => PowerImport,
            (2, 7, 0) => PowerExport,
            (3, 7, 0) => ReactivePowerImport,
            (4, 7, 0) => ReactivePowerExport,
            (5..=8, 7, 0) => ReactivePowerQuadrant(c - 5),
            (9, 7, 0) => ApparentPowerImport,
            (10, 7, 0) => ApparentPowerExport,
            (13, 7, 0) => PowerFactor,
            (14, 7, 0) => Frequency,
            (1, 4, 0) => Demand,
            (1, 6, 0) => MonthPeak,
            (99, 97, 0) => PowerFailureLog,
            (21..=24 | 41..=44 | 61..=64, 7, 0) => {
                let p = (c - 21) / 20;
                match (c - 21) % 20 {
                    0 => PhasePowerImport(p),
                    1 => PhasePowerExport(p),
                    2 => PhaseReactiveImport(p),
                    _ => PhaseReactiveExport(p),
                }
            }
            (31 | 51 | 71, 7, 0) => PhaseCurrent((c - 31) / 20),
            (31 | 51 | 71, 4, 0) => PhaseCurrentLimit((c - 31) / 20),
            (32 | 52 | 72, 7, 0) => PhaseVoltage((c - 32) / 20),
            (32 | 52 | 72, 32, 0) => PhaseSags((c - 32) / 20),
            (32 | 52 | 72, 36, 0) => PhaseSwells((c - 32) / 20),
            (33 | 53 | 73, 7, 0) => PhasePowerFactor((c - 33) / 20),
            _ => Unknown,
        }
    }

    /// Objects of M-Bus channel `ch + 1`.
    pub(super) fn mbus(ch: u8, c: u8, d: u8, e: u8) -> Slot {
        use Slot::*;
        match (c, d, e) {
            (24, 1, 0) => MbusDeviceType(ch),
            (96, 1, 0 | 1) => MbusEquipmentId(ch),
            (96, 1, 2) => MbusEan(ch),
            (24, 4, 0) => MbusValve(ch),
            (96, 3, 10) => MbusBreaker(ch),
            (24, 2, 1) => MbusReading(ch, ReadingKind::Corrected),
            (24, 2, 3) => MbusReading(ch, ReadingKind::Uncorrected),
            (24, 3, 0) => MbusProfile(ch),
            _ => Unknown,
        }
    }
}

// The dimensions each kind of register accepts.
pub(super) const ENERGY: &[Dimension] = &[Dimension::Energy];
pub(super) const POWER: &[Dimension] = &[Dimension::Power];
pub(super) const REACTIVE_POWER: &[Dimension] = &[Dimension::ReactivePower];
pub(super) const REACTIVE_ENERGY: &[Dimension] = &[Dimension::ReactiveEnergy];
pub(super) const APPARENT: &[Dimension] = &[Dimension::ApparentPower];
pub(super) const VOLTAGE: &[Dimension] = &[Dimension::Voltage];
pub(super) const CURRENT: &[Dimension] = &[Dimension::Current];
pub(super) const NONE: &[Dimension] = &[Dimension::Dimensionless];
pub(super) const FREQUENCY: &[Dimension] = &[Dimension::Frequency];
/// `0-0:17.0.0`: kW (DSMR 4+), A (DSMR 3) or kVA (Luxembourg).
pub(super) const THRESHOLD: &[Dimension] = &[
    Dimension::Power,
    Dimension::Current,
    Dimension::ApparentPower,
];
/// M-Bus readings: m³ (gas, water), GJ or kWh (heat), or a bare count.
pub(super) const MBUS: &[Dimension] = &[
    Dimension::Volume,
    Dimension::Energy,
    Dimension::Dimensionless,
];

/// What a quantity register accepts: the dimensions a written unit may
/// have, and the unit assumed when the meter writes none.
pub(super) type Accepts = (&'static [Dimension], Unit);

const ENERGY_KWH: Accepts = (ENERGY, Unit::KWh);
const POWER_KW: Accepts = (POWER, Unit::KW);
const REACTIVE_ENERGY_KVARH: Accepts = (REACTIVE_ENERGY, Unit::KVarh);
const REACTIVE_POWER_KVAR: Accepts = (REACTIVE_POWER, Unit::KVar);

impl Telegram {
    /// The field a counter slot fills.
    #[inline(always)]
    pub(super) fn count_field(&mut self, slot: Slot) -> Option<&mut Option<u64>> {
        match slot {
            Slot::PowerFailures => Some(&mut self.power_failures),
            Slot::LongPowerFailures => Some(&mut self.long_power_failures),
            Slot::PhaseSags(p) => Some(&mut self.phases[p as usize].voltage_sags),
            Slot::PhaseSwells(p) => Some(&mut self.phases[p as usize].voltage_swells),
            _ => None,
        }
    }

    /// The field a text slot fills: where its first group lies in the text.
    #[inline(always)]
    pub(super) fn span_field(&mut self, slot: Slot) -> Option<&mut Option<Span>> {
        use Slot::*;
        Some(match slot {
            Version => &mut self.version,
            EmucsVersion => &mut self.emucs_version,
            EquipmentId => &mut self.equipment_id,
            Serial => &mut self.serial,
            Ean => &mut self.ean,
            LogicalName => &mut self.logical_name,
            DeviceId => &mut self.device_id,
            TextMessage => &mut self.text_message,
            TextCode => &mut self.text_code,
            TextMessageExtra(i) => &mut self.text_messages_extra[i as usize],
            MbusEquipmentId(ch) => &mut self.mbus[ch as usize].equipment_id,
            MbusEan(ch) => &mut self.mbus[ch as usize].ean,
            _ => return None,
        })
    }

    /// The field a one-quantity slot fills, with the dimensions it accepts
    /// and the unit assumed when the meter writes none.
    #[inline(always)]
    pub(super) fn quantity_field(
        &mut self,
        slot: Slot,
    ) -> Option<(&mut Option<Quantity>, Accepts)> {
        use Slot::*;
        let p = &mut self.phases;
        Some(match slot {
            Threshold => (&mut self.threshold, (THRESHOLD, Unit::KW)),
            Imported(t) => (&mut self.imported[t as usize], ENERGY_KWH),
            Exported(t) => (&mut self.exported[t as usize], ENERGY_KWH),
            ReactiveImported(t) => (
                &mut self.reactive_imported[t as usize],
                REACTIVE_ENERGY_KVARH,
            ),
            ReactiveExported(t) => (
                &mut self.reactive_exported[t as usize],
                REACTIVE_ENERGY_KVARH,
            ),
            ReactiveQuadrant(q) => (
                &mut self.reactive_quadrants[q as usize],
                REACTIVE_ENERGY_KVARH,
            ),
            AbsoluteEnergy => (&mut self.absolute_energy, ENERGY_KWH),
            PowerImport => (&mut self.power_import, POWER_KW),
            PowerExport => (&mut self.power_export, POWER_KW),
            ReactivePowerImport => (&mut self.reactive_power_import, REACTIVE_POWER_KVAR),
            ReactivePowerExport => (&mut self.reactive_power_export, REACTIVE_POWER_KVAR),
            ReactivePowerQuadrant(q) => (
                &mut self.reactive_power_quadrants[q as usize],
                REACTIVE_POWER_KVAR,
            ),
            ApparentPowerImport => (&mut self.apparent_power_import, (APPARENT, Unit::KVA)),
            ApparentPowerExport => (&mut self.apparent_power_export, (APPARENT, Unit::KVA)),
            PowerFactor => (&mut self.power_factor, (NONE, Unit::None)),
            Frequency => (&mut self.frequency, (FREQUENCY, Unit::Hz)),
            Demand => (&mut self.demand, POWER_KW),
            PhasePowerImport(i) => (&mut p[i as usize].power_import, POWER_KW),
            PhasePowerExport(i) => (&mut p[i as usize].power_export, POWER_KW),
            PhaseReactiveImport(i) => (
                &mut p[i as usize].reactive_power_import,
                REACTIVE_POWER_KVAR,
            ),
            PhaseReactiveExport(i) => (
                &mut p[i as usize].reactive_power_export,
                REACTIVE_POWER_KVAR,
            ),
            PhaseCurrent(i) => (&mut p[i as usize].current, (CURRENT, Unit::A)),
            PhaseCurrentLimit(i) => (&mut p[i as usize].current_limit, (CURRENT, Unit::A)),
            PhaseVoltage(i) => (&mut p[i as usize].voltage, (VOLTAGE, Unit::V)),
            PhasePowerFactor(i) => (&mut p[i as usize].power_factor, (NONE, Unit::None)),
            _ => return None,
        })
    }
}
