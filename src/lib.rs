//! dsmr-exporter: DSMR / e-MUCS P1 telegrams to Prometheus metrics.
//!
//! The telegram engine (framing, CRC, decoding, Smarty) is the `dsmr-engine`
//! crate under crates/; this crate moves bytes to it and serves what it decodes.
//!
//! # Layout
//! - [`backfill`]: a log of raw telegrams to timestamped OpenMetrics text,
//!   for loading history into Prometheus with promtool.
//! - [`state`]: the latest telegram and counters of every meter, shared
//!   between the sources that write it and the server that reads it.
//! - [`source`]: the tasks that move bytes from a serial port, a TCP
//!   connection, a replay file, a HomeWizard dongle or the demo meter into a
//!   meter's pipeline (through the Smarty decryptor when keys are set).
//! - [`metrics`]: meter state to Prometheus text at scrape time; the only
//!   place that knows metric names.
//! - [`server`]: the HTTP endpoint (hyper): `/metrics`, `/healthz` and a
//!   landing page, with timeouts and a connection cap against slow clients.
//! - [`inspect`]: the `parse` command: a capture decoded to JSON lines.
//! - [`cli`]: flags and environment variables into a checked `Config`; the
//!   only module that reads argv or the environment.
//! - [`config`]: `--config FILE` (TOML, many meters) checked into the same
//!   meter configurations, errors as `FILE:LINE:COL`.
//! - [`duration`]: `500ms` / `1m30s` durations as flags take them.
//! - [`web`]: the live page at `/`, its Server-Sent Events at `/events` and
//!   the JSON API at `/api/v1/meters`.
//! - [`webconfig`]: `--web.config.file` (exporter-toolkit format): TLS and
//!   basic auth in front of every route.

pub mod backfill;
pub mod cli;

pub mod duration;
pub mod http;
pub mod inspect;
pub mod metrics;
pub mod source;
pub mod state;
