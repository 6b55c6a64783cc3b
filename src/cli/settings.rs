//! The checks of single settings, shared by the flag path
//! ([`super::config`]) and the file path ([`super::config_file`]): a meter's
//! name, zone, addresses, serial speed, Smarty keys, and the checked
//! [`MeterConfig`] both build.

use crate::duration;
use crate::source::SourceConfig;
use dsmr_engine::smarty::{KeyError, KeyKind, SmartyKeys};
use dsmr_engine::Zone;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// One meter: its name, where its bytes come from and how it is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterConfig {
    /// The `meter` label.
    pub name: String,
    pub source: SourceConfig,
    /// When the meter's readings leave `/metrics`, and a silent TCP connection is reopened.
    pub stale_after: Duration,
    /// For meter clocks without a DST flag.
    pub zone: Zone,
    /// The zone as the user wrote it, for `--check-config`.
    pub timezone: String,
}

impl fmt::Display for MeterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "meter: {}", self.name)?;
        writeln!(f, "source: {}", self.source)?;
        writeln!(f, "stale after: {}", duration::format(self.stale_after))?;
        writeln!(f, "timezone: {}", self.timezone)
    }
}

/// A time zone name, or why not.
pub(crate) fn check_zone(s: &str) -> Result<Zone, &'static str> {
    Zone::parse(s).ok_or("expected Europe/<city>, UTC or a fixed offset such as +01:00")
}

/// Where a Smarty encryption key comes from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource {
    /// A file holding the hex digits (trailing newline allowed).
    File(PathBuf),
    /// The hex digits themselves, from the named environment variable.
    Value(&'static str, String),
}

/// Which authentication key (GCM associated data) a Smarty meter uses.
#[derive(Debug, Clone)]
pub(crate) enum AuthKey {
    /// Smarty's published key.
    Default,
    /// Frames sealed with empty associated data.
    None,
    /// A file holding the hex digits.
    File(PathBuf),
}

/// A Smarty key that cannot be used: which file or variable, and why.
/// Never the key's digits.
#[derive(Debug, Error)]
#[error("{what}: {reason}")]
pub struct KeyFileError {
    pub what: String,
    pub reason: String,
}

/// Reads the key files (relative paths against `base`) and parses the keys.
/// Errors name the file or variable, never the key's digits.
pub(crate) fn load_smarty_keys(
    key: &KeySource,
    auth: &AuthKey,
    base: &Path,
) -> Result<SmartyKeys, KeyFileError> {
    let read = |file: &Path| {
        let path = base.join(file);
        std::fs::read_to_string(&path)
            .map(|text| (path.display().to_string(), text))
            .map_err(|e| KeyFileError {
                what: format!("smarty key file {}", path.display()),
                reason: format!("cannot read it: {e}"),
            })
    };
    let (key_what, key_hex) = match key {
        KeySource::File(f) => {
            let (what, text) = read(f)?;
            (format!("smarty key file {what}"), text)
        }
        KeySource::Value(var, v) => ((*var).to_owned(), v.clone()),
    };
    let (auth_what, auth_hex) = match auth {
        AuthKey::Default | AuthKey::None => (String::new(), None),
        AuthKey::File(f) => {
            let (what, text) = read(f)?;
            (format!("smarty auth key file {what}"), Some(text))
        }
    };
    let mut keys =
        SmartyKeys::from_hex(&key_hex, auth_hex.as_deref()).map_err(|e| KeyFileError {
            what: match e {
                KeyError::Length {
                    key: KeyKind::Authentication,
                    ..
                }
                | KeyError::NotHex {
                    key: KeyKind::Authentication,
                    ..
                } => auth_what.clone(),
                _ => key_what.clone(),
            },
            reason: e.to_string(),
        })?;
    if matches!(auth, AuthKey::Default) {
        keys.auth_key = Some(SmartyKeys::SMARTY_AUTH_KEY);
    }
    Ok(keys)
}

/// Serial speeds that make sense.
pub(crate) fn baud_ok(b: u32) -> bool {
    (50..=4_000_000).contains(&b)
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

/// A TCP source address: `HOST:PORT` with a host and a port above 0.
pub(crate) fn check_tcp_address(s: &str) -> Result<String, &'static str> {
    let (host, port) = split_host_port(s)?;
    if host.is_empty() || port == 0 {
        return Err("expected HOST:PORT with a port above 0");
    }
    Ok(s.trim().to_owned())
}

/// A HomeWizard host: `HOST` or `HOST:PORT` (port 80 when left out).
pub(crate) fn check_homewizard_host(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    let s = s.strip_prefix("http://").unwrap_or(s).trim_end_matches('/');
    if s.is_empty() {
        return Err("expected HOST or HOST:PORT, e.g. 192.168.1.60");
    }
    if s.contains('/') {
        return Err("give only the host (the path /api/v1/telegram is added)");
    }
    let bare_ipv6 = s.starts_with('[') && s.ends_with(']');
    let has_port = !bare_ipv6 && s.contains(':');
    if has_port {
        check_tcp_address(s)
    } else {
        if s.contains(char::is_whitespace) {
            return Err("the host contains spaces");
        }
        Ok(format!("{s}:80"))
    }
}

/// Polls at most 10 times a second, at least once a minute.
pub(crate) fn check_homewizard_interval(d: Duration) -> Result<(), &'static str> {
    if d < Duration::from_millis(100) || d > Duration::from_secs(60) {
        return Err("must be from 100ms to 60s");
    }
    Ok(())
}

pub(crate) fn check_listen_address(s: &str) -> Result<String, &'static str> {
    let (host, port) = split_host_port(s)?;
    // `:9947` is the Prometheus convention for all addresses.
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    Ok(format!("{host}:{port}"))
}

pub(crate) fn check_telemetry_path(s: &str) -> Result<String, &'static str> {
    if !s.starts_with('/') {
        return Err("must start with '/'");
    }
    if s.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
        return Err("must not contain spaces, '?' or '#'");
    }
    Ok(s.to_owned())
}

pub(crate) fn check_meter_name(s: &str) -> Result<String, &'static str> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err("use 1 to 64 letters, digits, '_', '-', '.' or ':'")
    }
}
