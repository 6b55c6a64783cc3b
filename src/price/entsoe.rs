//! ENTSO-E Transparency Platform day-ahead prices (documentType A44): the
//! query, and the `Publication_MarketDocument` it answers, parsed into
//! price intervals per kWh.
//!
//! A document has `TimeSeries`, each with `Period`s: a `timeInterval`
//! (start, end), a `resolution` (`PT15M` since the day-ahead market went
//! to quarter hours on 1 October 2025, `PT60M` before) and `Point`s of
//! `position` (1-based) and `price.amount` in EUR/MWh. With curveType A03
//! a point that repeats the previous price is left out: a missing
//! position takes the price before it, to the period's end. Where a
//! document has series of two resolutions for the same time, the finer
//! one wins. No data is an `Acknowledgement_MarketDocument` with a reason.
//!
//! Pure: [`parse`] is what the fuzz target calls.

use super::time::{entsoe_period, parse_rfc3339};
use crate::cost::money::parse_decimal;
use crate::cost::{Interval, Nanos, PriceTable};
use quick_xml::events::Event;
use quick_xml::Reader;
use thiserror::Error;

/// Most points in one period (a day of minutes, with room).
const MAX_POSITIONS: i64 = 2_000;
/// Most intervals in one document: a month of quarter hours.
const MAX_INTERVALS: usize = 3_000;
/// Deepest element nesting read.
const MAX_DEPTH: usize = 16;

/// Why a document gave no prices.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EntsoeError {
    /// Not well-formed XML.
    #[error("XML: {0}")]
    Xml(String),
    /// The platform answered with an acknowledgement: no data (yet), a bad
    /// token or a bad query, in its words.
    #[error("ENTSO-E says: {0}")]
    Acknowledgement(String),
    /// A value of the document that cannot be used.
    #[error("{0}")]
    Invalid(String),
}

/// The A44 query for `zone` covering `[from, to)` (Unix seconds), token
/// included: never log it.
pub fn query_url(base: &str, token: &str, zone: &str, from: i64, to: i64) -> String {
    format!(
        "{base}?securityToken={token}&documentType=A44&in_Domain={zone}&out_Domain={zone}&periodStart={}&periodEnd={}",
        entsoe_period(from),
        entsoe_period(to)
    )
}

/// One `Period` as read.
#[derive(Debug, Default)]
struct Period {
    start: Option<i64>,
    end: Option<i64>,
    resolution: Option<i64>,
    points: Vec<(i64, Nanos)>,
}

/// What the reader is inside of, and what it has gathered.
#[derive(Debug, Default)]
struct Doc {
    path: Vec<Vec<u8>>,
    text: String,
    ack: bool,
    reason: String,
    currency_ok: bool,
    unit_ok: bool,
    position: Option<i64>,
    amount: Option<Nanos>,
    period: Period,
    /// Intervals with their resolution, coarse ones merged first.
    out: Vec<(i64, Interval)>,
}

/// Parses a document into intervals of EUR per kWh (in nanos), sorted.
pub fn parse(xml: &str) -> Result<Vec<Interval>, EntsoeError> {
    let mut reader = Reader::from_str(xml);
    let mut doc = Doc {
        currency_ok: true,
        unit_ok: true,
        ..Doc::default()
    };
    loop {
        match reader.read_event() {
            Err(e) => return Err(EntsoeError::Xml(one_line(&e.to_string()))),
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                if doc.path.len() == MAX_DEPTH {
                    return Err(EntsoeError::Xml("nested too deep".to_owned()));
                }
                let name = e.local_name().as_ref().to_vec();
                if doc.path.is_empty() && name.starts_with(b"Acknowledgement") {
                    doc.ack = true;
                }
                doc.path.push(name);
                doc.text.clear();
            }
            Ok(Event::Text(t)) => {
                let s = t
                    .xml_content()
                    .map_err(|e| EntsoeError::Xml(e.to_string()))?;
                if doc.text.len() + s.len() <= 1_024 {
                    doc.text.push_str(&s);
                } else if !doc.text.ends_with('\u{fffd}') {
                    // Too long to be a value: spoilt, never cut short.
                    doc.text.push('\u{fffd}');
                }
            }
            // An entity inside a value spoils it; a value never has one.
            Ok(Event::GeneralRef(_)) => doc.text.push('\u{fffd}'),
            Ok(Event::End(_)) => {
                doc.end_element()?;
                doc.path.pop();
            }
            Ok(_) => {}
        }
    }
    if doc.ack {
        let reason = one_line(&doc.reason);
        return Err(EntsoeError::Acknowledgement(if reason.is_empty() {
            "no data".to_owned()
        } else {
            reason
        }));
    }
    // Coarse resolutions first, so a finer series over the same time wins.
    doc.out
        .sort_by_key(|(res, iv)| (std::cmp::Reverse(*res), iv.start));
    let mut table = PriceTable::default();
    let ivs: Vec<Interval> = doc.out.into_iter().map(|(_, iv)| iv).collect();
    for chunk in ivs.chunk_by(|a, b| a.end == b.start) {
        table.merge(chunk);
    }
    Ok(table.intervals().to_vec())
}

