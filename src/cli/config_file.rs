//! `--config FILE`: any number of named meters and the exporter's settings,
//! in TOML.
//!
//! The file is parsed with serde into raw sections (unknown keys refused),
//! then checked into the same [`MeterConfig`]s the command line builds.
//! Every error names the place: `FILE:LINE:COL: what`, from the spans toml
//! keeps for each value. Nothing starts unless the whole file is valid.
//! Relative paths (replay files, key files) are taken from the directory of
//! the config file, so a file and its keys can move together.
//!
//! ```toml
//! [web]
//! listen_address = ":9947"
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
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use toml::Spanned;

/// What a config file sets, checked.
#[derive(Debug, Clone)]
pub struct FileConfig {
    /// At least one, with unique names, in file order.
    pub meters: Vec<MeterConfig>,
    /// `[web] listen_address`, normalised like the flag.
    pub listen_address: Option<String>,
    /// `[web] telemetry_path`.
    pub telemetry_path: Option<String>,
    /// `[metrics] expose_equipment_ids`.
    pub expose_equipment_ids: Option<bool>,
}

/// A config file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

/// Parses and checks the text of config file `path`. Key files are read
/// (relative to `path`'s directory); replay files are read later, when the
/// sources start, but before the server does.
pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    let at = |span: Range<usize>, message: String| {
        let (line, column) = line_col(text, span.start);
        ConfigError {
            path: path.to_owned(),
            line,
            column,
            message,
        }
    };
    let raw: RawFile =
        toml::from_str(text).map_err(|e| at(e.span().unwrap_or(0..0), one_line(e.message())))?;
    let base = path.parent().unwrap_or(Path::new(""));

    let listen_address = raw
        .web
        .listen_address
        .map(|v| {
            check_listen_address(v.get_ref()).map_err(|r| {
                at(
                    v.span(),
                    format!("web.listen_address {:?}: {r}", v.get_ref()),
                )
            })
        })
        .transpose()?;
    let telemetry_path = raw
        .web
        .telemetry_path
        .map(|v| {
            check_telemetry_path(v.get_ref()).map_err(|r| {
                at(
                    v.span(),
                    format!("web.telemetry_path {:?}: {r}", v.get_ref()),
                )
            })
        })
        .transpose()?;

    if raw.meter.is_empty() {
        return Err(at(
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
            at(
                m.name.span(),
                format!("meter name {:?}: {r}", m.name.get_ref()),
            )
        })?;
        if let Some(first) = seen.get(&name) {
            let (line, _) = line_col(text, first.start);
            return Err(at(
                m.name.span(),
                format!("duplicate meter name {name:?} (first used on line {line}); names become the `meter` label and must be unique"),
            ));
        }
        seen.insert(name.clone(), m.name.span());
        let meter = check_meter(m, name.clone(), span, base, &at)?;
        meters.push(meter);
    }
    Ok(FileConfig {
        meters,
        listen_address,
        telemetry_path,
        expose_equipment_ids: raw.metrics.expose_equipment_ids,
    })
}

