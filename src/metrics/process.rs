//! The process metrics every client_golang exporter has, read from `/proc`
//! on each scrape: `process_cpu_seconds_total`, `process_resident_memory_bytes`,
//! `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds` and
//! `process_start_time_seconds`, with client_golang's names and help.
//!
//! `--web.disable-exporter-metrics` leaves them out, as node_exporter leaves
//! out its `process_*` and `go_*` series; the exporter's `dsmr_*` series
//! (build info, reload status, scrape durations) stay, as
//! `node_exporter_build_info` and `node_scrape_collector_duration_seconds` do.
//!
//! Off Linux there is no `/proc`, and the collector writes nothing. A read
//! that fails leaves its series out of that scrape (logged at debug), never
//! a made-up value.

use super::families::MetricKind;
use super::value::Value;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;
use std::fmt;

/// One reading of the process's figures; a field is `None` when its
/// `/proc` file could not be read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessSample {
    /// User plus system CPU time, in seconds.
    pub cpu_seconds: Option<f64>,
    /// Resident set size, in bytes.
    pub resident_bytes: Option<u64>,
    /// Virtual memory size, in bytes.
    pub virtual_bytes: Option<u64>,
    /// Open file descriptors.
    pub open_fds: Option<u64>,
    /// The soft limit on open file descriptors (`None` also when unlimited).
    pub max_fds: Option<u64>,
    /// Start of the process, as Unix time in seconds.
    pub start_time_seconds: Option<f64>,
}

impl ProcessSample {
    /// Reads `/proc/self` now.
    #[cfg(target_os = "linux")]
    pub fn read() -> ProcessSample {
        use procfs::process::{LimitValue, Process};
        let me = match Process::myself() {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!("process metrics: {e}");
                return ProcessSample::default();
            }
        };
        let ticks = procfs::ticks_per_second() as f64;
        let stat = me
            .stat()
            .map_err(|e| tracing::debug!("process metrics: {e}"));
        let stat = stat.ok();
        let boot = procfs::boot_time_secs().ok();
        ProcessSample {
            cpu_seconds: stat.as_ref().map(|s| (s.utime + s.stime) as f64 / ticks),
            resident_bytes: stat
                .as_ref()
                .map(|s| s.rss.saturating_mul(procfs::page_size())),
            virtual_bytes: stat.as_ref().map(|s| s.vsize),
            open_fds: me.fd_count().ok().map(|n| n as u64),
            max_fds: me
                .limits()
                .ok()
                .and_then(|l| match l.max_open_files.soft_limit {
                    LimitValue::Value(v) => Some(v),
                    LimitValue::Unlimited => None,
                }),
            start_time_seconds: stat
                .as_ref()
                .zip(boot)
                .map(|(s, b)| b as f64 + s.starttime as f64 / ticks),
        }
    }

    /// No `/proc` here: nothing to read.
    #[cfg(not(target_os = "linux"))]
    pub fn read() -> ProcessSample {
        ProcessSample::default()
    }
}

/// Writes [`ProcessSample::read`] on every scrape.
#[derive(Debug, Default)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let s = ProcessSample::read();
        let int = |v: Option<u64>| v.map(Value::count);
        let families = [
            (
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                MetricKind::Counter,
                s.cpu_seconds.map(Value::Float),
            ),
            (
                "process_open_fds",
                "Number of open file descriptors.",
                MetricKind::Gauge,
                int(s.open_fds),
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors.",
                MetricKind::Gauge,
                int(s.max_fds),
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                MetricKind::Gauge,
                int(s.virtual_bytes),
            ),
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                MetricKind::Gauge,
                int(s.resident_bytes),
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                MetricKind::Gauge,
                s.start_time_seconds.map(Value::Float),
            ),
        ];
        for (name, help, kind, value) in families {
            let Some(v) = value else { continue };
            let metric_type = match kind {
                MetricKind::Counter => MetricType::Counter,
                MetricKind::Gauge => MetricType::Gauge,
            };
            // The encoders add `_total` to the counter's name themselves.
            v.encode(
                kind,
                encoder.encode_descriptor(name, help, None, metric_type)?,
            )?;
        }
        Ok(())
    }
}
