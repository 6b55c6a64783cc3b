//! A meter's prices: what each commodity costs, fixed or from a feed.
//!
//! The configuration ([`PlanConfig`]) names its feeds by [`FeedSource`];
//! `main` gives each distinct source one shared [`Feed`] and
//! [`PlanConfig::attach`]es them, so two meters (or import and export) on
//! one bidding zone share one table and one fetch.

use super::money::{Formula, Nanos};
use super::table::Feed;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// What a cost series counts: the `commodity` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Commodity {
    /// Energy imported (cost) or exported (earnings), per kWh.
    Electricity,
    /// Per m³.
    Gas,
    /// Per m³.
    Water,
    /// Per GJ.
    Heat,
    /// The standing charges, per day.
    Fixed,
}

impl Commodity {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Commodity::Electricity => "electricity",
            Commodity::Gas => "gas",
            Commodity::Water => "water",
            Commodity::Heat => "heat",
            Commodity::Fixed => "fixed",
        }
    }

    /// The unit a price is per: the `unit` label.
    pub fn unit(self) -> &'static str {
        match self {
            Commodity::Electricity => "kWh",
            Commodity::Gas | Commodity::Water => "m3",
            Commodity::Heat => "GJ",
            Commodity::Fixed => "day",
        }
    }
}

/// Energy bought or sold: the `direction` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Taken from the grid (or the gas, water, heat supply).
    Import,
    /// Delivered to the grid.
    Export,
}

impl Direction {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Import => "import",
            Direction::Export => "export",
        }
    }
}

/// The format of a generic price file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowFormat {
    /// `start,price` lines.
    Csv,
    /// `[{"start": …, "price": …}, …]`.
    Json,
}

/// Where a dynamic price comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FeedSource {
    /// ENTSO-E day-ahead prices of a bidding zone (EIC code), EUR/MWh.
    Entsoe {
        /// E.g. `10YNL----------L`.
        zone: String,
    },
    /// A local file of `start,price` rows, read again when it changes.
    File {
        /// Absolute, or relative to the working directory.
        path: PathBuf,
        /// CSV or JSON.
        format: RowFormat,
    },
    /// An `http(s)` URL of the same rows.
    Url {
        /// As written.
        url: String,
        /// CSV or JSON.
        format: RowFormat,
    },
}

impl fmt::Display for FeedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedSource::Entsoe { zone } => write!(f, "entsoe {zone}"),
            FeedSource::File { path, .. } => write!(f, "file {}", path.display()),
            FeedSource::Url { url, .. } => write!(f, "url {url}"),
        }
    }
}

/// One price: fixed (per tariff) or a feed's spot price through a formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec<F> {
    /// All-in prices as written: index 0 for every tariff, 1 to 4 for a
    /// tariff of its own (which wins).
    Fixed([Option<Nanos>; 5]),
    /// A feed's price at the meter's time, made all-in by the formula.
    Dynamic {
        /// The feed (its source in a configuration).
        feed: F,
        /// Mark-up, tax and VAT.
        formula: Formula,
    },
}

impl Spec<Arc<Feed>> {
    /// The all-in price for `tariff` (0 when the meter has none) at Unix
    /// second `at`; `None` when there is none, which is never a zero.
    pub fn at(&self, tariff: usize, at: i64) -> Option<Nanos> {
        match self {
            Spec::Fixed(p) => p.get(tariff).copied().flatten().or(p[0]),
            Spec::Dynamic { feed, formula } => feed.at(at).map(|s| formula.all_in(s)),
        }
    }

    /// The one all-in price that held from `from` to `to` (both included):
    /// a fixed price, or a feed whose intervals cover the span without a
    /// hole at a single price; `None` otherwise.
    pub fn over(&self, tariff: usize, from: i64, to: i64) -> Option<Nanos> {
        match self {
            Spec::Fixed(_) => self.at(tariff, from),
            Spec::Dynamic { feed, formula } => {
                let ivs = feed.ahead(from, to.saturating_add(1), super::table::MAX_INTERVALS);
                let (first, last) = (ivs.first()?, ivs.last()?);
                let whole = first.start <= from
                    && last.end > to
                    && ivs.windows(2).all(|w| w[0].end == w[1].start)
                    && ivs.iter().all(|iv| iv.price == first.price);
                whole.then(|| formula.all_in(first.price))
            }
        }
    }
}

