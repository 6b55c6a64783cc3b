//! Helpers shared by the engine's integration tests: the workspace's corpus
//! in fixtures/, Smarty frames sealed independently of the deframer, and a
//! per-thread allocation counter.
#![allow(dead_code)] // each test binary uses its own subset

pub mod counting;
mod fixtures;
#[cfg(feature = "smarty")]
pub mod smarty;

#[allow(unused_imports)] // as dead_code above
pub use fixtures::{fixture, hex_fixture};

use std::path::{Path, PathBuf};

/// The corpus lives once, in the workspace's top-level fixtures/
/// (`fixture` reads from here).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}
