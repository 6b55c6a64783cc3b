//! Dynamic prices: fetched ahead of time into the shared feeds that meters
//! bill with (`crate::cost::Feed`).
//!
//! # Inside
//! - [`config`]: the fetcher's settings ([`FetchConfig`]).
//! - [`entsoe`]: the ENTSO-E query and its XML, parsed (pure).
//! - [`rows`]: the generic `start,price` CSV and JSON, parsed (pure).
//! - [`time`]: RFC 3339 times.
//! - [`http`]: one HTTP(S) GET (hyper, rustls, Mozilla's roots).
//! - [`store`]: fetched prices kept across restarts, written atomically.
//! - [`fetch`]: the schedule: at start, then ahead of publication, with
//!   exponential backoff.
//!
//! Edges: imports [`crate::cost`]; imported by `cli` (the settings) and
//! `main` (which starts the fetcher). Never reaches `state` or `metrics`.

pub mod config;
pub mod entsoe;
pub mod fetch;
pub mod http;
pub mod rows;
pub mod store;
pub mod time;

pub use config::{FetchConfig, Token, DEFAULT_ENTSOE_URL};
pub use fetch::start;
