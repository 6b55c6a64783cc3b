//! Fetched prices kept across restarts: one small file per feed in the
//! state directory, `start,end,price` lines (UTC, price per unit before
//! any formula), written atomically (a temporary file, synced, renamed
//! over the old one), so a crash leaves the old file or the new one.

use super::time::{format_utc, parse_rfc3339};
use crate::cost::money::{parse_decimal, NANO_DIGITS};
use crate::cost::{FeedSource, Interval, Nanos};
use crate::small_file::read_to_string_limited;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The most a store file may hold: a feed keeps at most
/// [`MAX_INTERVALS`](crate::cost::table::MAX_INTERVALS) intervals of at most
/// 64 bytes a line (two UTC times and an 18-digit price), 640 kB. A longer
/// file is not one this exporter wrote, and is not read.
pub const MAX_BYTES: u64 = 1 << 20;

/// The store file of `source` in `dir`; `None` for a local file, which is
/// its own store.
pub fn path_for(dir: &Path, source: &FeedSource) -> Option<PathBuf> {
    let name = match source {
        FeedSource::Entsoe { zone } => format!("prices-entsoe-{zone}.csv"),
        FeedSource::Url { url, .. } => format!("prices-url-{:016x}.csv", fnv1a(url.as_bytes())),
        FeedSource::File { .. } => return None,
    };
    Some(dir.join(name))
}

/// A stable name for a URL (FNV-1a, 64 bits): the same across versions.
fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The store's text of `intervals`.
pub fn format(intervals: &[Interval]) -> String {
    let mut out = String::from("# start,end,price (dsmr-exporter price store)\n");
    for iv in intervals {
        out.push_str(&format!(
            "{},{},{}\n",
            format_utc(iv.start),
            format_utc(iv.end),
            iv.price
        ));
    }
    out
}

/// Reads the store's text back; the line number of the first bad line.
pub fn parse(text: &str) -> Result<Vec<Interval>, usize> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut f = line.split(',');
        let mut next = || f.next().map(str::trim);
        let iv = (|| {
            let start = parse_rfc3339(next()?)?;
            let end = parse_rfc3339(next()?)?;
            let price = parse_decimal(next()?, NANO_DIGITS).ok()?;
            (end > start).then_some(Interval {
                start,
                end,
                price: Nanos(price),
            })
        })();
        match iv {
            Some(iv) if out.len() < crate::cost::table::MAX_INTERVALS => out.push(iv),
            Some(_) => break,
            None => return Err(i + 1),
        }
    }
    Ok(out)
}

/// Loads a store file; nothing (and a warning) when it is unreadable.
pub fn load(path: &Path) -> Vec<Interval> {
    match read_to_string_limited(path, MAX_BYTES) {
        Ok(text) => parse(&text).unwrap_or_else(|line| {
            tracing::warn!(file = %path.display(), line, "price store unreadable, ignored");
            Vec::new()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            tracing::warn!(file = %path.display(), "cannot read the price store: {e}");
            Vec::new()
        }
    }
}

/// Writes `intervals` to `path` atomically.
pub fn save(path: &Path, intervals: &[Interval]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(format(intervals).as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_reads_back_gaps_included() {
        let ivs = vec![
            Interval {
                start: 1_759_356_000,
                end: 1_759_356_900,
                price: Nanos(93_070_000),
            },
            Interval {
                start: 1_759_359_600,
                end: 1_759_360_500,
                price: Nanos(-1),
            },
        ];
        assert_eq!(parse(&format(&ivs)), Ok(ivs.clone()));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        save(&p, &ivs).unwrap();
        save(&p, &ivs[..1]).unwrap();
        assert_eq!(load(&p), ivs[..1].to_vec());
        assert_eq!(parse("2025-10-01T22:00:00Z,x,1\n"), Err(1));
        let e = FeedSource::Entsoe {
            zone: "10YNL----------L".into(),
        };
        assert_eq!(
            path_for(Path::new("d"), &e),
            Some(PathBuf::from("d/prices-entsoe-10YNL----------L.csv"))
        );
    }

    #[test]
    fn the_longest_store_a_feed_keeps_is_read_and_a_longer_file_is_not() {
        // As many intervals as a feed keeps, with 18-digit prices.
        let ivs: Vec<Interval> = (0..crate::cost::table::MAX_INTERVALS as i64)
            .map(|i| Interval {
                start: 1_700_000_000 + 900 * i,
                end: 1_700_000_900 + 900 * i,
                price: Nanos(-999_999_999_999_999_999 + i),
            })
            .collect();
        let text = format(&ivs);
        assert!(text.len() as u64 <= MAX_BYTES, "{} bytes", text.len());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.csv");
        save(&p, &ivs).unwrap();
        assert!(load(&p) == ivs, "the longest store does not read back");
        let mut long = text.into_bytes();
        long.resize(MAX_BYTES as usize + 1, b'\n');
        std::fs::write(&p, long).unwrap();
        assert!(load(&p).is_empty(), "longer than a store: not read");
    }
}
