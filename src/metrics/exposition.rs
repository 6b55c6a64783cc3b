//! The scrape: a `prometheus_client` registry around the meters, rendered
//! as Prometheus text 0.0.4 or OpenMetrics on every request.
//!
//! A collector locks each meter just long enough to copy the values it
//! exposes into samples, releases the lock, then writes the samples
//! grouped by family. A meter silent for longer than
//! [`MetricsOptions::stale_after`] keeps only the exporter's own series, so
//! Prometheus marks its measurements stale.

use super::chunked::Exposition;
use super::families::{Family, MetricKind};
use super::labels::Labels;
use super::process::ProcessCollector;
use super::samples::{Sample, SampleBuilder};
use super::value::Value;
use crate::state::{unix_millis, Live, Meter, Meters};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// The meters and options again, for the chunked rendering of many meters.
    live: Live,
    opts: MetricsOptions,
    process: bool,
    /// Length of the previous output, so the next buffer is allocated once.
    size_hint: AtomicUsize,
    /// The same for the chunked rendering: each part's family text lengths.
    part_hints: Mutex<Vec<Vec<usize>>>,
}

impl Metrics {
    /// Registers the collector for `meters` (a fixed list, or the [`Live`]
    /// set a reload swaps); the server keeps one of these.
    pub fn new(meters: impl Into<Live>, opts: MetricsOptions) -> Metrics {
        let mut registry = Registry::default();
        let live = meters.into();
        registry.register_collector(Box::new(MeterCollector {
            live: live.clone(),
            opts: opts.clone(),
        }));
        Metrics {
            registry,
            live,
            opts,
            process: false,
            size_hint: AtomicUsize::new(4096),
            part_hints: Mutex::new(Vec::new()),
        }
    }

    /// Adds the `process_*` series ([`super::process`]): on unless
    /// `--web.disable-exporter-metrics`.
    pub fn with_process_metrics(mut self) -> Metrics {
        self.registry.register_collector(Box::new(ProcessCollector));
        self.process = true;
        self
    }

    /// The exposition of every meter as it is now. Past [`CHUNK_METERS`]
    /// meters it is rendered in parts on the cores ([`super::chunked`]):
    /// the same text, without holding every meter's samples at once.
    pub fn render(&self, format: Format) -> String {
        self.render_pieces(format).into_string()
    }

    /// [`Metrics::render`] as pieces of text in order, for a caller that
    /// compresses or sends them without joining them first.
    pub fn render_pieces(&self, format: Format) -> Exposition {
        let meters = self.live.meters();
        if meters.len() > CHUNK_METERS {
            let mut hints = self
                .part_hints
                .lock()
                .map(|mut h| std::mem::take(&mut *h))
                .unwrap_or_default();
            let out = super::chunked::render(
                &meters,
                &self.live,
                &self.opts,
                self.process,
                format,
                &mut hints,
            );
            if let Ok(mut h) = self.part_hints.lock() {
                *h = hints;
            }
            return out;
        }
        Exposition::whole(self.render_whole(format))
    }

    /// The exposition in one pass of the registry, whatever the number of meters.
    pub(super) fn render_whole(&self, format: Format) -> String {
        let hint = self.size_hint.load(Ordering::Relaxed);
        let mut out = String::with_capacity(hint + hint / 8);
        let result = encode_registry(&mut out, &self.registry, format);
        // Writing to a String cannot fail and the collector returns no errors
        // of its own, so this is a bug if it happens: say so, serve what there is.
        if let Err(e) = result {
            tracing::error!("encoding metrics failed: {e}");
        }
        self.size_hint.store(out.len(), Ordering::Relaxed);
        out
    }
}

/// Meters above which a scrape is rendered in chunks of this many.
pub const CHUNK_METERS: usize = 256;

/// Writes `registry` in `format`.
pub(super) fn encode_registry(
    out: &mut String,
    registry: &Registry,
    format: Format,
) -> fmt::Result {
    match format {
        Format::Text004 => prometheus_client::encoding::prometheus_text::encode(out, registry),
        Format::OpenMetrics => prometheus_client::encoding::text::encode(out, registry),
    }
}