/// A meter's prices. `F` is [`FeedSource`] in a configuration and a shared
/// [`Feed`] at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<F = Arc<Feed>> {
    /// ISO 4217 code, the `currency` label: EUR unless set.
    pub currency: String,
    /// Electricity taken from the grid.
    pub import: Option<Spec<F>>,
    /// Electricity delivered to the grid (earnings).
    pub export: Option<Spec<F>>,
    /// Per m³.
    pub gas: Option<Spec<F>>,
    /// Per m³.
    pub water: Option<Spec<F>>,
    /// Per GJ.
    pub heat: Option<Spec<F>>,
    /// Standing charges per day, counted pro rata over the meter's time.
    pub fixed_per_day: Option<Nanos>,
    /// Whether the dynamic prices known ahead are exposed
    /// (`dsmr_price_ahead`): up to ~400 series per meter, so a co-op turns
    /// it off for the meters nobody charts (`ahead = false`).
    pub ahead: bool,
}

/// As a `[meter.prices]` table without keys reads: EUR, nothing charged,
/// prices ahead exposed. A plan is this plus what it charges.
impl<F> Default for Plan<F> {
    fn default() -> Plan<F> {
        Plan {
            currency: "EUR".to_owned(),
            import: None,
            export: None,
            gas: None,
            water: None,
            heat: None,
            fixed_per_day: None,
            ahead: true,
        }
    }
}

/// A plan as configured: its feeds named by source.
pub type PlanConfig = Plan<FeedSource>;

impl PlanConfig {
    /// Every feed source the plan uses.
    pub fn sources(&self) -> impl Iterator<Item = &FeedSource> {
        [
            &self.import,
            &self.export,
            &self.gas,
            &self.water,
            &self.heat,
        ]
        .into_iter()
        .filter_map(|s| match s {
            Some(Spec::Dynamic { feed, .. }) => Some(feed),
            _ => None,
        })
    }

    /// The run-time plan, with `feed` giving the shared feed of a source.
    pub fn attach(&self, mut feed: impl FnMut(&FeedSource) -> Arc<Feed>) -> Plan {
        let mut one = |s: &Option<Spec<FeedSource>>| {
            s.as_ref().map(|s| match s {
                Spec::Fixed(p) => Spec::Fixed(*p),
                Spec::Dynamic { feed: src, formula } => Spec::Dynamic {
                    feed: feed(src),
                    formula: *formula,
                },
            })
        };
        Plan {
            currency: self.currency.clone(),
            import: one(&self.import),
            export: one(&self.export),
            gas: one(&self.gas),
            water: one(&self.water),
            heat: one(&self.heat),
            fixed_per_day: self.fixed_per_day,
            ahead: self.ahead,
        }
    }
}

impl fmt::Display for Spec<FeedSource> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Spec::Fixed(p) => {
                let mut first = true;
                for (i, v) in p.iter().enumerate() {
                    let Some(v) = v else { continue };
                    let sep = if first { "" } else { ", " };
                    first = false;
                    match i {
                        0 => write!(f, "{sep}{v}")?,
                        t => write!(f, "{sep}tariff {t}: {v}")?,
                    }
                }
                Ok(())
            }
            Spec::Dynamic { feed, formula } => write!(
                f,
                "{feed} + markup {} + tax {}, VAT {}%",
                formula.markup,
                formula.tax,
                Nanos(formula.vat_ppm.saturating_mul(100_000))
            ),
        }
    }
}

impl fmt::Display for PlanConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sides = [
            ("electricity import per kWh", &self.import),
            ("electricity export per kWh", &self.export),
            ("gas per m3", &self.gas),
            ("water per m3", &self.water),
            ("heat per GJ", &self.heat),
        ];
        write!(f, "prices ({})", self.currency)?;
        for (what, s) in sides {
            if let Some(s) = s {
                write!(f, "; {what}: {s}")?;
            }
        }
        if let Some(d) = self.fixed_per_day {
            write!(f, "; fixed per day: {d}")?;
        }
        Ok(())
    }
}
