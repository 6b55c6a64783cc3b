//! Any text as the price store (`start,end,price` lines kept in the state
//! directory), through `price::store::parse`. Checked beyond "no panic":
//! deterministic; what it reads is written back by `store::format` to a
//! text that reads back the same, within the size a store may have.
#![no_main]

#[path = "common/round_trip.rs"]
mod round_trip;

use dsmr_exporter::price::store::{format, parse, MAX_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    round_trip::check(data, parse, |ivs: &Vec<_>| format(ivs), MAX_BYTES);
});
