//! The command line: flags and environment variables in, a checked [`Config`] out.
//!
//! This is the only module that reads argv or the environment. [`Args`] is
//! what clap parsed, as raw as the user wrote it; [`Config::from_args`]
//! checks every value and turns it into what the rest of the program uses,
//! with errors that name the flag. Every flag can also be set with an
//! environment variable `DSMR_EXPORTER_<FLAG>` (upper case, dots and dashes
//! as underscores), which suits containers and systemd units.

use crate::dsmr::Zone;
use crate::duration;
use crate::source::{
    DataBits, Parity, ReplayConfig, Retry, SerialConfig, SourceConfig, StopBits, TcpConfig,
};
use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use thiserror::Error;

const ABOUT: &str = "Prometheus exporter for the P1 port of DSMR / e-MUCS smart meters \
(NL, BE, LU and others), and the gas and water meters behind them.";

const AFTER_HELP: &str = "\
Every flag can also be set with an environment variable: DSMR_EXPORTER_ and the flag \
name in upper case with dots and dashes as underscores, e.g. DSMR_EXPORTER_SERIAL=/dev/ttyUSB0, \
DSMR_EXPORTER_WEB_LISTEN_ADDRESS=:9947, DSMR_EXPORTER_DEMO=true. A flag on the command line wins.

Examples:
  dsmr-exporter --demo                                   simulated meter, metrics on :9947
  dsmr-exporter --serial /dev/ttyUSB0                    DSMR 4/5 meter (115200 8N1)
  dsmr-exporter --serial /dev/ttyUSB0 --baud 9600 --data-bits 7 --parity even   DSMR 2.2/3.0
  dsmr-exporter --tcp 192.168.1.50:2001                  ser2net or a Wi-Fi P1 dongle
  dsmr-exporter parse telegram.txt                       decode telegrams from a file";

