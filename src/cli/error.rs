//! [`CliError`]: why the command line was refused, and how that is shown.

use super::config_file::ConfigError;
use super::flags::TYPED_FLAGS;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use std::path::PathBuf;
use std::process::ExitCode;
use thiserror::Error;

/// Why the command line was refused (or only asked for help).
#[derive(Debug, Error)]
pub enum CliError {
    /// Help, version, or a flag or value clap itself refused.
    #[error("{0}")]
    Clap(#[from] clap::Error),
    /// No source flag.
    #[error(
        "no source given: use --serial PATH, --tcp HOST:PORT or --replay FILE \
         (or try --demo for a simulated meter)"
    )]
    NoSource,
    /// More than one source flag.
    #[error("only one source per meter, but got {}", .0.join(" and "))]
    TwoSources(Vec<&'static str>),
    /// `--config` with flags that describe a meter.
    #[error("--config describes the meters; {} cannot be combined with it (set it per meter in the file)", .0.join(", "))]
    ConfigAndMeterFlags(Vec<String>),
    /// The config file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    ConfigRead {
        /// The file, as given.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The config file is not valid: `FILE:LINE:COL: what`.
    #[error("{0}")]
    ConfigFile(#[from] ConfigError),
    /// A Smarty key that cannot be used.
    #[error("{what}: {reason}")]
    SmartyKey {
        /// The flag, file or variable.
        what: String,
        /// Why.
        reason: String,
    },
    /// A value that does not make sense for its flag.
    #[error("invalid value '{value}' for {flag}: {reason}")]
    Invalid {
        /// The flag (or RUST_LOG).
        flag: &'static str,
        /// As given.
        value: String,
        /// Why.
        reason: String,
    },
}

impl CliError {
    /// What clap refused. A value refused by one of the typed flags' parsers
    /// ([`TYPED_FLAGS`]) is worded as it was before clap typed it,
    /// `invalid value 'X' for --flag: why`, with the rule's reason; the
    /// rest (help, version, unknown flags, `--parity`, booleans) stays
    /// clap's own.
    pub fn from_clap(e: clap::Error) -> CliError {
        if e.kind() != ErrorKind::ValueValidation {
            return CliError::Clap(e);
        }
        let arg = match e.get(ContextKind::InvalidArg) {
            Some(ContextValue::String(arg)) => arg.as_str(),
            _ => return CliError::Clap(e),
        };
        // clap names the argument as `--flag <VALUE>`.
        let name = arg.split(' ').next().unwrap_or(arg);
        let flag = TYPED_FLAGS.iter().find(|f| **f == name);
        let value = match e.get(ContextKind::InvalidValue) {
            Some(ContextValue::String(v)) => v.clone(),
            _ => return CliError::Clap(e),
        };
        match (flag, std::error::Error::source(&e)) {
            (Some(flag), Some(reason)) => CliError::Invalid {
                flag,
                value,
                reason: reason.to_string(),
            },
            _ => CliError::Clap(e),
        }
    }

    /// Prints the message where it belongs (help and version on stdout,
    /// errors on stderr) and gives the exit code: 0 for help and version,
    /// 2 for usage errors, like clap.
    pub fn report(&self) -> ExitCode {
        match self {
            CliError::Clap(e) => {
                let _ = e.print();
                ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
            }
            other => {
                eprintln!("error: {other}\n\nFor more information, try '--help'.");
                ExitCode::from(2)
            }
        }
    }
}
