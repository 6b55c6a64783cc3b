//! The command line and the config file, checked into what the program runs.
//!
//! - [`flags`]: the flags as clap parses them (raw strings, defaults, help).
//! - [`settings`]: the checks of single settings that flags and the TOML file
//!   share, and the [`MeterConfig`] both build.
//! - [`config_file`]: `--config FILE` (TOML, many meters), errors as
//!   `FILE:LINE:COL`.
//! - [`config`]: flags and environment into the checked [`Config`]; the only
//!   module that reads argv or the environment.
//!
//! Edges: this folder imports [`crate::source`] (the source configurations it
//! builds) and [`crate::duration`]; nothing else in the crate imports it but
//! `main`.

pub mod config;
pub mod config_file;
pub mod flags;
pub mod settings;

pub use config::{
    load, parse_from, parse_with_env, CliError, Config, Env, LogConfig, Mode, ServeConfig,
};
pub use config_file::{ConfigError, FileConfig};
pub use flags::{Args, Command, LogFormat, ParityArg};
pub use settings::MeterConfig;