/// Renders `meters` once. A server should keep a [`Metrics`] instead, which
/// builds the registry once.
pub fn render(meters: &Meters, opts: &MetricsOptions, format: Format) -> String {
    Metrics::new(meters.clone(), opts.clone()).render(format)
}

#[derive(Debug)]
struct MeterCollector {
    live: Live,
    opts: MetricsOptions,
}

impl Collector for MeterCollector {
    fn encode(&self, encoder: DescriptorEncoder) -> fmt::Result {
        // This scrape's list: a reload during it changes the next one.
        let meters = self.live.meters();
        let list: Vec<&Arc<Meter>> = meters.iter().collect();
        encode_meters(&list, Some(&self.live), &self.opts, encoder)
    }
}

/// The samples of `meters` (and the exporter's own, given `live`), grouped
/// by family in family order and, within a family, in the meters' order.
fn encode_meters(
    meters: &[&Arc<Meter>],
    live: Option<&Live>,
    opts: &MetricsOptions,
    mut encoder: DescriptorEncoder,
) -> fmt::Result {
    let mut samples = Vec::with_capacity(3 + 64 * meters.len());
    collect_samples(meters, live, opts, &mut samples);
    // Stable: within a family, meters stay in configuration order.
    samples.sort_by_key(|s| s.family);
    for family in samples.chunk_by(|a, b| a.family == b.family) {
        let (_, help, kind) = family[0].family.describe();
        let metric_type = match kind {
            MetricKind::Counter => MetricType::Counter,
            MetricKind::Gauge => MetricType::Gauge,
        };
        // The encoders add `_total` to counters themselves.
        let name = family[0].family.family_name();
        let mut metric = encoder.encode_descriptor(name, help, None, metric_type)?;
        for s in family {
            s.value.encode(kind, metric.encode_family(&s.labels)?)?;
        }
    }
    Ok(())
}

/// Appends the samples of `meters` (and first the exporter's own, given
/// `live`) to `samples`, meter by meter: each meter's lock is held only
/// while its values are copied, and its scrape duration follows them.
pub(super) fn collect_samples<'a>(
    meters: &[&'a Arc<Meter>],
    live: Option<&Live>,
    opts: &MetricsOptions,
    samples: &mut Vec<Sample<'a>>,
) {
    let now = Instant::now();
    if let Some(live) = live {
        exporter_samples(live, samples);
    }
    for meter in meters {
        let started = Instant::now();
        collect_meter(meter, opts, now, samples);
        samples.push(Sample {
            family: Family::ScrapeDuration,
            labels: Labels::meter(meter.name()),
            value: Value::Float(started.elapsed().as_secs_f64()),
        });
    }
}

/// The exporter's own series that belong to no meter: build info and how
/// the last reload went.
fn exporter_samples(live: &Live, samples: &mut Vec<Sample<'_>>) {
    samples.push(Sample {
        family: Family::BuildInfo,
        labels: Labels::default().with("version", env!("CARGO_PKG_VERSION")),
        value: Value::Int(1),
    });
    let reload = live.reload_status();
    samples.push(Sample {
        family: Family::ConfigReloadSuccessful,
        labels: Labels::default(),
        value: Value::Int(reload.successful.into()),
    });
    samples.push(Sample {
        family: Family::ConfigReloadTimestamp,
        labels: Labels::default(),
        value: Value::exact(dsmr_engine::Fixed::new(unix_millis(reload.last_success), 3)),
    });
}

/// Appends the samples of one meter, holding its lock only while copying.
fn collect_meter<'a>(
    meter: &'a Meter,
    opts: &MetricsOptions,
    now: Instant,
    out: &mut Vec<Sample<'a>>,
) {
    let mut builder = SampleBuilder {
        out,
        meter: meter.name(),
        zone: meter.zone(),
        expose_equipment_ids: opts.expose_equipment_ids,
    };
    let st = meter.lock();
    builder.exporter(&st);
    if !st.is_fresh(now, meter.stale_after_or(opts.stale_after)) {
        return;
    }
    builder.prices(&st);
    if let Some(t) = &st.telegram {
        builder.telegram(t);
    }
    if let Some(c) = st.capacity.view() {
        builder.capacity(c);
    }
}
