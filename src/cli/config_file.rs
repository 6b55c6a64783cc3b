//! `--config FILE`: any number of named meters and the exporter's settings,
//! in TOML.
//!
//! The file is parsed with serde into raw tables (unknown keys refused),
//! then each meter is checked by the same
//! [`MeterSettings::resolve`](super::settings::MeterSettings::resolve) as
//! the command line's. Every error names the place: `FILE:LINE:COL: what`,
//! from the spans toml keeps for each value. Nothing starts unless the
//! whole file is valid. Relative paths (replay files, key files) are taken
//! from the directory of the config file, so a file and its keys can move
//! together.
//!
//! ```toml
//! [web]
//! listen_address = ":9947"        # or a list: ["127.0.0.1:9947", "[::1]:9947"]
//!
//! [[meter]]
//! name = "house"
//! serial = { path = "/dev/ttyUSB0" }
//!
//! [[meter]]
//! name = "garage"
//! tcp = { address = "192.168.1.50:2001" }
//! smarty = { key_file = "garage.key" }
//! ```
//!
//! `examples/dsmr-exporter.toml` documents every key.

mod meter;
mod prices;
mod raw;
#[cfg(test)]
mod tests;

use super::checks::{check_listen_address, check_meter_name, check_telemetry_path};
use super::settings::MeterConfig;
use crate::price::FetchConfig;
use raw::{RawFile, RawListenAddress, RawWeb};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use thiserror::Error;
use toml::Spanned;

/// What a config file sets, checked.
#[derive(Debug, Clone)]
pub struct FileConfig {
    /// At least one, with unique names, in file order.
    pub meters: Vec<MeterConfig>,
    /// `[web] listen_address` (one or a list), each normalised like the flag.
    pub listen_addresses: Option<Vec<String>>,
    /// `[web] telemetry_path`.
    pub telemetry_path: Option<String>,
    /// `[metrics] expose_equipment_ids`.
    pub expose_equipment_ids: Option<bool>,
    /// `[prices]`: the price fetcher's settings.
    pub fetch: FetchConfig,
}

/// A config file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ConfigError {
    /// The file, as given.
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// What is wrong, on one line.
    pub message: String,
}

/// The file's text and name, to point errors at a span of it.
struct FileText<'a> {
    text: &'a str,
    path: &'a Path,
}

impl FileText<'_> {
    /// The error `message` at the start of `span`.
    fn error_at(&self, span: Range<usize>, message: String) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError {
            path: self.path.to_owned(),
            line,
            column,
            message,
        }
    }
}

/// Parses and checks the text of config file `path`. Key files are read
/// (relative to `path`'s directory); replay files are read later, when the
/// sources start, but before the server does.
pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    let file = FileText { text, path };
    let raw: RawFile = toml::from_str(text)
        .map_err(|e| file.error_at(e.span().unwrap_or(0..0), one_line(e.message())))?;
    let base = path.parent().unwrap_or(Path::new(""));
    let (listen_addresses, telemetry_path) = check_web(raw.web, &file)?;
    let fetch = prices::check_fetch(&raw.prices, base, &file)?;
    if raw.meter.is_empty() {
        return Err(file.error_at(
            0..0,
            "no meter: add at least one [[meter]] table with a name and a source".to_owned(),
        ));
    }
    let mut seen: HashMap<String, Range<usize>> = HashMap::new();
    let mut meters = Vec::with_capacity(raw.meter.len());
    for m in raw.meter {
        let span = m.span();
        let m = m.into_inner();
        let name = check_meter_name(m.name.get_ref()).map_err(|r| {
            file.error_at(
                m.name.span(),
                format!("meter name {:?}: {r}", m.name.get_ref()),
            )
        })?;
        if let Some(first) = seen.get(&name) {
            let (line, _) = line_col(text, first.start);
            return Err(file.error_at(
                m.name.span(),
                format!("duplicate meter name {name:?} (first used on line {line}); names become the `meter` label and must be unique"),
            ));
        }
        seen.insert(name, m.name.span());
        meters.push(meter::check_meter(&m, span, base, &file)?);
    }
    Ok(FileConfig {
        meters,
        listen_addresses,
        telemetry_path,
        expose_equipment_ids: raw.metrics.expose_equipment_ids,
        fetch,
    })
}

/// `[web]`: the listen addresses and telemetry path, checked like the flags.
fn check_web(
    web: RawWeb,
    file: &FileText<'_>,
) -> Result<(Option<Vec<String>>, Option<String>), ConfigError> {
    let check = |v: Option<Spanned<String>>,
                 key: &str,
                 rule: fn(&str) -> Result<String, &'static str>| {
        v.map(|v| {
            rule(v.get_ref())
                .map_err(|r| file.error_at(v.span(), format!("web.{key} {:?}: {r}", v.get_ref())))
        })
        .transpose()
    };
    let listen = web
        .listen_address
        .map(|v| {
            let span = v.span();
            let list = match v.into_inner() {
                RawListenAddress::One(a) => vec![a],
                RawListenAddress::Many(list) => list,
            };
            if list.is_empty() {
                let why = "web.listen_address: an empty list; give at least one address".to_owned();
                return Err(file.error_at(span, why));
            }
            list.iter()
                .map(|a| {
                    check_listen_address(a).map_err(|r| {
                        file.error_at(span.clone(), format!("web.listen_address {a:?}: {r}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok((
        listen,
        check(web.telemetry_path, "telemetry_path", check_telemetry_path)?,
    ))
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// toml's messages can span lines; an error line should be one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
