//! The flags as clap parses them: numbers, durations and zones typed and
//! checked by clap's value parsers (so clap reports a bad value), the rest
//! as the user wrote it.
//!
//! [`Args`] is the whole command line (and its `DSMR_EXPORTER_*`
//! environment variables); [`super::config`] checks the rest. The value
//! parsers call the same rules as the `--config` file
//! ([`super::checks`]), and the defaults are the ones of
//! [`super::settings`].

use super::checks::{
    check_baud, check_data_bits, check_homewizard_interval, check_stale_after, check_stop_bits,
    HomewizardApiArg, NamedZone, ParityArg, DEFAULT_LISTEN_ADDRESS, DEFAULT_TELEMETRY_PATH,
};
use super::settings::{
    DEFAULT_BAUD, DEFAULT_DATA_BITS, DEFAULT_HOMEWIZARD_INTERVAL_TEXT,
    DEFAULT_REPLAY_INTERVAL_TEXT, DEFAULT_STALE_AFTER_TEXT, DEFAULT_STOP_BITS, DEFAULT_TIMEZONE,
};
use crate::duration;
use crate::source::DemoCountry;
use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

const ABOUT: &str = "Prometheus exporter for the P1 port of DSMR / e-MUCS smart meters \
(NL, BE, LU and others), and the gas and water meters behind them.";

const AFTER_HELP: &str = "\
Every flag can also be set with an environment variable: DSMR_EXPORTER_ and the flag \
name in upper case with dots and dashes as underscores, e.g. DSMR_EXPORTER_SERIAL=/dev/ttyUSB0, \
DSMR_EXPORTER_WEB_LISTEN_ADDRESS=:9947, DSMR_EXPORTER_DEMO=true. A flag on the command line wins.

Examples:
  dsmr-exporter --demo                                   simulated meter, metrics on :9947
  dsmr-exporter --demo be                                simulated Belgian meter with the capacity tariff
  dsmr-exporter --serial /dev/ttyUSB0                    DSMR 4/5 meter (115200 8N1)
  dsmr-exporter --serial /dev/ttyUSB0 --baud 9600 --data-bits 7 --parity even   DSMR 2.2/3.0
  dsmr-exporter --tcp 192.168.1.50:2001                  ser2net or a Wi-Fi P1 dongle
  dsmr-exporter homewizard pair 192.168.1.60             get a HomeWizard API v2 token (press its button)
  dsmr-exporter --homewizard 192.168.1.60                HomeWizard Wi-Fi P1 meter (API v2 or v1)
  dsmr-exporter --serial /dev/ttyUSB0 --smarty-key-file /etc/dsmr/key   Luxembourg (Smarty)
  dsmr-exporter --config /etc/dsmr-exporter.toml         several meters, see examples/dsmr-exporter.toml
  dsmr-exporter parse telegram.txt                       decode telegrams from a file

The Smarty key can also come from DSMR_EXPORTER_SMARTY_KEY (the 32 hex digits themselves); \
there is deliberately no flag that takes the key on the command line, where other users see it. \
Likewise the HomeWizard API v2 token: --homewizard-token-file, or DSMR_EXPORTER_HOMEWIZARD_TOKEN.";

