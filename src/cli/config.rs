//! Flags and environment variables in, a checked [`Config`] out.
//!
//! The only place that reads argv or the environment. clap parses and
//! types the flags ([`Args`]); [`Config::from_args`] checks the rest and
//! builds what the program runs: the one meter of the flags
//! ([`super::flag_meter`]) or the meters of `--config FILE`
//! ([`super::config_file`]), with the web settings of either. Every flag
//! can also be set with an environment variable `DSMR_EXPORTER_<FLAG>`
//! (upper case, dots and dashes as underscores), which suits containers
//! and systemd units.

use super::checks::{
    check_listen_address, check_meter_name, check_telemetry_path, DEFAULT_LISTEN_ADDRESS,
    DEFAULT_TELEMETRY_PATH,
};
use super::config_file;
use super::env::{Env, ENTSOE_TOKEN_VAR};
use super::error::CliError;
use super::flag_meter::{meter_from_flags, SMARTY_KEY_VAR};
use super::flags::{Args, Command, HomewizardCommand, LogFormat};
use super::homewizard::{apply_test_ca, pair_config, TEST_CA_VAR, TOKEN_VAR};
use super::settings::MeterConfig;
use crate::price::{FetchConfig, Token, DEFAULT_ENTSOE_URL};
use crate::small_file::{read_to_string_limited, CONFIG_FILE_LIMIT};
use crate::source::homewizard::pair::PairConfig;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use dsmr_engine::Zone;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where log lines go and which ones.
    pub log: LogConfig,
    /// For meter clocks without a DST flag (`parse`, `backfill`).
    pub zone: Zone,
    /// What the process does.
    pub mode: Mode,
}

/// Where log lines go and which ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Text or JSON lines.
    pub format: LogFormat,
    /// An `EnvFilter` directive: RUST_LOG if set, else `--log-level`.
    pub filter: String,
}

/// What the process does.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Run the exporter.
    Serve(ServeConfig),
    /// Print the configuration and exit (`--check-config`).
    Check(ServeConfig),
    /// Decode telegrams from a file, or standard input when `None`.
    Parse {
        /// The capture; standard input when `None`.
        input: Option<PathBuf>,
        /// `--mask-ids`.
        mask_ids: bool,
        /// `--raw`.
        raw: bool,
    },
    /// Backfill from a telegram log, or standard input when `None`.
    Backfill {
        /// The log; standard input when `None`.
        input: Option<PathBuf>,
        /// The `meter` label.
        meter: String,
        /// `--metrics.expose-equipment-ids`.
        expose_equipment_ids: bool,
    },
    /// `homewizard pair`: get an API v2 token from a device.
    HomewizardPair(PairConfig),
}

/// Everything the exporter needs to run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// At least one; names are unique.
    pub meters: Vec<MeterConfig>,
    /// `HOST:PORT` each (at least one), resolved when binding.
    pub listen_addresses: Vec<String>,
    /// `--web.systemd-socket`: how many sockets systemd passed (LISTEN_FDS,
    /// checked against LISTEN_PID); served instead of `listen_addresses`.
    pub systemd_sockets: Option<usize>,
    /// Starts with `/`.
    pub telemetry_path: String,
    /// Off unless asked for: equipment ids identify a household.
    pub expose_equipment_ids: bool,
    /// `--web.config.file`, loaded and checked at start.
    pub web_config_file: Option<PathBuf>,
    /// The price fetcher's settings (used when a meter has dynamic prices).
    pub prices: FetchConfig,
}

impl fmt::Display for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.meters {
            writeln!(f, "{m}")?;
        }
        match self.systemd_sockets {
            Some(n) => writeln!(
                f,
                "metrics: {} on {n} systemd socket(s)",
                self.telemetry_path
            )?,
            None => {
                for a in &self.listen_addresses {
                    writeln!(f, "metrics: http://{a}{}", self.telemetry_path)?;
                }
            }
        }
        writeln!(f, "expose equipment ids: {}", self.expose_equipment_ids)?;
        if self.meters.iter().any(|m| m.prices.is_some()) {
            writeln!(f, "{}", self.prices)?;
        }
        match &self.web_config_file {
            Some(p) => write!(f, "web config file: {}", p.display()),
            None => write!(f, "web config file: none (plain HTTP, no authentication)"),
        }
    }
}

/// Reads the process's arguments and environment.
pub fn load() -> Result<Config, CliError> {
    let env = Env {
        rust_log: std::env::var("RUST_LOG").ok(),
        smarty_key: std::env::var(SMARTY_KEY_VAR).ok(),
        listen_pid: std::env::var("LISTEN_PID").ok(),
        listen_fds: std::env::var("LISTEN_FDS").ok(),
        entsoe_token: std::env::var(ENTSOE_TOKEN_VAR).ok(),
        homewizard_token: std::env::var(TOKEN_VAR).ok(),
        homewizard_test_ca: std::env::var_os(TEST_CA_VAR).map(PathBuf::from),
    };
    parse_with_env(std::env::args_os(), env)
}

