//! A simulated meter, for trying the exporter without one: a Dutch DSMR 5.0
//! meter (`--demo`, `--demo nl`) or a Belgian e-MUCS meter with the
//! capacity tariff's values (`--demo be`).
//!
//! [`DemoMeter`] writes real telegram text (CRLF lines, DSMR 5 number
//! formats, a valid CRC-16/ARC) that the task feeds through the same
//! pipeline as bytes from a serial port, so the demo exercises the framer
//! and decoder too. The household it simulates:
//!
//! - three phases with a daily load curve: a base load and a fridge, morning,
//!   lunch and evening peaks, appliances (kettle, oven, dishwasher, washing
//!   machine) switching on at plausible times, and some noise;
//! - solar panels on all three phases, stronger and longer in summer and
//!   shaded by drifting clouds: around midday the meter exports;
//! - energy registers that grow by the integral of the net power, kept in
//!   integer millijoules so they never go backwards, on the NL tariffs
//!   (1 = night 23-07 and weekends, 2 = weekday daytime);
//! - gas (M-Bus channel 1) for heating in winter mornings and evenings and
//!   for showers, water (channel 2) in bursts, both captured every 5 minutes
//!   like a real DSMR 5 meter;
//! - voltages around 230 V that rise with export, currents = power / voltage,
//!   a power failure log and rare voltage sags and swells.
//!
//! The Belgian meter (`DemoCountry::Be`) is the same household on the
//! Belgian tariffs (1 = day, 2 = night), written as a Fluvius e-MUCS meter
//! writes it, with the quarter-hour demand (`1-0:1.4.0`), the month's peak
//! (`1-0:1.6.0`) and 13 months of peak history (`0-0:98.1.0`) kept by
//! `peaks`.
//!
//! Everything is a pure function of the seed, the start time and the times
//! passed to [`DemoMeter::next_telegram`], so tests can check a simulated day.
//!
//! # Inside
//! - [`meter`]: [`DemoMeter`], the state that moves from one telegram to the next.
//! - `household`: the appliances, sun and heating: power and flows by time of day.
//! - `text`: the registers and the telegram text they are written as.
//! - `text_be`: the Belgian telegram text.
//! - `peaks`: the Belgian meter's demand, month peak and peak history.
//! - `clock`: Dutch wall-clock time (the engine's zone rules) for all of them.
//! - [`prices`]: the demo's prices: a synthetic day-ahead curve (today and
//!   tomorrow, 15 minutes) and fixed gas, water and daily charges.
//! - [`task`]: the source task, one telegram a second; it gives a meter
//!   without configured prices the demo's plan.
//!
//! Inside: task -> meter -> household, text, text_be, peaks -> clock. This file only
//! declares and re-exports.

mod clock;
mod household;
pub mod meter;
mod peaks;
pub mod prices;
pub mod task;
mod text;
mod text_be;

pub use meter::DemoMeter;
pub use task::run;
pub use text::HEADER;
pub use text_be::HEADER_BE;

use std::fmt;

/// Which country's meter the demo simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoCountry {
    /// A Dutch DSMR 5.0 meter (the default).
    #[default]
    Nl,
    /// A Belgian (Flemish) e-MUCS meter with the capacity-tariff values.
    Be,
}

impl DemoCountry {
    /// `nl` or `be` (either case), or `None`.
    pub fn parse(s: &str) -> Option<DemoCountry> {
        match s.trim().to_ascii_lowercase().as_str() {
            "nl" => Some(DemoCountry::Nl),
            "be" => Some(DemoCountry::Be),
            _ => None,
        }
    }

    /// `nl` or `be`.
    pub fn as_str(self) -> &'static str {
        match self {
            DemoCountry::Nl => "nl",
            DemoCountry::Be => "be",
        }
    }
}

impl fmt::Display for DemoCountry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DemoCountry::Nl => "simulated Dutch DSMR 5.0 meter",
            DemoCountry::Be => "simulated Belgian e-MUCS meter with the capacity tariff",
        })
    }
}

/// The price per kW per year the Belgian demo shows its capacity cost at
/// (about a Flemish grid operator's, excluding VAT), unless its config
/// gives one.
pub const DEMO_BE_PRICE: &str = "53.2645";
