//! One meter's settings, from the flags or from the file, checked by one
//! [`MeterSettings::resolve`] into the [`MeterConfig`] the sources run.
//!
//! Each path turns its text into a [`MeterSettings`] (clap's value parsers
//! for flags, serde for the file), leaving `None` where the user gave
//! nothing. `resolve` applies every rule and every default; its
//! [`MeterSettingsError`] names the field and the reason, and each path
//! words it the way its users write the setting (`--baud` or
//! `serial.baud`).

use super::checks::{
    check_baud, check_data_bits, check_homewizard_host, check_homewizard_interval,
    check_homewizard_serial, check_meter_name, check_serial_path, check_stale_after,
    check_stop_bits, check_tcp_address, HomewizardApiArg, NamedZone, ParityArg,
};
use super::smarty_keys::{load_smarty_keys, AuthKey, KeyFileError, KeySource};
use crate::capacity::{CapacitySettings, Price};
use crate::cost::PlanConfig;
use crate::duration;
use crate::source::demo::DEMO_BE_PRICE;
use crate::source::homewizard::{Api, Token, TokenSource, DEFAULT_TOKEN_FILE};
use crate::source::{
    DataBits, DemoCountry, HomewizardConfig, Parity, ReplayConfig, Retry, SerialConfig,
    SourceConfig, StopBits, TcpConfig,
};
use dsmr_engine::smarty::SmartyKeys;
use dsmr_engine::Zone;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// How long a meter may send nothing valid before it is stale.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);
/// [`DEFAULT_STALE_AFTER`] as `--help` shows it.
pub const DEFAULT_STALE_AFTER_TEXT: &str = "60s";
/// The zone DSMR specifies for meter clocks without a DST flag.
pub const DEFAULT_TIMEZONE: &str = "Europe/Amsterdam";
/// Pause between replayed telegrams: a real meter's pace.
pub const DEFAULT_REPLAY_INTERVAL: Duration = Duration::from_secs(1);
/// [`DEFAULT_REPLAY_INTERVAL`] as `--help` shows it.
pub const DEFAULT_REPLAY_INTERVAL_TEXT: &str = "1s";
/// Time between two HomeWizard polls: the meter's own update rate.
pub const DEFAULT_HOMEWIZARD_INTERVAL: Duration = Duration::from_secs(1);
/// [`DEFAULT_HOMEWIZARD_INTERVAL`] as `--help` shows it.
pub const DEFAULT_HOMEWIZARD_INTERVAL_TEXT: &str = "1s";
/// Serial speed of DSMR 4/5, e-MUCS and Smarty meters.
pub const DEFAULT_BAUD: u32 = 115_200;
/// Data bits of DSMR 4/5 meters.
pub const DEFAULT_DATA_BITS: u8 = 8;
/// Stop bits of every P1 port.
pub const DEFAULT_STOP_BITS: u8 = 1;

/// One meter: its name, where its bytes come from and how it is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterConfig {
    /// The `meter` label.
    pub name: String,
    /// Where the meter's bytes come from.
    pub source: SourceConfig,
    /// When the meter's readings leave `/metrics`, and a silent TCP connection is reopened.
    pub stale_after: Duration,
    /// For meter clocks without a DST flag.
    pub zone: Zone,
    /// The zone as the user wrote it, for `--check-config`.
    pub timezone: String,
    /// What the energy costs (config file only); `None` counts no cost.
    /// Boxed: most meters have none, and 10 000 meters' configs are kept
    /// while they run.
    pub prices: Option<Box<PlanConfig>>,
    /// The Belgian capacity tariff: configured, or the default (tracked
    /// once the meter sends a capacity value, no price, no state file).
    pub capacity: CapacitySettings,
}

impl fmt::Display for MeterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "meter: {}", self.name)?;
        writeln!(f, "source: {}", self.source)?;
        writeln!(f, "stale after: {}", duration::format(self.stale_after))?;
        writeln!(f, "timezone: {}", self.timezone)?;
        let c = &self.capacity;
        if let Some(price) = c.price {
            writeln!(f, "capacity price: {price} per kW per year")?;
        }
        if let Some(path) = &c.state_file {
            writeln!(f, "capacity state file: {}", path.display())?;
        }
        match &self.prices {
            Some(p) => writeln!(f, "{p}"),
            None => Ok(()),
        }
    }
}

