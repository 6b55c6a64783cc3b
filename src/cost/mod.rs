//! What the energy costs: prices, exact money arithmetic and each meter's
//! running cost. Pure: no I/O, no clock, no tokio.
//!
//! A meter with a [`Plan`] gets an [`Account`] in its state
//! (`crate::state`); every telegram's guarded register increases are billed
//! there at the price in force at the meter's time. Fixed prices come from
//! the config file; dynamic ones from a shared [`Feed`] that
//! `crate::price` fills (ENTSO-E, a CSV or JSON file or URL).
//!
//! Money is an integer: prices in 10^-9 of the currency per unit
//! ([`Nanos`]), costs in 10^-18 ([`money::Atto`], a nano-price times a
//! nano-quantity), so nothing is rounded while counting; the exposition
//! converts each counter to a double once.
//!
//! # Inside
//! - [`money`]: decimals, [`Nanos`], the all-in [`Formula`], quantities in
//!   the price's unit.
//! - [`table`]: prices by interval ([`PriceTable`]) and the shared [`Feed`].
//! - [`plan`]: a meter's prices ([`Plan`], [`PlanConfig`]) and the labels.
//! - [`account`]: the running cost of one meter ([`Account`]), and the
//!   prices it knows ahead.
//! - [`saved`]: an account's totals and bases as the text kept across
//!   restarts.
//!
//! Edges: imports only the engine's value types; imported by `state`
//! (the account), `metrics` (its series), `price` (the feeds it fills) and
//! `cli` (the configuration).

pub mod account;
pub mod money;
pub mod plan;
pub mod saved;
pub mod table;
#[cfg(test)]
mod tests;

pub use account::{Account, Ahead, Gap, PriceNow, Reading, Readings};
pub use money::{Formula, Nanos};
pub use plan::{Commodity, Direction, FeedSource, Plan, PlanConfig, RowFormat, Spec};
pub use table::{Feed, Interval, PriceTable};
