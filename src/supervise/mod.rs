//! Runs the meters' sources and reloads them when the configuration file
//! changes (SIGHUP, or `POST /-/reload` with `--web.enable-lifecycle`).
//!
//! A reload reads `--config` again (through the same checks as a start),
//! compares its meters with the running ones by name and settings
//! ([`plan`]), and then:
//! - an unchanged meter keeps its task, state and counters;
//! - a removed meter's task stops and its series leave the exposition;
//! - a changed meter stops and starts again with fresh state;
//! - an added meter starts.
//!
//! Every source that starts is prepared (a replay file opened and checked)
//! before anything stops, so a bad new file changes nothing: the running
//! configuration stays, the reason is logged, and
//! `dsmr_config_last_reload_successful` turns 0. Settings that need a new
//! listener (listen address, telemetry path, labels, web config) are not
//! reloaded; a change to them is logged as needing a restart.
//!
//! # Inside
//! - [`supervisor`]: the running meters and the reload itself ([`Supervisor`]).
//! - [`plan`]: which meters are kept, stopped and started ([`Plan`]).
//! - [`runtime`]: the one thread every meter's task runs on, which wakes
//!   for many telegrams at once ([`MeterRuntime`]).
//! - [`signal`]: SIGHUP as a reload request.
//! - [`prices`]: the price feeds the meters' cost plans read, shared and
//!   started as meters name them.
//! - [`costs`]: each meter's cost totals kept in the price state directory
//!   across restarts and reloads.
//!
//! Edges: imports [`crate::cli`] (the meter configurations it compares),
//! [`crate::capacity`] (a starting meter's tracker and state file),
//! [`crate::source`] (the tasks it starts), [`crate::cost`] and
//! [`crate::price`] (a meter's plan and the fetchers of its feeds), [`crate::state`] (the [`Live`]
//! set it swaps) and [`crate::http`]'s reload channel; only `main` imports it.
//!
//! [`Live`]: crate::state::Live

pub mod costs;
pub mod plan;
pub mod prices;
pub mod runtime;
pub mod signal;
pub mod supervisor;

pub use plan::Plan;
pub use runtime::MeterRuntime;
pub use signal::reload_on_sighup;
pub use supervisor::{CostKeeper, Prepared, Reread, Supervisor};
