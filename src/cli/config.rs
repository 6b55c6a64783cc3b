//! Flags and environment variables in, a checked [`Config`] out.
//!
//! The only place that reads argv or the environment. [`Args`] is
//! what clap parsed, as raw as the user wrote it; [`Config::from_args`]
//! checks every value and turns it into what the rest of the program uses,
//! with errors that name the flag. Every flag can also be set with an
//! environment variable `DSMR_EXPORTER_<FLAG>` (upper case, dots and dashes
//! as underscores), which suits containers and systemd units.

use super::config_file;
use super::flags::{Args, Command, LogFormat, ParityArg};
use super::settings::{
    baud_ok, check_homewizard_host, check_homewizard_interval, check_listen_address,
    check_meter_name, check_tcp_address, check_telemetry_path, check_zone, load_smarty_keys,
    AuthKey, KeySource, MeterConfig,
};
use crate::duration;
use crate::source::{
    DataBits, HomewizardConfig, Parity, ReplayConfig, Retry, SerialConfig, SourceConfig, StopBits,
    TcpConfig,
};
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use dsmr_engine::smarty::SmartyKeys;
use dsmr_engine::Zone;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use thiserror::Error;

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub log: LogConfig,
    /// For meter clocks without a DST flag.
    pub zone: Zone,
    pub mode: Mode,
}

/// Where log lines go and which ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
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
    Parse(Option<PathBuf>),
    /// Backfill from a telegram log, or standard input when `None`.
    Backfill {
        input: Option<PathBuf>,
        meter: String,
        expose_equipment_ids: bool,
    },
}

/// Everything the exporter needs to run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// At least one; names are unique.
    pub meters: Vec<MeterConfig>,
    /// `HOST:PORT`, resolved when binding.
    pub listen_address: String,
    /// Starts with `/`.
    pub telemetry_path: String,
    /// Off unless asked for: equipment ids identify a household.
    pub expose_equipment_ids: bool,
    /// `--web.config.file`, loaded and checked at start.
    pub web_config_file: Option<PathBuf>,
}

impl fmt::Display for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.meters {
            writeln!(f, "{m}")?;
        }
        writeln!(
            f,
            "metrics: http://{}{}",
            self.listen_address, self.telemetry_path
        )?;
        writeln!(f, "expose equipment ids: {}", self.expose_equipment_ids)?;
        match &self.web_config_file {
            Some(p) => write!(f, "web config file: {}", p.display()),
            None => write!(f, "web config file: none (plain HTTP, no authentication)"),
        }
    }
}

/// Why the command line was refused (or only asked for help).
#[derive(Debug, Error)]
pub enum CliError {
    /// Help, version, or a flag clap itself refused.
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
        path: PathBuf,
        source: std::io::Error,
    },
    /// The config file is not valid: `FILE:LINE:COL: what`.
    #[error("{0}")]
    ConfigFile(#[from] config_file::ConfigError),
    /// A Smarty key that cannot be used.
    #[error("{what}: {reason}")]
    SmartyKey { what: String, reason: String },
    /// A value that does not make sense for its flag.
    #[error("invalid value '{value}' for {flag}: {reason}")]
    Invalid {
        flag: &'static str,
        value: String,
        reason: String,
    },
}

impl CliError {
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

/// The environment variables read outside clap.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// RUST_LOG.
    pub rust_log: Option<String>,
    /// DSMR_EXPORTER_SMARTY_KEY: the Smarty key itself. An environment
    /// variable, not a flag, so that it never shows in `ps`.
    pub smarty_key: Option<String>,
}

/// Reads the process's arguments and environment.
pub fn load() -> Result<Config, CliError> {
    let env = Env {
        rust_log: std::env::var("RUST_LOG").ok(),
        smarty_key: std::env::var("DSMR_EXPORTER_SMARTY_KEY").ok(),
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
            smarty_key: None,
        },
    )
}

