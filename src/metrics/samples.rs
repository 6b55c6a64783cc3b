//! Samples: a meter's state or one telegram as a flat list of
//! (family, labels, value), the one place that decides which register
//! becomes which series. The scrape ([`super::exposition`]) and `backfill`
//! both write these, so both write the same names.

use super::families::{Family, MetricKind};
use super::labels::{decode_equipment_id, Labels};
use super::value::Value;
use crate::capacity::Capacity;
use crate::cost::money::{atto_to_fixed, NANO_DIGITS};
use crate::cost::{Account, Commodity};
use crate::state::{unix_millis, MbusKind, MeterState};
use dsmr_engine::telegram::{device_type_name, Mbus, Span, Telegram};
use dsmr_engine::value::Dimension;
use dsmr_engine::{Fixed, Quantity, Zone};
use std::borrow::Cow;

/// One sample of the exposition: family, labels and value, without a time.
#[derive(Debug, Clone)]
pub struct Sample<'a> {
    pub(super) family: Family,
    pub(super) labels: Labels<'a>,
    pub(super) value: Value,
}

impl<'a> Sample<'a> {
    /// The family the sample belongs to.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Its labels, `meter` first.
    pub fn labels(&self) -> &Labels<'a> {
        &self.labels
    }

    /// Its value.
    pub fn value(&self) -> Value {
        self.value
    }
}

const PHASES: [&str; 3] = ["l1", "l2", "l3"];
const TARIFFS: [&str; 5] = ["0", "1", "2", "3", "4"];
const CHANNELS: [&str; 4] = ["1", "2", "3", "4"];

/// Appends the measurement samples of one telegram (every family but the
/// exporter's own), as a scrape shows them for `meter`: what backfill stamps
/// with the telegram's time, so both share one set of names. Meter
/// timestamps without a DST flag are read in `zone`.
pub fn telegram_samples<'a>(
    t: &Telegram,
    meter: &'a str,
    zone: Zone,
    expose_equipment_ids: bool,
    out: &mut Vec<Sample<'a>>,
) {
    SampleBuilder {
        out,
        meter,
        zone,
        expose_equipment_ids,
    }
    .telegram(t);
}

/// Turns one meter's state into samples.
pub(super) struct SampleBuilder<'v, 'a> {
    pub(super) out: &'v mut Vec<Sample<'a>>,
    pub(super) meter: &'a str,
    pub(super) zone: Zone,
    pub(super) expose_equipment_ids: bool,
}

