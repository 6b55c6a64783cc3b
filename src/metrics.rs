//! Meter state to Prometheus exposition: the only place that knows metric names.
//!
//! A [`Collector`] runs on every scrape. It locks each meter just long enough
//! to copy the values it exposes into a flat list of samples, releases the
//! lock, then writes the samples grouped by family. Names, units and labels
//! follow `METRICS.md`; values come from [`Quantity::base`], the exact integer
//! conversion to base units, so a register is written as the integer it is
//! (`7668414000`, not `7668414000.0` or a product of floats).
//!
//! What is left out is as deliberate as what is written: a value the
//! telegram lacks has no series (never a 0), and a meter that has been
//! silent for longer than [`MetricsOptions::stale_after`] keeps only the
//! exporter's own series, so Prometheus marks its measurements stale.
//!
//! [`telegram_samples`] gives the measurement samples of one telegram on its
//! own, without a [`Meter`] or lock: the scrape uses it for a fresh meter and
//! `backfill` stamps its output with each telegram's time, so both write the
//! same names.

use crate::state::{Meter, MeterState, Meters};
use dsmr_engine::telegram::{device_type_name, Mbus, Span, Telegram};
use dsmr_engine::value::Dimension;
use dsmr_engine::{Fixed, Quantity, Zone};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, LabelSetEncoder, MetricEncoder,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// What the exposition shows; fixed for the life of the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsOptions {
    /// A meter with no valid telegram for this long loses its measurement
    /// series (`--stale-after`).
    pub stale_after: Duration,
    /// Adds `equipment_id` labels. Off by default: the ids identify a household.
    pub expose_equipment_ids: bool,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            stale_after: Duration::from_secs(60),
            expose_equipment_ids: false,
        }
    }
}

/// The two text expositions a scraper can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text 0.0.4: what `promtool check metrics` accepts, so the default.
    Text004,
    /// OpenMetrics 1.0 text, for scrapers that ask for it.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` header that goes with this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text004 => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A registry built once around the meters, rendered on every scrape.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Length of the previous output, so the next buffer is allocated once.
    size_hint: AtomicUsize,
}

impl Metrics {
    /// Registers the collector for `meters`; the server keeps one of these.
    pub fn new(meters: Meters, opts: MetricsOptions) -> Metrics {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(MeterCollector { meters, opts }));
        Metrics {
            registry,
            size_hint: AtomicUsize::new(4096),
        }
    }

    /// The exposition of every meter as it is now.
    pub fn render(&self, format: Format) -> String {
        let hint = self.size_hint.load(Ordering::Relaxed);
        let mut out = String::with_capacity(hint + hint / 8);
        let result = match format {
            Format::Text004 => {
                prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            }
            Format::OpenMetrics => {
                prometheus_client::encoding::text::encode(&mut out, &self.registry)
            }
        };
        // Writing to a String cannot fail and the collector returns no errors
        // of its own, so this is a bug if it happens: say so, serve what there is.
        if let Err(e) = result {
            tracing::error!("encoding metrics failed: {e}");
        }
        self.size_hint.store(out.len(), Ordering::Relaxed);
        out
    }
}

/// Renders `meters` once. A server should keep a [`Metrics`] instead, which
/// builds the registry once.
pub fn render(meters: &Meters, opts: &MetricsOptions, format: Format) -> String {
    Metrics::new(meters.clone(), opts.clone()).render(format)
}

