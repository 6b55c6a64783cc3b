//! The check of a state file the exporter writes and reads back (the cost
//! file, the price store): any text as the file; reading is deterministic,
//! and what it reads, written back, is at most `max` bytes and reads back
//! the same.

use std::fmt::Debug;

/// Reads `data` (UTF-8 only) with `parse`; writes a success with `format`.
pub fn check<T, E>(
    data: &[u8],
    parse: impl Fn(&str) -> Result<T, E>,
    format: impl Fn(&T) -> String,
    max: u64,
) where
    T: PartialEq + Debug,
    E: PartialEq + Debug,
{
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = parse(text);
    assert_eq!(first, parse(text), "not deterministic");
    if let Ok(read) = first {
        let back = format(&read);
        assert!(back.len() as u64 <= max, "writes what it would refuse");
        assert_eq!(parse(&back), Ok(read), "does not read back");
    }
}
