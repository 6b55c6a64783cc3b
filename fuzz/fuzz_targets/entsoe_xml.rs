//! Any text as an ENTSO-E answer, through `price::entsoe::parse` (what the
//! ENTSO-E feed calls on the platform's body). Checked beyond "no panic":
//! deterministic; a success is a table: intervals non-empty, in order,
//! none overlapping, at most 3 000; an error is one line.
#![no_main]

use dsmr_exporter::price::entsoe::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = parse(text);
    assert_eq!(first, parse(text), "not deterministic");
    match &first {
        Ok(ivs) => {
            assert!(ivs.len() <= 3_000, "{} intervals", ivs.len());
            for iv in ivs {
                assert!(iv.start < iv.end, "empty interval {iv:?}");
            }
            for w in ivs.windows(2) {
                assert!(w[0].end <= w[1].start, "overlap {w:?}");
            }
        }
        Err(e) => assert!(!e.to_string().contains('\n'), "error of two lines: {e}"),
    }
});
