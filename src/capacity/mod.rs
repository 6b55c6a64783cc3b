//! The Belgian capacity tariff: what a household will pay for its
//! quarter-hour peaks, and a warning before it sets a new one.
//!
//! Flemish households pay a yearly price per kW of their *average monthly
//! peak*: each month's highest quarter-hour average demand (at least
//! 2.5 kW), averaged over the current month and the 11 before it. Belgian
//! e-MUCS meters send the running quarter-hour demand (`1-0:1.4.0`), this
//! month's peak (`1-0:1.6.0`) and up to 13 months of peak history
//! (`0-0:98.1.0`); from those, the import register and the power now, a
//! [`Tracker`] per meter keeps:
//!
//! - the quarter-hour average projected to the end of the running quarter
//!   ([`quarter`]),
//! - this month's peak and the rolling average of the monthly peaks
//!   ([`months`]), from the meter's history when it sends one, else from
//!   the peaks the exporter recorded itself (kept across restarts by
//!   [`store`]),
//! - the yearly cost at the meter's configured price ([`price`]).
//!
//! Everything is an integer of milliwatts, millijoules or the price's own
//! digits; no `f64` takes part in the arithmetic.
//!
//! # Inside
//! - [`tracker`]: [`Tracker`], fed each telegram; its [`Capacity`] view.
//! - [`quarter`]: quarter boundaries and the projection.
//! - [`months`]: month keys, [`MonthPeaks`] and the rolling average.
//! - [`price`]: [`Price`] (a decimal per kW per year) and the cost.
//! - [`store`]: the state file (read at start, written atomically).
//!
//! Edges: reads the engine's telegram types only; imported by
//! [`crate::state`] (which owns a tracker per meter), [`crate::metrics`]
//! and [`crate::http`] (its view), [`crate::cli`] (settings) and `main`
//! (which loads the state file before the sources start). Only [`store`]
//! touches the file system.

pub mod months;
pub mod price;
pub mod quarter;
pub mod store;
pub mod tracker;

pub use months::{Month, MonthPeaks};
pub use price::Price;
pub use tracker::{Capacity, EnergySource, Tracker};

use std::path::PathBuf;

/// A meter's capacity-tariff settings, from its config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CapacitySettings {
    /// Track the capacity tariff even before the meter sends a Belgian
    /// capacity value (`1-0:1.4.0`, `1-0:1.6.0`, `0-0:98.1.0`).
    pub enabled: bool,
    /// The grid operator's price per kW per year; no cost without it.
    pub price: Option<Price>,
    /// Where the monthly peaks the exporter recorded are kept across
    /// restarts; without it they live in memory only.
    pub state_file: Option<PathBuf>,
}

/// A tracker for `settings`, with the peaks its state file recorded
/// before (none when it has no state file, or the file does not exist
/// yet). A state file that cannot be read stops the start, naming it.
pub fn load_tracker(settings: &CapacitySettings) -> Result<Tracker, store::StoreError> {
    let recorded = match &settings.state_file {
        Some(path) => store::load(path)?,
        None => MonthPeaks::default(),
    };
    Ok(Tracker::new(settings.clone(), recorded))
}