/// A meter as the user described it, before any rule or default: `None`
/// (or an empty list) where nothing was given.
#[derive(Debug, Clone, Default)]
pub struct MeterSettings {
    /// The `meter` label.
    pub name: String,
    /// Parsed by the caller with [`duration::parse`].
    pub stale_after: Option<Duration>,
    /// Parsed by the caller with [`NamedZone::parse`].
    pub timezone: Option<NamedZone>,
    /// Every source given, in the order the caller names them in errors;
    /// exactly one is allowed.
    pub sources: Vec<SourceSettings>,
    /// Smarty decryption, for serial, TCP and replay sources.
    pub smarty: Option<SmartySettings>,
    /// The directory that relative replay and key files are taken from;
    /// empty for the working directory.
    pub base: PathBuf,
    /// The capacity tariff's settings (price already parsed); a relative
    /// state file is taken from [`MeterSettings::base`].
    pub capacity: CapacitySettings,
}

/// One source of a meter, as given.
#[derive(Debug, Clone)]
pub enum SourceSettings {
    /// A serial port (the USB P1 cable).
    Serial(SerialSettings),
    /// Raw telegrams from `HOST:PORT`.
    Tcp {
        /// As written; checked by `resolve`.
        address: String,
    },
    /// Telegrams from a file.
    Replay {
        /// Relative to [`MeterSettings::base`].
        file: PathBuf,
        /// Pause between telegrams.
        interval: Option<Duration>,
        /// Start again after the last telegram.
        looped: bool,
    },
    /// A HomeWizard P1 meter's local API.
    Homewizard(HomewizardSettings),
    /// The built-in simulated meter, of a country.
    Demo(DemoCountry),
}

/// A serial port and its line settings, as given.
#[derive(Debug, Clone, Default)]
pub struct SerialSettings {
    /// The device, e.g. `/dev/ttyUSB0`.
    pub path: String,
    /// Line speed.
    pub baud: Option<u32>,
    /// 7 or 8.
    pub data_bits: Option<u8>,
    /// None, even or odd.
    pub parity: Option<ParityArg>,
    /// 1 or 2.
    pub stop_bits: Option<u8>,
}

/// A HomeWizard P1 meter, as given.
#[derive(Debug, Clone, Default)]
pub struct HomewizardSettings {
    /// `HOST` or `HOST:PORT`, as written.
    pub host: String,
    /// Time between two polls.
    pub interval: Option<Duration>,
    /// v1, v2 or auto (the default).
    pub api: Option<HomewizardApiArg>,
    /// The v2 token file, relative to [`MeterSettings::base`].
    pub token_file: Option<PathBuf>,
    /// The v2 token itself and where it came from (an environment
    /// variable); wins over `token_file`.
    pub token: Option<(String, String)>,
    /// The device's serial, which its certificate must name.
    pub serial: Option<String>,
}

/// A Smarty meter's keys: where to read them.
#[derive(Debug, Clone)]
pub struct SmartySettings {
    /// The decryption key.
    pub key: KeySource,
    /// The authentication key (GCM associated data).
    pub auth: AuthKey,
}

/// Which of a meter's settings a check refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterField {
    /// The name (the `meter` label).
    Name,
    /// The time after which a silent meter is stale.
    StaleAfter,
    /// The list of sources: none, or more than one.
    Sources,
    /// The Smarty keys.
    Smarty,
    /// The serial port's path.
    SerialPath,
    /// The serial speed.
    Baud,
    /// The serial data bits.
    DataBits,
    /// The serial stop bits.
    StopBits,
    /// The TCP source's address.
    TcpAddress,
    /// The HomeWizard meter's host.
    HomewizardHost,
    /// The time between HomeWizard polls.
    HomewizardInterval,
    /// The HomeWizard device's serial.
    HomewizardSerial,
    /// The HomeWizard API v2 token given by value.
    HomewizardToken,
}

