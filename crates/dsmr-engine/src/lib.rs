//! The DSMR / e-MUCS telegram engine: bytes in, typed values out.
//!
//! # Layout
//! - [`frame`]: finds telegrams in a byte stream of any chunking; bounded memory.
//! - [`crc`]: CRC-16/ARC: a PCLMULQDQ fold on x86-64, slice-by-16 tables
//!   elsewhere and for the last bytes; CRC-16/X25 for Holley meters.
//! - [`obis`]: OBIS identifiers, tolerant of the typos meters and specs make.
//! - [`value`]: exact decimals and units with exact conversion to base units.
//! - [`time`]: meter timestamps and the EU time-zone rules for flagless ones.
//! - [`telegram`]: a framed telegram decoded into [`Telegram`], one object at a
//!   time, so one odd line never costs the telegram.
//! - `json_view` (feature `serde`): a telegram as one JSON object through
//!   serde (the `parse` command), and the JSON of its values (the API too).
//! - [`smarty`] (feature `smarty`): Luxembourg AES-GCM encrypted P1 frames,
//!   unwrapped into the plain telegrams the framer reads.
//!
//! Nothing here does I/O or depends on an async runtime, and the crate is
//! `no_std` (it needs `alloc`): the `std` feature only adds run-time CPU
//! detection.

#![no_std]
#![warn(missing_docs)]
// The README's example runs as a doctest, so it cannot rot.
#![doc = include_str!("../README.md")]

extern crate alloc;
#[cfg(any(feature = "std", test))]
#[macro_use]
extern crate std;

pub mod crc;
pub mod frame;
#[cfg(feature = "serde")]
pub mod json_view;
pub mod obis;
#[cfg(feature = "smarty")]
pub mod smarty;
pub mod telegram;
pub mod time;
pub mod value;

pub use frame::{FrameError, FrameEvent, Framer};
pub use obis::Obis;
pub use telegram::{
    Acceptance, CrcAlgorithm, CrcStatus, Error, FieldError, FieldErrorKind, Telegram,
};
pub use time::{Timestamp, Zone};
pub use value::{Fixed, Quantity, Unit};