/// Every metric family, in the order they are written. The names are the
/// contract of `METRICS.md`; counters carry their `_total` here too and the
/// encoder's own suffix is stripped from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fam {
    MeterInfo,
    MeterTimestamp,
    Imported,
    Exported,
    TotalImported,
    TotalExported,
    ReactiveImported,
    ReactiveExported,
    TotalReactiveImported,
    TotalReactiveExported,
    ImportWatts,
    ExportWatts,
    ReactiveImportVar,
    ReactiveExportVar,
    ApparentImport,
    ApparentExport,
    PowerFactor,
    Frequency,
    Demand,
    MonthPeak,
    MonthPeakTimestamp,
    Tariff,
    ThresholdWatts,
    ThresholdAmperes,
    ThresholdVoltamperes,
    BreakerState,
    PhaseImport,
    PhaseExport,
    PhaseReactiveImport,
    PhaseReactiveExport,
    PhaseVoltage,
    PhaseCurrent,
    PhaseCurrentLimit,
    PhasePowerFactor,
    PhaseSags,
    PhaseSwells,
    PowerFailures,
    LongPowerFailures,
    LongPowerFailureEnd,
    LongPowerFailureDuration,
    Gas,
    Water,
    Heat,
    MbusReadingTimestamp,
    MbusDeviceInfo,
    MbusValve,
    Telegrams,
    LastTelegram,
    SourceUp,
    Reconnects,
    FieldErrors,
    BuildInfo,
}

/// The two metric types this exporter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

