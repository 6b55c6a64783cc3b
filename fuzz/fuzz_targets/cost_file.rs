//! Any text as a meter's cost file (the totals kept in the state directory
//! across restarts), through `cost::saved::parse`. Checked beyond "no
//! panic": deterministic; what it reads is written back by `saved::format`
//! to a text that reads back the same, within the size a file may have.
#![no_main]

#[path = "common/round_trip.rs"]
mod round_trip;

use dsmr_exporter::cost::saved::{format, parse, MAX_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    round_trip::check(data, parse, format, MAX_BYTES);
});
