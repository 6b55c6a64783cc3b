//! Reading the files a configuration names (the config file, keys, tokens,
//! certificates, state files) at most so deep: a path to `/dev/zero`, a
//! FIFO that never ends or a log file given by mistake is an error at
//! start, not a process that grows until it is killed.

use std::io::{self, Read};
use std::path::Path;

/// Bigger than any key or token file.
pub const KEY_FILE_LIMIT: u64 = 4096;

/// Bigger than any configuration or state file a person writes.
pub const CONFIG_FILE_LIMIT: u64 = 4 << 20;

/// The file's bytes, or an error when it cannot be read or is longer than
/// `limit` bytes (the error says so, for the message that names the file).
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("longer than {limit} bytes: not the file expected here"),
        ));
    }
    Ok(bytes)
}

/// [`read_limited`], as UTF-8 text.
pub fn read_to_string_limited(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_limited(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_refused_after_the_limit() {
        let e = read_limited(Path::new("/dev/zero"), KEY_FILE_LIMIT).expect_err("endless");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(e.to_string().contains("longer than 4096 bytes"), "{e}");
    }

    #[test]
    fn a_file_within_the_limit_is_read_whole() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key");
        std::fs::write(&path, "00112233445566778899AABBCCDDEEFF\n").expect("write");
        let text = read_to_string_limited(&path, 33).expect("reads");
        assert_eq!(text, "00112233445566778899AABBCCDDEEFF\n");
        let e = read_to_string_limited(&path, 32).expect_err("one byte over");
        assert!(e.to_string().contains("longer than 32 bytes"), "{e}");
    }
}