impl Fam {
    /// The sample name (`…_total` for counters), as `METRICS.md` spells it.
    pub fn name(self) -> &'static str {
        self.describe().0
    }

    /// The family name of the `# TYPE`/`# HELP` lines: a counter's sample
    /// name without `_total`, which OpenMetrics and the encoders add back.
    pub fn family_name(self) -> &'static str {
        let (name, _, kind) = self.describe();
        match kind {
            Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
            Kind::Gauge => name,
        }
    }

    /// The `# HELP` text: one sentence, no characters that need escaping.
    pub fn help(self) -> &'static str {
        self.describe().1
    }

    /// Counter or gauge.
    pub fn kind(self) -> Kind {
        self.describe().2
    }

    /// Name, help and type.
    fn describe(self) -> (&'static str, &'static str, Kind) {
        use Kind::{Counter as C, Gauge as G};
        match self {
            Fam::MeterInfo => ("dsmr_meter_info", "Protocol version and manufacturer code the meter announces; always 1.", G),
            Fam::MeterTimestamp => ("dsmr_meter_timestamp_seconds", "The meter's own clock (0-0:1.0.0) as Unix time.", G),
            Fam::Imported => ("dsmr_electricity_imported_joules_total", "Electricity taken from the grid per tariff: the meter's register (1-0:1.8.t).", C),
            Fam::Exported => ("dsmr_electricity_exported_joules_total", "Electricity delivered to the grid per tariff: the meter's register (1-0:2.8.t).", C),
            Fam::TotalImported => ("dsmr_electricity_total_imported_joules_total", "Electricity taken from the grid, all tariffs, on meters with a total register (1-0:1.8.0).", C),
            Fam::TotalExported => ("dsmr_electricity_total_exported_joules_total", "Electricity delivered to the grid, all tariffs, on meters with a total register (1-0:2.8.0).", C),
            Fam::ReactiveImported => ("dsmr_electricity_reactive_imported_varh_total", "Reactive energy imported per tariff (1-0:3.8.t).", C),
            Fam::ReactiveExported => ("dsmr_electricity_reactive_exported_varh_total", "Reactive energy exported per tariff (1-0:4.8.t).", C),
            Fam::TotalReactiveImported => ("dsmr_electricity_total_reactive_imported_varh_total", "Reactive energy imported, all tariffs (1-0:3.8.0).", C),
            Fam::TotalReactiveExported => ("dsmr_electricity_total_reactive_exported_varh_total", "Reactive energy exported, all tariffs (1-0:4.8.0).", C),
            Fam::ImportWatts => ("dsmr_electricity_import_watts", "Power taken from the grid now (1-0:1.7.0).", G),
            Fam::ExportWatts => ("dsmr_electricity_export_watts", "Power delivered to the grid now (1-0:2.7.0).", G),
            Fam::ReactiveImportVar => ("dsmr_electricity_reactive_import_var", "Reactive power imported now (1-0:3.7.0).", G),
            Fam::ReactiveExportVar => ("dsmr_electricity_reactive_export_var", "Reactive power exported now (1-0:4.7.0).", G),
            Fam::ApparentImport => ("dsmr_electricity_apparent_import_voltamperes", "Apparent power imported now (1-0:9.7.0).", G),
            Fam::ApparentExport => ("dsmr_electricity_apparent_export_voltamperes", "Apparent power exported now (1-0:10.7.0).", G),
            Fam::PowerFactor => ("dsmr_electricity_power_factor", "Power factor over all phases (1-0:13.7.0).", G),
            Fam::Frequency => ("dsmr_electricity_frequency_hertz", "Grid frequency (1-0:14.7.0).", G),
            Fam::Demand => ("dsmr_electricity_demand_watts", "Average power of the current quarter-hour (1-0:1.4.0, capacity tariff).", G),
            Fam::MonthPeak => ("dsmr_electricity_month_peak_watts", "Highest quarter-hour average power this month (1-0:1.6.0).", G),
            Fam::MonthPeakTimestamp => ("dsmr_electricity_month_peak_timestamp_seconds", "When this month's peak quarter-hour was, as Unix time.", G),
            Fam::Tariff => ("dsmr_electricity_tariff", "The tariff the meter counts in now (0-0:96.14.0).", G),
            Fam::ThresholdWatts => ("dsmr_electricity_threshold_watts", "Power limit set in the meter (0-0:17.0.0), when given in kW.", G),
            Fam::ThresholdAmperes => ("dsmr_electricity_threshold_amperes", "Current limit set in the meter (0-0:17.0.0), when given in A.", G),
            Fam::ThresholdVoltamperes => ("dsmr_electricity_threshold_voltamperes", "Apparent power limit set in the meter (0-0:17.0.0), when given in kVA.", G),
            Fam::BreakerState => ("dsmr_breaker_state", "Main breaker (0-0:96.3.10): 0 disconnected, 1 connected, 2 ready to reconnect.", G),
            Fam::PhaseImport => ("dsmr_phase_import_watts", "Power taken from the grid now, per phase (1-0:21/41/61.7.0).", G),
            Fam::PhaseExport => ("dsmr_phase_export_watts", "Power delivered to the grid now, per phase (1-0:22/42/62.7.0).", G),
            Fam::PhaseReactiveImport => ("dsmr_phase_reactive_import_var", "Reactive power imported now, per phase (1-0:23/43/63.7.0).", G),
            Fam::PhaseReactiveExport => ("dsmr_phase_reactive_export_var", "Reactive power exported now, per phase (1-0:24/44/64.7.0).", G),
            Fam::PhaseVoltage => ("dsmr_phase_voltage_volts", "Voltage per phase (1-0:32/52/72.7.0).", G),
            Fam::PhaseCurrent => ("dsmr_phase_current_amperes", "Current per phase (1-0:31/51/71.7.0).", G),
            Fam::PhaseCurrentLimit => ("dsmr_phase_current_limit_amperes", "Fuse supervision threshold per phase (1-0:31/51/71.4.0).", G),
            Fam::PhasePowerFactor => ("dsmr_phase_power_factor", "Power factor per phase (1-0:33/53/73.7.0).", G),
            Fam::PhaseSags => ("dsmr_phase_voltage_sags_total", "Voltage sags the meter counted per phase (1-0:32/52/72.32.0).", C),
            Fam::PhaseSwells => ("dsmr_phase_voltage_swells_total", "Voltage swells the meter counted per phase (1-0:32/52/72.36.0).", C),
            Fam::PowerFailures => ("dsmr_power_failures_total", "Power failures in any phase, counted by the meter (0-0:96.7.21).", C),
            Fam::LongPowerFailures => ("dsmr_long_power_failures_total", "Long power failures in any phase, counted by the meter (0-0:96.7.9).", C),
            Fam::LongPowerFailureEnd => ("dsmr_long_power_failure_last_end_timestamp_seconds", "End of the newest long power failure in the meter's log (1-0:99.97.0), as Unix time.", G),
            Fam::LongPowerFailureDuration => ("dsmr_long_power_failure_last_duration_seconds", "Duration of the newest long power failure in the meter's log (1-0:99.97.0).", G),
            Fam::Gas => ("dsmr_gas_cubic_meters_total", "Gas meter register on an M-Bus channel (0-n:24.2.1, 24.2.3 or 24.3.0).", C),
            Fam::Water => ("dsmr_water_cubic_meters_total", "Water meter register on an M-Bus channel (0-n:24.2.1).", C),
            Fam::Heat => ("dsmr_heat_joules_total", "Heat meter register on an M-Bus channel (0-n:24.2.1).", C),
            Fam::MbusReadingTimestamp => ("dsmr_mbus_reading_timestamp_seconds", "When the M-Bus device captured its last reading, as Unix time.", G),
            Fam::MbusDeviceInfo => ("dsmr_mbus_device_info", "A device announced on an M-Bus channel (0-n:24.1.0); always 1.", G),
            Fam::MbusValve => ("dsmr_mbus_valve_state", "M-Bus valve (0-n:24.4.0): 0 closed, 1 open, 2 ready to open.", G),
            Fam::Telegrams => ("dsmr_telegrams_total", "Telegrams framed from the source, by result.", C),
            Fam::LastTelegram => ("dsmr_last_telegram_timestamp_seconds", "When the last valid telegram arrived (exporter clock), as Unix time.", G),
            Fam::SourceUp => ("dsmr_source_up", "1 while the serial port or connection of the meter is open.", G),
            Fam::Reconnects => ("dsmr_source_reconnects_total", "Times the source was reopened after a failure.", C),
            Fam::FieldErrors => ("dsmr_field_errors_total", "Values left out of otherwise valid telegrams because they did not parse.", C),
            Fam::BuildInfo => ("dsmr_exporter_build_info", "The exporter's version; always 1.", G),
        }
    }
}

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

    fn encode(self, kind: Kind, enc: MetricEncoder<'_>) -> fmt::Result {
        match (kind, self) {
            // Counters are checked for sign when pushed.
            (Kind::Counter, Value::Int(v)) => ConstCounter::new(v.unsigned_abs()).encode(enc),
            (Kind::Counter, Value::Float(v)) => ConstCounter::new(v).encode(enc),
            (Kind::Gauge, Value::Int(v)) => ConstGauge::new(v).encode(enc),
            (Kind::Gauge, Value::Float(v)) => ConstGauge::new(v).encode(enc),
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

    fn with(mut self, key: &'static str, value: impl Into<Cow<'a, str>>) -> Labels<'a> {
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
    fam: Fam,
    labels: Labels<'a>,
    value: Value,
}

impl<'a> Sample<'a> {
    /// The family the sample belongs to.
    pub fn fam(&self) -> Fam {
        self.fam
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

#[derive(Debug)]
struct MeterCollector {
    meters: Meters,
    opts: MetricsOptions,
}

impl Collector for MeterCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let now = Instant::now();
        let mut samples = Vec::with_capacity(1 + 80 * self.meters.len());
        samples.push(Sample {
            fam: Fam::BuildInfo,
            labels: Labels::default().with("version", env!("CARGO_PKG_VERSION")),
            value: Value::Int(1),
        });
        for meter in self.meters.iter() {
            collect_meter(meter, &self.opts, now, &mut samples);
        }
        // Stable: within a family, meters stay in configuration order.
        samples.sort_by_key(|s| s.fam);
        for family in samples.chunk_by(|a, b| a.fam == b.fam) {
            let (_, help, kind) = family[0].fam.describe();
            let metric_type = match kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
            };
            // The encoders add `_total` to counters themselves.
            let name = family[0].fam.family_name();
            let mut metric = encoder.encode_descriptor(name, help, None, metric_type)?;
            for s in family {
                s.value.encode(kind, metric.encode_family(&s.labels)?)?;
            }
        }
        Ok(())
    }
}