/// Parses `args` (the program name first) with `rust_log` as the value of
/// RUST_LOG; environment variables for flags are still read by clap.
pub fn parse_from<I, T>(args: I, rust_log: Option<String>) -> Result<Config, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    parse_with_env(
        args,
        Env {
            rust_log,
            ..Env::default()
        },
    )
}

/// [`parse_from`] with every variable read outside clap.
pub fn parse_with_env<I, T>(args: I, env: Env) -> Result<Config, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = Args::command()
        .try_get_matches_from(args)
        .map_err(CliError::from_clap)?;
    let args = Args::from_arg_matches(&matches)?;
    Config::check(args, &SetByUser(Some(&matches)), env)
}

/// Which flags the user set (on the command line or in the environment),
/// as opposed to clap defaults.
struct SetByUser<'a>(Option<&'a ArgMatches>);

impl SetByUser<'_> {
    fn set(&self, id: &str) -> bool {
        self.0.is_some_and(|m| {
            matches!(
                m.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        })
    }
}

impl Config {
    /// Checks parsed flags into a configuration. Without clap's matches no
    /// flag counts as set by the user, so with `--config` the file's web
    /// and metrics settings apply.
    pub fn from_args(a: Args, rust_log: Option<String>) -> Result<Config, CliError> {
        let env = Env {
            rust_log,
            ..Env::default()
        };
        Config::check(a, &SetByUser(None), env)
    }

    fn check(a: Args, set_by_user: &SetByUser<'_>, env: Env) -> Result<Config, CliError> {
        let zone = a.timezone.zone;
        let log = check_log(a.log_format, &a.log_level, env.rust_log.clone())?;
        let mode = match &a.command {
            Some(Command::Parse {
                input,
                mask_ids,
                raw,
            }) => Mode::Parse {
                input: (input != "-").then(|| PathBuf::from(input)),
                mask_ids: *mask_ids,
                raw: *raw,
            },
            Some(Command::Backfill { input }) => Mode::Backfill {
                input: (input != "-").then(|| PathBuf::from(input)),
                meter: check_meter_name(&a.meter).map_err(|r| invalid("--meter", &a.meter, r))?,
                expose_equipment_ids: a.metrics_expose_equipment_ids,
            },
            Some(Command::Homewizard {
                command:
                    HomewizardCommand::Pair {
                        host,
                        user,
                        wait,
                        print_token,
                    },
            }) => Mode::HomewizardPair(pair_config(&a, host, user, *wait, *print_token, &env)?),
            None if a.check_config => Mode::Check(check_serve(&a, set_by_user, &env)?),
            None => Mode::Serve(check_serve(&a, set_by_user, &env)?),
        };
        Ok(Config { log, zone, mode })
    }
}

