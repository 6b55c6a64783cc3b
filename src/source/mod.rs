//! Sources: where a meter's bytes come from.
//!
//! Each source is one tokio task that moves bytes from a port, socket, file
//! or simulator into its meter's [`Pipeline`]. Sources never parse: framing,
//! CRC and decoding all happen in the pipeline, so every source counts
//! telegrams the same way.
//!
//! # Inside
//! - [`setup`]: [`SourceConfig`] (what the CLI checked) and [`Source`] (a
//!   source ready to run, which starts the right task).
//! - [`serial`]: a serial port (USB P1 cable), any baud rate and frame format.
//! - [`tcp`]: raw telegrams over TCP (ser2net, Wi-Fi P1 dongles).
//! - [`replay`]: telegrams from a file, at a steady pace, once or forever.
//! - [`demo`]: a simulated DSMR 5.0 meter that writes real telegram text.
//! - [`homewizard`]: a HomeWizard Wi-Fi P1 meter, polled over its local API
//!   (v1 over HTTP, v2 over HTTPS with a token).
//! - `reconnect`: the [`Retry`] policy, its backoff, and the reconnect loop
//!   that serial and TCP share (HomeWizard backs off the same way).
//! - `feed`: bytes on their way to the pipeline, through a Smarty
//!   deframer when the meter encrypts.
//! - `log_limit`: a few log lines a minute of one repeating event, and a
//!   count of those left out (reconnects, polls, bad telegrams).
//! - [`pipeline`]: framer, decoder and meter state; the only writer of the
//!   meter.
//! - [`error`]: [`SourceError`], why a source could not start.
//! - `random`: reconnect jitter and the demo's noise.
//!
//! Serial, TCP and replay sources can carry Luxembourg (Smarty) encrypted
//! frames: with keys configured, their bytes pass through a
//! `SmartyDeframer` and only authenticated plaintext reaches the pipeline.
//!
//! Edges: this folder imports [`crate::state`] (the meter it writes),
//! [`crate::duration`] (durations in log lines) and the engine; `cli`
//! builds its configurations and `main` runs it. Inside, `setup` starts
//! the sources; serial and tcp use `reconnect`; everything that feeds
//! ends in `pipeline`; `reconnect`, `homewizard` and `pipeline` limit
//! their warnings with `log_limit`. This file only declares and re-exports.

pub mod demo;
pub mod error;
mod feed;
pub mod homewizard;
mod log_limit;
pub mod pipeline;
mod random;
mod reconnect;
pub mod replay;
pub mod serial;
pub mod setup;
pub mod tcp;

pub use demo::{DemoCountry, DemoMeter};
pub use error::SourceError;
pub use homewizard::HomewizardConfig;
pub use pipeline::Pipeline;
pub use reconnect::Retry;
pub use replay::{Replay, ReplayConfig};
pub use serial::{DataBits, Parity, SerialConfig, StopBits};
pub use setup::{Source, SourceConfig};
pub use tcp::TcpConfig;
