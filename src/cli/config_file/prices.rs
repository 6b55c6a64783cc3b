//! `[meter.prices]` and `[prices]` into a [`PlanConfig`] and the fetcher's
//! [`FetchConfig`], every value checked at its span.
//!
//! A price is fixed (`price`, or `tariff1` … `tariff4` for electricity
//! import and export) or comes from one source: `entsoe = "EIC code"`,
//! `file = "prices.csv"` or `url = "https://…"`, with `markup`, `tax`
//! (per unit) and `vat` (percent) making the source's price all-in.

use super::raw::{RawDecimal, RawFetch, RawPriceSide, RawPrices};
use super::{ConfigError, FileText};
use crate::cost::money::{parse_decimal, NANO_DIGITS};
use crate::cost::{FeedSource, Formula, Nanos, PlanConfig, RowFormat, Spec};
use crate::price::{FetchConfig, Token, DEFAULT_ENTSOE_URL};
use std::path::Path;
use toml::Spanned;

/// Checks `[meter.prices]`; `ctx` prefixes errors with the meter.
pub(super) fn check_prices(
    raw: &RawPrices,
    base: &Path,
    file: &FileText<'_>,
    ctx: &impl Fn(&str) -> String,
) -> Result<PlanConfig, ConfigError> {
    let currency = match &raw.currency {
        Some(c) => {
            let v = c.get_ref();
            if v.len() != 3 || !v.bytes().all(|b| b.is_ascii_uppercase()) {
                let what =
                    format!("prices.currency {v:?}: an ISO 4217 code of three capitals, e.g. EUR");
                return Err(file.error_at(c.span(), ctx(&what)));
            }
            v.clone()
        }
        None => "EUR".to_owned(),
    };
    let cx = Side {
        base,
        file,
        ctx,
        currency: &currency,
    };
    let electricity = raw.electricity.as_ref();
    Ok(PlanConfig {
        import: cx.side(
            electricity.and_then(|e| e.import.as_ref()),
            "electricity.import",
            true,
        )?,
        export: cx.side(
            electricity.and_then(|e| e.export.as_ref()),
            "electricity.export",
            true,
        )?,
        gas: cx.side(raw.gas.as_ref(), "gas", false)?,
        water: cx.side(raw.water.as_ref(), "water", false)?,
        heat: cx.side(raw.heat.as_ref(), "heat", false)?,
        fixed_per_day: raw
            .fixed_per_day
            .as_ref()
            .map(|d| cx.decimal(d, "fixed_per_day", NANO_DIGITS).map(Nanos))
            .transpose()?,
        ahead: raw.ahead.as_ref().is_none_or(|a| *a.get_ref()),
        currency,
    })
}

/// What checking one price needs.
struct Side<'a, C> {
    base: &'a Path,
    file: &'a FileText<'a>,
    ctx: &'a C,
    currency: &'a str,
}

