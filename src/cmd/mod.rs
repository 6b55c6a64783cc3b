//! The one-shot commands beside serving: each reads a telegram log and
//! writes text, then exits.
//!
//! - [`parse`]: `dsmr-exporter parse`, a capture decoded to JSON lines.
//! - [`backfill`]: `dsmr-exporter backfill`, a log of raw telegrams to
//!   timestamped OpenMetrics text for `promtool`.
//!
//! Edges: `backfill` writes the samples of [`crate::metrics`]; `parse` uses
//! the engine only. Only `main` imports this folder.

pub mod backfill;
pub mod parse;
