//! One `[[meter]]` table into [`MeterSettings`], checked by the shared
//! [`MeterSettings::resolve`], with errors worded the file way
//! (`meter "x": serial.baud: …`) at the span of the refused value.

use super::raw::{RawDemo, RawMeter, RawPrice};
use super::{ConfigError, FileText};
use crate::capacity::{CapacitySettings, Price};
use crate::cli::checks::NamedZone;
use crate::cli::settings::{
    HomewizardSettings, MeterConfig, MeterField, MeterSettings, MeterSettingsError, Reason,
    SerialSettings, SmartySettings, SourceSettings,
};
use crate::cli::smarty_keys::{AuthKey, KeySource};
use crate::duration;
use crate::source::DemoCountry;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// The meter of table `m` (at `span`), checked; its name is already.
pub(super) fn check_meter(
    m: &RawMeter,
    span: Range<usize>,
    base: &Path,
    file: &FileText<'_>,
) -> Result<MeterConfig, ConfigError> {
    let name = m.name.get_ref();
    let ctx = |what: &str| format!("meter {name:?}: {what}");
    let stale_after = parse_duration(m.stale_after.as_ref(), "stale_after", &ctx, file)?;
    let timezone = m
        .timezone
        .as_ref()
        .map(|t| {
            NamedZone::parse(t.get_ref()).map_err(|r| {
                file.error_at(t.span(), ctx(&format!("timezone {:?}: {r}", t.get_ref())))
            })
        })
        .transpose()?;
    let sources = sources_in_file_order(m, &ctx, file)?;
    let capacity = capacity_settings(m, &ctx, file)?;
    let settings = MeterSettings {
        name: name.clone(),
        stale_after,
        timezone,
        sources: sources.iter().map(|s| s.settings.clone()).collect(),
        smarty: m.smarty.as_ref().map(|s| {
            let s = s.get_ref();
            SmartySettings {
                key: KeySource::File(s.key_file.get_ref().clone()),
                auth: s.auth_key_file.as_ref().map_or(AuthKey::Default, |a| {
                    AuthKey::from_setting(a.get_ref().trim())
                }),
            }
        }),
        base: base.to_owned(),
        capacity,
    };
    let mut meter = settings.resolve().map_err(|e| {
        let (at, message) = file_error(e, m, &span, &sources);
        file.error_at(at, ctx(&message))
    })?;
    meter.prices = m
        .prices
        .as_ref()
        .map(|p| super::prices::check_prices(p.get_ref(), base, file, &ctx).map(Box::new))
        .transpose()?;
    // The Belgian capacity tariff is set in euros, and its series says so
    // (dsmr_capacity_cost_euros_per_year): no price in another currency.
    let capacity_price = m.capacity.as_ref().and_then(|c| {
        let c = c.get_ref();
        c.price_per_kw_year.as_ref().map(|p| p.span())
    });
    if let (Some(prices), Some(span)) = (&meter.prices, capacity_price) {
        if prices.currency != "EUR" {
            let what = format!(
                "capacity.price_per_kw_year is in euros (the Belgian capacity tariff; \
                 dsmr_capacity_cost_euros_per_year), but prices.currency is {}: \
                 leave the capacity price out or use EUR",
                prices.currency
            );
            return Err(file.error_at(span, ctx(&what)));
        }
    }
    Ok(meter)
}

/// A duration value, parsed; errors as `KEY "VALUE": why`.
fn parse_duration(
    v: Option<&Spanned<String>>,
    key: &str,
    ctx: &impl Fn(&str) -> String,
    file: &FileText<'_>,
) -> Result<Option<Duration>, ConfigError> {
    v.map(|v| {
        duration::parse(v.get_ref())
            .map_err(|e| file.error_at(v.span(), ctx(&format!("{key} {:?}: {e}", v.get_ref()))))
    })
    .transpose()
}

/// `[meter.capacity]`, its price checked; a table given turns the
/// tracking on before the meter sends a capacity value.
fn capacity_settings(
    m: &RawMeter,
    ctx: &impl Fn(&str) -> String,
    file: &FileText<'_>,
) -> Result<CapacitySettings, ConfigError> {
    let Some(c) = &m.capacity else {
        return Ok(CapacitySettings::default());
    };
    let c = c.get_ref();
    let price = match &c.price_per_kw_year {
        None => None,
        Some(p) => {
            let text = match p.get_ref() {
                RawPrice::Text(t) => t.clone(),
                RawPrice::Integer(i) => i.to_string(),
                RawPrice::Float(f) => {
                    let what = format!(
                        "capacity.price_per_kw_year {f}: write the price in quotes (\"{f}\") so that it stays exact"
                    );
                    return Err(file.error_at(p.span(), ctx(&what)));
                }
            };
            let price = Price::parse(&text).map_err(|r| {
                file.error_at(
                    p.span(),
                    ctx(&format!("capacity.price_per_kw_year {text:?}: {r}")),
                )
            })?;
            Some(price)
        }
    };
    Ok(CapacitySettings {
        enabled: true,
        price,
        state_file: c.state_file.clone(),
    })
}

/// A source table of a meter: its key, where it is written, and what it says.
struct WrittenSource {
    key: &'static str,
    span: Range<usize>,
    settings: SourceSettings,
}