impl Doc {
    fn leaf(&self) -> (&[u8], &[u8]) {
        let n = self.path.len();
        let name = |i: usize| self.path.get(i).map_or(&b""[..], |v| v.as_slice());
        (name(n.wrapping_sub(1)), name(n.wrapping_sub(2)))
    }

    /// Handles the end of the element at the top of the path.
    fn end_element(&mut self) -> Result<(), EntsoeError> {
        let text = std::mem::take(&mut self.text);
        let v = text.trim();
        let invalid = |what: &str| EntsoeError::Invalid(format!("{what} {v:?}"));
        match self.leaf() {
            (b"text", b"Reason") if self.reason.len() < 1_024 => {
                self.reason.push(' ');
                self.reason.push_str(v);
            }
            (b"currency_Unit.name", b"TimeSeries") => self.currency_ok = v == "EUR",
            (b"price_Measure_Unit.name", b"TimeSeries") => self.unit_ok = v == "MWH",
            (b"start", b"timeInterval") => {
                self.period.start = Some(parse_rfc3339(v).ok_or_else(|| invalid("period start"))?);
            }
            (b"end", b"timeInterval") => {
                self.period.end = Some(parse_rfc3339(v).ok_or_else(|| invalid("period end"))?);
            }
            (b"resolution", b"Period") => {
                self.period.resolution =
                    Some(parse_resolution(v).ok_or_else(|| invalid("resolution"))?);
            }
            (b"position", b"Point") => {
                let p: i64 = v.parse().map_err(|_| invalid("position"))?;
                self.position = Some(p);
            }
            (b"price.amount", b"Point") => {
                // EUR/MWh is 10^-3 EUR/kWh: six digits after the point
                // make nanos per kWh.
                let n = parse_decimal(v, 6)
                    .map_err(|e| EntsoeError::Invalid(format!("price.amount {v:?}: {e}")))?;
                self.amount = Some(Nanos(n));
            }
            (b"Point", b"Period") => {
                let (Some(p), Some(a)) = (self.position.take(), self.amount.take()) else {
                    return Err(EntsoeError::Invalid(
                        "a Point without position or price.amount".to_owned(),
                    ));
                };
                if self.period.points.len() as i64 >= MAX_POSITIONS {
                    return Err(EntsoeError::Invalid(
                        "too many points in a period".to_owned(),
                    ));
                }
                self.period.points.push((p, a));
            }
            (b"Period", b"TimeSeries") => {
                let period = std::mem::take(&mut self.period);
                if !(self.currency_ok && self.unit_ok) {
                    return Err(EntsoeError::Invalid("prices not in EUR per MWh".to_owned()));
                }
                let res = period.resolution.unwrap_or(0);
                for iv in period.intervals()? {
                    if self.out.len() == MAX_INTERVALS {
                        return Err(EntsoeError::Invalid(
                            "too many prices in one document".to_owned(),
                        ));
                    }
                    self.out.push((res, iv));
                }
            }
            (b"TimeSeries", _) => {
                self.currency_ok = true;
                self.unit_ok = true;
            }
            _ => {}
        }
        Ok(())
    }
}

impl Period {
    /// Each position's interval: a missing position (curve A03) takes the
    /// price before it; the first position must be there.
    fn intervals(mut self) -> Result<Vec<Interval>, EntsoeError> {
        let invalid = |what: &str| EntsoeError::Invalid(what.to_owned());
        let (Some(start), Some(end), Some(res)) = (self.start, self.end, self.resolution) else {
            return Err(invalid(
                "a Period without timeInterval start, end or resolution",
            ));
        };
        if end <= start || (end - start) % res != 0 || (end - start) / res > MAX_POSITIONS {
            return Err(invalid(
                "a Period whose interval is not a whole number of its resolution",
            ));
        }
        let count = (end - start) / res;
        self.points.sort_by_key(|(p, _)| *p);
        if self.points.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(invalid("a Period with a position twice"));
        }
        match self.points.first() {
            Some((1, _)) => {}
            Some(_) => return Err(invalid("a Period whose first position is not 1")),
            None => return Ok(Vec::new()),
        }
        if self.points.last().is_some_and(|(p, _)| *p > count) {
            return Err(invalid("a position beyond the Period's end"));
        }
        let mut out = Vec::with_capacity(count as usize);
        let mut next = self.points.iter().peekable();
        let mut price = Nanos(0);
        for pos in 1..=count {
            if let Some((_, p)) = next.next_if(|(p, _)| *p == pos) {
                price = *p;
            }
            let s = start + (pos - 1) * res;
            out.push(Interval {
                start: s,
                end: s + res,
                price,
            });
        }
        Ok(out)
    }
}

