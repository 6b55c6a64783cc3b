//! dsmr-exporter: DSMR / e-MUCS P1 telegrams to Prometheus metrics.
//!
//! # Layout
//! - [`dsmr`]: the telegram engine (framing, CRC, OBIS decoding, exact
//!   values). No I/O, no async runtime: usable on its own.
//! - [`inspect`]: the `parse` command: a capture decoded to JSON lines.
//! - [`smarty`]: Luxembourg (Smarty) AES-GCM encrypted P1 frames.
//! - [`state`]: the latest telegram and counters of every meter, shared
//!   between the sources that write it and the server that reads it.

pub mod dsmr;
pub mod inspect;
pub mod smarty;
pub mod state;
