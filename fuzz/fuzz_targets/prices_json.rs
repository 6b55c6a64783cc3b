//! Any text as a JSON price file (`[{"start": …, "price": …}]`), through
//! `price::rows::parse_json` (what a `file` or `url` feed calls). Checked
//! beyond "no panic": deterministic; a success is a table: each
//! interval non-empty, in order, none overlapping, at most `MAX_ROWS`;
//! an error is one line.
#![no_main]

#[path = "common/price_table.rs"]
mod price_table;

use dsmr_exporter::price::rows::{parse_json, MAX_ROWS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| price_table::check_parser(data, MAX_ROWS, parse_json));
