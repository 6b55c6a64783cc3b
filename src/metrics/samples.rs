//! Samples: a meter's state or one telegram as a flat list of
//! (family, labels, value), the one place that decides which register
//! becomes which series. The scrape ([`super::exposition`]) and `backfill`
//! both write these, so both write the same names.

use super::families::{Family, MetricKind};
use crate::state::{unix_millis, MbusKind, MeterState};
use dsmr_engine::telegram::{device_type_name, Mbus, Span, Telegram};
use dsmr_engine::value::Dimension;
use dsmr_engine::{Fixed, Quantity, Zone};
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, LabelSetEncoder, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::borrow::Cow;
use std::fmt;

/// A sample value, kept exact: integers are written without a decimal point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
}

impl Value {
    /// An exact decimal: an integer when it is one, else its nearest double.
    fn exact(f: Fixed) -> Value {
        match f.as_integer() {
            Some(i) => Value::Int(i),
            None => Value::Float(f.to_f64()),
        }
    }

    /// A count from the meter. Meters send values above `i32::MAX`, so it is
    /// a u64; beyond `i64::MAX` (damaged input only) it becomes the nearest double.
    fn count(n: u64) -> Value {
        i64::try_from(n).map_or(Value::Float(n as f64), Value::Int)
    }

    pub(super) fn encode(self, kind: MetricKind, enc: MetricEncoder<'_>) -> fmt::Result {
        match (kind, self) {
            // Counters are checked for sign when pushed.
            (MetricKind::Counter, Value::Int(v)) => ConstCounter::new(v.unsigned_abs()).encode(enc),
            (MetricKind::Counter, Value::Float(v)) => ConstCounter::new(v).encode(enc),
            (MetricKind::Gauge, Value::Int(v)) => ConstGauge::new(v).encode(enc),
            (MetricKind::Gauge, Value::Float(v)) => ConstGauge::new(v).encode(enc),
        }
    }

    fn is_negative(self) -> bool {
        match self {
            Value::Int(v) => v < 0,
            Value::Float(v) => v < 0.0,
        }
    }
}

const MAX_LABELS: usize = 4;

/// The labels of one sample, `meter` first; no allocation unless a value is
/// copied out of a telegram.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels<'a> {
    pairs: [(&'static str, Cow<'a, str>); MAX_LABELS],
    len: usize,
}

impl<'a> Labels<'a> {
    fn meter(name: &'a str) -> Labels<'a> {
        Labels::default().with("meter", name)
    }

    pub(super) fn with(mut self, key: &'static str, value: impl Into<Cow<'a, str>>) -> Labels<'a> {
        // Every family has at most MAX_LABELS labels; a fifth would be a bug
        // (caught in debug builds), so release builds drop it rather than panic.
        debug_assert!(self.len < MAX_LABELS, "too many labels for {key}");
        if let Some(slot) = self.pairs.get_mut(self.len) {
            *slot = (key, value.into());
            self.len += 1;
        }
        self
    }

    /// The label pairs in the order they are written, `meter` first.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.pairs[..self.len].iter().map(|(k, v)| (*k, v.as_ref()))
    }
}