/// The flags, as parsed by clap and not yet checked.
#[derive(Debug, Parser)]
#[command(
    name = "dsmr-exporter",
    version,
    about = ABOUT,
    after_help = AFTER_HELP,
    next_line_help = true
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Read telegrams from this serial port (the USB P1 cable).
    #[arg(
        long,
        value_name = "PATH",
        env = "DSMR_EXPORTER_SERIAL",
        help_heading = "Source"
    )]
    pub serial: Option<String>,

    /// Read raw telegrams from this TCP address (ser2net, Wi-Fi P1 dongles).
    #[arg(
        long,
        value_name = "HOST:PORT",
        env = "DSMR_EXPORTER_TCP",
        help_heading = "Source"
    )]
    pub tcp: Option<String>,

    /// Replay the telegrams in this file (concatenated raw telegrams).
    #[arg(
        long,
        value_name = "FILE",
        env = "DSMR_EXPORTER_REPLAY",
        help_heading = "Source"
    )]
    pub replay: Option<PathBuf>,

    /// Pause between replayed telegrams; 0 replays as fast as possible.
    #[arg(
        long = "replay-interval",
        value_name = "DURATION",
        default_value = "1s",
        env = "DSMR_EXPORTER_REPLAY_INTERVAL",
        help_heading = "Source"
    )]
    pub replay_interval: String,

    /// Start the replay again after the last telegram, forever.
    #[arg(
        long = "replay-loop",
        env = "DSMR_EXPORTER_REPLAY_LOOP",
        value_parser = BoolishValueParser::new(),
        help_heading = "Source"
    )]
    pub replay_loop: bool,

    /// Run a built-in simulated DSMR 5.0 meter (3 phases, solar, gas, water).
    #[arg(
        long,
        env = "DSMR_EXPORTER_DEMO",
        value_parser = BoolishValueParser::new(),
        help_heading = "Source"
    )]
    pub demo: bool,

    /// Name of the meter (the `meter` label on every series).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "main",
        env = "DSMR_EXPORTER_METER",
        global = true,
        help_heading = "Source"
    )]
    pub meter: String,

    /// After this long without a valid telegram a meter is stale (readings
    /// hidden, a silent TCP connection reopened).
    #[arg(
        long = "stale-after",
        value_name = "DURATION",
        default_value = "60s",
        env = "DSMR_EXPORTER_STALE_AFTER",
        help_heading = "Source"
    )]
    pub stale_after: String,

    /// Time zone of meter clocks that send no DST flag.
    #[arg(
        long,
        help = "Time zone of meter clocks that send no DST flag (Europe/<city>, UTC or +01:00)",
        value_name = "ZONE",
        default_value = "Europe/Amsterdam",
        env = "DSMR_EXPORTER_TIMEZONE",
        global = true,
        help_heading = "Source"
    )]
    pub timezone: String,

    /// Serial speed: 115200 for DSMR 4/5, e-MUCS and Smarty; 9600 for DSMR 2.2/3.0.
    #[arg(
        long,
        value_name = "BAUD",
        default_value = "115200",
        env = "DSMR_EXPORTER_BAUD",
        help_heading = "Serial"
    )]
    pub baud: String,

    /// Data bits: 8 for DSMR 4/5, 7 for DSMR 2.2/3.0.
    #[arg(
        long = "data-bits",
        value_name = "7|8",
        default_value = "8",
        env = "DSMR_EXPORTER_DATA_BITS",
        help_heading = "Serial"
    )]
    pub data_bits: String,

    /// Parity: none for DSMR 4/5, even for DSMR 2.2/3.0.
    #[arg(
        long,
        value_enum,
        default_value_t = ParityArg::None,
        env = "DSMR_EXPORTER_PARITY",
        help_heading = "Serial"
    )]
    pub parity: ParityArg,

    /// Stop bits.
    #[arg(
        long = "stop-bits",
        value_name = "1|2",
        default_value = "1",
        env = "DSMR_EXPORTER_STOP_BITS",
        help_heading = "Serial"
    )]
    pub stop_bits: String,

    /// Address to serve metrics on (HOST:PORT, or :PORT for all IPv4 addresses).
    #[arg(
        long = "web.listen-address",
        value_name = "ADDRESS",
        default_value = "0.0.0.0:9947",
        env = "DSMR_EXPORTER_WEB_LISTEN_ADDRESS",
        help_heading = "Web"
    )]
    pub web_listen_address: String,

    /// Path under which metrics are served.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = "/metrics",
        env = "DSMR_EXPORTER_WEB_TELEMETRY_PATH",
        help_heading = "Web"
    )]
    pub web_telemetry_path: String,

    /// A web configuration file (exporter-toolkit format: TLS certificate
    /// and key, basic-auth users with bcrypt hashes) guarding every route.
    #[arg(
        long = "web.config.file",
        value_name = "FILE",
        env = "DSMR_EXPORTER_WEB_CONFIG_FILE",
        help_heading = "Web"
    )]
    pub web_config_file: Option<PathBuf>,

    /// Publish equipment ids (serial numbers) as labels. Off by default:
    /// they identify a household.
    #[arg(
        long = "metrics.expose-equipment-ids",
        env = "DSMR_EXPORTER_METRICS_EXPOSE_EQUIPMENT_IDS",
        value_parser = BoolishValueParser::new(),
        global = true,
        help_heading = "Metrics"
    )]
    pub metrics_expose_equipment_ids: bool,

    /// Log line format.
    #[arg(
        long = "log-format",
        value_name = "FORMAT",
        value_enum,
        default_value_t = LogFormat::Text,
        env = "DSMR_EXPORTER_LOG_FORMAT",
        help_heading = "Logging"
    )]
    pub log_format: LogFormat,

    /// Log level or filter (error, warn, info, debug, trace, or e.g.
    /// dsmr_exporter=debug). RUST_LOG, when set, wins.
    #[arg(
        long = "log-level",
        value_name = "LEVEL",
        default_value = "info",
        env = "DSMR_EXPORTER_LOG_LEVEL",
        help_heading = "Logging"
    )]
    pub log_level: String,

    /// Check the flags, print the resulting configuration and exit.
    #[arg(
        long = "check-config",
        env = "DSMR_EXPORTER_CHECK_CONFIG",
        value_parser = BoolishValueParser::new()
    )]
    pub check_config: bool,
}

