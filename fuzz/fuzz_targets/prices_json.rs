//! Any text as a JSON price file (`[{"start": …, "price": …}]`), through
//! `price::rows::parse_json` (what a `file` or `url` feed calls). Checked
//! beyond "no panic": deterministic; a success is a table: each
//! interval non-empty, in order, none overlapping, at most `MAX_ROWS`;
//! an error is one line.
#![no_main]

use dsmr_exporter::cost::Interval;
use dsmr_exporter::price::rows::{parse_json, MAX_ROWS};
use libfuzzer_sys::fuzz_target;

fn check(r: &Result<Vec<Interval>, impl std::fmt::Display>, max: usize) {
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = parse_json(text);
    assert_eq!(first, parse_json(text), "not deterministic");
    check(&first, MAX_ROWS);
});