/// [`parse_from`] with every variable read outside clap.
pub fn parse_with_env<I, T>(args: I, env: Env) -> Result<Config, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = Args::command().try_get_matches_from(args)?;
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
    /// Checks raw flags into a configuration. Without clap's matches no
    /// flag counts as set by the user, so with `--config` the file's web
    /// and metrics settings apply.
    pub fn from_args(a: Args, rust_log: Option<String>) -> Result<Config, CliError> {
        let env = Env {
            rust_log,
            smarty_key: None,
        };
        Config::check(a, &SetByUser(None), env)
    }

    fn check(a: Args, given: &SetByUser<'_>, env: Env) -> Result<Config, CliError> {
        let zone =
            check_zone(&a.timezone).map_err(|reason| invalid("--timezone", &a.timezone, reason))?;
        let log = check_log(a.log_format, &a.log_level, env.rust_log.clone())?;
        let mode = match &a.command {
            Some(Command::Parse { input }) => {
                Mode::Parse((input != "-").then(|| PathBuf::from(input)))
            }
            Some(Command::Backfill { input }) => Mode::Backfill {
                input: (input != "-").then(|| PathBuf::from(input)),
                meter: check_meter_name(&a.meter).map_err(|r| invalid("--meter", &a.meter, r))?,
                expose_equipment_ids: a.metrics_expose_equipment_ids,
            },
            None if a.check_config => Mode::Check(check_serve(&a, given, &env)?),
            None => Mode::Serve(check_serve(&a, given, &env)?),
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
        None => ("--log-level", level.to_owned()),
    };
    tracing_subscriber::EnvFilter::try_new(&filter)
        .map_err(|e| invalid(flag, &filter, e.to_string()))?;
    Ok(LogConfig { format, filter })
}