/// Why a meter's setting was refused.
#[derive(Debug, Error)]
pub enum Reason {
    /// The value breaks its field's rule, in these words.
    #[error("{0}")]
    Rule(&'static str),
    /// No source at all.
    #[error("no source")]
    NoSource,
    /// More than one source; the caller names them from its own list.
    #[error("only one source per meter")]
    SeveralSources,
    /// Smarty keys on a demo or HomeWizard source, which is never encrypted.
    #[error("smarty decryption applies to serial, tcp and replay sources")]
    SmartyNotApplicable,
    /// A key file that cannot be read or holds no valid key.
    #[error("{0}")]
    KeyFile(KeyFileError),
}

/// A meter's settings refused by [`MeterSettings::resolve`]: which field,
/// and why.
#[derive(Debug, Error)]
#[error("{field:?}: {reason}")]
pub struct MeterSettingsError {
    /// The field that failed.
    pub field: MeterField,
    /// Why it failed.
    pub reason: Reason,
}

/// Turns a rule's reason into the error for `field`.
fn rule(field: MeterField) -> impl Fn(&'static str) -> MeterSettingsError {
    move |reason| MeterSettingsError {
        field,
        reason: Reason::Rule(reason),
    }
}

fn refused(field: MeterField, reason: Reason) -> MeterSettingsError {
    MeterSettingsError { field, reason }
}

impl MeterSettings {
    /// Applies every rule and default, and reads the Smarty key files.
    /// Checks run in a fixed order (name, stale time, sources, Smarty,
    /// then the source's own settings), so the first problem is reported.
    pub fn resolve(self) -> Result<MeterConfig, MeterSettingsError> {
        let name = check_meter_name(&self.name).map_err(rule(MeterField::Name))?;
        let stale_after = check_stale_after(self.stale_after.unwrap_or(DEFAULT_STALE_AFTER))
            .map_err(rule(MeterField::StaleAfter))?;
        let timezone = self.timezone.unwrap_or_else(default_zone);
        let mut sources = self.sources.into_iter();
        let source = match (sources.next(), sources.next()) {
            (None, _) => return Err(refused(MeterField::Sources, Reason::NoSource)),
            (Some(_), Some(_)) => return Err(refused(MeterField::Sources, Reason::SeveralSources)),
            (Some(one), None) => one,
        };
        let smarty = match self.smarty {
            None => None,
            Some(_)
                if matches!(
                    source,
                    SourceSettings::Demo(_) | SourceSettings::Homewizard(_)
                ) =>
            {
                return Err(refused(MeterField::Smarty, Reason::SmartyNotApplicable))
            }
            Some(s) => Some(
                load_smarty_keys(&s.key, &s.auth, &self.base)
                    .map_err(|e| refused(MeterField::Smarty, Reason::KeyFile(e)))?,
            ),
        };
        let capacity = resolve_capacity(self.capacity, &source, &self.base);
        Ok(MeterConfig {
            name,
            source: resolve_source(source, stale_after, smarty, &self.base)?,
            stale_after,
            zone: timezone.zone,
            timezone: timezone.name,
            prices: None,
            capacity,
        })
    }
}

/// The capacity settings with the state file taken from `base`; the
/// Belgian demo shows its cost at [`DEMO_BE_PRICE`] unless a price is given.
fn resolve_capacity(
    mut c: CapacitySettings,
    source: &SourceSettings,
    base: &Path,
) -> CapacitySettings {
    c.state_file = c.state_file.map(|f| base.join(f));
    if matches!(source, SourceSettings::Demo(DemoCountry::Be)) {
        c.enabled = true;
        c.price = c.price.or_else(|| Price::parse(DEMO_BE_PRICE).ok());
    }
    c
}

/// [`DEFAULT_TIMEZONE`], named.
fn default_zone() -> NamedZone {
    NamedZone {
        name: DEFAULT_TIMEZONE.to_owned(),
        zone: Zone::CET,
    }
}

fn resolve_source(
    source: SourceSettings,
    stale_after: Duration,
    smarty: Option<SmartyKeys>,
    base: &Path,
) -> Result<SourceConfig, MeterSettingsError> {
    Ok(match source {
        SourceSettings::Serial(s) => SourceConfig::Serial(resolve_serial(s, smarty)?),
        SourceSettings::Tcp { address } => {
            let address = check_tcp_address(&address).map_err(rule(MeterField::TcpAddress))?;
            SourceConfig::Tcp(TcpConfig {
                smarty,
                ..TcpConfig::new(address, stale_after)
            })
        }
        SourceSettings::Replay {
            file,
            interval,
            looped,
        } => SourceConfig::Replay(ReplayConfig {
            path: base.join(file),
            interval: interval.unwrap_or(DEFAULT_REPLAY_INTERVAL),
            looped,
            smarty,
        }),
        SourceSettings::Homewizard(h) => SourceConfig::Homewizard(resolve_homewizard(h, base)?),
        SourceSettings::Demo(c) => SourceConfig::Demo(c),
    })
}

fn resolve_homewizard(
    h: HomewizardSettings,
    base: &Path,
) -> Result<HomewizardConfig, MeterSettingsError> {
    let (host, port) = check_homewizard_host(&h.host).map_err(rule(MeterField::HomewizardHost))?;
    let interval = check_homewizard_interval(h.interval.unwrap_or(DEFAULT_HOMEWIZARD_INTERVAL))
        .map_err(rule(MeterField::HomewizardInterval))?;
    let serial = h
        .serial
        .map(|s| check_homewizard_serial(&s))
        .transpose()
        .map_err(rule(MeterField::HomewizardSerial))?;
    let token = match h.token {
        Some((from, value)) => TokenSource::Given {
            from,
            token: Token::parse(&value).map_err(|_| {
                rule(MeterField::HomewizardToken)(
                    "not a HomeWizard token (expected 32 hex digits on one line)",
                )
            })?,
        },
        None => TokenSource::File(
            base.join(
                h.token_file
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_TOKEN_FILE)),
            ),
        ),
    };
    let mut cfg = HomewizardConfig::new(host, port, interval);
    cfg.api = match h.api.unwrap_or(HomewizardApiArg::Auto) {
        HomewizardApiArg::Auto => Api::Auto,
        HomewizardApiArg::V1 => Api::V1,
        HomewizardApiArg::V2 => Api::V2,
    };
    cfg.token = token;
    cfg.trust.serial = serial;
    Ok(cfg)
}