impl<'a> SampleBuilder<'_, 'a> {
    /// Appends one sample, unless it is a negative counter.
    fn push(&mut self, family: Family, labels: Labels<'a>, value: Value) {
        // A register is never negative; a negative one is damage, not a
        // value. A meter's registers never get here negative: the register
        // guard (`crate::state::registers`) counts them as field errors and
        // holds the last good value. This drop only guards `backfill`,
        // which writes the telegrams of a log as they are.
        if family.describe().2 == MetricKind::Counter && value.is_negative() {
            return;
        }
        self.out.push(Sample {
            family,
            labels,
            value,
        });
    }

    /// One sample labelled with the meter only.
    fn plain(&mut self, family: Family, value: Value) {
        self.push(family, Labels::meter(self.meter), value);
    }

    /// One sample labelled with the meter and one more label.
    fn labelled(&mut self, family: Family, key: &'static str, label: &'static str, value: Value) {
        let labels = Labels::meter(self.meter).with(key, label);
        self.push(family, labels, value);
    }

    /// A quantity in its base unit; nothing when absent or of unknown unit.
    fn quantity(
        &mut self,
        family: Family,
        extra: Option<(&'static str, &'static str)>,
        q: Option<Quantity>,
    ) {
        let Some(v) = q.and_then(Quantity::base).map(Value::exact) else {
            return;
        };
        match extra {
            Some((k, l)) => self.labelled(family, k, l, v),
            None => self.plain(family, v),
        }
    }

    /// The exporter's own series: they stay while the meter is stale.
    pub(super) fn exporter(&mut self, st: &MeterState) {
        for (result, n) in [
            ("ok", st.ok),
            ("crc_mismatch", st.crc_mismatch),
            ("malformed", st.malformed),
        ] {
            self.labelled(Family::Telegrams, "result", result, Value::count(n));
        }
        if let Some(ms) = st.received_at.map(unix_millis).filter(|ms| *ms >= 0) {
            self.plain(Family::LastTelegram, Value::exact(Fixed::new(ms, 3)));
        }
        self.plain(Family::SourceUp, Value::Int(st.source_up.into()));
        self.plain(Family::Reconnects, Value::count(st.reconnects));
        self.plain(Family::FieldErrors, Value::count(st.field_errors));
        // Only for a meter that has sent one (a Holley): no extra series
        // for every other meter.
        if st.crc_x25 > 0 {
            self.plain(Family::CrcX25, Value::count(st.crc_x25));
        }
        for (register, reason, n) in st.registers.rejected() {
            let labels = Labels::meter(self.meter)
                .with("register", register)
                .with("reason", reason.as_str());
            self.push(Family::RegisterRejections, labels, Value::count(n));
        }
        if let Some(account) = &st.cost {
            self.cost(account);
        }
    }

    /// The cost counters of a meter with prices: process counters like
    /// `dsmr_telegrams_total`, so they stay while the meter is stale. Each
    /// exact sum becomes a double here, once.
    fn cost(&mut self, account: &Account) {
        let currency = account.currency().to_owned();
        let money = |labels: Labels<'a>, commodity: Commodity| {
            labels
                .with("commodity", commodity.as_str())
                .with("currency", currency.clone())
        };
        for (commodity, atto) in account.spent() {
            let labels = money(Labels::meter(self.meter), commodity);
            self.push(Family::Cost, labels, Value::exact(atto_to_fixed(atto)));
        }
        if let Some(nanos) = account.fixed() {
            let labels = money(Labels::meter(self.meter), Commodity::Fixed);
            let value = Value::exact(Fixed::new(nanos, NANO_DIGITS as u8));
            self.push(Family::Cost, labels, value);
        }
        if let Some(atto) = account.earned() {
            let labels = money(Labels::meter(self.meter), Commodity::Electricity);
            self.push(Family::Earnings, labels, Value::exact(atto_to_fixed(atto)));
        }
    }

    /// The all-in prices at the meter's latest telegram, and whether each
    /// is known: measurements, so they leave with a stale meter.
    pub(super) fn prices(&mut self, st: &MeterState) {
        let Some(account) = &st.cost else { return };
        for p in account.prices() {
            let labels = Labels::meter(self.meter)
                .with("commodity", p.commodity.as_str())
                .with("direction", p.direction.as_str());
            let available = Value::Int(p.price.is_some().into());
            self.push(Family::PriceAvailable, labels.clone(), available);
            if let Some(price) = p.price {
                let labels = labels
                    .with("unit", p.commodity.unit())
                    .with("currency", account.currency().to_owned());
                let value = Value::exact(Fixed::new(price.0, NANO_DIGITS as u8));
                self.push(Family::Price, labels, value);
            }
        }
        for a in account.ahead() {
            let labels = Labels::meter(self.meter)
                .with("commodity", a.commodity.as_str())
                .with("direction", a.direction.as_str())
                .with("currency", account.currency().to_owned())
                .with("start", utc(a.start));
            let value = Value::exact(Fixed::new(a.price.0, NANO_DIGITS as u8));
            self.push(Family::PriceAhead, labels, value);
        }
    }

    /// Every measurement sample of one telegram, family by family.
    pub(super) fn telegram(&mut self, t: &Telegram) {
        self.meter_info(t);
        self.energy_registers(t);
        self.instant_power(t);
        self.tariff_and_limits(t);
        self.phases(t);
        self.power_failures(t);
        for (m, channel) in t.mbus.iter().zip(CHANNELS) {
            self.mbus(t, m, channel);
        }
    }

    /// What the meter says about itself: version, manufacturer, its clock.
    fn meter_info(&mut self, t: &Telegram) {
        let mut info = Labels::meter(self.meter)
            .with("version", t.declared_version().unwrap_or("").to_owned())
            .with("manufacturer", t.manufacturer().to_owned());
        if let Some(id) = self.equipment_id(t, t.equipment_id) {
            info = info.with("equipment_id", id);
        }
        self.push(Family::MeterInfo, info, Value::Int(1));
        if let Some(ts) = t.timestamp {
            self.plain(Family::MeterTimestamp, Value::Int(ts.to_unix(&self.zone)));
        }
    }

    /// The energy registers: totals, then per tariff.
    fn energy_registers(&mut self, t: &Telegram) {
        self.quantity(Family::TotalImported, None, t.imported[0]);
        self.quantity(Family::TotalExported, None, t.exported[0]);
        self.quantity(Family::TotalReactiveImported, None, t.reactive_imported[0]);
        self.quantity(Family::TotalReactiveExported, None, t.reactive_exported[0]);
        for (i, &tariff) in TARIFFS.iter().enumerate().skip(1) {
            let tariff = Some(("tariff", tariff));
            self.quantity(Family::Imported, tariff, t.imported[i]);
            self.quantity(Family::Exported, tariff, t.exported[i]);
            self.quantity(Family::ReactiveImported, tariff, t.reactive_imported[i]);
            self.quantity(Family::ReactiveExported, tariff, t.reactive_exported[i]);
        }
        // Tariffs above 4 (1.8.5, Israeli 1.8.11 to 1.8.13): the tariff
        // label is the meter's own number, as for 1 to 4.
        for (family, more) in [
            (Family::Imported, &t.imported_more),
            (Family::Exported, &t.exported_more),
        ] {
            for r in more {
                if let Some(v) = r.value.base().map(Value::exact) {
                    let labels = Labels::meter(self.meter).with("tariff", r.tariff.to_string());
                    self.push(family, labels, v);
                }
            }
        }
    }

    /// Power over all phases now, the quarter-hour demand and the month's peak.
    fn instant_power(&mut self, t: &Telegram) {
        self.quantity(Family::ImportWatts, None, t.power_import);
        self.quantity(Family::ExportWatts, None, t.power_export);
        self.quantity(Family::ReactiveImportVar, None, t.reactive_power_import);
        self.quantity(Family::ReactiveExportVar, None, t.reactive_power_export);
        self.quantity(Family::ApparentImport, None, t.apparent_power_import);
        self.quantity(Family::ApparentExport, None, t.apparent_power_export);
        self.quantity(Family::PowerFactor, None, t.power_factor);
        self.quantity(Family::Frequency, None, t.frequency);
        self.quantity(Family::Demand, None, t.demand);
        if let Some(peak) = t.month_peak {
            self.quantity(Family::MonthPeak, None, Some(peak.value));
            if let Some(time) = peak.time {
                self.plain(
                    Family::MonthPeakTimestamp,
                    Value::Int(time.to_unix(&self.zone)),
                );
            }
        }
    }

    /// The tariff in force, the limit set in the meter (one family per
    /// unit it is given in) and the breaker.
    fn tariff_and_limits(&mut self, t: &Telegram) {
        if let Some(n) = t.tariff {
            self.plain(Family::Tariff, Value::Int(n.into()));
        }
        if let Some(q) = t.threshold {
            let family = match q.dimension() {
                Some(Dimension::Power) => Some(Family::ThresholdWatts),
                Some(Dimension::Current) => Some(Family::ThresholdAmperes),
                Some(Dimension::ApparentPower) => Some(Family::ThresholdVoltamperes),
                _ => None,
            };
            if let Some(family) = family {
                self.quantity(family, None, Some(q));
            }
        }
        if let Some(b) = t.breaker {
            self.plain(Family::BreakerState, Value::Int(b.into()));
        }
    }

    /// Power, voltage, current and the sag and swell counts of each phase.
    fn phases(&mut self, t: &Telegram) {
        for (p, name) in t.phases.iter().zip(PHASES) {
            let phase = Some(("phase", name));
            self.quantity(Family::PhaseImport, phase, p.power_import);
            self.quantity(Family::PhaseExport, phase, p.power_export);
            self.quantity(Family::PhaseReactiveImport, phase, p.reactive_power_import);
            self.quantity(Family::PhaseReactiveExport, phase, p.reactive_power_export);
            self.quantity(Family::PhaseVoltage, phase, p.voltage);
            self.quantity(Family::PhaseCurrent, phase, p.current);
            self.quantity(Family::PhaseCurrentLimit, phase, p.current_limit);
            self.quantity(Family::PhasePowerFactor, phase, p.power_factor);
            if let Some(n) = p.voltage_sags {
                self.labelled(Family::PhaseSags, "phase", name, Value::count(n));
            }
            if let Some(n) = p.voltage_swells {
                self.labelled(Family::PhaseSwells, "phase", name, Value::count(n));
            }
        }
    }

    /// The power failure counters and the newest entry of the failure log.
    fn power_failures(&mut self, t: &Telegram) {
        if let Some(n) = t.power_failures {
            self.plain(Family::PowerFailures, Value::count(n));
        }
        if let Some(n) = t.long_power_failures {
            self.plain(Family::LongPowerFailures, Value::count(n));
        }
        if let Some(last) = t.last_power_failure() {
            if let Some(end) = last.end {
                self.plain(
                    Family::LongPowerFailureEnd,
                    Value::Int(end.to_unix(&self.zone)),
                );
            }
            if let Some(d) = last.duration {
                self.plain(Family::LongPowerFailureDuration, Value::count(d));
            }
        }
    }

    /// One M-Bus channel: its device info (only when it announces a device
    /// type), its register (see [`mbus_family`]), the reading's capture time
    /// and the valve. A placeholder reading has already been dropped by the
    /// decoder, so a dead channel shows at most its device info.
    fn mbus(&mut self, t: &Telegram, m: &Mbus, channel: &'static str) {
        if let Some(dt) = m.device_type {
            let device_type: Cow<'a, str> = match device_type_name(dt) {
                "other" => dt.to_string().into(),
                name => name.into(),
            };
            let mut labels = Labels::meter(self.meter)
                .with("channel", channel)
                .with("device_type", device_type);
            if let Some(id) = self.equipment_id(t, m.equipment_id) {
                labels = labels.with("equipment_id", id);
            }
            self.push(Family::MbusDeviceInfo, labels, Value::Int(1));
        }
        if let Some(r) = m.reading {
            if let Some(family) = mbus_family(m.device_type, r.value.dimension()) {
                self.quantity(family, Some(("channel", channel)), Some(r.value));
            }
            let time = Value::Int(r.time.to_unix(&self.zone));
            self.labelled(Family::MbusReadingTimestamp, "channel", channel, time);
        }
        if let Some(v) = m.valve {
            self.labelled(Family::MbusValve, "channel", channel, Value::Int(v.into()));
        }
    }

    /// The capacity tariff of a capacity meter (see [`crate::capacity`]):
    /// each value only when it was measured.
    pub(super) fn capacity(&mut self, c: &Capacity) {
        let mw = |mw: i64| Value::exact(Fixed::new(mw, 3));
        if let Some(p) = c.projected_mw {
            self.plain(Family::CapacityQuarterProjected, mw(p));
            self.plain(Family::CapacityQuarterStart, Value::Int(c.quarter_start));
        }
        if let Some(p) = c.month_peak_mw {
            self.plain(Family::CapacityMonthPeak, mw(p));
        }
        self.plain(Family::CapacityRollingAverage, mw(c.rolling_average_mw));
        let months = Value::Int(c.months_counted.into());
        self.plain(Family::CapacityRollingMonths, months);
        if let Some(cost) = c.cost_per_year {
            self.plain(Family::CapacityCost, Value::exact(cost));
        }
        if let Some(sent) = c.values_sent {
            self.plain(Family::CapacityValuesSent, Value::Int(sent.into()));
        }
    }

    /// The `equipment_id` label value, only when the user asked for it.
    fn equipment_id(&self, t: &Telegram, span: Option<Span>) -> Option<String> {
        if !self.expose_equipment_ids {
            return None;
        }
        let raw = t.str(span?);
        (!raw.is_empty()).then(|| decode_equipment_id(raw))
    }
}

