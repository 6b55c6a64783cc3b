//! The checks of single values, each the one rule for its value wherever
//! it comes from: clap's value parsers call them for flags,
//! [`super::settings::MeterSettings::resolve`] for every meter, and the
//! file path for the `[web]` table.
//!
//! Each returns the reason as `&'static str`, worded so that both paths can
//! put it after their own `FLAG`/`KEY` prefix.

use clap::ValueEnum;
use dsmr_engine::Zone;
use serde::Deserialize;
use std::time::Duration;

/// `--web.listen-address` and `[web] listen_address` when not given.
pub const DEFAULT_LISTEN_ADDRESS: &str = "0.0.0.0:9947";
/// `--web.telemetry-path` and `[web] telemetry_path` when not given.
pub const DEFAULT_TELEMETRY_PATH: &str = "/metrics";

/// A time zone and its name as the user wrote it (for `--check-config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedZone {
    /// As written, e.g. `Europe/Brussels`.
    pub name: String,
    /// What the name means for meter clocks.
    pub zone: Zone,
}

impl NamedZone {
    /// `Europe/<city>`, `UTC` or a fixed offset such as `+01:00`, or why not.
    pub fn parse(s: &str) -> Result<NamedZone, &'static str> {
        let zone =
            Zone::parse(s).ok_or("expected Europe/<city>, UTC or a fixed offset such as +01:00")?;
        Ok(NamedZone {
            name: s.to_owned(),
            zone,
        })
    }
}

/// A meter name, usable as the `meter` label.
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

/// A meter that is never stale would show its last readings forever.
pub(crate) fn check_stale_after(d: Duration) -> Result<Duration, &'static str> {
    if d.is_zero() {
        return Err("must be more than 0");
    }
    Ok(d)
}

/// Serial speeds that make sense.
pub(crate) fn check_baud(b: u32) -> Result<u32, &'static str> {
    if (50..=4_000_000).contains(&b) {
        Ok(b)
    } else {
        Err("expected a speed such as 115200 or 9600")
    }
}

/// 7 data bits for DSMR 2.2/3.0, 8 for the rest; P1 knows no other.
pub(crate) fn check_data_bits(n: u8) -> Result<u8, &'static str> {
    match n {
        7 | 8 => Ok(n),
        _ => Err("must be 7 or 8"),
    }
}

/// One or two stop bits.
pub(crate) fn check_stop_bits(n: u8) -> Result<u8, &'static str> {
    match n {
        1 | 2 => Ok(n),
        _ => Err("must be 1 or 2"),
    }
}

/// A serial port path that is not blank.
pub(crate) fn check_serial_path(s: &str) -> Result<String, &'static str> {
    if s.trim().is_empty() {
        return Err("empty path");
    }
    Ok(s.to_owned())
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

/// A HomeWizard host: `HOST` or `HOST:PORT`; without a port, each API
/// uses its own (80 for v1, 443 for v2). Returns the host and the port.
pub(crate) fn check_homewizard_host(s: &str) -> Result<(String, Option<u16>), &'static str> {
    let s = s.trim();
    let s = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .unwrap_or(s)
        .trim_end_matches('/');
    if s.is_empty() {
        return Err("expected HOST or HOST:PORT, e.g. 192.168.1.60");
    }
    if s.contains('/') {
        return Err("give only the host (the API path is added)");
    }
    let bare_ipv6 = s.starts_with('[') && s.ends_with(']');
    let has_port = !bare_ipv6 && s.contains(':');
    if has_port {
        check_tcp_address(s)?;
        let (host, port) = split_host_port(s)?;
        Ok((host.to_owned(), Some(port)))
    } else {
        if s.contains(char::is_whitespace) {
            return Err("the host contains spaces");
        }
        Ok((s.to_owned(), None))
    }
}

/// A HomeWizard serial: 12 hex digits (the MAC address), lower case as in
/// the device's certificate.
pub(crate) fn check_homewizard_serial(s: &str) -> Result<String, &'static str> {
    let s = s.trim();
    if s.len() != 12 || !s.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("expected the device's 12 hex digits, e.g. 5c2fafaabbcc");
    }
    Ok(s.to_ascii_lowercase())
}

/// Which HomeWizard API, as `--homewizard-api` and the file's
/// `homewizard.api` write it: `auto` (ask the device), `v1` or `v2`.
// Plain variant comments for the same reason as `ParityArg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum HomewizardApiArg {
    Auto,
    V1,
    V2,
}

/// Polls at most 10 times a second, at least once a minute.
pub(crate) fn check_homewizard_interval(d: Duration) -> Result<Duration, &'static str> {
    if d < Duration::from_millis(100) || d > Duration::from_secs(60) {
        return Err("must be from 100ms to 60s");
    }
    Ok(d)
}

/// The address to listen on, `:PORT` meaning every IPv4 address.
pub(crate) fn check_listen_address(s: &str) -> Result<String, &'static str> {
    let (host, port) = split_host_port(s)?;
    // `:9947` is the Prometheus convention for all addresses.
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    Ok(format!("{host}:{port}"))
}

/// The path metrics are served under: absolute, no query or fragment.
pub(crate) fn check_telemetry_path(s: &str) -> Result<String, &'static str> {
    if !s.starts_with('/') {
        return Err("must start with '/'");
    }
    if s.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
        return Err("must not contain spaces, '?' or '#'");
    }
    Ok(s.to_owned())
}

/// Serial parity, as `--parity` and the file's `serial.parity` write it:
/// `none` (DSMR 4/5), `even` (DSMR 2.2/3.0) or `odd`.
// The variants have plain comments, not doc comments: clap would turn
// those into per-value help and switch all of --help to its long layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum ParityArg {
    None,
    Even,
    Odd,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homewizard_hosts() {
        let ok = |h: &str, p: Option<u16>| Ok((h.to_owned(), p));
        assert_eq!(
            check_homewizard_host("192.168.1.60"),
            ok("192.168.1.60", None)
        );
        assert_eq!(
            check_homewizard_host("p1.local:8080"),
            ok("p1.local", Some(8080))
        );
        assert_eq!(
            check_homewizard_host("http://p1.local/"),
            ok("p1.local", None)
        );
        assert_eq!(
            check_homewizard_host("https://p1.local"),
            ok("p1.local", None)
        );
        assert_eq!(check_homewizard_host("[fe80::1]"), ok("[fe80::1]", None));
        assert_eq!(
            check_homewizard_host("[fe80::1]:81"),
            ok("[fe80::1]", Some(81))
        );
        assert!(check_homewizard_host("").is_err());
        assert!(check_homewizard_host("p1.local/api/v1/telegram").is_err());
        assert!(check_homewizard_host("fe80::1").is_err());
        assert!(check_homewizard_host("p1.local:0").is_err());
    }

    #[test]
    fn homewizard_serials() {
        assert_eq!(
            check_homewizard_serial("5C2FAFAABBCC").as_deref(),
            Ok("5c2fafaabbcc")
        );
        assert!(check_homewizard_serial("5c2fafaabbc").is_err());
        assert!(check_homewizard_serial("5c2fafaabbcg").is_err());
    }
}