/// The sources of `m` with their keys and spans, in the order they are
/// written, so that an error points at the second one.
fn sources_in_file_order(
    m: &RawMeter,
    ctx: &impl Fn(&str) -> String,
    file: &FileText<'_>,
) -> Result<Vec<WrittenSource>, ConfigError> {
    let mut sources = Vec::new();
    if let Some(s) = &m.serial {
        let r = s.get_ref();
        let serial = SerialSettings {
            path: r.path.clone(),
            baud: r.baud.as_ref().map(|b| *b.get_ref()),
            data_bits: r.data_bits.as_ref().map(|d| *d.get_ref()),
            parity: r.parity,
            stop_bits: r.stop_bits.as_ref().map(|d| *d.get_ref()),
        };
        sources.push(WrittenSource {
            key: "serial",
            span: s.span(),
            settings: SourceSettings::Serial(serial),
        });
    }
    if let Some(t) = &m.tcp {
        let address = t.get_ref().address.get_ref().clone();
        sources.push(WrittenSource {
            key: "tcp",
            span: t.span(),
            settings: SourceSettings::Tcp { address },
        });
    }
    if let Some(r) = &m.replay {
        let raw = r.get_ref();
        let replay = SourceSettings::Replay {
            file: raw.file.clone(),
            interval: parse_duration(raw.interval.as_ref(), "replay.interval", ctx, file)?,
            looped: raw.looped.unwrap_or(false),
        };
        sources.push(WrittenSource {
            key: "replay",
            span: r.span(),
            settings: replay,
        });
    }
    if let Some(d) = &m.demo {
        let country = match d.get_ref() {
            RawDemo::On(false) => None,
            RawDemo::On(true) => Some(DemoCountry::Nl),
            RawDemo::Country(c) => Some(DemoCountry::parse(c).ok_or_else(|| {
                file.error_at(
                    d.span(),
                    ctx(&format!("demo {c:?}: expected true, \"nl\" or \"be\"")),
                )
            })?),
        };
        if let Some(country) = country {
            sources.push(WrittenSource {
                key: "demo",
                span: d.span(),
                settings: SourceSettings::Demo(country),
            });
        }
    }
    if let Some(h) = &m.homewizard {
        let raw = h.get_ref();
        let homewizard = SourceSettings::Homewizard(HomewizardSettings {
            host: raw.host.get_ref().clone(),
            interval: parse_duration(raw.interval.as_ref(), "homewizard.interval", ctx, file)?,
            api: raw.api,
            token_file: raw.token_file.clone(),
            token: None,
            serial: raw.serial.as_ref().map(|s| s.get_ref().clone()),
        });
        sources.push(WrittenSource {
            key: "homewizard",
            span: h.span(),
            settings: homewizard,
        });
    }
    sources.sort_by_key(|s| s.span.start);
    Ok(sources)
}

/// Where and how the file words a refused setting (without the
/// `meter "x": ` prefix). `sources` are the source keys written, in order.
fn file_error(
    e: MeterSettingsError,
    m: &RawMeter,
    meter: &Range<usize>,
    sources: &[WrittenSource],
) -> (Range<usize>, String) {
    let span_of = |s: Option<Range<usize>>| s.unwrap_or_else(|| meter.clone());
    let serial = m.serial.as_ref().map(Spanned::get_ref);
    let smarty = span_of(m.smarty.as_ref().map(Spanned::span));
    let reason = match e.reason {
        Reason::NoSource => {
            let what = "no source: give one of serial, tcp, replay, homewizard or demo = true";
            return (meter.clone(), what.to_owned());
        }
        Reason::SeveralSources => {
            let keys: Vec<&str> = sources.iter().map(|s| s.key).collect();
            let second = span_of(sources.get(1).map(|s| s.span.clone()));
            let what = format!("only one source per meter, but got {}", keys.join(" and "));
            return (second, what);
        }
        Reason::SmartyNotApplicable => return (smarty, e.reason.to_string()),
        Reason::KeyFile(k) => return (smarty, k.to_string()),
        Reason::Rule(r) => r,
    };
    let quoted = |v: Option<&Spanned<String>>, key: &str| {
        let span = span_of(v.map(Spanned::span));
        let value = v.map_or("", |v| v.get_ref().as_str());
        (span, format!("{key} {value:?}: {reason}"))
    };
    match e.field {
        MeterField::Name => quoted(Some(&m.name), "name"),
        MeterField::StaleAfter => (
            span_of(m.stale_after.as_ref().map(Spanned::span)),
            format!("stale_after {reason}"),
        ),
        MeterField::SerialPath => (
            span_of(m.serial.as_ref().map(Spanned::span)),
            "serial.path is empty".to_owned(),
        ),
        MeterField::Baud => (
            span_of(serial.and_then(|s| s.baud.as_ref()).map(Spanned::span)),
            format!("serial.baud: {reason}"),
        ),
        MeterField::DataBits => (
            span_of(serial.and_then(|s| s.data_bits.as_ref()).map(Spanned::span)),
            format!("serial.data_bits {reason}"),
        ),
        MeterField::StopBits => (
            span_of(serial.and_then(|s| s.stop_bits.as_ref()).map(Spanned::span)),
            format!("serial.stop_bits {reason}"),
        ),
        MeterField::TcpAddress => {
            quoted(m.tcp.as_ref().map(|t| &t.get_ref().address), "tcp.address")
        }
        MeterField::HomewizardHost => quoted(
            m.homewizard.as_ref().map(|h| &h.get_ref().host),
            "homewizard.host",
        ),
        MeterField::HomewizardInterval => quoted(
            m.homewizard
                .as_ref()
                .and_then(|h| h.get_ref().interval.as_ref()),
            "homewizard.interval",
        ),
        MeterField::HomewizardSerial => quoted(
            m.homewizard
                .as_ref()
                .and_then(|h| h.get_ref().serial.as_ref()),
            "homewizard.serial",
        ),
        MeterField::Sources | MeterField::Smarty | MeterField::HomewizardToken => {
            (meter.clone(), reason.to_owned())
        }
    }
}