/// quick-xml's messages quote the document (newlines and all): one line
/// of at most 200 characters, for the log.
fn one_line(message: &str) -> String {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

/// `PT15M`, `PT60M`, `PT1H`, `P1D` in seconds.
fn parse_resolution(s: &str) -> Option<i64> {
    let (n, unit) = if let Some(rest) = s.strip_prefix("PT") {
        let unit = match rest.as_bytes().last()? {
            b'M' => 60,
            b'H' => 3_600,
            _ => return None,
        };
        (&rest[..rest.len() - 1], unit)
    } else {
        (s.strip_prefix('P')?.strip_suffix('D')?, 86_400)
    };
    let n: i64 = n.parse().ok().filter(|n| (1..=1_440).contains(n))?;
    Some(n * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(resolution: &str, points: &[(u32, &str)], start: &str, end: &str) -> String {
        let pts: String = points
            .iter()
            .map(|(p, a)| {
                format!("<Point><position>{p}</position><price.amount>{a}</price.amount></Point>")
            })
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3">
<TimeSeries><currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH</price_Measure_Unit.name><curveType>A03</curveType>
<Period><timeInterval><start>{start}</start><end>{end}</end></timeInterval><resolution>{resolution}</resolution>{pts}</Period>
</TimeSeries></Publication_MarketDocument>"#
        )
    }

    #[test]
    fn a03_fills_left_out_positions_with_the_price_before() {
        let xml = doc(
            "PT15M",
            &[(1, "93.07"), (3, "-1.5")],
            "2025-10-01T22:00Z",
            "2025-10-01T23:00Z",
        );
        let ivs = parse(&xml).unwrap();
        let prices: Vec<i64> = ivs.iter().map(|iv| iv.price.0).collect();
        assert_eq!(prices, [93_070_000, 93_070_000, -1_500_000, -1_500_000]);
        assert_eq!(ivs[0].start, 1_759_356_000);
        assert_eq!(ivs[3].end, 1_759_359_600);
    }

    #[test]
    fn bad_documents_are_refused_with_a_reason() {
        let ack = "<Acknowledgement_MarketDocument><Reason><code>999</code><text>No matching data found</text></Reason></Acknowledgement_MarketDocument>";
        assert_eq!(
            parse(ack),
            Err(EntsoeError::Acknowledgement(
                "No matching data found".into()
            ))
        );
        let gap = doc(
            "PT15M",
            &[(2, "1")],
            "2025-10-01T22:00Z",
            "2025-10-01T23:00Z",
        );
        assert!(parse(&gap).is_err());
        let beyond = doc(
            "PT60M",
            &[(1, "1"), (2, "2")],
            "2025-10-01T22:00Z",
            "2025-10-01T23:00Z",
        );
        assert!(parse(&beyond).is_err());
        assert!(parse("<a><b>").is_err() || parse("<a><b>").is_ok_and(|v| v.is_empty()));
        // quick-xml quotes the document in some messages, and a reason may
        // have lines (found by the fuzz target): an error stays one line.
        let crash = include_str!("../../fuzz/regressions/entsoe_xml/error-quoting-the-document");
        let e = parse(crash).unwrap_err().to_string();
        assert!(e.starts_with("XML: ") && !e.contains('\n'), "{e}");
        let crash = include_str!("../../fuzz/regressions/entsoe_xml/reason-of-two-lines");
        let e = parse(crash).unwrap_err().to_string();
        assert!(
            e.starts_with("ENTSO-E says: No matching") && !e.contains('\n'),
            "{e}"
        );
        let usd = doc(
            "PT60M",
            &[(1, "1")],
            "2025-10-01T22:00Z",
            "2025-10-01T23:00Z",
        )
        .replace(">EUR<", ">USD<");
        assert!(parse(&usd).is_err());
    }

    #[test]
    fn the_finer_series_wins_where_two_overlap() {
        let hourly = doc(
            "PT60M",
            &[(1, "100")],
            "2025-10-01T22:00Z",
            "2025-10-01T23:00Z",
        );
        let quarter = doc(
            "PT15M",
            &[(1, "50")],
            "2025-10-01T22:00Z",
            "2025-10-01T23:00Z",
        );
        let body = |d: &str| {
            let i = d.find("<TimeSeries>").unwrap();
            let j = d.find("</Publication_MarketDocument>").unwrap();
            d[i..j].to_owned()
        };
        let both = format!(
            "<Publication_MarketDocument>{}{}</Publication_MarketDocument>",
            body(&quarter),
            body(&hourly)
        );
        let ivs = parse(&both).unwrap();
        assert_eq!(ivs.len(), 4);
        assert!(ivs.iter().all(|iv| iv.price == Nanos(50_000_000)));
        assert_eq!(parse_resolution("PT60M"), Some(3600));
        assert_eq!(parse_resolution("PT0M"), None);
    }
}