/// The flags as clap parses them: numbers, durations and the zone typed
/// and checked, the rest as written (checked by [`super::config`]).
#[derive(Debug, Parser)]
#[command(
    name = "dsmr-exporter",
    version,
    about = ABOUT,
    after_help = AFTER_HELP,
    next_line_help = true
)]
pub struct Args {
    /// `parse` or `backfill`; without one, the exporter runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Read meters and settings from this TOML file (any number of meters;
    /// see examples/dsmr-exporter.toml). Not combinable with source flags.
    #[arg(
        long,
        value_name = "FILE",
        env = "DSMR_EXPORTER_CONFIG",
        help_heading = "Source"
    )]
    pub config: Option<PathBuf>,

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
        default_value = DEFAULT_REPLAY_INTERVAL_TEXT,
        value_parser = parse_duration,
        env = "DSMR_EXPORTER_REPLAY_INTERVAL",
        help_heading = "Source"
    )]
    pub replay_interval: Duration,

    /// Start the replay again after the last telegram, forever.
    #[arg(
        long = "replay-loop",
        env = "DSMR_EXPORTER_REPLAY_LOOP",
        value_parser = BoolishValueParser::new(),
        help_heading = "Source"
    )]
    pub replay_loop: bool,

    /// Run a built-in simulated meter: `nl` (the default: DSMR 5.0, 3
    /// phases, solar, gas, water) or `be` (a Flemish e-MUCS meter with the
    /// capacity tariff's quarter-hour demand, month peak and peak history).
    #[arg(
        long,
        value_name = "COUNTRY",
        num_args = 0..=1,
        require_equals = false,
        default_missing_value = "nl",
        value_parser = parse_demo,
        env = "DSMR_EXPORTER_DEMO",
        help_heading = "Source"
    )]
    pub demo: Option<DemoArg>,

    /// Poll a HomeWizard Wi-Fi P1 meter's local API: v2 (HTTPS, needs a
    /// token from `dsmr-exporter homewizard pair HOST`) or v1 (HTTP).
    #[arg(
        long,
        value_name = "HOST[:PORT]",
        env = "DSMR_EXPORTER_HOMEWIZARD",
        help_heading = "Source"
    )]
    pub homewizard: Option<String>,

    /// Which HomeWizard API: auto asks the device at start (v2 when GET /api
    /// over HTTPS answers 401, v1 when it answers 404 or there is no HTTPS).
    #[arg(
        long = "homewizard-api",
        value_enum,
        default_value_t = HomewizardApiArg::Auto,
        env = "DSMR_EXPORTER_HOMEWIZARD_API",
        help_heading = "Source"
    )]
    pub homewizard_api: HomewizardApiArg,

    /// The HomeWizard API v2 token file, written by `homewizard pair` and
    /// read by --homewizard [default: homewizard.token]. The token can also
    /// come from DSMR_EXPORTER_HOMEWIZARD_TOKEN.
    #[arg(
        long = "homewizard-token-file",
        value_name = "PATH",
        env = "DSMR_EXPORTER_HOMEWIZARD_TOKEN_FILE",
        global = true,
        help_heading = "Source"
    )]
    pub homewizard_token_file: Option<PathBuf>,

    /// The HomeWizard device's serial (12 hex digits): its certificate must
    /// name it. Default: any HomeWizard P1 meter's certificate.
    #[arg(
        long = "homewizard-serial",
        value_name = "SERIAL",
        env = "DSMR_EXPORTER_HOMEWIZARD_SERIAL",
        global = true,
        help_heading = "Source"
    )]
    pub homewizard_serial: Option<String>,

    /// Time between two polls of the HomeWizard meter.
    #[arg(
        long = "homewizard-interval",
        value_name = "DURATION",
        default_value = DEFAULT_HOMEWIZARD_INTERVAL_TEXT,
        value_parser = parse_homewizard_interval,
        env = "DSMR_EXPORTER_HOMEWIZARD_INTERVAL",
        help_heading = "Source"
    )]
    pub homewizard_interval: Duration,

    /// File holding the Luxembourg (Smarty) meter's 32-hex-digit decryption
    /// key (from the grid operator); turns on decryption for --serial,
    /// --tcp and --replay.
    #[arg(
        long = "smarty-key-file",
        value_name = "PATH",
        env = "DSMR_EXPORTER_SMARTY_KEY_FILE",
        help_heading = "Smarty (Luxembourg)"
    )]
    pub smarty_key_file: Option<PathBuf>,

    /// File holding the Smarty authentication key; `none` for meters that
    /// seal frames without one. Default: Smarty's published key
    /// 00112233445566778899AABBCCDDEEFF.
    #[arg(
        long = "smarty-auth-key-file",
        value_name = "PATH|none",
        env = "DSMR_EXPORTER_SMARTY_AUTH_KEY_FILE",
        help_heading = "Smarty (Luxembourg)"
    )]
    pub smarty_auth_key_file: Option<String>,

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
        default_value = DEFAULT_STALE_AFTER_TEXT,
        value_parser = parse_stale_after,
        env = "DSMR_EXPORTER_STALE_AFTER",
        help_heading = "Source"
    )]
    pub stale_after: Duration,

    /// Time zone of meter clocks that send no DST flag.
    #[arg(
        long,
        help = "Time zone of meter clocks that send no DST flag (Europe/<city>, UTC or +01:00)",
        value_name = "ZONE",
        default_value = DEFAULT_TIMEZONE,
        value_parser = parse_zone,
        env = "DSMR_EXPORTER_TIMEZONE",
        global = true,
        help_heading = "Source"
    )]
    pub timezone: NamedZone,

    /// Serial speed: 115200 for DSMR 4/5, e-MUCS and Smarty; 9600 for DSMR 2.2/3.0.
    #[arg(
        long,
        value_name = "BAUD",
        default_value_t = DEFAULT_BAUD,
        value_parser = parse_baud,
        env = "DSMR_EXPORTER_BAUD",
        help_heading = "Serial"
    )]
    pub baud: u32,

    /// Data bits: 8 for DSMR 4/5, 7 for DSMR 2.2/3.0.
    #[arg(
        long = "data-bits",
        value_name = "7|8",
        default_value_t = DEFAULT_DATA_BITS,
        value_parser = parse_data_bits,
        env = "DSMR_EXPORTER_DATA_BITS",
        help_heading = "Serial"
    )]
    pub data_bits: u8,

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
        default_value_t = DEFAULT_STOP_BITS,
        value_parser = parse_stop_bits,
        env = "DSMR_EXPORTER_STOP_BITS",
        help_heading = "Serial"
    )]
    pub stop_bits: u8,

    /// Address to serve metrics on (HOST:PORT, [IPv6]:PORT, or :PORT for
    /// all IPv4 addresses). Give it more than once (or comma-separated) to
    /// listen on several, e.g. 127.0.0.1:9947 and [::1]:9947.
    #[arg(
        long = "web.listen-address",
        value_name = "ADDRESS",
        default_value = DEFAULT_LISTEN_ADDRESS,
        value_delimiter = ',',
        action = clap::ArgAction::Append,
        env = "DSMR_EXPORTER_WEB_LISTEN_ADDRESS",
        help_heading = "Web"
    )]
    pub web_listen_address: Vec<String>,

    /// Serve on the sockets systemd passes (socket activation, a .socket
    /// unit) instead of --web.listen-address.
    #[arg(
        long = "web.systemd-socket",
        env = "DSMR_EXPORTER_WEB_SYSTEMD_SOCKET",
        value_parser = BoolishValueParser::new(),
        help_heading = "Web"
    )]
    pub web_systemd_socket: bool,

    /// Path under which metrics are served.
    #[arg(
        long = "web.telemetry-path",
        value_name = "PATH",
        default_value = DEFAULT_TELEMETRY_PATH,
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

    /// Directory where fetched prices are kept across restarts (prices of
    /// `--config` meters; `[prices] state_dir` there).
    #[arg(
        long = "prices.state-dir",
        value_name = "DIR",
        env = "DSMR_EXPORTER_PRICES_STATE_DIR",
        help_heading = "Prices"
    )]
    pub prices_state_dir: Option<PathBuf>,

    /// Log line format.
    #[arg(
        long = "log.format",
        visible_alias = "log-format",
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
        long = "log.level",
        visible_alias = "log-level",
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
        /// Mask equipment ids, serials, EANs and the header's serial (keeping
        /// their length and first and last characters), for a bug report.
        #[arg(long = "mask-ids")]
        mask_ids: bool,
        /// Write each telegram as its text (with --mask-ids: masked, its CRC
        /// computed again) instead of JSON.
        #[arg(long)]
        raw: bool,
    },
    /// Turn a log of raw telegrams into OpenMetrics text stamped with each
    /// telegram's own time, for `promtool tsdb create-blocks-from openmetrics`.
    /// Takes --meter, --timezone and --metrics.expose-equipment-ids.
    Backfill {
        /// The log to read; `-` or nothing reads standard input.
        #[arg(value_name = "FILE|-", default_value = "-")]
        input: String,
    },
    /// HomeWizard P1 meter tools: `pair` gets an API v2 token.
    Homewizard {
        /// What to do.
        #[command(subcommand)]
        command: HomewizardCommand,
    },
}

