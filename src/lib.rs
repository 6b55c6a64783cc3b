//! dsmr-exporter: DSMR / e-MUCS P1 telegrams to Prometheus metrics.
//!
//! The telegram engine (framing, CRC, decoding, Smarty) is the `dsmr-engine`
//! crate under crates/; this crate moves bytes to it and serves what it decodes.
//!
//! # Layout
//! Each folder is one job; a change goes where its job is.
//! - `main.rs`: wires the others together (runtime, signals, logging); no
//!   logic of its own.
//! - [`cli`]: flags, environment variables and the `--config` TOML file,
//!   checked into one configuration; the only place that reads argv or the
//!   environment.
//! - [`cmd`]: the one-shot commands, `parse` (a capture to JSON lines),
//!   `backfill` (a telegram log to timestamped OpenMetrics text) and
//!   `homewizard pair` (an API v2 token from a HomeWizard device).
//! - [`http`]: the listener and its limits, the routes, TLS and basic auth,
//!   the live page, its Server-Sent Events and the JSON API.
//! - [`source`]: serial, TCP, replay, HomeWizard and demo sources, and the
//!   pipeline that frames, decrypts and decodes their bytes into a meter.
//! - [`metrics`]: meter state (or one telegram) to Prometheus samples and
//!   text; the only place that knows metric names.
//! - [`state`]: the latest telegram and counters of each meter; written by
//!   sources, read by metrics and http. A meter with prices bills its
//!   guarded register increases there, to its [`cost`] account.
//! - [`cost`]: prices, exact money arithmetic, price tables and each
//!   meter's running cost; pure (no I/O, no clock).
//! - [`price`]: dynamic prices: ENTSO-E and `start,price` file/URL feeds,
//!   fetched ahead of time into [`cost`]'s shared tables, kept in a store.
//! - [`capacity`]: the Belgian capacity tariff (the projected quarter-hour,
//!   the monthly peaks and their rolling average, the yearly cost): pure
//!   computation, and the small state file of the recorded peaks.
//! - [`small_file`]: reading the files a configuration names, at most so
//!   deep (the config file, keys, tokens, certificates, state files).
//! - [`supervise`]: runs each meter's source task (all on the meters' own
//!   thread, apart from the server's workers) and reloads them on
//!   SIGHUP or `POST /-/reload`: added meters start, removed ones stop,
//!   changed ones restart, unchanged ones keep their state; keeps each
//!   meter's cost totals in the price state directory across restarts.
//! - [`duration`]: `500ms` / `1m30s` durations, parsed by `cli`, written by
//!   `cli` and `source`.
//! - `tls_sig`: the handshake-signature checks that the web config's
//!   client-certificate verifier (`http`) and the HomeWizard device
//!   verifier (`source`) share.
//!
//! Imports run down, never up and never both ways:
//!
//! ```text
//! main -> supervise -> cli, source, state, http
//! main -> cli -> source -> state -> dsmr_engine
//!      -> cmd -> metrics -> state
//!      -> http -> metrics, state
//! cmd -> source::homewizard (pairing)
//! cli, source -> duration
//! http, source -> tls_sig
//! cli, source, capacity, supervise, price -> small_file
//! main, cli, state, metrics, http -> capacity -> dsmr_engine
//! main, cli -> price -> cost
//! state, metrics -> cost -> dsmr_engine
//! source (the demo's prices) -> cost
//! ```
//!
//! Where a change goes: a new source in `source/`, a new metric in
//! `metrics/families.rs` and `metrics/samples.rs`, a new route in
//! `http/routes.rs`, a new flag in `cli/flags.rs` (its rule in `cli/checks.rs`
//! when the config file takes it too), a new OBIS code in the engine's
//! `telegram/meaning.rs`.
//!
//! `cli` builds the sources' configurations, so it sits above `source`;
//! `cmd` and `http` sit beside each other and import neither `cli` nor
//! `source`, but for `homewizard pair`, which uses the HomeWizard client.
//! `duration`, `small_file` and `tls_sig` import nothing of the crate.
//! `price` is a source of prices, not of telegrams: it never reaches
//! `state` or `metrics`; it fills the `cost::Feed`s that a meter's
//! account reads.

pub mod capacity;
pub mod cli;
pub mod cmd;
pub mod cost;
pub mod duration;
pub mod http;
pub mod metrics;
pub mod price;
pub mod small_file;
pub mod source;
pub mod state;
pub mod supervise;
mod tls_sig;