/// Appends the samples of one meter, holding its lock only while copying.
fn collect_meter<'a>(
    meter: &'a Meter,
    opts: &MetricsOptions,
    now: Instant,
    out: &mut Vec<Sample<'a>>,
) {
    let mut w = Writer {
        out,
        meter: meter.name(),
        zone: meter.zone(),
        expose_equipment_ids: opts.expose_equipment_ids,
    };
    let st = meter.lock();
    w.exporter(&st);
    if !st.is_fresh(now, meter.stale_after_or(opts.stale_after)) {
        return;
    }
    if let Some(t) = &st.telegram {
        w.telegram(t);
    }
}

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
    Writer {
        out,
        meter,
        zone,
        expose_equipment_ids,
    }
    .telegram(t);
}

/// Turns one meter's state into samples.
struct Writer<'v, 'a> {
    out: &'v mut Vec<Sample<'a>>,
    meter: &'a str,
    zone: Zone,
    expose_equipment_ids: bool,
}

impl<'a> Writer<'_, 'a> {
    fn push(&mut self, fam: Fam, labels: Labels<'a>, value: Value) {
        // A register is never negative; a negative one is damage, not a value.
        if fam.describe().2 == Kind::Counter && value.is_negative() {
            return;
        }
        self.out.push(Sample { fam, labels, value });
    }

    /// One sample labelled with the meter only.
    fn plain(&mut self, fam: Fam, value: Value) {
        self.push(fam, Labels::meter(self.meter), value);
    }

    fn labelled(&mut self, fam: Fam, key: &'static str, label: &'static str, value: Value) {
        let labels = Labels::meter(self.meter).with(key, label);
        self.push(fam, labels, value);
    }

    /// A quantity in its base unit; nothing when absent or of unknown unit.
    fn qty(&mut self, fam: Fam, extra: Option<(&'static str, &'static str)>, q: Option<Quantity>) {
        let Some(v) = q.and_then(Quantity::base).map(Value::exact) else {
            return;
        };
        match extra {
            Some((k, l)) => self.labelled(fam, k, l, v),
            None => self.plain(fam, v),
        }
    }

    /// The exporter's own series: they stay while the meter is stale.
    fn exporter(&mut self, st: &MeterState) {
        for (result, n) in [
            ("ok", st.ok),
            ("crc_mismatch", st.crc_mismatch),
            ("malformed", st.malformed),
        ] {
            self.labelled(Fam::Telegrams, "result", result, Value::count(n));
        }
        if let Some(ms) = st
            .received_at
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok())
        {
            self.plain(Fam::LastTelegram, Value::exact(Fixed::new(ms, 3)));
        }
        self.plain(Fam::SourceUp, Value::Int(st.source_up.into()));
        self.plain(Fam::Reconnects, Value::count(st.reconnects));
        self.plain(Fam::FieldErrors, Value::count(st.field_errors));
    }

    fn telegram(&mut self, t: &Telegram) {
        let mut info = Labels::meter(self.meter)
            .with("version", t.declared_version().unwrap_or("").to_owned())
            .with("manufacturer", t.manufacturer().to_owned());
        if let Some(id) = self.equipment_id(t, t.equipment_id) {
            info = info.with("equipment_id", id);
        }
        self.push(Fam::MeterInfo, info, Value::Int(1));
        if let Some(ts) = t.timestamp {
            self.plain(Fam::MeterTimestamp, Value::Int(ts.to_unix(&self.zone)));
        }

        self.qty(Fam::TotalImported, None, t.imported[0]);
        self.qty(Fam::TotalExported, None, t.exported[0]);
        self.qty(Fam::TotalReactiveImported, None, t.reactive_imported[0]);
        self.qty(Fam::TotalReactiveExported, None, t.reactive_exported[0]);
        for (i, &tariff) in TARIFFS.iter().enumerate().skip(1) {
            let tariff = Some(("tariff", tariff));
            self.qty(Fam::Imported, tariff, t.imported[i]);
            self.qty(Fam::Exported, tariff, t.exported[i]);
            self.qty(Fam::ReactiveImported, tariff, t.reactive_imported[i]);
            self.qty(Fam::ReactiveExported, tariff, t.reactive_exported[i]);
        }

        self.qty(Fam::ImportWatts, None, t.power_import);
        self.qty(Fam::ExportWatts, None, t.power_export);
        self.qty(Fam::ReactiveImportVar, None, t.reactive_power_import);
        self.qty(Fam::ReactiveExportVar, None, t.reactive_power_export);
        self.qty(Fam::ApparentImport, None, t.apparent_power_import);
        self.qty(Fam::ApparentExport, None, t.apparent_power_export);
        self.qty(Fam::PowerFactor, None, t.power_factor);
        self.qty(Fam::Frequency, None, t.frequency);
        self.qty(Fam::Demand, None, t.demand);
        if let Some(peak) = t.month_peak {
            self.qty(Fam::MonthPeak, None, Some(peak.value));
            if let Some(time) = peak.time {
                self.plain(
                    Fam::MonthPeakTimestamp,
                    Value::Int(time.to_unix(&self.zone)),
                );
            }
        }
        if let Some(n) = t.tariff {
            self.plain(Fam::Tariff, Value::Int(n.into()));
        }
        if let Some(q) = t.threshold {
            let fam = match q.dimension() {
                Some(Dimension::Power) => Some(Fam::ThresholdWatts),
                Some(Dimension::Current) => Some(Fam::ThresholdAmperes),
                Some(Dimension::ApparentPower) => Some(Fam::ThresholdVoltamperes),
                _ => None,
            };
            if let Some(fam) = fam {
                self.qty(fam, None, Some(q));
            }
        }
        if let Some(b) = t.breaker {
            self.plain(Fam::BreakerState, Value::Int(b.into()));
        }

        for (p, name) in t.phases.iter().zip(PHASES) {
            let phase = Some(("phase", name));
            self.qty(Fam::PhaseImport, phase, p.power_import);
            self.qty(Fam::PhaseExport, phase, p.power_export);
            self.qty(Fam::PhaseReactiveImport, phase, p.reactive_power_import);
            self.qty(Fam::PhaseReactiveExport, phase, p.reactive_power_export);
            self.qty(Fam::PhaseVoltage, phase, p.voltage);
            self.qty(Fam::PhaseCurrent, phase, p.current);
            self.qty(Fam::PhaseCurrentLimit, phase, p.current_limit);
            self.qty(Fam::PhasePowerFactor, phase, p.power_factor);
            if let Some(n) = p.voltage_sags {
                self.labelled(Fam::PhaseSags, "phase", name, Value::count(n));
            }
            if let Some(n) = p.voltage_swells {
                self.labelled(Fam::PhaseSwells, "phase", name, Value::count(n));
            }
        }

        if let Some(n) = t.power_failures {
            self.plain(Fam::PowerFailures, Value::count(n));
        }
        if let Some(n) = t.long_power_failures {
            self.plain(Fam::LongPowerFailures, Value::count(n));
        }
        if let Some(last) = t.last_power_failure() {
            if let Some(end) = last.end {
                self.plain(
                    Fam::LongPowerFailureEnd,
                    Value::Int(end.to_unix(&self.zone)),
                );
            }
            if let Some(d) = last.duration {
                self.plain(Fam::LongPowerFailureDuration, Value::count(d));
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
            self.push(Fam::MbusDeviceInfo, labels, Value::Int(1));
        }
        if let Some(r) = m.reading {
            if let Some(fam) = mbus_family(m.device_type, r.value.dimension()) {
                self.qty(fam, Some(("channel", channel)), Some(r.value));
            }
            let time = Value::Int(r.time.to_unix(&self.zone));
            self.labelled(Fam::MbusReadingTimestamp, "channel", channel, time);
        }
        if let Some(v) = m.valve {
            self.labelled(Fam::MbusValve, "channel", channel, Value::Int(v.into()));
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

/// Which register an M-Bus reading is, by the device type the channel
/// announced (EN 13757-3 medium) and the unit of the reading:
/// - 3 gas and 6/7 (warm) water count volume: m³, or no unit (read as m³);
/// - 4/12 heat count energy (GJ, MJ, kWh), exposed in joules;
/// - a reading on a channel that announced no type is heat when it is an
///   energy, else gas (volume or no unit), as nearly every such device is a
///   gas meter of an older or incomplete telegram.
///
/// Anything else (a cold or electricity meter, a unit that contradicts the
/// device type) has no register series; its device info still shows.
fn mbus_family(device_type: Option<u16>, dim: Option<Dimension>) -> Option<Fam> {
    use Dimension::{Dimensionless, Energy, Volume};
    match (device_type, dim?) {
        (Some(3), Volume | Dimensionless) => Some(Fam::Gas),
        (Some(6 | 7), Volume | Dimensionless) => Some(Fam::Water),
        (Some(4 | 12), Energy) => Some(Fam::Heat),
        (None, Energy) => Some(Fam::Heat),
        (None, Volume | Dimensionless) => Some(Fam::Gas),
        _ => None,
    }
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
        assert_eq!(mbus_family(Some(3), Some(Volume)), Some(Fam::Gas));
        assert_eq!(mbus_family(Some(7), Some(Dimensionless)), Some(Fam::Water));
        assert_eq!(mbus_family(Some(6), Some(Volume)), Some(Fam::Water));
        assert_eq!(mbus_family(Some(4), Some(Energy)), Some(Fam::Heat));
        assert_eq!(mbus_family(Some(12), Some(Volume)), None);
        assert_eq!(mbus_family(None, Some(Energy)), Some(Fam::Heat));
        assert_eq!(mbus_family(None, Some(Dimensionless)), Some(Fam::Gas));
        assert_eq!(mbus_family(Some(11), Some(Energy)), None);
        assert_eq!(mbus_family(Some(3), None), None);
    }

    #[test]
    fn every_family_is_listed_once_and_follows_the_suffix_rule() {
        assert_eq!(ALL.len(), Fam::BuildInfo as usize + 1);
        let mut names = std::collections::HashSet::new();
        for (i, &f) in ALL.iter().enumerate() {
            assert_eq!(f as usize, i);
            let (name, help, kind) = f.describe();
            assert!(names.insert(name), "{name} twice");
            assert_eq!(name.ends_with("_total"), kind == Kind::Counter, "{name}");
            assert!(name.starts_with("dsmr_") && help.ends_with('.'), "{name}");
        }
    }

    const ALL: &[Fam] = &[
        Fam::MeterInfo,
        Fam::MeterTimestamp,
        Fam::Imported,
        Fam::Exported,
        Fam::TotalImported,
        Fam::TotalExported,
        Fam::ReactiveImported,
        Fam::ReactiveExported,
        Fam::TotalReactiveImported,
        Fam::TotalReactiveExported,
        Fam::ImportWatts,
        Fam::ExportWatts,
        Fam::ReactiveImportVar,
        Fam::ReactiveExportVar,
        Fam::ApparentImport,
        Fam::ApparentExport,
        Fam::PowerFactor,
        Fam::Frequency,
        Fam::Demand,
        Fam::MonthPeak,
        Fam::MonthPeakTimestamp,
        Fam::Tariff,
        Fam::ThresholdWatts,
        Fam::ThresholdAmperes,
        Fam::ThresholdVoltamperes,
        Fam::BreakerState,
        Fam::PhaseImport,
        Fam::PhaseExport,
        Fam::PhaseReactiveImport,
        Fam::PhaseReactiveExport,
        Fam::PhaseVoltage,
        Fam::PhaseCurrent,
        Fam::PhaseCurrentLimit,
        Fam::PhasePowerFactor,
        Fam::PhaseSags,
        Fam::PhaseSwells,
        Fam::PowerFailures,
        Fam::LongPowerFailures,
        Fam::LongPowerFailureEnd,
        Fam::LongPowerFailureDuration,
        Fam::Gas,
        Fam::Water,
        Fam::Heat,
        Fam::MbusReadingTimestamp,
        Fam::MbusDeviceInfo,
        Fam::MbusValve,
        Fam::Telegrams,
        Fam::LastTelegram,
        Fam::SourceUp,
        Fam::Reconnects,
        Fam::FieldErrors,
        Fam::BuildInfo,
    ];
}