/// `dsmr-exporter homewizard ...`.
#[derive(Debug, Subcommand)]
pub enum HomewizardCommand {
    /// Get an API v2 token from a HomeWizard P1 meter: press the button on
    /// the device when asked. The token goes to --homewizard-token-file
    /// (mode 0600); it is not printed unless --print-token is given.
    /// Takes --homewizard-token-file and --homewizard-serial.
    Pair {
        /// The device.
        #[arg(value_name = "HOST[:PORT]")]
        host: String,
        /// The user name on the device (after `local/`). Pairing again under
        /// the same name replaces the old token.
        #[arg(long, value_name = "NAME", default_value = crate::source::homewizard::pair::DEFAULT_USER)]
        user: String,
        /// How long to wait for the button press.
        #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_pair_wait)]
        wait: Duration,
        /// Also print the token on standard output (it is a secret).
        #[arg(long = "print-token")]
        print_token: bool,
    },
}

/// How log lines are written: `text`, one human-readable line per event,
/// or `json`, one JSON object per line for log collectors.
// Plain variant comments for the same reason as `ParityArg` (in checks.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)]
pub enum LogFormat {
    Text,
    Json,
}

/// The flags whose values clap types with the parsers below; their
/// refusals are worded like the checks after clap (see
/// [`super::CliError::from_clap`]).
pub(crate) const TYPED_FLAGS: &[&str] = &[
    "--replay-interval",
    "--homewizard-interval",
    "--stale-after",
    "--timezone",
    "--baud",
    "--data-bits",
    "--stop-bits",
];

