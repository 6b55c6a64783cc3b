//! The command line and the config file, checked into what the program runs.
//!
//! - [`flags`]: the flags as clap parses them (typed values, defaults, help).
//! - [`checks`]: the rule of each single value, shared by both paths.
//! - [`settings`]: a meter's settings from either path, and the one
//!   [`MeterSettings::resolve`] that applies every meter rule and default
//!   into the [`MeterConfig`] both build.
//! - [`smarty_keys`]: where Smarty keys come from, and reading them.
//! - [`flag_meter`]: the flags' one meter into [`MeterSettings`], errors
//!   worded the flag way.
//! - [`config_file`]: `--config FILE` (TOML, many meters, their prices),
//!   errors as `FILE:LINE:COL`.
//! - [`config`]: flags and environment into the checked [`Config`]; the only
//!   module that reads argv or the environment.
//! - [`env`]: the environment variables read outside clap (`RUST_LOG`, the
//!   Smarty key itself, the HomeWizard token and test-only CA).
//! - [`homewizard`]: the HomeWizard token from the environment, the
//!   test-only CA, and the `homewizard pair` command's configuration.
//! - [`error`]: [`CliError`], and how it is printed.
//!
//! Edges: this folder imports [`crate::source`] (the source configurations it
//! builds), [`crate::cost`] and [`crate::price`] (the price plans and the
//! fetcher's settings it builds) and [`crate::duration`]; nothing else in
//! the crate imports it but `main`.

pub mod checks;
pub mod config;
pub mod config_file;
pub mod env;
pub mod error;
mod flag_meter;
pub mod flags;
pub mod homewizard;
pub mod settings;
pub mod smarty_keys;

pub use checks::ParityArg;
pub use config::{load, parse_from, parse_with_env, Config, LogConfig, Mode, ServeConfig};
pub use config_file::{ConfigError, FileConfig};
pub use env::Env;
pub use error::CliError;
pub use flags::{Args, Command, HomewizardCommand, LogFormat};
pub use settings::{MeterConfig, MeterSettings};