fn resolve_serial(
    s: SerialSettings,
    smarty: Option<SmartyKeys>,
) -> Result<SerialConfig, MeterSettingsError> {
    let path = check_serial_path(&s.path).map_err(rule(MeterField::SerialPath))?;
    let baud = check_baud(s.baud.unwrap_or(DEFAULT_BAUD)).map_err(rule(MeterField::Baud))?;
    let data_bits = match check_data_bits(s.data_bits.unwrap_or(DEFAULT_DATA_BITS)) {
        Ok(7) => DataBits::Seven,
        Ok(_) => DataBits::Eight,
        Err(r) => return Err(rule(MeterField::DataBits)(r)),
    };
    let stop_bits = match check_stop_bits(s.stop_bits.unwrap_or(DEFAULT_STOP_BITS)) {
        Ok(2) => StopBits::Two,
        Ok(_) => StopBits::One,
        Err(r) => return Err(rule(MeterField::StopBits)(r)),
    };
    Ok(SerialConfig {
        path,
        baud,
        data_bits,
        parity: match s.parity.unwrap_or(ParityArg::None) {
            ParityArg::None => Parity::None,
            ParityArg::Even => Parity::Even,
            ParityArg::Odd => Parity::Odd,
        },
        stop_bits,
        retry: Retry::default(),
        smarty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_texts_say_the_default_values() {
        assert_eq!(
            duration::parse(DEFAULT_STALE_AFTER_TEXT),
            Ok(DEFAULT_STALE_AFTER)
        );
        assert_eq!(
            duration::parse(DEFAULT_REPLAY_INTERVAL_TEXT),
            Ok(DEFAULT_REPLAY_INTERVAL)
        );
        assert_eq!(
            duration::parse(DEFAULT_HOMEWIZARD_INTERVAL_TEXT),
            Ok(DEFAULT_HOMEWIZARD_INTERVAL)
        );
        assert_eq!(NamedZone::parse(DEFAULT_TIMEZONE), Ok(default_zone()));
    }

    #[test]
    fn resolve_fills_every_default_once() {
        let demo = MeterSettings {
            name: "m".into(),
            sources: vec![SourceSettings::Demo(DemoCountry::Nl)],
            ..MeterSettings::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(demo.stale_after, DEFAULT_STALE_AFTER);
        assert_eq!(
            (demo.zone, demo.timezone.as_str()),
            (Zone::CET, DEFAULT_TIMEZONE)
        );
        let serial = MeterSettings {
            name: "m".into(),
            sources: vec![SourceSettings::Serial(SerialSettings {
                path: "/dev/x".into(),
                ..SerialSettings::default()
            })],
            ..MeterSettings::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(serial.source.to_string(), "serial /dev/x 115200 8N1");
    }

    #[test]
    fn errors_say_which_field_and_why() {
        let err = |sources: Vec<SourceSettings>| {
            MeterSettings {
                name: "m".into(),
                sources,
                ..MeterSettings::default()
            }
            .resolve()
            .unwrap_err()
        };
        let e = err(vec![]);
        assert!(matches!(
            (e.field, e.reason),
            (MeterField::Sources, Reason::NoSource)
        ));
        let e = err(vec![
            SourceSettings::Demo(DemoCountry::Nl),
            SourceSettings::Demo(DemoCountry::Be),
        ]);
        assert!(matches!(e.reason, Reason::SeveralSources));
        let e = err(vec![SourceSettings::Serial(SerialSettings {
            path: "/dev/x".into(),
            data_bits: Some(6),
            ..SerialSettings::default()
        })]);
        assert_eq!(e.field, MeterField::DataBits);
        assert_eq!(e.to_string(), "DataBits: must be 7 or 8");
    }
}