impl<C: Fn(&str) -> String> Side<'_, C> {
    fn error(&self, span: std::ops::Range<usize>, what: String) -> ConfigError {
        self.file
            .error_at(span, (self.ctx)(&format!("prices.{what}")))
    }

    /// A decimal with `digits` digits after the point at most.
    fn decimal(&self, d: &Spanned<RawDecimal>, key: &str, digits: u32) -> Result<i64, ConfigError> {
        let text = d.get_ref().text();
        parse_decimal(&text, digits)
            .map_err(|e| self.error(d.span(), format!("{key} {text:?}: {e}")))
    }

    fn side(
        &self,
        raw: Option<&Spanned<RawPriceSide>>,
        key: &str,
        tariffs: bool,
    ) -> Result<Option<Spec<FeedSource>>, ConfigError> {
        let Some(spanned) = raw else { return Ok(None) };
        let r = spanned.get_ref();
        let fixed = [&r.price, &r.tariff1, &r.tariff2, &r.tariff3, &r.tariff4];
        let has_fixed = fixed.iter().any(|p| p.is_some());
        let sources = [r.entsoe.is_some(), r.file.is_some(), r.url.is_some()];
        let n = sources.iter().filter(|s| **s).count() + usize::from(has_fixed);
        if n != 1 {
            let what = format!("{key}: give exactly one of a fixed price (price, or tariff1 to tariff4), entsoe, file or url");
            return Err(self.error(spanned.span(), what));
        }
        if has_fixed {
            return self.fixed(r, key, tariffs).map(Some);
        }
        let source = self.source(r, key, spanned.span())?;
        let formula = Formula {
            markup: self
                .opt(&r.markup, key, "markup", NANO_DIGITS)?
                .map_or(Nanos(0), Nanos),
            tax: self
                .opt(&r.tax, key, "tax", NANO_DIGITS)?
                .map_or(Nanos(0), Nanos),
            // Percent with 4 decimals is millionths.
            vat_ppm: self.opt(&r.vat, key, "vat", 4)?.unwrap_or(0),
        };
        Ok(Some(Spec::Dynamic {
            feed: source,
            formula,
        }))
    }

    fn opt(
        &self,
        d: &Option<Spanned<RawDecimal>>,
        key: &str,
        name: &str,
        digits: u32,
    ) -> Result<Option<i64>, ConfigError> {
        d.as_ref()
            .map(|d| self.decimal(d, &format!("{key}.{name}"), digits))
            .transpose()
    }

    fn fixed(
        &self,
        r: &RawPriceSide,
        key: &str,
        tariffs: bool,
    ) -> Result<Spec<FeedSource>, ConfigError> {
        let fixed = [&r.price, &r.tariff1, &r.tariff2, &r.tariff3, &r.tariff4];
        let extra = [&r.markup, &r.tax, &r.vat]
            .into_iter()
            .flatten()
            .map(Spanned::span)
            .chain(r.format.as_ref().map(Spanned::span))
            .next();
        if let Some(span) = extra {
            let what = format!("{key}: markup, tax, vat and format go with entsoe, file or url; a fixed price is all-in as written");
            return Err(self.error(span, what));
        }
        let mut prices = [None; 5];
        for (i, p) in fixed.iter().enumerate() {
            let Some(p) = p else { continue };
            if i > 0 && !tariffs {
                let what = format!("{key}: tariff{i}: only electricity has tariffs; write price");
                return Err(self.error(p.span(), what));
            }
            let name = if i == 0 {
                "price".to_owned()
            } else {
                format!("tariff{i}")
            };
            prices[i] = Some(Nanos(self.decimal(
                p,
                &format!("{key}.{name}"),
                NANO_DIGITS,
            )?));
        }
        Ok(Spec::Fixed(prices))
    }

    fn source(
        &self,
        r: &RawPriceSide,
        key: &str,
        span: std::ops::Range<usize>,
    ) -> Result<FeedSource, ConfigError> {
        let format = match &r.format {
            None => None,
            Some(f) => Some(match f.get_ref().as_str() {
                "csv" => RowFormat::Csv,
                "json" => RowFormat::Json,
                other => {
                    let what = format!("{key}.format {other:?}: csv or json");
                    return Err(self.error(f.span(), what));
                }
            }),
        };
        if let Some(zone) = &r.entsoe {
            if let Some(f) = &r.format {
                let what = format!("{key}.format: entsoe has its own format");
                return Err(self.error(f.span(), what));
            }
            check_eic(zone.get_ref()).map_err(|why| {
                self.error(
                    zone.span(),
                    format!("{key}.entsoe {:?}: {why}", zone.get_ref()),
                )
            })?;
            if self.currency != "EUR" {
                let what = format!(
                    "{key}.entsoe: ENTSO-E prices are in EUR, but currency is {}",
                    self.currency
                );
                return Err(self.error(zone.span(), what));
            }
            return Ok(FeedSource::Entsoe {
                zone: zone.get_ref().clone(),
            });
        }
        if let Some(path) = &r.file {
            let p = self.base.join(path.get_ref());
            let by_name = if p.extension().is_some_and(|e| e == "json") {
                RowFormat::Json
            } else {
                RowFormat::Csv
            };
            return Ok(FeedSource::File {
                path: p,
                format: format.unwrap_or(by_name),
            });
        }
        let Some(url) = &r.url else {
            // `side` counted exactly one source before asking.
            let what = format!("{key}: give entsoe, file or url");
            return Err(self.error(span, what));
        };
        let u = url.get_ref();
        if !(u.starts_with("http://") || u.starts_with("https://"))
            || u.contains(char::is_whitespace)
        {
            let what = format!("{key}.url {u:?}: an http:// or https:// URL");
            return Err(self.error(url.span(), what));
        }
        Ok(FeedSource::Url {
            url: u.clone(),
            format: format.unwrap_or(if u.ends_with(".json") {
                RowFormat::Json
            } else {
                RowFormat::Csv
            }),
        })
    }
}

/// An EIC area code: 16 characters of capitals, digits and '-'
/// (`10YNL----------L`).
fn check_eic(code: &str) -> Result<(), &'static str> {
    let ok = code.len() == 16
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("an EIC bidding-zone code of 16 characters, e.g. 10YNL----------L or 10YBE----------2")
    }
}

/// `[prices]`: the state directory and the ENTSO-E URL and token file
/// (relative paths from the config file's directory). The token file is
/// read here; the environment's token is `cli::config`'s to add.
pub(super) fn check_fetch(
    raw: &RawFetch,
    base: &Path,
    file: &FileText<'_>,
) -> Result<FetchConfig, ConfigError> {
    let entsoe_url = match &raw.entsoe_url {
        Some(u) => {
            let v = u.get_ref().trim_end_matches('/');
            if !(v.starts_with("http://") || v.starts_with("https://")) {
                let what = format!("prices.entsoe_url {v:?}: an http:// or https:// URL");
                return Err(file.error_at(u.span(), what));
            }
            v.to_owned()
        }
        None => DEFAULT_ENTSOE_URL.to_owned(),
    };
    let entsoe_token = match &raw.entsoe_token_file {
        Some(p) => {
            let path = base.join(p.get_ref());
            let text = read_token_file(&path).map_err(|e| {
                let what = format!("prices.entsoe_token_file {}: {e}", path.display());
                file.error_at(p.span(), what)
            })?;
            let token = text.trim();
            if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
                let what = format!(
                    "prices.entsoe_token_file {}: holds no token (one line of printable characters, no spaces)",
                    path.display()
                );
                return Err(file.error_at(p.span(), what));
            }
            Some(Token(token.to_owned()))
        }
        None => None,
    };
    Ok(FetchConfig {
        state_dir: raw.state_dir.as_ref().map(|d| base.join(d)),
        entsoe_url,
        entsoe_token,
    })
}

/// A token file's text: the first 4 KiB at most (a token is 36
/// characters; a device file must not fill memory).
fn read_token_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(4_096)
        .read_to_string(&mut text)?;
    Ok(text)
}
