//! `backfill`: a log of raw telegrams to OpenMetrics text in which every
//! sample carries its telegram's own time, for
//! `promtool tsdb create-blocks-from openmetrics`.
//!
//! A log is in time order, but OpenMetrics wants each family's samples
//! together, and Prometheus's block writer wants each series in time order.
//! So samples are spooled, one temporary file per series in a compact form
//! (2 to 10 bytes a sample, in `TMPDIR`), and written out family by family
//! at the end. Memory is bounded by the number of series (tens per meter)
//! and a few batches in flight, never by the length of the log.
//!
//! Both cores work: the caller's thread reads, frames and decodes, a worker
//! decodes a share too and spools the samples; at the end one thread formats
//! the text while the other writes it.
//!
//! The samples are those the scrape shows ([`crate::metrics::telegram_samples`]),
//! so names and values are the same; the exporter's own series (telegram
//! counters, `dsmr_source_up`) describe a running process and are left out.
//! Registers stay the meter's absolute values.
//!
//! # Inside
//! - [`options`]: the options, counts, errors and limits.
//! - [`threads`]: [`run`], which starts the two threads and joins them.
//! - [`reader`]: the reading thread: frames, CRLF, most of the decoding.
//! - [`worker`]: the spooling worker: the rest of the decoding, times,
//!   samples into the spool.
//! - [`batch`]: what passes from the reader to the worker.
//! - [`spool`]: the per-series temporary files.
//! - [`openmetrics`]: the spool read back as OpenMetrics text.
//!
//! Imports run threads -> reader, worker -> batch, spool -> options and
//! openmetrics -> spool, options; openmetrics adds the reading back to `Spool`'s methods,
//! which `threads` calls at the end.

pub mod batch;
pub mod openmetrics;
pub mod options;
pub mod reader;
pub mod spool;
pub mod threads;
pub mod worker;

pub use options::{BackfillError, BackfillOptions, BackfillStats, MAX_SERIES, MIN_VALID_TIME};
pub use threads::run;
