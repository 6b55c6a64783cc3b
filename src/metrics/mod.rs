//! Meter state to Prometheus exposition: the only place that knows metric names.
//!
//! A collector ([`exposition`]) runs on every scrape. It locks each meter just long enough
//! to copy the values it exposes into a flat list of samples, releases the
//! lock, then writes the samples grouped by family. Names, units and labels
//! follow `METRICS.md`; values come from `Quantity::base`, the exact integer
//! conversion to base units, so a register is written as the integer it is
//! (`7668414000`, not `7668414000.0` or a product of floats).
//!
//! What is left out is as deliberate as what is written: a value the
//! telegram lacks has no series (never a 0), and a meter that has been
//! silent for longer than [`MetricsOptions::stale_after`] keeps only the
//! exporter's own series, so Prometheus marks its measurements stale.
//!
//! [`telegram_samples`] gives the measurement samples of one telegram on its
//! own, without a meter or lock: the scrape uses it for a fresh meter and
//! `backfill` stamps its output with each telegram's time, so both write the
//! same names.
//!
//! # Inside
//! - [`families`]: every family's name, help and type ([`Family`]).
//! - [`samples`]: state or a telegram as samples ([`Sample`]); which register
//!   is which series.
//! - [`labels`]: a sample's [`Labels`], and the decoder of hex equipment ids.
//! - [`value`]: a sample's exact [`Value`].
//! - [`exposition`]: the scrape-time registry ([`Metrics`]), its options
//!   and the two text formats.
//! - [`chunked`]: the same exposition for many meters, rendered in parts on
//!   the cores, a chunk of meters at a time, so a scrape never holds every
//!   meter's samples at once; handed out as [`Exposition`] pieces.
//! - `lines`: a sample written straight to text, as the encoders write it.
//! - [`process`]: the `process_*` series client_golang exporters have,
//!   from `/proc` ([`ProcessCollector`]).
//!
//! Edges: reads [`crate::state`] and the engine's types; imported by
//! [`crate::http`] (the scrape) and `cmd::backfill` (the same samples,
//! stamped with each telegram's time). Inside: exposition -> samples ->
//! labels, value -> families. This file only declares and re-exports.

pub mod chunked;
pub mod exposition;
pub mod families;
pub mod labels;
mod lines;
pub mod process;
pub mod samples;
pub mod value;

pub use chunked::{release_freed_memory, Exposition};
pub use exposition::{render, Format, Metrics, MetricsOptions};
pub use families::{Family, MetricKind};
pub use labels::{decode_equipment_id, Labels};
pub use process::{ProcessCollector, ProcessSample};
pub use samples::{telegram_samples, Sample};
pub use value::Value;