impl EncodeLabelSet for Labels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> fmt::Result {
        for (k, v) in &self.pairs[..self.len] {
            prometheus_client::encoding::EncodeLabel::encode(
                &(*k, v.as_ref()),
                encoder.encode_label(),
            )?;
        }
        Ok(())
    }
}

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
    fn push(&mut self, fam: Family, labels: Labels<'a>, value: Value) {
        // A register is never negative; a negative one is damage, not a value.
        if fam.describe().2 == MetricKind::Counter && value.is_negative() {
            return;
        }
        self.out.push(Sample {
            family: fam,
            labels,
            value,
        });
    }

    /// One sample labelled with the meter only.
    fn plain(&mut self, fam: Family, value: Value) {
        self.push(fam, Labels::meter(self.meter), value);
    }

    fn labelled(&mut self, fam: Family, key: &'static str, label: &'static str, value: Value) {
        let labels = Labels::meter(self.meter).with(key, label);
        self.push(fam, labels, value);
    }

    /// A quantity in its base unit; nothing when absent or of unknown unit.
    fn qty(
        &mut self,
        fam: Family,
        extra: Option<(&'static str, &'static str)>,
        q: Option<Quantity>,
    ) {
        let Some(v) = q.and_then(Quantity::base).map(Value::exact) else {
            return;
        };
        match extra {
            Some((k, l)) => self.labelled(fam, k, l, v),
            None => self.plain(fam, v),
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
    }

    pub(super) fn telegram(&mut self, t: &Telegram) {
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

        self.qty(Family::TotalImported, None, t.imported[0]);
        self.qty(Family::TotalExported, None, t.exported[0]);
        self.qty(Family::TotalReactiveImported, None, t.reactive_imported[0]);
        self.qty(Family::TotalReactiveExported, None, t.reactive_exported[0]);
        for (i, &tariff) in TARIFFS.iter().enumerate().skip(1) {
            let tariff = Some(("tariff", tariff));
            self.qty(Family::Imported, tariff, t.imported[i]);
            self.qty(Family::Exported, tariff, t.exported[i]);
            self.qty(Family::ReactiveImported, tariff, t.reactive_imported[i]);
            self.qty(Family::ReactiveExported, tariff, t.reactive_exported[i]);
        }

        self.qty(Family::ImportWatts, None, t.power_import);
        self.qty(Family::ExportWatts, None, t.power_export);
        self.qty(Family::ReactiveImportVar, None, t.reactive_power_import);
        self.qty(Family::ReactiveExportVar, None, t.reactive_power_export);
        self.qty(Family::ApparentImport, None, t.apparent_power_import);
        self.qty(Family::ApparentExport, None, t.apparent_power_export);
        self.qty(Family::PowerFactor, None, t.power_factor);
        self.qty(Family::Frequency, None, t.frequency);
        self.qty(Family::Demand, None, t.demand);
        if let Some(peak) = t.month_peak {
            self.qty(Family::MonthPeak, None, Some(peak.value));
            if let Some(time) = peak.time {
                self.plain(
                    Family::MonthPeakTimestamp,
                    Value::Int(time.to_unix(&self.zone)),
                );
            }
        }
        if let Some(n) = t.tariff {
            self.plain(Family::Tariff, Value::Int(n.into()));
        }
        if let Some(q) = t.threshold {
            let fam = match q.dimension() {
                Some(Dimension::Power) => Some(Family::ThresholdWatts),
                Some(Dimension::Current) => Some(Family::ThresholdAmperes),
                Some(Dimension::ApparentPower) => Some(Family::ThresholdVoltamperes),
                _ => None,
            };
            if let Some(fam) = fam {
                self.qty(fam, None, Some(q));
            }
        }
        if let Some(b) = t.breaker {
            self.plain(Family::BreakerState, Value::Int(b.into()));
        }

        for (p, name) in t.phases.iter().zip(PHASES) {
            let phase = Some(("phase", name));
            self.qty(Family::PhaseImport, phase, p.power_import);
            self.qty(Family::PhaseExport, phase, p.power_export);
            self.qty(Family::PhaseReactiveImport, phase, p.reactive_power_import);
            self.qty(Family::PhaseReactiveExport, phase, p.reactive_power_export);
            self.qty(Family::PhaseVoltage, phase, p.voltage);
            self.qty(Family::PhaseCurrent, phase, p.current);
            self.qty(Family::PhaseCurrentLimit, phase, p.current_limit);
            self.qty(Family::PhasePowerFactor, phase, p.power_factor);
            if let Some(n) = p.voltage_sags {
                self.labelled(Family::PhaseSags, "phase", name, Value::count(n));
            }
            if let Some(n) = p.voltage_swells {
                self.labelled(Family::PhaseSwells, "phase", name, Value::count(n));
            }
        }

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

        for (m, channel) in t.mbus.iter().zip(CHANNELS) {
            self.mbus(t, m, channel);
        }
    }

    /// One M-Bus channel: its device info (only when it announces a device
    /// type), its register (see [`mbus_family`]), the reading's capture time
    /// and the valve. A placeholder reading has already been dropped by the
    /// decoder, so a dead channel shows at most its device info.
    fn mbus(&mut self, t: &Telegram, m: &Mbus, channel: &'static str) {
        if let Some(dt) = m.device_type {
            let kind: Cow<'a, str> = match device_type_name(dt) {
                "other" => dt.to_string().into(),
                name => name.into(),
            };
            let mut labels = Labels::meter(self.meter)
                .with("channel", channel)
                .with("device_type", kind);
            if let Some(id) = self.equipment_id(t, m.equipment_id) {
                labels = labels.with("equipment_id", id);
            }
            self.push(Family::MbusDeviceInfo, labels, Value::Int(1));
        }
        if let Some(r) = m.reading {
            if let Some(fam) = mbus_family(m.device_type, r.value.dimension()) {
                self.qty(fam, Some(("channel", channel)), Some(r.value));
            }
            let time = Value::Int(r.time.to_unix(&self.zone));
            self.labelled(Family::MbusReadingTimestamp, "channel", channel, time);
        }
        if let Some(v) = m.valve {
            self.labelled(Family::MbusValve, "channel", channel, Value::Int(v.into()));
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

/// Equipment ids (0-0:96.1.1, 0-n:96.1.0) are ASCII written as hex digits;
/// they are shown as that ASCII when they decode to printable characters,
/// else as written.
pub fn decode_equipment_id(raw: &str) -> String {
    fn nibble(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = raw.as_bytes();
    if b.is_empty() || b.len() % 2 != 0 {
        return raw.to_owned();
    }
    let decoded: Option<String> = b
        .chunks_exact(2)
        .map(|p| {
            let c = nibble(p[0])? << 4 | nibble(p[1])?;
            (0x20..=0x7e).contains(&c).then_some(c as char)
        })
        .collect();
    decoded.unwrap_or_else(|| raw.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equipment_ids_decode_only_when_printable() {
        assert_eq!(
            decode_equipment_id("4530303434303037333832323436303139"),
            "E0044007382246019"
        );
        assert_eq!(decode_equipment_id("00000000000000"), "00000000000000");
        assert_eq!(decode_equipment_id("ADC3100000158491"), "ADC3100000158491");
        assert_eq!(decode_equipment_id("123"), "123");
        assert_eq!(decode_equipment_id("4G"), "4G");
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
