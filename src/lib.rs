//! dsmr-exporter: DSMR / e-MUCS P1 telegrams to Prometheus metrics.
//!
//! # Layout
//! - [`dsmr`]: the telegram engine (framing, CRC, OBIS decoding, exact
//!   values). No I/O, no async runtime: usable on its own.
//! - [`inspect`]: the `parse` command: a capture decoded to JSON lines.
//! - [`smarty`]: Luxembourg (Smarty) AES-GCM encrypted P1 frames.
//! - [`state`]: the latest telegram and counters of every meter, shared
//!   between the sources that write it and the server that reads it.
//! - [`metrics`]: meter state to Prometheus text at scrape time; the only
//!   place that knows metric names.
//! - [`server`]: the HTTP endpoint (hyper): `/metrics`, `/healthz` and a
//!   landing page, with timeouts and a connection cap against slow clients.
//! - [`web`]: the live page at `/`, its Server-Sent Events at `/events` and
//!   the JSON API at `/api/v1/meters`.
//! - [`webconfig`]: `--web.config.file` (exporter-toolkit format): TLS and
//!   basic auth in front of every route.

pub mod dsmr;
pub mod inspect;
pub mod metrics;
pub mod server;
pub mod smarty;
pub mod state;
pub mod web;
pub mod webconfig;
