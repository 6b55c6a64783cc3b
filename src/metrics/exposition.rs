//! The scrape: a `prometheus_client` registry around the meters, rendered
//! as Prometheus text 0.0.4 or OpenMetrics on every request.
//!
//! A collector locks each meter just long enough to copy the values it
//! exposes into samples, releases the lock, then writes the samples
//! grouped by family. A meter silent for longer than
//! [`MetricsOptions::stale_after`] keeps only the exporter's own series, so
//! Prometheus marks its measurements stale.

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
    /// Length of the previous output, so the next buffer is allocated once.
    size_hint: AtomicUsize,
}

impl Metrics {
    /// Registers the collector for `meters` (a fixed list, or the [`Live`]
    /// set a reload swaps); the server keeps one of these.
    pub fn new(meters: impl Into<Live>, opts: MetricsOptions) -> Metrics {
        let mut registry = Registry::default();
        let live = meters.into();
        registry.register_collector(Box::new(MeterCollector { live, opts }));
        Metrics {
            registry,
            size_hint: AtomicUsize::new(4096),
        }
    }

    /// Adds the `process_*` series ([`super::process`]): on unless
    /// `--web.disable-exporter-metrics`.
    pub fn with_process_metrics(mut self) -> Metrics {
        self.registry.register_collector(Box::new(ProcessCollector));
        self
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

#[derive(Debug)]
struct MeterCollector {
    live: Live,
    opts: MetricsOptions,
}

impl Collector for MeterCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let now = Instant::now();
        // This scrape's list: a reload during it changes the next one.
        let meters = self.live.meters();
        let mut samples = Vec::with_capacity(3 + 80 * meters.len());
        exporter_samples(&self.live, &mut samples);
        for meter in meters.iter() {
            let started = Instant::now();
            collect_meter(meter, &self.opts, now, &mut samples);
            samples.push(Sample {
                family: Family::ScrapeDuration,
                labels: Labels::meter(meter.name()),
                value: Value::Float(started.elapsed().as_secs_f64()),
            });
        }
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
    if let Some(t) = &st.telegram {
        builder.telegram(t);
    }
}
