//! The one-shot commands beside serving: each reads a telegram log and
//! writes text, then exits.
//!
//! - [`parse`]: `dsmr-exporter parse`, a capture decoded to JSON lines.
//! - [`backfill`]: `dsmr-exporter backfill`, a log of raw telegrams to
//!   timestamped OpenMetrics text for `promtool`.
//! - [`homewizard_pair`]: `dsmr-exporter homewizard pair HOST`, an API v2
//!   token from a HomeWizard device into a file.
//!
//! Edges: `backfill` writes the samples of [`crate::metrics`]; `parse` uses
//! the engine only; `homewizard_pair` talks to the device through
//! [`crate::source::homewizard`]. Only `main` imports this folder.

pub mod backfill;
pub mod homewizard_pair;
pub mod parse;
