//! The file's tables as serde reads them: unknown keys refused, every
//! value that a later check may refuse kept with its span.

use crate::cli::checks::{HomewizardApiArg, ParityArg};
use serde::Deserialize;
use std::path::PathBuf;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub(super) web: RawWeb,
    #[serde(default)]
    pub(super) metrics: RawMetrics,
    #[serde(default)]
    pub(super) prices: RawFetch,
    #[serde(default)]
    pub(super) meter: Vec<Spanned<RawMeter>>,
}

/// `[prices]`: the fetcher's settings, for every meter.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFetch {
    pub(super) state_dir: Option<PathBuf>,
    pub(super) entsoe_url: Option<Spanned<String>>,
    pub(super) entsoe_token_file: Option<Spanned<PathBuf>>,
}

/// `[meter.prices]`: what one meter's energy costs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrices {
    pub(super) currency: Option<Spanned<String>>,
    pub(super) fixed_per_day: Option<Spanned<RawDecimal>>,
    pub(super) electricity: Option<RawElectricity>,
    pub(super) gas: Option<Spanned<RawPriceSide>>,
    pub(super) water: Option<Spanned<RawPriceSide>>,
    pub(super) heat: Option<Spanned<RawPriceSide>>,
    pub(super) ahead: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawElectricity {
    pub(super) import: Option<Spanned<RawPriceSide>>,
    pub(super) export: Option<Spanned<RawPriceSide>>,
}

/// One price: fixed (`price`, `tariff1`…`tariff4`) or a source (`entsoe`,
/// `file`, `url`) with its formula.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPriceSide {
    pub(super) price: Option<Spanned<RawDecimal>>,
    pub(super) tariff1: Option<Spanned<RawDecimal>>,
    pub(super) tariff2: Option<Spanned<RawDecimal>>,
    pub(super) tariff3: Option<Spanned<RawDecimal>>,
    pub(super) tariff4: Option<Spanned<RawDecimal>>,
    pub(super) entsoe: Option<Spanned<String>>,
    pub(super) file: Option<Spanned<PathBuf>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) format: Option<Spanned<String>>,
    pub(super) markup: Option<Spanned<RawDecimal>>,
    pub(super) tax: Option<Spanned<RawDecimal>>,
    pub(super) vat: Option<Spanned<RawDecimal>>,
}

/// A decimal written as a string (`"0.2715"`, exact) or a TOML number
/// (read back from its shortest text, which is what was written).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawDecimal {
    Text(String),
    Int(i64),
    Float(f64),
}

impl RawDecimal {
    /// The decimal's text.
    pub(super) fn text(&self) -> String {
        match self {
            RawDecimal::Text(s) => s.clone(),
            RawDecimal::Int(i) => i.to_string(),
            RawDecimal::Float(f) => f.to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWeb {
    pub(super) listen_address: Option<Spanned<RawListenAddress>>,
    pub(super) telemetry_path: Option<Spanned<String>>,
}

/// `[web] listen_address`: one address, or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawListenAddress {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) expose_equipment_ids: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMeter {
    pub(super) name: Spanned<String>,
    pub(super) stale_after: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) serial: Option<Spanned<RawSerial>>,
    pub(super) tcp: Option<Spanned<RawTcp>>,
    pub(super) replay: Option<Spanned<RawReplay>>,
    pub(super) demo: Option<Spanned<RawDemo>>,
    pub(super) homewizard: Option<Spanned<RawHomewizard>>,
    pub(super) smarty: Option<Spanned<RawSmarty>>,
    pub(super) prices: Option<Spanned<RawPrices>>,
    pub(super) capacity: Option<Spanned<RawCapacity>>,
}

/// `demo = true` (the Dutch demo), `false`, or a country: `demo = "be"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawDemo {
    On(bool),
    Country(String),
}

/// `[meter.capacity]`: the Belgian capacity tariff.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCapacity {
    pub(super) price_per_kw_year: Option<Spanned<RawPrice>>,
    pub(super) state_file: Option<PathBuf>,
}

/// A price as written: a string or an integer keeps every digit; a TOML
/// float would not, so it is refused with a hint.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawPrice {
    Text(String),
    Integer(u32),
    Float(f64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSerial {
    pub(super) path: String,
    pub(super) baud: Option<Spanned<u32>>,
    pub(super) data_bits: Option<Spanned<u8>>,
    pub(super) parity: Option<ParityArg>,
    pub(super) stop_bits: Option<Spanned<u8>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTcp {
    pub(super) address: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReplay {
    pub(super) file: PathBuf,
    pub(super) interval: Option<Spanned<String>>,
    #[serde(rename = "loop")]
    pub(super) looped: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHomewizard {
    pub(super) host: Spanned<String>,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) api: Option<HomewizardApiArg>,
    pub(super) token_file: Option<PathBuf>,
    pub(super) serial: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmarty {
    pub(super) key_file: Spanned<PathBuf>,
    pub(super) auth_key_file: Option<Spanned<String>>,
}
