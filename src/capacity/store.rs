//! The state file: the monthly peaks the exporter recorded, so a restart
//! keeps the rolling average of a meter that sends no peak history.
//!
//! A small text file, one month a line (`2023-10 4927000`: the month and
//! its peak in milliwatts) under a version line. It is written to a
//! temporary file beside it, synced, then renamed over the old one, so a
//! crash leaves the old file or the new one, never half of either.

use super::months::{Month, MonthPeaks};
use crate::small_file::read_to_string_limited;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The first line of the file.
const VERSION_LINE: &str = "# dsmr-exporter capacity peaks v1 (month, peak in milliwatts)";

/// A file larger than this is not one of ours.
const MAX_BYTES: u64 = 64 * 1024;

/// A state file that could not be read or written.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The file system refused.
    #[error("capacity state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The text is not a state file.
    #[error("capacity state file {path}: line {line}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// What is wrong there.
        reason: &'static str,
    },
}

/// Reads the peaks in `path`; a file that does not exist yet holds none.
pub fn load(path: &Path) -> Result<MonthPeaks, StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(MonthPeaks::default()),
        Err(e) => return Err(io(e)),
        Ok(m) if m.len() > MAX_BYTES => {
            return Err(StoreError::Format {
                path: path.to_owned(),
                line: 1,
                reason: "larger than 64 KiB: not a capacity state file",
            })
        }
        Ok(_) => {}
    }
    let text = read_to_string_limited(path, MAX_BYTES).map_err(io)?;
    parse(&text).map_err(|(line, reason)| StoreError::Format {
        path: path.to_owned(),
        line,
        reason,
    })
}

/// The peaks in `text`, or the line (1-based) that is wrong and why.
pub fn parse(text: &str) -> Result<MonthPeaks, (usize, &'static str)> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, l)) if l.trim() == VERSION_LINE => {}
        _ => return Err((1, "not a capacity state file (first line)")),
    }
    let mut peaks = MonthPeaks::default();
    for (i, line) in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (month, mw) = line
            .split_once(' ')
            .ok_or((i + 1, "expected `YYYY-MM milliwatts`"))?;
        let month = Month::parse(month).ok_or((i + 1, "expected a month as YYYY-MM"))?;
        let mw: i64 = mw
            .trim()
            .parse()
            .ok()
            .filter(|mw| (0..=1_000_000_000_000).contains(mw))
            .ok_or((i + 1, "expected a peak in milliwatts, 0 to 10^12"))?;
        peaks.raise(month, mw);
    }
    Ok(peaks)
}

/// The text of `peaks`.
pub fn render(peaks: &MonthPeaks) -> String {
    let mut out = format!("{VERSION_LINE}\n");
    for (month, mw) in peaks.iter() {
        let _ = writeln!(out, "{} {mw}", month.label());
    }
    out
}

/// Writes `peaks` to `path` atomically: a temporary file in the same
/// folder, synced, then renamed over `path`.
pub fn save(path: &Path, peaks: &MonthPeaks) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(render(peaks).as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_reads_back() {
        let mut p = MonthPeaks::default();
        p.raise(Month::new(2023, 10), 4_927_000);
        p.raise(Month::new(2023, 11), 0);
        let text = render(&p);
        assert_eq!(
            text,
            format!("{VERSION_LINE}\n2023-10 4927000\n2023-11 0\n")
        );
        assert_eq!(parse(&text), Ok(p));
    }

    #[test]
    fn a_bad_file_names_its_line() {
        assert_eq!(parse("hello\n").unwrap_err().0, 1);
        let bad = format!("{VERSION_LINE}\n2023-10 5\n2023-13 5\n");
        assert_eq!(parse(&bad).unwrap_err().0, 3);
        let bad = format!("{VERSION_LINE}\n2023-10 -5\n");
        assert_eq!(parse(&bad).unwrap_err().0, 2);
        let bad = format!("{VERSION_LINE}\n2023-10\n");
        assert_eq!(parse(&bad).unwrap_err().0, 2);
    }

    #[test]
    fn save_replaces_the_file_whole() {
        let dir = std::env::temp_dir().join(format!("dsmr-capacity-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("peaks");
        assert_eq!(load(&path).unwrap(), MonthPeaks::default());
        let mut p = MonthPeaks::default();
        p.raise(Month::new(2024, 1), 3_000_000);
        save(&path, &p).unwrap();
        p.raise(Month::new(2024, 2), 1);
        save(&path, &p).unwrap();
        assert_eq!(load(&path).unwrap(), p);
        assert!(!dir.join("peaks.tmp").exists());
        std::fs::write(&path, "junk").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("line 1"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