/// The register family of an M-Bus reading ([`MbusKind::of`] decides which
/// one); anything else has no register series, its device info still shows.
fn mbus_family(device_type: Option<u16>, dim: Option<Dimension>) -> Option<Family> {
    MbusKind::of(device_type, dim).map(|k| match k {
        MbusKind::Gas => Family::Gas,
        MbusKind::Water => Family::Water,
        MbusKind::Heat => Family::Heat,
    })
}

/// `2025-10-02T13:15:00Z`: an interval's start as the `start` label, so
/// that the labels sort as the times do (years 1000 to 9999).
fn utc(unix: i64) -> String {
    let (y, m, d) = dsmr_engine::time::civil_from_days(unix.div_euclid(86_400));
    let s = unix.rem_euclid(86_400);
    let (h, mi, se) = (s / 3_600, s % 3_600 / 60, s % 60);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{se:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_starts_are_utc_labels_that_sort_as_times() {
        assert_eq!(utc(1_759_356_000), "2025-10-01T22:00:00Z");
        assert_eq!(utc(1_759_356_900 + 59), "2025-10-01T22:15:59Z");
        assert!(utc(1_759_356_000) < utc(1_759_442_400 - 900));
    }

    #[test]
    fn mbus_kind_follows_device_type_then_unit() {
        use Dimension::*;
        assert_eq!(mbus_family(Some(3), Some(Volume)), Some(Family::Gas));
        assert_eq!(
            mbus_family(Some(7), Some(Dimensionless)),
            Some(Family::Water)
        );
        assert_eq!(mbus_family(Some(6), Some(Volume)), Some(Family::Water));
        assert_eq!(mbus_family(Some(4), Some(Energy)), Some(Family::Heat));
        assert_eq!(mbus_family(Some(12), Some(Volume)), None);
        assert_eq!(mbus_family(None, Some(Energy)), Some(Family::Heat));
        assert_eq!(mbus_family(None, Some(Dimensionless)), Some(Family::Gas));
        assert_eq!(mbus_family(Some(11), Some(Energy)), None);
        assert_eq!(mbus_family(Some(3), None), None);
    }
}