/// `--replay-interval`: any duration, 0 included.
fn parse_duration(s: &str) -> Result<Duration, String> {
    duration::parse(s).map_err(|e| e.to_string())
}

/// `--demo [nl|be]`, or DSMR_EXPORTER_DEMO: a country, or a yes/no word
/// (`true` is the Dutch demo, `false` none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoArg {
    /// No demo (`false`, `no`, `0`, `off`).
    Off,
    /// The demo of this country.
    On(DemoCountry),
}

fn parse_demo(s: &str) -> Result<DemoArg, String> {
    if let Some(c) = DemoCountry::parse(s) {
        return Ok(DemoArg::On(c));
    }
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" | "1" => Ok(DemoArg::On(DemoCountry::Nl)),
        "false" | "no" | "n" | "off" | "0" => Ok(DemoArg::Off),
        _ => Err("expected nl or be (or true / false)".to_owned()),
    }
}

/// `--stale-after`: a duration above 0.
fn parse_stale_after(s: &str) -> Result<Duration, String> {
    check_stale_after(parse_duration(s)?).map_err(String::from)
}

/// `--homewizard-interval`: from 100ms to 60s.
fn parse_homewizard_interval(s: &str) -> Result<Duration, String> {
    check_homewizard_interval(parse_duration(s)?).map_err(String::from)
}

/// `homewizard pair --wait`: from 1s to 10m.
fn parse_pair_wait(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_secs(1) || d > Duration::from_secs(600) {
        return Err("must be from 1s to 10m".to_owned());
    }
    Ok(d)
}

/// `--timezone`.
fn parse_zone(s: &str) -> Result<NamedZone, String> {
    NamedZone::parse(s).map_err(String::from)
}

/// `--baud`: a number, spaces around allowed, in the serial speed range.
/// Text that is no number fails the range rule as 0 does, with its words.
fn parse_baud(s: &str) -> Result<u32, String> {
    check_baud(s.trim().parse::<u32>().unwrap_or(0)).map_err(String::from)
}

/// `--data-bits`: `7` or `8`, spaces around allowed.
fn parse_data_bits(s: &str) -> Result<u8, String> {
    check_data_bits(small_number(s).unwrap_or(0)).map_err(String::from)
}

/// `--stop-bits`: `1` or `2`, spaces around allowed.
fn parse_stop_bits(s: &str) -> Result<u8, String> {
    check_stop_bits(small_number(s).unwrap_or(0)).map_err(String::from)
}

/// A one-digit number written plainly (no sign, no leading zero), as the
/// data and stop bits have always been taken.
fn small_number(s: &str) -> Option<u8> {
    match s.trim().as_bytes() {
        [d @ b'1'..=b'9'] => Some(d - b'0'),
        _ => None,
    }
}