/// Subcommands; without one, the exporter runs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode telegrams from a file (or standard input) and print what they hold.
    Parse {
        /// The file to read; `-` or nothing reads standard input.
        #[arg(value_name = "FILE|-", default_value = "-")]
        input: String,
    },
    /// Turn a log of raw telegrams into OpenMetrics text stamped with each
    /// telegram's own time, for `promtool tsdb create-blocks-from openmetrics`.
    /// Takes --meter, --timezone and --metrics.expose-equipment-ids.
    Backfill {
        /// The log to read; `-` or nothing reads standard input.
        #[arg(value_name = "FILE|-", default_value = "-")]
        input: String,
    },
}

/// `--parity` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParityArg {
    None,
    Even,
    Odd,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    // One human-readable line per event.
    Text,
    // One JSON object per line, for log collectors.
    Json,
}

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
    /// The `meter` label.
    pub meter: String,
    pub source: SourceConfig,
    /// When a meter's readings leave `/metrics`, and a silent TCP connection is reopened.
    pub stale_after: Duration,
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
        writeln!(f, "meter: {}", self.meter)?;
        writeln!(f, "source: {}", self.source)?;
        writeln!(f, "stale after: {}", duration::format(self.stale_after))?;
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

/// Reads the process's arguments and environment.
pub fn load() -> Result<Config, CliError> {
    let rust_log = std::env::var("RUST_LOG").ok();
    parse_from(std::env::args_os(), rust_log)
}

/// Parses `args` (the program name first) with `rust_log` as the value of
/// RUST_LOG; environment variables for flags are still read by clap.
pub fn parse_from<I, T>(args: I, rust_log: Option<String>) -> Result<Config, CliError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args = Args::try_parse_from(args)?;
    Config::from_args(args, rust_log)
}

