//! The HomeWizard parts of the command line beyond a meter's settings: the
//! API v2 token from the environment, the test-only CA, and the
//! `homewizard pair` command's configuration.

use super::checks::{check_homewizard_host, check_homewizard_serial};
use super::env::Env;
use super::error::CliError;
use super::flags::Args;
use super::settings::{HomewizardSettings, MeterConfig};
use crate::small_file::{read_limited, CONFIG_FILE_LIMIT};
use crate::source::homewizard::pair::{check_user, PairConfig};
use crate::source::homewizard::{tls, Ca, Trust, DEFAULT_TOKEN_FILE};
use crate::source::SourceConfig;
use std::path::PathBuf;
use std::time::Duration;

/// The variable that holds the API v2 token itself (never a flag, so that
/// the token does not show in `ps`).
pub(crate) const TOKEN_VAR: &str = "DSMR_EXPORTER_HOMEWIZARD_TOKEN";

/// For tests only: a PEM CA file trusted instead of HomeWizard's, so that
/// a test can stand in for a device with a certificate of its own.
pub const TEST_CA_VAR: &str = "DSMR_EXPORTER_HOMEWIZARD_TEST_CA_FILE";

/// The longest one pairing request may take.
const PAIR_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

fn invalid(flag: &'static str, value: &str, reason: impl Into<String>) -> CliError {
    CliError::Invalid {
        flag,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// The flags' HomeWizard source, when `--homewizard` is given. The token
/// comes from DSMR_EXPORTER_HOMEWIZARD_TOKEN or the token file, not both.
pub(crate) fn homewizard_flags(
    a: &Args,
    env: &Env,
) -> Result<Option<HomewizardSettings>, CliError> {
    let Some(host) = &a.homewizard else {
        return Ok(None);
    };
    let token = env
        .homewizard_token
        .as_deref()
        .filter(|t| !t.trim().is_empty());
    if let (Some(_), Some(file)) = (token, &a.homewizard_token_file) {
        return Err(invalid(
            "--homewizard-token-file",
            &file.display().to_string(),
            format!("also {TOKEN_VAR} is set; use one of the two"),
        ));
    }
    Ok(Some(HomewizardSettings {
        host: host.clone(),
        interval: Some(a.homewizard_interval),
        api: Some(a.homewizard_api),
        token_file: a.homewizard_token_file.clone(),
        token: token.map(|t| (TOKEN_VAR.to_owned(), t.to_owned())),
        serial: a.homewizard_serial.clone(),
    }))
}

/// The test-only CA, read and checked, when its variable is set.
fn test_ca(env: &Env) -> Result<Option<Ca>, CliError> {
    let Some(path) = &env.homewizard_test_ca else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let pem = read_limited(path, CONFIG_FILE_LIMIT)
        .map_err(|e| invalid(TEST_CA_VAR, &shown, e.to_string()))?;
    let ca = Ca::TestOnly(pem);
    tls::check_ca(&ca).map_err(|e| invalid(TEST_CA_VAR, &shown, e.to_string()))?;
    Ok(Some(ca))
}

/// Puts the test-only CA, if set, into every HomeWizard meter.
pub(crate) fn apply_test_ca(meters: &mut [MeterConfig], env: &Env) -> Result<(), CliError> {
    if let Some(ca) = test_ca(env)? {
        for m in meters {
            if let SourceConfig::Homewizard(h) = &mut m.source {
                h.trust.ca = ca.clone();
            }
        }
    }
    Ok(())
}

/// `homewizard pair HOST` and its options, checked.
pub(crate) fn pair_config(
    a: &Args,
    host: &str,
    user: &str,
    wait: Duration,
    print_token: bool,
    env: &Env,
) -> Result<PairConfig, CliError> {
    let (host_only, port) = check_homewizard_host(host).map_err(|r| invalid("HOST", host, r))?;
    check_user(user).map_err(|r| invalid("--user", user, r))?;
    let serial = match &a.homewizard_serial {
        Some(s) => {
            Some(check_homewizard_serial(s).map_err(|r| invalid("--homewizard-serial", s, r))?)
        }
        None => None,
    };
    let token_file = a
        .homewizard_token_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_TOKEN_FILE));
    if token_file.as_os_str().is_empty() || token_file.file_name().is_none() {
        let shown = token_file.display().to_string();
        return Err(invalid(
            "--homewizard-token-file",
            &shown,
            "expected a file name",
        ));
    }
    Ok(PairConfig {
        host: host_only,
        port,
        user: user.to_owned(),
        trust: Trust {
            ca: test_ca(env)?.unwrap_or(Ca::HomeWizard),
            serial,
        },
        token_file,
        wait,
        print_token,
        timeout: PAIR_REQUEST_TIMEOUT,
    })
}
