//! Any text as a meter's cost file (the totals kept in the state directory
//! across restarts), through `cost::saved::parse`. Checked beyond "no
//! panic": deterministic; what it reads is written back by `saved::format`
//! to a text that reads back the same, within the size a file may have.
#![no_main]

use dsmr_exporter::cost::saved::{format, parse, MAX_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = parse(text);
    assert_eq!(first, parse(text), "not deterministic");
    if let Ok(saved) = first {
        let back = format(&saved);
        assert!(
            back.len() as u64 <= MAX_BYTES,
            "writes what it would refuse"
        );
        assert_eq!(parse(&back), Ok(saved), "does not read back");
    }
});