fn invalid(flag: &'static str, value: &str, reason: impl Into<String>) -> CliError {
    CliError::Invalid {
        flag,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn check_log(
    format: LogFormat,
    level: &str,
    rust_log: Option<String>,
) -> Result<LogConfig, CliError> {
    let (flag, filter) = match rust_log.filter(|s| !s.trim().is_empty()) {
        Some(r) => ("RUST_LOG", r),
        None => ("--log.level", level.to_owned()),
    };
    tracing_subscriber::EnvFilter::try_new(&filter)
        .map_err(|e| invalid(flag, &filter, e.to_string()))?;
    Ok(LogConfig { format, filter })
}

/// Flags that describe the one meter of the command line; with `--config`
/// the file says these per meter. (Clap ids, flag names.)
const METER_FLAGS: &[(&str, &str)] = &[
    ("serial", "--serial"),
    ("tcp", "--tcp"),
    ("replay", "--replay"),
    ("demo", "--demo"),
    ("homewizard", "--homewizard"),
    ("homewizard_interval", "--homewizard-interval"),
    ("homewizard_api", "--homewizard-api"),
    ("homewizard_token_file", "--homewizard-token-file"),
    ("homewizard_serial", "--homewizard-serial"),
    ("replay_interval", "--replay-interval"),
    ("replay_loop", "--replay-loop"),
    ("meter", "--meter"),
    ("stale_after", "--stale-after"),
    ("timezone", "--timezone"),
    ("baud", "--baud"),
    ("data_bits", "--data-bits"),
    ("parity", "--parity"),
    ("stop_bits", "--stop-bits"),
    ("smarty_key_file", "--smarty-key-file"),
    ("smarty_auth_key_file", "--smarty-auth-key-file"),
];

fn check_serve(a: &Args, set_by_user: &SetByUser<'_>, env: &Env) -> Result<ServeConfig, CliError> {
    let mut serve = match &a.config {
        Some(path) => check_config_file(a, path, set_by_user, env)?,
        None => ServeConfig {
            meters: vec![meter_from_flags(a, env)?],
            listen_addresses: listen_address_flag(a)?,
            systemd_sockets: systemd_sockets(a, env)?,
            telemetry_path: telemetry_path_flag(a)?,
            expose_equipment_ids: a.metrics_expose_equipment_ids,
            web_config_file: a.web_config_file.clone(),
            prices: FetchConfig {
                state_dir: a.prices_state_dir.clone(),
                entsoe_url: DEFAULT_ENTSOE_URL.to_owned(),
                entsoe_token: env_token(env),
            },
        },
    };
    apply_test_ca(&mut serve.meters, env)?;
    Ok(serve)
}

/// The ENTSO-E token from the environment; blank is none.
fn env_token(env: &Env) -> Option<Token> {
    env.entsoe_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| Token(t.to_owned()))
}

fn listen_address_flag(a: &Args) -> Result<Vec<String>, CliError> {
    a.web_listen_address
        .iter()
        .map(|v| check_listen_address(v).map_err(|r| invalid("--web.listen-address", v, r)))
        .collect()
}

/// `--web.systemd-socket`: the number of sockets systemd passed to this
/// process (LISTEN_FDS, when LISTEN_PID is this process's id), as
/// sd_listen_fds(3) reads them.
fn systemd_sockets(a: &Args, env: &Env) -> Result<Option<usize>, CliError> {
    if !a.web_systemd_socket {
        return Ok(None);
    }
    let flag = "--web.systemd-socket";
    let why = "start it from a systemd .socket unit (or systemd-socket-activate)";
    let pid = env.listen_pid.as_deref().unwrap_or_default();
    if pid.trim().parse::<u32>().ok() != Some(std::process::id()) {
        let reason = format!("LISTEN_PID is {pid:?}, not this process: {why}");
        return Err(invalid(flag, "true", reason));
    }
    let fds = env.listen_fds.as_deref().unwrap_or_default();
    match fds.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(Some(n)),
        _ => Err(invalid(
            flag,
            "true",
            format!("LISTEN_FDS is {fds:?}, no socket passed: {why}"),
        )),
    }
}

fn telemetry_path_flag(a: &Args) -> Result<String, CliError> {
    check_telemetry_path(&a.web_telemetry_path)
        .map_err(|r| invalid("--web.telemetry-path", &a.web_telemetry_path, r))
}

/// `--config FILE`: the meters from the file; the web and metrics settings
/// from the file unless a flag (or its environment variable) sets them.
fn check_config_file(
    a: &Args,
    path: &Path,
    set_by_user: &SetByUser<'_>,
    env: &Env,
) -> Result<ServeConfig, CliError> {
    let mut clash: Vec<String> = METER_FLAGS
        .iter()
        .filter(|(id, _)| set_by_user.set(id))
        .map(|(_, flag)| (*flag).to_owned())
        .collect();
    if env.smarty_key.is_some() {
        clash.push(SMARTY_KEY_VAR.to_owned());
    }
    if env.homewizard_token.is_some() {
        clash.push(TOKEN_VAR.to_owned());
    }
    if !clash.is_empty() {
        return Err(CliError::ConfigAndMeterFlags(clash));
    }
    let text =
        read_to_string_limited(path, CONFIG_FILE_LIMIT).map_err(|source| CliError::ConfigRead {
            path: path.to_owned(),
            source,
        })?;
    let file = config_file::parse(&text, path)?;
    let listen_addresses = if set_by_user.set("web_listen_address") {
        listen_address_flag(a)?
    } else {
        file.listen_addresses
            .unwrap_or_else(|| vec![DEFAULT_LISTEN_ADDRESS.to_owned()])
    };
    let telemetry_path = if set_by_user.set("web_telemetry_path") {
        telemetry_path_flag(a)?
    } else {
        file.telemetry_path
            .unwrap_or_else(|| DEFAULT_TELEMETRY_PATH.to_owned())
    };
    let expose_equipment_ids = if set_by_user.set("metrics_expose_equipment_ids") {
        a.metrics_expose_equipment_ids
    } else {
        file.expose_equipment_ids.unwrap_or(false)
    };
    let mut prices = file.fetch;
    if set_by_user.set("prices_state_dir") {
        prices.state_dir = a.prices_state_dir.clone();
    }
    if prices.entsoe_token.is_none() {
        prices.entsoe_token = env_token(env);
    }
    Ok(ServeConfig {
        meters: file.meters,
        listen_addresses,
        systemd_sockets: systemd_sockets(a, env)?,
        telemetry_path,
        expose_equipment_ids,
        web_config_file: a.web_config_file.clone(),
        prices,
    })
}

#[cfg(test)]
mod tests;
