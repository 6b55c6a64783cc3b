//! Any text as the price store (`start,end,price` lines kept in the state
//! directory), through `price::store::parse`. Checked beyond "no panic":
//! deterministic; what it reads is written back by `store::format` to a
//! text that reads back the same.
#![no_main]

use dsmr_exporter::price::store::{format, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = parse(text);
    assert_eq!(first, parse(text), "not deterministic");
    if let Ok(ivs) = first {
        assert_eq!(parse(&format(&ivs)), Ok(ivs), "does not read back");
    }
});
