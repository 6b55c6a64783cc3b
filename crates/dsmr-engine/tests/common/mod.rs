//! Helpers shared by the engine's integration tests: the workspace's corpus
//! in fixtures/, Smarty frames sealed independently of the deframer, and a
//! per-thread allocation counter.
#![allow(dead_code)] // each test binary uses its own subset

pub mod counting;
#[cfg(feature = "smarty")]
pub mod smarty;

use std::path::{Path, PathBuf};

/// The corpus lives once, in the workspace's top-level fixtures/.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture written as whitespace-separated hex bytes (the Smarty vectors).
pub fn hex_fixture(name: &str) -> Vec<u8> {
    let text = String::from_utf8(fixture(name)).expect("hex fixture is ASCII");
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}
