//! A simulated Dutch DSMR 5.0 meter, for trying the exporter without one.
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
//! Everything is a pure function of the seed, the start time and the times
//! passed to [`DemoMeter::next_telegram`], so tests can check a simulated day.
//!
//! # Inside
//! - [`meter`]: [`DemoMeter`], the state that moves from one telegram to the next.
//! - `household`: the appliances, sun and heating: power and flows by time of day.
//! - `text`: the registers and the telegram text they are written as.
//! - `clock`: Dutch wall-clock time (the engine's zone rules) for all of them.
//! - [`task`]: the source task, one telegram a second.
//!
//! Inside: task -> meter -> household, text -> clock. This file only
//! declares and re-exports.

mod clock;
mod household;
pub mod meter;
pub mod task;
mod text;

pub use meter::DemoMeter;
pub use task::run;
pub use text::HEADER;
