//! Reading the corpus: the engine's tests and the exporter's (whose
//! tests/common includes this file by path) share it; each finds the
//! folder with its own `fixtures_dir`.

use super::fixtures_dir;

/// The bytes of fixture `name`; a missing one fails with its path.
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
