//! The command line's one meter: the source and meter flags into
//! [`MeterSettings`], checked by the same
//! [`MeterSettings::resolve`] as the `--config` file's meters, with errors
//! worded the flag way (`invalid value 'X' for --tcp: …`).

use super::env::Env;
use super::error::CliError;
use super::flags::{Args, DemoArg};
use super::homewizard::homewizard_flags;
use super::settings::{
    MeterConfig, MeterField, MeterSettings, MeterSettingsError, Reason, SerialSettings,
    SmartySettings, SourceSettings,
};
use super::smarty_keys::{AuthKey, KeySource};
use crate::capacity::CapacitySettings;
use crate::duration;
use std::path::PathBuf;

/// The variable that holds the Smarty key itself (never a flag, so that
/// the key does not show in `ps`).
pub(crate) const SMARTY_KEY_VAR: &str = "DSMR_EXPORTER_SMARTY_KEY";

/// The meter the flags describe, checked.
pub(crate) fn meter_from_flags(a: &Args, env: &Env) -> Result<MeterConfig, CliError> {
    let (settings, flags) = meter_settings(a, env)?;
    settings.resolve().map_err(|e| flag_error(e, a, &flags))
}

/// The flags' meter, unchecked, and the source flags given, in the order
/// errors name them.
fn meter_settings(a: &Args, env: &Env) -> Result<(MeterSettings, Vec<&'static str>), CliError> {
    let serial = a.serial.as_ref().map(|path| {
        SourceSettings::Serial(SerialSettings {
            path: path.clone(),
            baud: Some(a.baud),
            data_bits: Some(a.data_bits),
            parity: Some(a.parity),
            stop_bits: Some(a.stop_bits),
        })
    });
    let tcp = a.tcp.as_ref().map(|address| SourceSettings::Tcp {
        address: address.clone(),
    });
    let replay = a.replay.as_ref().map(|file| SourceSettings::Replay {
        file: file.clone(),
        interval: Some(a.replay_interval),
        looped: a.replay_loop,
    });
    let demo = match a.demo {
        Some(DemoArg::On(country)) => Some(SourceSettings::Demo(country)),
        Some(DemoArg::Off) | None => None,
    };
    let homewizard = homewizard_flags(a, env)?.map(SourceSettings::Homewizard);
    let (flags, sources): (Vec<&'static str>, Vec<SourceSettings>) = [
        ("--serial", serial),
        ("--tcp", tcp),
        ("--replay", replay),
        ("--demo", demo),
        ("--homewizard", homewizard),
    ]
    .into_iter()
    .filter_map(|(flag, source)| source.map(|s| (flag, s)))
    .unzip();
    let settings = MeterSettings {
        name: a.meter.clone(),
        stale_after: Some(a.stale_after),
        timezone: Some(a.timezone.clone()),
        sources,
        smarty: smarty_flags(a, env)?,
        base: PathBuf::new(),
        capacity: CapacitySettings::default(),
    };
    Ok((settings, flags))
}

/// Where the Smarty keys come from: `--smarty-key-file` or
/// DSMR_EXPORTER_SMARTY_KEY, with `--smarty-auth-key-file`; `None` when
/// neither key source is set.
fn smarty_flags(a: &Args, env: &Env) -> Result<Option<SmartySettings>, CliError> {
    let env_key = env.smarty_key.as_deref().filter(|k| !k.trim().is_empty());
    let key = match (&a.smarty_key_file, env_key) {
        (Some(_), Some(_)) => {
            return Err(CliError::SmartyKey {
                what: "--smarty-key-file".to_owned(),
                reason: format!("also {SMARTY_KEY_VAR} is set; use one of the two"),
            })
        }
        (Some(file), None) => KeySource::File(file.clone()),
        (None, Some(k)) => KeySource::Value(SMARTY_KEY_VAR, k.to_owned()),
        (None, None) => {
            if let Some(auth) = &a.smarty_auth_key_file {
                return Err(CliError::SmartyKey {
                    what: format!("--smarty-auth-key-file {auth}"),
                    reason: format!(
                        "needs the decryption key too: --smarty-key-file or {SMARTY_KEY_VAR}"
                    ),
                });
            }
            return Ok(None);
        }
    };
    let auth = a
        .smarty_auth_key_file
        .as_deref()
        .map_or(AuthKey::Default, AuthKey::from_setting);
    Ok(Some(SmartySettings { key, auth }))
}

/// Words a refused setting the flag way. `sources` are the source flags
/// given, in the order the error lists them.
fn flag_error(e: MeterSettingsError, a: &Args, sources: &[&'static str]) -> CliError {
    let reason = match e.reason {
        Reason::NoSource => return CliError::NoSource,
        Reason::SeveralSources => return CliError::TwoSources(sources.to_vec()),
        Reason::SmartyNotApplicable => {
            return CliError::SmartyKey {
                what: "--smarty-key-file".to_owned(),
                reason: format!(
                    "Smarty decryption applies to --serial, --tcp and --replay, not {}",
                    sources.first().copied().unwrap_or("--demo")
                ),
            }
        }
        Reason::KeyFile(k) => {
            return CliError::SmartyKey {
                what: k.what,
                reason: k.reason,
            }
        }
        Reason::Rule(r) => r,
    };
    // Values clap already checked cannot fail here; they are worded all
    // the same, from the typed value.
    let (flag, value) = match e.field {
        MeterField::Name => ("--meter", a.meter.clone()),
        MeterField::StaleAfter => ("--stale-after", duration::format(a.stale_after)),
        MeterField::SerialPath => ("--serial", a.serial.clone().unwrap_or_default()),
        MeterField::Baud => ("--baud", a.baud.to_string()),
        MeterField::DataBits => ("--data-bits", a.data_bits.to_string()),
        MeterField::StopBits => ("--stop-bits", a.stop_bits.to_string()),
        MeterField::TcpAddress => ("--tcp", a.tcp.clone().unwrap_or_default()),
        MeterField::HomewizardHost => ("--homewizard", a.homewizard.clone().unwrap_or_default()),
        MeterField::HomewizardInterval => (
            "--homewizard-interval",
            duration::format(a.homewizard_interval),
        ),
        MeterField::HomewizardSerial => (
            "--homewizard-serial",
            a.homewizard_serial.clone().unwrap_or_default(),
        ),
        // The token is a secret: never repeated in an error.
        MeterField::HomewizardToken => (super::homewizard::TOKEN_VAR, "…".to_owned()),
        // These two fail with their own reasons, handled above.
        MeterField::Sources | MeterField::Smarty => ("--meter", a.meter.clone()),
    };
    CliError::Invalid {
        flag,
        value,
        reason: reason.to_owned(),
    }
}
