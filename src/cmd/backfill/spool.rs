//! The spool: one temporary file per series, each sample a few bytes
//! (time delta, then the value or "same as before"), so that memory stays
//! bounded by the number of series, never by the length of the log.

use super::options::{BackfillError, MAX_SERIES, READ_BLOCK, SPOOL_BUFFER};
use crate::metrics::{Family, Sample, Value};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// One series and its spool file.
///
/// The spool holds compact records, not text: the series' name and labels
/// would be most of every line, and the spool's writes and reads cost more
/// than the conversion. A record is a tag byte, the time as a delta to the
/// series' previous sample (varint), then the value: a zigzag varint
/// ([`TAG_INT`]), 8 bytes of an `f64` ([`TAG_FLOAT`]), or nothing when it is
/// the previous sample's value ([`TAG_SAME`], most registers most of the time).
pub(super) struct Series {
    pub(super) fam: Family,
    pub(super) labels: Vec<(&'static str, Box<str>)>,
    /// `name{labels}`, written before each value.
    pub(super) key: Box<str>,
    pub(super) file: BufWriter<File>,
    pub(super) path: PathBuf,
    /// Time and value of the last sample spooled: a repeated time is
    /// written once, and times and values are spooled as differences.
    pub(super) last: Option<(i64, Value)>,
}

pub(super) const TAG_INT: u8 = 0;
pub(super) const TAG_FLOAT: u8 = 1;
pub(super) const TAG_SAME: u8 = 2;

impl Series {
    /// Whether `s` belongs to this series.
    pub(super) fn is(&self, s: &Sample<'_>) -> bool {
        self.fam == s.family()
            && self
                .labels
                .iter()
                .map(|(k, v)| (*k, &**v))
                .eq(s.labels().iter())
    }

    /// Spools one sample; times only increase (the caller skips the rest).
    pub(super) fn write(&mut self, time: i64, value: Value) -> Result<(), BackfillError> {
        let mut rec = [0u8; 1 + 10 + 10];
        let (prev_time, same) = match self.last {
            Some((t, v)) => (t, v == value),
            None => (0, false),
        };
        let mut n = 1;
        n += put_varint(&mut rec[n..], time.abs_diff(prev_time));
        rec[0] = match value {
            _ if same => TAG_SAME,
            Value::Int(v) => {
                n += put_varint(&mut rec[n..], ((v << 1) ^ (v >> 63)) as u64);
                TAG_INT
            }
            Value::Float(v) => {
                rec[n..n + 8].copy_from_slice(&v.to_le_bytes());
                n += 8;
                TAG_FLOAT
            }
        };
        self.last = Some((time, value));
        self.file
            .write_all(&rec[..n])
            .map_err(|source| BackfillError::Spool {
                path: self.path.clone(),
                source,
            })
    }
}

/// LEB128: seven bits a byte, low first; returns the bytes used.
pub(super) fn put_varint(buf: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        buf[i] = v as u8 | 0x80;
        v >>= 7;
        i += 1;
    }
    buf[i] = v as u8;
    i + 1
}

pub(super) fn damaged() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "spool record damaged")
}

/// A buffered reader of spool records.
pub(super) struct Records<'f> {
    file: &'f mut File,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

impl<'f> Records<'f> {
    pub(super) fn new(file: &'f mut File) -> Records<'f> {
        Records {
            file,
            buf: vec![0; READ_BLOCK],
            pos: 0,
            len: 0,
        }
    }

    /// The next byte; `None` at the end of the file.
    pub(super) fn byte(&mut self) -> io::Result<Option<u8>> {
        if self.pos == self.len {
            self.pos = 0;
            self.len = loop {
                match self.file.read(&mut self.buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r?,
                }
            };
            if self.len == 0 {
                return Ok(None);
            }
        }
        self.pos += 1;
        Ok(Some(self.buf[self.pos - 1]))
    }

    /// A byte that must be there.
    pub(super) fn need(&mut self) -> io::Result<u8> {
        self.byte()?.ok_or_else(damaged)
    }

    pub(super) fn varint(&mut self) -> io::Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.need()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(damaged())
    }

    pub(super) fn array(&mut self) -> io::Result<[u8; 8]> {
        let mut a = [0; 8];
        for b in &mut a {
            *b = self.need()?;
        }
        Ok(a)
    }
}

/// The temporary directory of spool files; removed when dropped, so also
/// on error. There is no flag for its place: it is a fresh directory under
/// `TMPDIR`, as [`tempfile::Builder`] makes it (mode 0700, a unique name).
pub(super) struct Spool {
    /// `None` only while being removed in `drop`.
    dir: Option<tempfile::TempDir>,
    pub(super) series: Vec<Series>,
    pub(super) index: HashMap<Box<str>, u32>,
}

impl Spool {
    /// A new, empty directory under the system's temporary directory.
    pub(super) fn create() -> Result<Spool, BackfillError> {
        let dir = tempfile::Builder::new()
            .prefix("dsmr-backfill-")
            .tempdir()
            .map_err(|source| BackfillError::Spool {
                path: std::env::temp_dir(),
                source,
            })?;
        Ok(Spool {
            dir: Some(dir),
            series: Vec::new(),
            index: HashMap::new(),
        })
    }

    /// Where the spool files are.
    fn dir(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new(""), |d| d.path())
    }

    /// The series of `s`, created (with its file) on first sight.
    pub(super) fn lookup(
        &mut self,
        s: &Sample<'_>,
        key: &mut String,
    ) -> Result<u32, BackfillError> {
        key.clear();
        series_key(s, key);
        if let Some(&idx) = self.index.get(key.as_str()) {
            return Ok(idx);
        }
        if self.series.len() >= MAX_SERIES {
            return Err(BackfillError::TooManySeries { limit: MAX_SERIES });
        }
        let idx = self.series.len() as u32;
        let path = self.dir().join(format!("{idx}.spool"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| BackfillError::Spool {
                path: path.clone(),
                source,
            })?;
        self.series.push(Series {
            fam: s.family(),
            labels: s.labels().iter().map(|(k, v)| (k, v.into())).collect(),
            key: key.as_str().into(),
            file: BufWriter::with_capacity(SPOOL_BUFFER, file),
            path,
            last: None,
        });
        self.index.insert(key.as_str().into(), idx);
        Ok(idx)
    }
}

impl Drop for Spool {
    /// Closes the files, then removes the directory; a failure is logged,
    /// not fatal (the output is complete by then, or the error is the cause).
    fn drop(&mut self) {
        self.series.clear();
        let Some(dir) = self.dir.take() else { return };
        let path = dir.path().to_owned();
        if let Err(e) = dir.close() {
            tracing::warn!("could not remove the spool {}: {e}", path.display());
        }
    }
}

/// `name{k="v",…}` with label values escaped as OpenMetrics wants.
pub(super) fn series_key(s: &Sample<'_>, key: &mut String) {
    key.push_str(s.family().name());
    key.push('{');
    for (i, (k, v)) in s.labels().iter().enumerate() {
        if i > 0 {
            key.push(',');
        }
        key.push_str(k);
        key.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => key.push_str("\\\\"),
                '"' => key.push_str("\\\""),
                '\n' => key.push_str("\\n"),
                c => key.push(c),
            }
        }
        key.push('"');
    }
    key.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spool_directory_goes_with_the_spool() {
        let spool = Spool::create().expect("a spool");
        let dir = spool.dir().to_owned();
        assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
        std::fs::write(dir.join("0.spool"), b"\x02\x00").expect("a spool file");
        drop(spool);
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
}
