//! What the price-file targets check of a parser (included by `#[path]`
//! in each): any UTF-8 text in; the same answer twice; a success is a
//! table (each interval non-empty, in order, none overlapping, at most
//! `max`); an error is one line.

use dsmr_exporter::cost::Interval;
use std::fmt::{Debug, Display};

/// Runs `parse` on `data` (when it is UTF-8) and checks its answer.
pub fn check_parser<E>(data: &[u8], max: usize, parse: impl Fn(&str) -> Result<Vec<Interval>, E>)
where
    E: Display + Debug + PartialEq,
{
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = parse(text);
    assert_eq!(first, parse(text), "not deterministic");
    check(&first, max);
}

/// A table of at most `max` intervals, or an error of one line.
fn check(r: &Result<Vec<Interval>, impl Display>, max: usize) {
    match r {
        Ok(ivs) => {
            assert!(ivs.len() <= max, "{} rows", ivs.len());
            for iv in ivs {
                assert!(iv.start < iv.end, "empty interval {iv:?}");
            }
            for w in ivs.windows(2) {
                assert!(w[0].end <= w[1].start, "overlap {w:?}");
            }
        }
        Err(e) => assert!(!e.to_string().contains('\n'), "error of two lines: {e}"),
    }
}