fn check_duration(flag: &'static str, value: &str) -> Result<Duration, CliError> {
    duration::parse(value).map_err(|e| invalid(flag, value, e.to_string()))
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

fn check_serve(a: &Args, given: &SetByUser<'_>, env: &Env) -> Result<ServeConfig, CliError> {
    if let Some(path) = &a.config {
        return check_config_file(a, path, given, env);
    }
    let stale_after = check_duration("--stale-after", &a.stale_after)?;
    if stale_after.is_zero() {
        return Err(invalid(
            "--stale-after",
            &a.stale_after,
            "must be more than 0",
        ));
    }
    let zone = check_zone(&a.timezone).map_err(|r| invalid("--timezone", &a.timezone, r))?;
    let source = check_source(a, stale_after, env)?;
    Ok(ServeConfig {
        meters: vec![MeterConfig {
            name: check_meter_name(&a.meter).map_err(|r| invalid("--meter", &a.meter, r))?,
            source,
            stale_after,
            zone,
            timezone: a.timezone.clone(),
        }],
        listen_address: check_listen_address(&a.web_listen_address)
            .map_err(|r| invalid("--web.listen-address", &a.web_listen_address, r))?,
        telemetry_path: check_telemetry_path(&a.web_telemetry_path)
            .map_err(|r| invalid("--web.telemetry-path", &a.web_telemetry_path, r))?,
        expose_equipment_ids: a.metrics_expose_equipment_ids,
        web_config_file: a.web_config_file.clone(),
    })
}

/// `--config FILE`: the meters from the file; the web and metrics settings
/// from the file unless a flag (or its environment variable) sets them.
fn check_config_file(
    a: &Args,
    path: &Path,
    given: &SetByUser<'_>,
    env: &Env,
) -> Result<ServeConfig, CliError> {
    let mut clash: Vec<String> = METER_FLAGS
        .iter()
        .filter(|(id, _)| given.set(id))
        .map(|(_, flag)| (*flag).to_owned())
        .collect();
    if env.smarty_key.is_some() {
        clash.push("DSMR_EXPORTER_SMARTY_KEY".to_owned());
    }
    if !clash.is_empty() {
        return Err(CliError::ConfigAndMeterFlags(clash));
    }
    let text = std::fs::read_to_string(path).map_err(|source| CliError::ConfigRead {
        path: path.to_owned(),
        source,
    })?;
    let file = config_file::parse(&text, path)?;
    let listen_address = if given.set("web_listen_address") {
        check_listen_address(&a.web_listen_address)
            .map_err(|r| invalid("--web.listen-address", &a.web_listen_address, r))?
    } else {
        file.listen_address
            .unwrap_or_else(|| "0.0.0.0:9947".to_owned())
    };
    let telemetry_path = if given.set("web_telemetry_path") {
        check_telemetry_path(&a.web_telemetry_path)
            .map_err(|r| invalid("--web.telemetry-path", &a.web_telemetry_path, r))?
    } else {
        file.telemetry_path.unwrap_or_else(|| "/metrics".to_owned())
    };
    let expose_equipment_ids = if given.set("metrics_expose_equipment_ids") {
        a.metrics_expose_equipment_ids
    } else {
        file.expose_equipment_ids.unwrap_or(false)
    };
    Ok(ServeConfig {
        meters: file.meters,
        listen_address,
        telemetry_path,
        expose_equipment_ids,
        web_config_file: a.web_config_file.clone(),
    })
}

fn check_source(a: &Args, stale_after: Duration, env: &Env) -> Result<SourceConfig, CliError> {
    let given: Vec<&'static str> = [
        (a.serial.is_some(), "--serial"),
        (a.tcp.is_some(), "--tcp"),
        (a.replay.is_some(), "--replay"),
        (a.demo, "--demo"),
        (a.homewizard.is_some(), "--homewizard"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect();
    if given.len() > 1 {
        return Err(CliError::TwoSources(given));
    }
    let smarty = check_smarty_flags(a, env)?;
    if smarty.is_some() && (a.demo || a.homewizard.is_some()) {
        return Err(CliError::SmartyKey {
            what: "--smarty-key-file".to_owned(),
            reason: format!(
                "Smarty decryption applies to --serial, --tcp and --replay, not {}",
                if a.demo { "--demo" } else { "--homewizard" }
            ),
        });
    }
    if let Some(path) = &a.serial {
        if path.trim().is_empty() {
            return Err(invalid("--serial", path, "empty path"));
        }
        return Ok(SourceConfig::Serial(SerialConfig {
            path: path.clone(),
            baud: check_baud(&a.baud)?,
            data_bits: match a.data_bits.trim() {
                "7" => DataBits::Seven,
                "8" => DataBits::Eight,
                other => return Err(invalid("--data-bits", other, "must be 7 or 8")),
            },
            parity: match a.parity {
                ParityArg::None => Parity::None,
                ParityArg::Even => Parity::Even,
                ParityArg::Odd => Parity::Odd,
            },
            stop_bits: match a.stop_bits.trim() {
                "1" => StopBits::One,
                "2" => StopBits::Two,
                other => return Err(invalid("--stop-bits", other, "must be 1 or 2")),
            },
            retry: Retry::default(),
            smarty,
        }));
    }
    if let Some(addr) = &a.tcp {
        let address = check_tcp_address(addr).map_err(|r| invalid("--tcp", addr, r))?;
        return Ok(SourceConfig::Tcp(TcpConfig {
            smarty,
            ..TcpConfig::new(address, stale_after)
        }));
    }
    if let Some(path) = &a.replay {
        return Ok(SourceConfig::Replay(ReplayConfig {
            path: path.clone(),
            interval: check_duration("--replay-interval", &a.replay_interval)?,
            looped: a.replay_loop,
            smarty,
        }));
    }
    if let Some(host) = &a.homewizard {
        let address = check_homewizard_host(host).map_err(|r| invalid("--homewizard", host, r))?;
        let interval = check_duration("--homewizard-interval", &a.homewizard_interval)?;
        check_homewizard_interval(interval)
            .map_err(|r| invalid("--homewizard-interval", &a.homewizard_interval, r))?;
        return Ok(SourceConfig::Homewizard(HomewizardConfig::new(
            address, interval,
        )));
    }
    if a.demo {
        return Ok(SourceConfig::Demo);
    }
    Err(CliError::NoSource)
}

/// The Smarty keys from `--smarty-key-file` or DSMR_EXPORTER_SMARTY_KEY,
/// with the auth key from `--smarty-auth-key-file`; `None` when neither key
/// source is set.
fn check_smarty_flags(a: &Args, env: &Env) -> Result<Option<SmartyKeys>, CliError> {
    let env_key = env.smarty_key.as_deref().filter(|k| !k.trim().is_empty());
    let key = match (&a.smarty_key_file, env_key) {
        (Some(_), Some(_)) => {
            return Err(CliError::SmartyKey {
                what: "--smarty-key-file".to_owned(),
                reason: "also DSMR_EXPORTER_SMARTY_KEY is set; use one of the two".to_owned(),
            })
        }
        (Some(file), None) => KeySource::File(file.clone()),
        (None, Some(k)) => KeySource::Value("DSMR_EXPORTER_SMARTY_KEY", k.to_owned()),
        (None, None) => {
            if let Some(auth) = &a.smarty_auth_key_file {
                return Err(CliError::SmartyKey {
                    what: format!("--smarty-auth-key-file {auth}"),
                    reason: "needs the decryption key too: --smarty-key-file or DSMR_EXPORTER_SMARTY_KEY"
                        .to_owned(),
                });
            }
            return Ok(None);
        }
    };
    let auth = match a.smarty_auth_key_file.as_deref() {
        None => AuthKey::Default,
        Some(s) if s.trim().eq_ignore_ascii_case("none") => AuthKey::None,
        Some(s) => AuthKey::File(PathBuf::from(s)),
    };
    load_smarty_keys(&key, &auth, Path::new(""))
        .map(Some)
        .map_err(|e| CliError::SmartyKey {
            what: e.what,
            reason: e.reason,
        })
}

fn check_baud(s: &str) -> Result<u32, CliError> {
    match s.trim().parse::<u32>() {
        Ok(b) if baud_ok(b) => Ok(b),
        _ => Err(invalid(
            "--baud",
            s,
            "expected a speed such as 115200 or 9600",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, CliError> {
        let mut v = vec!["dsmr-exporter"];
        v.extend_from_slice(args);
        parse_from(v, None)
    }

    fn serve(args: &[&str]) -> ServeConfig {
        match parse(args).unwrap().mode {
            Mode::Serve(s) => s,
            other => panic!("not serve: {other:?}"),
        }
    }

    fn meter(args: &[&str]) -> MeterConfig {
        let mut s = serve(args);
        assert_eq!(s.meters.len(), 1);
        s.meters.remove(0)
    }

    #[test]
    fn defaults() {
        let s = serve(&["--demo"]);
        assert_eq!(s.meters[0].name, "main");
        assert_eq!(s.meters[0].source, SourceConfig::Demo);
        assert_eq!(s.meters[0].stale_after, Duration::from_secs(60));
        assert_eq!(s.listen_address, "0.0.0.0:9947");
        assert_eq!(s.telemetry_path, "/metrics");
        assert!(!s.expose_equipment_ids);
        let c = parse(&["--demo"]).unwrap();
        assert_eq!(c.zone, Zone::CET);
        assert_eq!(c.log.filter, "info");
        assert_eq!(c.log.format, LogFormat::Text);
    }

    #[test]
    fn serial_settings_for_old_meters() {
        let s = meter(&[
            "--serial",
            "/dev/ttyUSB0",
            "--baud",
            "9600",
            "--data-bits",
            "7",
            "--parity",
            "even",
        ]);
        let SourceConfig::Serial(c) = s.source else {
            panic!("not serial")
        };
        assert_eq!((c.baud, c.frame().as_str()), (9600, "7E1"));
        assert_eq!(c.to_string(), "serial /dev/ttyUSB0 9600 7E1");
    }

    #[test]
    fn errors_name_the_flag() {
        let e = |args: &[&str]| parse(args).unwrap_err().to_string();
        assert!(e(&[]).contains("--demo"));
        assert!(e(&["--demo", "--tcp", "h:1"]).contains("--tcp and --demo"));
        assert!(e(&["--demo", "--stale-after", "5x"]).contains("--stale-after"));
        assert!(e(&["--demo", "--stale-after", "0"]).contains("--stale-after"));
        assert!(e(&["--serial", "/dev/x", "--data-bits", "9"]).contains("--data-bits"));
        assert!(e(&["--serial", "/dev/x", "--stop-bits", "3"]).contains("--stop-bits"));
        assert!(e(&["--serial", "/dev/x", "--baud", "fast"]).contains("--baud"));
        assert!(e(&["--tcp", "dongle"]).contains("--tcp"));
        assert!(e(&["--tcp", "::1:80"]).contains("brackets"));
        assert!(e(&["--demo", "--web.telemetry-path", "metrics"]).contains("start with '/'"));
        assert!(e(&["--demo", "--web.listen-address", "9947"]).contains("--web.listen-address"));
        assert!(e(&["--demo", "--timezone", "Mars/Base"]).contains("--timezone"));
        assert!(e(&["--demo", "--meter", "a b"]).contains("--meter"));
        assert!(e(&["--demo", "--log-level", "loud=="]).contains("--log-level"));
        assert!(e(&["--demo", "--replay", "f"]).contains("--replay and --demo"));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            serve(&["--demo", "--web.listen-address", ":9100"]).listen_address,
            "0.0.0.0:9100"
        );
        assert_eq!(
            serve(&["--demo", "--web.listen-address", "[::1]:9100"]).listen_address,
            "[::1]:9100"
        );
        let s = meter(&["--tcp", "p1.local:2001", "--stale-after", "10s"]);
        assert_eq!(
            s.source,
            SourceConfig::Tcp(TcpConfig::new("p1.local:2001", Duration::from_secs(10)))
        );
    }

    #[test]
    fn replay_and_parse() {
        let s = meter(&[
            "--replay",
            "t.txt",
            "--replay-interval",
            "0",
            "--replay-loop",
        ]);
        assert_eq!(
            s.source,
            SourceConfig::Replay(ReplayConfig {
                path: "t.txt".into(),
                interval: Duration::ZERO,
                looped: true,
                smarty: None,
            })
        );
        let c = parse(&["parse", "--timezone", "UTC", "x.txt"]).unwrap();
        assert!(matches!(c.mode, Mode::Parse(Some(ref p)) if p.as_os_str() == "x.txt"));
        assert_eq!(c.zone, Zone::UTC);
        assert!(matches!(parse(&["parse"]).unwrap().mode, Mode::Parse(None)));
        assert!(matches!(
            parse(&["parse", "-"]).unwrap().mode,
            Mode::Parse(None)
        ));
    }

    #[test]
    fn rust_log_wins() {
        let c = parse_from(["x", "--demo", "--log-level", "debug"], Some("warn".into())).unwrap();
        assert_eq!(c.log.filter, "warn");
        let c = parse_from(["x", "--demo", "--log-level", "debug"], Some(String::new())).unwrap();
        assert_eq!(c.log.filter, "debug");
    }

    #[test]
    fn check_config_mode() {
        let c = parse(&["--demo", "--check-config"]).unwrap();
        let Mode::Check(s) = c.mode else {
            panic!("not check")
        };
        assert!(s.to_string().contains("source: demo"));
    }

    #[test]
    fn homewizard_hosts() {
        assert_eq!(
            check_homewizard_host("192.168.1.60").as_deref(),
            Ok("192.168.1.60:80")
        );
        assert_eq!(
            check_homewizard_host("p1.local:8080").as_deref(),
            Ok("p1.local:8080")
        );
        assert_eq!(
            check_homewizard_host("http://p1.local/").as_deref(),
            Ok("p1.local:80")
        );
        assert_eq!(
            check_homewizard_host("[fe80::1]").as_deref(),
            Ok("[fe80::1]:80")
        );
        assert_eq!(
            check_homewizard_host("[fe80::1]:81").as_deref(),
            Ok("[fe80::1]:81")
        );
        assert!(check_homewizard_host("").is_err());
        assert!(check_homewizard_host("p1.local/api/v1/telegram").is_err());
        assert!(check_homewizard_host("fe80::1").is_err());
        assert!(check_homewizard_host("p1.local:0").is_err());
    }

    #[test]
    fn smarty_keys_from_the_environment() {
        let env = Env {
            rust_log: None,
            smarty_key: Some("0123456789abcdef0123456789abcdef".into()),
        };
        let c = parse_with_env(["x", "--tcp", "h:1"], env.clone()).unwrap();
        let Mode::Serve(s) = c.mode else {
            panic!("not serve")
        };
        let SourceConfig::Tcp(t) = &s.meters[0].source else {
            panic!("not tcp")
        };
        let keys = t.smarty.as_ref().expect("keys");
        assert_eq!(keys.auth_key, Some(SmartyKeys::SMARTY_AUTH_KEY));
        assert_eq!(keys.encryption_key[0], 0x01);
        // An empty variable is no key.
        let empty = Env {
            rust_log: None,
            smarty_key: Some(" ".into()),
        };
        let c = parse_with_env(["x", "--tcp", "h:1"], empty).unwrap();
        let Mode::Serve(s) = c.mode else {
            panic!("not serve")
        };
        assert!(matches!(&s.meters[0].source, SourceConfig::Tcp(t) if t.smarty.is_none()));
        let e = parse_with_env(["x", "--homewizard", "h"], env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not --homewizard"), "{e}");
    }
}
