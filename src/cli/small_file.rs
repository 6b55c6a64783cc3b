//! Reading the small files a configuration names (keys, tokens): at most a
//! few KiB, so that a path to `/dev/zero` or a log file by mistake is an
//! error at start, not a process that grows until it is killed.

use std::io::{self, Read};
use std::path::Path;

/// Bigger than any key or token file; small enough to read at once.
pub(crate) const SMALL_FILE_LIMIT: u64 = 4096;

/// The file's text, or an error when it cannot be read, is not UTF-8 or is
/// longer than [`SMALL_FILE_LIMIT`] bytes.
pub(crate) fn read_small(path: &Path) -> io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(SMALL_FILE_LIMIT + 1).read_to_string(&mut text)?;
    if text.len() as u64 > SMALL_FILE_LIMIT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("longer than {SMALL_FILE_LIMIT} bytes, so not a key or token file"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_after_the_limit() {
        let e = read_small(Path::new("/dev/zero")).expect_err("/dev/zero is endless");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("longer than 4096 bytes"), "{e}");
    }

    #[test]
    fn a_key_file_is_read_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key");
        std::fs::write(&path, "00112233445566778899AABBCCDDEEFF\n").expect("write");
        let text = read_small(&path).expect("reads");
        assert_eq!(text, "00112233445566778899AABBCCDDEEFF\n");
    }
}
