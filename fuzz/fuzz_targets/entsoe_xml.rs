//! Any text as an ENTSO-E answer, through `price::entsoe::parse` (what the
//! ENTSO-E feed calls on the platform's body). Checked beyond "no panic":
//! deterministic; a success is a table: intervals non-empty, in order,
//! none overlapping, at most 3 000; an error is one line.
#![no_main]

#[path = "common/price_table.rs"]
mod price_table;

use dsmr_exporter::price::entsoe::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| price_table::check_parser(data, 3_000, parse));