impl Config {
    /// Checks raw flags into a configuration.
    pub fn from_args(a: Args, rust_log: Option<String>) -> Result<Config, CliError> {
        let zone = Zone::parse(&a.timezone).ok_or_else(|| CliError::Invalid {
            flag: "--timezone",
            value: a.timezone.clone(),
            reason: "expected Europe/<city>, UTC or a fixed offset such as +01:00".into(),
        })?;
        let log = check_log(a.log_format, &a.log_level, rust_log)?;
        let mode = match &a.command {
            Some(Command::Parse { input }) => {
                Mode::Parse((input != "-").then(|| PathBuf::from(input)))
            }
            Some(Command::Backfill { input }) => Mode::Backfill {
                input: (input != "-").then(|| PathBuf::from(input)),
                meter: check_meter_name(&a.meter)?,
                expose_equipment_ids: a.metrics_expose_equipment_ids,
            },
            None if a.check_config => Mode::Check(check_serve(&a)?),
            None => Mode::Serve(check_serve(&a)?),
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

fn check_serve(a: &Args) -> Result<ServeConfig, CliError> {
    let stale_after = check_duration("--stale-after", &a.stale_after)?;
    if stale_after.is_zero() {
        return Err(invalid(
            "--stale-after",
            &a.stale_after,
            "must be more than 0",
        ));
    }
    let source = check_source(a, stale_after)?;
    Ok(ServeConfig {
        meter: check_meter_name(&a.meter)?,
        source,
        stale_after,
        listen_address: check_listen_address(&a.web_listen_address)?,
        telemetry_path: check_telemetry_path(&a.web_telemetry_path)?,
        expose_equipment_ids: a.metrics_expose_equipment_ids,
        web_config_file: a.web_config_file.clone(),
    })
}

fn check_source(a: &Args, stale_after: Duration) -> Result<SourceConfig, CliError> {
    let given: Vec<&'static str> = [
        (a.serial.is_some(), "--serial"),
        (a.tcp.is_some(), "--tcp"),
        (a.replay.is_some(), "--replay"),
        (a.demo, "--demo"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect();
    if given.len() > 1 {
        return Err(CliError::TwoSources(given));
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
        }));
    }
    if let Some(addr) = &a.tcp {
        let (host, port) = split_host_port(addr).map_err(|r| invalid("--tcp", addr, r))?;
        if host.is_empty() || port == 0 {
            return Err(invalid(
                "--tcp",
                addr,
                "expected HOST:PORT with a port above 0",
            ));
        }
        return Ok(SourceConfig::Tcp(TcpConfig {
            address: addr.trim().to_owned(),
            stale_after,
            retry: Retry::default(),
        }));
    }
    if let Some(path) = &a.replay {
        return Ok(SourceConfig::Replay(ReplayConfig {
            path: path.clone(),
            interval: check_duration("--replay-interval", &a.replay_interval)?,
            looped: a.replay_loop,
        }));
    }
    if a.demo {
        return Ok(SourceConfig::Demo);
    }
    Err(CliError::NoSource)
}

fn check_baud(s: &str) -> Result<u32, CliError> {
    match s.trim().parse::<u32>() {
        Ok(b) if (50..=4_000_000).contains(&b) => Ok(b),
        _ => Err(invalid(
            "--baud",
            s,
            "expected a speed such as 115200 or 9600",
        )),
    }
}

/// `HOST:PORT` (IPv6 hosts in brackets) into its parts.
fn split_host_port(s: &str) -> Result<(&str, u16), &'static str> {
    let s = s.trim();
    let (host, port) = s
        .rsplit_once(':')
        .ok_or("expected HOST:PORT, e.g. 192.168.1.50:2001")?;
    let port = port
        .parse::<u16>()
        .map_err(|_| "the port must be a number from 0 to 65535")?;
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err("write IPv6 addresses in brackets, e.g. [::1]:9947");
    }
    if host.contains(char::is_whitespace) {
        return Err("the host contains spaces");
    }
    Ok((host, port))
}

fn check_listen_address(s: &str) -> Result<String, CliError> {
    let flag = "--web.listen-address";
    let (host, port) = split_host_port(s).map_err(|r| invalid(flag, s, r))?;
    // `:9947` is the Prometheus convention for all addresses.
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    Ok(format!("{host}:{port}"))
}

fn check_telemetry_path(s: &str) -> Result<String, CliError> {
    let flag = "--web.telemetry-path";
    if !s.starts_with('/') {
        return Err(invalid(flag, s, "must start with '/'"));
    }
    if s.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
        return Err(invalid(flag, s, "must not contain spaces, '?' or '#'"));
    }
    Ok(s.to_owned())
}

fn check_meter_name(s: &str) -> Result<String, CliError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(invalid(
            "--meter",
            s,
            "use 1 to 64 letters, digits, '_', '-', '.' or ':'",
        ))
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

    #[test]
    fn defaults() {
        let s = serve(&["--demo"]);
        assert_eq!(s.meter, "main");
        assert_eq!(s.source, SourceConfig::Demo);
        assert_eq!(s.stale_after, Duration::from_secs(60));
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
        let s = serve(&[
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
        let s = serve(&["--tcp", "p1.local:2001", "--stale-after", "10s"]);
        assert_eq!(
            s.source,
            SourceConfig::Tcp(TcpConfig::new("p1.local:2001", Duration::from_secs(10)))
        );
    }

    #[test]
    fn replay_and_parse() {
        let s = serve(&[
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
                looped: true
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
}
