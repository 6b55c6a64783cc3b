//! The generic price format: rows of `start,price` in CSV or JSON, each
//! price (per kWh, m³ or GJ, in the plan's currency) in force from its
//! start to the next row's. A supplier's export or a user's script writes
//! it.
//!
//! ```text
//! # start,price          (a header line and # comments are skipped)
//! 2025-10-02T00:00:00+02:00,0.2512
//! 2025-10-02T00:15:00+02:00,0.2498
//! ```
//!
//! ```json
//! [{"start": "2025-10-02T00:00:00+02:00", "price": 0.2512}, …]
//! ```
//!
//! Prices are exact decimals (JSON numbers are read from their text).
//! Pure: [`parse_csv`] and [`parse_json`] are what the fuzz targets call.

use super::time::parse_rfc3339;
use crate::cost::money::{parse_decimal, NANO_DIGITS};
use crate::cost::table::{rows_to_intervals, Interval};
use crate::cost::Nanos;
use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

/// Most rows in one file: 15-minute prices for three months.
pub const MAX_ROWS: usize = crate::cost::table::MAX_INTERVALS;
/// How long the last row lasts when it is the only one: an hour.
pub const LONE_ROW: i64 = 3_600;

/// Why a price file was refused (whole: a partly read file is no table).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RowsError {
    /// A line that is not `start,price`.
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    /// The JSON is not an array of `{"start", "price"}` objects.
    #[error("JSON: {0}")]
    Json(String),
    /// A row at or before the one above it.
    #[error("row {0}: starts at or before the row above it (rows must be in time order)")]
    Order(usize),
    /// More than [`MAX_ROWS`].
    #[error("more than {MAX_ROWS} rows")]
    TooMany,
}

/// Parses CSV rows (`,` or `;` between the fields) into intervals.
pub fn parse_csv(text: &str) -> Result<Vec<Interval>, RowsError> {
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: String| RowsError::Line { line: i + 1, why };
        let Some((start, price)) = line.split_once([',', ';']) else {
            return Err(bad("expected start,price".to_owned()));
        };
        let start = start.trim().trim_matches('"');
        let Some(at) = parse_rfc3339(start) else {
            // A header line first: `start,price` or alike.
            if rows.is_empty() && !start.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            return Err(bad(format!("start {start:?} is not an RFC 3339 time")));
        };
        let price = price.trim().trim_matches('"');
        let nanos =
            parse_decimal(price, NANO_DIGITS).map_err(|e| bad(format!("price {price:?}: {e}")))?;
        if rows.len() == MAX_ROWS {
            return Err(RowsError::TooMany);
        }
        rows.push((at, Nanos(nanos)));
    }
    rows_to_intervals(&rows, LONE_ROW).map_err(|i| RowsError::Order(i + 1))
}

#[derive(Deserialize)]
struct JsonRow<'a> {
    start: String,
    #[serde(borrow)]
    price: &'a RawValue,
}

/// Parses a JSON array of `{"start": "…", "price": 0.25}` objects (a
/// price may be a string too) into intervals.
pub fn parse_json(text: &str) -> Result<Vec<Interval>, RowsError> {
    let json: Vec<JsonRow<'_>> =
        serde_json::from_str(text).map_err(|e| RowsError::Json(e.to_string()))?;
    if json.len() > MAX_ROWS {
        return Err(RowsError::TooMany);
    }
    let mut rows = Vec::with_capacity(json.len());
    for (i, r) in json.iter().enumerate() {
        let bad = |why: String| RowsError::Json(format!("row {}: {why}", i + 1));
        let at = parse_rfc3339(&r.start)
            .ok_or_else(|| bad(format!("start {:?} is not an RFC 3339 time", r.start)))?;
        let raw = r.price.get();
        let text = raw
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(raw);
        let nanos =
            parse_decimal(text, NANO_DIGITS).map_err(|e| bad(format!("price {raw:?}: {e}")))?;
        rows.push((at, Nanos(nanos)));
    }
    rows_to_intervals(&rows, LONE_ROW).map_err(|i| RowsError::Order(i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_with_a_header_comments_and_semicolons() {
        let text = "start,price\n# a comment\n2025-10-01T22:00:00Z,0.25\n\n2025-10-01T22:15:00Z;\"-0.01\"\n";
        let ivs = parse_csv(text).unwrap();
        assert_eq!(ivs.len(), 2);
        assert_eq!(ivs[0].price, Nanos(250_000_000));
        assert_eq!((ivs[1].start, ivs[1].end), (1_759_356_900, 1_759_357_800));
        assert_eq!(ivs[1].price, Nanos(-10_000_000));
    }

    #[test]
    fn csv_errors_name_the_line() {
        let e = parse_csv("2025-10-01T22:00:00Z,0.25\nyesterday,1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: start \"yesterday\" is not an RFC 3339 time"
        );
        let e = parse_csv("2025-10-01T22:00:00Z,cheap\n").unwrap_err();
        assert!(e.to_string().starts_with("line 1: price \"cheap\""), "{e}");
        let e = parse_csv("2025-10-01T22:15:00Z,1\n2025-10-01T22:00:00Z,1\n").unwrap_err();
        assert_eq!(e, RowsError::Order(2));
    }

    #[test]
    fn json_rows_keep_the_decimal_as_written() {
        let text = r#"[{"start":"2025-10-01T22:00:00Z","price":0.1},{"start":"2025-10-01T23:00:00Z","price":"0.30000000"}]"#;
        let ivs = parse_json(text).unwrap();
        assert_eq!(ivs[0].price, Nanos(100_000_000));
        assert_eq!(ivs[1].price, Nanos(300_000_000));
        assert_eq!(ivs[1].end - ivs[1].start, 3_600);
        assert!(parse_json(r#"{"start":1}"#).is_err());
        assert!(parse_json(r#"[{"start":"2025-10-01T22:00:00Z","price":true}]"#).is_err());
        let e = parse_json("[{\"start\":\"2025-10-01T22:00:00Z\",\"price\":[1,\n2]}]").unwrap_err();
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