fn check_meter(
    m: RawMeter,
    name: String,
    span: Range<usize>,
    base: &Path,
    at: &impl Fn(Range<usize>, String) -> ConfigError,
) -> Result<MeterConfig, ConfigError> {
    let ctx = |what: &str| format!("meter {name:?}: {what}");
    let stale_after = match &m.stale_after {
        Some(v) => {
            let d = duration::parse(v.get_ref()).map_err(|e| {
                at(
                    v.span(),
                    ctx(&format!("stale_after {:?}: {e}", v.get_ref())),
                )
            })?;
            if d.is_zero() {
                return Err(at(v.span(), ctx("stale_after must be more than 0")));
            }
            d
        }
        None => Duration::from_secs(60),
    };
    let timezone = m
        .timezone
        .as_ref()
        .map_or("Europe/Amsterdam", |t| t.get_ref().as_str())
        .to_owned();
    let zone = check_zone(&timezone).map_err(|r| {
        let span = m.timezone.as_ref().map_or(span.clone(), Spanned::span);
        at(span, ctx(&format!("timezone {timezone:?}: {r}")))
    })?;

    let mut given: Vec<(&str, Range<usize>)> = [
        ("serial", m.serial.as_ref().map(Spanned::span)),
        ("tcp", m.tcp.as_ref().map(Spanned::span)),
        ("replay", m.replay.as_ref().map(Spanned::span)),
        (
            "demo",
            m.demo.as_ref().filter(|d| *d.get_ref()).map(Spanned::span),
        ),
        ("homewizard", m.homewizard.as_ref().map(Spanned::span)),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect();
    // In file order, so that the error points at the second one written.
    given.sort_by_key(|(_, s)| s.start);
    match given.as_slice() {
        [] => {
            return Err(at(
                span,
                ctx("no source: give one of serial, tcp, replay, homewizard or demo = true"),
            ))
        }
        [_] => {}
        [_, (_, second), ..] => {
            let keys: Vec<&str> = given.iter().map(|(k, _)| *k).collect();
            return Err(at(
                second.clone(),
                ctx(&format!(
                    "only one source per meter, but got {}",
                    keys.join(" and ")
                )),
            ));
        }
    }

    let smarty = match &m.smarty {
        None => None,
        Some(s) => {
            if m.demo.as_ref().is_some_and(|d| *d.get_ref()) || m.homewizard.is_some() {
                return Err(at(
                    s.span(),
                    ctx("smarty decryption applies to serial, tcp and replay sources"),
                ));
            }
            let raw = s.get_ref();
            let auth = match raw.auth_key_file.as_ref().map(|a| a.get_ref().trim()) {
                None => AuthKey::Default,
                Some(a) if a.eq_ignore_ascii_case("none") => AuthKey::None,
                Some(a) => AuthKey::File(PathBuf::from(a)),
            };
            let key = KeySource::File(raw.key_file.get_ref().clone());
            Some(
                load_smarty_keys(&key, &auth, base)
                    .map_err(|e| at(s.span(), ctx(&e.to_string())))?,
            )
        }
    };

    let source = if let Some(s) = m.serial {
        let span = s.span();
        let s = s.into_inner();
        if s.path.trim().is_empty() {
            return Err(at(span, ctx("serial.path is empty")));
        }
        let baud = s.baud.map_or(Ok(115_200), |b| {
            if baud_ok(*b.get_ref()) {
                Ok(*b.get_ref())
            } else {
                Err(at(
                    b.span(),
                    ctx("serial.baud: expected a speed such as 115200 or 9600"),
                ))
            }
        })?;
        let data_bits = match s.data_bits.as_ref().map(|d| (*d.get_ref(), d.span())) {
            None | Some((8, _)) => DataBits::Eight,
            Some((7, _)) => DataBits::Seven,
            Some((_, sp)) => return Err(at(sp, ctx("serial.data_bits must be 7 or 8"))),
        };
        let stop_bits = match s.stop_bits.as_ref().map(|d| (*d.get_ref(), d.span())) {
            None | Some((1, _)) => StopBits::One,
            Some((2, _)) => StopBits::Two,
            Some((_, sp)) => return Err(at(sp, ctx("serial.stop_bits must be 1 or 2"))),
        };
        SourceConfig::Serial(SerialConfig {
            path: s.path,
            baud,
            data_bits,
            parity: match s.parity.unwrap_or(RawParity::None) {
                RawParity::None => Parity::None,
                RawParity::Even => Parity::Even,
                RawParity::Odd => Parity::Odd,
            },
            stop_bits,
            retry: Retry::default(),
            smarty,
        })
    } else if let Some(t) = m.tcp {
        let addr = t.into_inner().address;
        let address = check_tcp_address(addr.get_ref()).map_err(|r| {
            at(
                addr.span(),
                ctx(&format!("tcp.address {:?}: {r}", addr.get_ref())),
            )
        })?;
        SourceConfig::Tcp(TcpConfig {
            smarty,
            ..TcpConfig::new(address, stale_after)
        })
    } else if let Some(r) = m.replay {
        let r = r.into_inner();
        let interval = match &r.interval {
            Some(v) => duration::parse(v.get_ref()).map_err(|e| {
                at(
                    v.span(),
                    ctx(&format!("replay.interval {:?}: {e}", v.get_ref())),
                )
            })?,
            None => Duration::from_secs(1),
        };
        SourceConfig::Replay(ReplayConfig {
            path: base.join(r.file),
            interval,
            looped: r.looped.unwrap_or(false),
            smarty,
        })
    } else if let Some(h) = m.homewizard {
        let h = h.into_inner();
        let address = check_homewizard_host(h.host.get_ref()).map_err(|r| {
            at(
                h.host.span(),
                ctx(&format!("homewizard.host {:?}: {r}", h.host.get_ref())),
            )
        })?;
        let interval = match &h.interval {
            Some(v) => {
                let d = duration::parse(v.get_ref())
                    .map_err(|e| e.to_string())
                    .and_then(|d| {
                        check_homewizard_interval(d)
                            .map(|()| d)
                            .map_err(String::from)
                    })
                    .map_err(|e| {
                        at(
                            v.span(),
                            ctx(&format!("homewizard.interval {:?}: {e}", v.get_ref())),
                        )
                    })?;
                d
            }
            None => Duration::from_secs(1),
        };
        SourceConfig::Homewizard(HomewizardConfig::new(address, interval))
    } else {
        SourceConfig::Demo
    };
    Ok(MeterConfig {
        name,
        source,
        stale_after,
        zone,
        timezone,
    })
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    web: RawWeb,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    meter: Vec<Spanned<RawMeter>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeb {
    listen_address: Option<Spanned<String>>,
    telemetry_path: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    expose_equipment_ids: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeter {
    name: Spanned<String>,
    stale_after: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    serial: Option<Spanned<RawSerial>>,
    tcp: Option<Spanned<RawTcp>>,
    replay: Option<Spanned<RawReplay>>,
    demo: Option<Spanned<bool>>,
    homewizard: Option<Spanned<RawHomewizard>>,
    smarty: Option<Spanned<RawSmarty>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSerial {
    path: String,
    baud: Option<Spanned<u32>>,
    data_bits: Option<Spanned<u8>>,
    parity: Option<RawParity>,
    stop_bits: Option<Spanned<u8>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawParity {
    None,
    Even,
    Odd,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTcp {
    address: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplay {
    file: PathBuf,
    interval: Option<Spanned<String>>,
    #[serde(rename = "loop")]
    looped: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHomewizard {
    host: Spanned<String>,
    interval: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmarty {
    key_file: Spanned<PathBuf>,
    auth_key_file: Option<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse(text, Path::new("m.toml")).unwrap_err().to_string()
    }

    #[test]
    fn meters_of_every_kind() {
        let c = parse(
            r#"
[web]
listen_address = ":9100"
telemetry_path = "/p1"

[metrics]
expose_equipment_ids = true

[[meter]]
name = "house"
stale_after = "2m"
timezone = "UTC"
serial = { path = "/dev/ttyUSB0", baud = 9600, data_bits = 7, parity = "even", stop_bits = 1 }

[[meter]]
name = "dongle"
[meter.tcp]
address = "p1.local:2001"

[[meter]]
name = "file"
replay = { file = "t.txt", interval = "0s", loop = true }

[[meter]]
name = "hw"
homewizard = { host = "192.168.1.60" }

[[meter]]
name = "sim"
demo = true
"#,
            Path::new("/etc/dsmr/m.toml"),
        )
        .unwrap();
        assert_eq!(c.listen_address.as_deref(), Some("0.0.0.0:9100"));
        assert_eq!(c.telemetry_path.as_deref(), Some("/p1"));
        assert_eq!(c.expose_equipment_ids, Some(true));
        let names: Vec<&str> = c.meters.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["house", "dongle", "file", "hw", "sim"]);
        let src: Vec<String> = c.meters.iter().map(|m| m.source.to_string()).collect();
        assert_eq!(src[0], "serial /dev/ttyUSB0 9600 7E1");
        assert_eq!(src[1], "tcp p1.local:2001");
        assert_eq!(src[2], "replay /etc/dsmr/t.txt every 0, looped");
        assert_eq!(
            src[3],
            "homewizard http://192.168.1.60:80/api/v1/telegram every 1s"
        );
        assert_eq!(c.meters[4].source, SourceConfig::Demo);
        assert_eq!(c.meters[0].stale_after, Duration::from_secs(120));
        assert_eq!(c.meters[1].stale_after, Duration::from_secs(60));
    }

    #[test]
    fn errors_name_line_column_and_key() {
        let e = err("[[meter]]\nname = \"a\"\ndemo = true\nbaudrate = 9600\n");
        assert!(e.starts_with("m.toml:4:1: "), "{e}");
        assert!(e.contains("baudrate"), "{e}");
        let e = err("[[meter]]\nname = \"a\"\nserial = { path = \"/dev/x\", bauds = 1 }\n");
        assert!(e.starts_with("m.toml:3:"), "{e}");
        assert!(e.contains("bauds"), "{e}");
        let e = err("[web]\nlisten = \":1\"\n");
        assert!(e.starts_with("m.toml:2:1: ") && e.contains("listen"), "{e}");
        let e = err("[[meter]]\nname = \"a\"\ndemo = true\nstale_after = \"5x\"\n");
        assert!(
            e.starts_with("m.toml:4:15: meter \"a\": stale_after"),
            "{e}"
        );
        let e = err("[[meter]]\nname = \"a\"\ntcp = { address = \"dongle\" }\n");
        assert!(
            e.starts_with("m.toml:3:19: ") && e.contains("tcp.address"),
            "{e}"
        );
        let e = err("[[meter]]\nname = \"a\"\nserial = { path = \"/dev/x\", parity = \"mark\" }\n");
        assert!(e.starts_with("m.toml:3:") && e.contains("mark"), "{e}");
        let e = err("[[meter]]\nname = \"a\"\n");
        assert!(e.contains("no source"), "{e}");
        let e = err("[[meter]]\nname = \"a\"\ndemo = true\ntcp = { address = \"h:1\" }\n");
        assert!(
            e.starts_with("m.toml:4:") && e.contains("demo and tcp"),
            "{e}"
        );
        let e = err("");
        assert!(e.contains("no meter"), "{e}");
        let e = err("[[meter]]\nname = \"a b\"\ndemo = true\n");
        assert!(e.starts_with("m.toml:2:8: meter name"), "{e}");
        let e = err("[[meter]\n");
        assert!(e.starts_with("m.toml:1:"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let e =
            err("[[meter]]\nname = \"a\"\ndemo = true\n\n[[meter]]\nname = \"a\"\ndemo = true\n");
        assert!(
            e.starts_with("m.toml:6:8: duplicate meter name \"a\" (first used on line 2)"),
            "{e}"
        );
    }

    #[test]
    fn smarty_key_files_are_read_relative_to_the_config() {
        let dir = std::env::temp_dir().join(format!("dsmr-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k"), "0123456789abcdef0123456789abcdef\n").unwrap();
        std::fs::write(dir.join("bad"), "0123").unwrap();
        let cfg = dir.join("m.toml");
        let text = "[[meter]]\nname = \"lu\"\ntcp = { address = \"h:1\" }\nsmarty = { key_file = \"k\" }\n\
                    [[meter]]\nname = \"lu2\"\ntcp = { address = \"h:2\" }\nsmarty = { key_file = \"k\", auth_key_file = \"none\" }\n";
        let c = parse(text, &cfg).unwrap();
        let SourceConfig::Tcp(t) = &c.meters[0].source else {
            panic!("tcp")
        };
        let keys = t.smarty.as_ref().unwrap();
        assert_eq!(
            keys.auth_key,
            Some(dsmr_engine::smarty::SmartyKeys::SMARTY_AUTH_KEY)
        );
        assert_eq!(
            c.meters[0].source.to_string(),
            "tcp h:1, smarty-encrypted (default auth key)"
        );
        assert_eq!(
            c.meters[1].source.to_string(),
            "tcp h:2, smarty-encrypted (no auth key)"
        );
        let e = parse(
            "[[meter]]\nname = \"lu\"\ntcp = { address = \"h:1\" }\nsmarty = { key_file = \"bad\" }\n",
            &cfg,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(":4:10: meter \"lu\": smarty key file") && e.contains("32 hex digits"),
            "{e}"
        );
        assert!(
            !e.contains("0123"),
            "the key's digits stay out of errors: {e}"
        );
        let e = parse(
            "[[meter]]\nname = \"lu\"\ntcp = { address = \"h:1\" }\nsmarty = { key_file = \"missing\" }\n",
            &cfg,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("missing") && e.contains("cannot read"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
