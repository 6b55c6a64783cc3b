//! Telegrams from a file of concatenated raw telegrams, replayed at a
//! steady pace: for demos, dashboards and tests without a meter.
//!
//! The file is streamed, never held whole: it is read in [`CHUNK`]-sized
//! pieces through the same [`Framer`] the pipeline uses, and each telegram
//! is then fed through the meter's pipeline like bytes from a port, so CRC
//! errors in the file are counted as such. Memory does not depend on the
//! file's size; a looped replay opens the file again for every pass.
//!
//! A file of Luxembourg (Smarty) encrypted frames, as captured from the
//! port, is decrypted as it is read; frames that fail authentication are
//! counted as malformed on every pass.
//!
//! A file must hold a telegram within its first [`SCAN_LIMIT`] bytes, or
//! the start is refused; while replaying, [`SCAN_LIMIT`] bytes without a
//! telegram (a file replaced by noise, a device such as `/dev/zero`) end
//! the replay with a warning rather than reading on forever.

use super::error::SourceError;
use super::feed::{feed_plaintext, fmt_smarty, smarty_plaintext, smarty_reason};
use super::pipeline::Pipeline;
use crate::state::Meter;
use dsmr_engine::smarty::{SmartyDeframer, SmartyKeys};
use dsmr_engine::{FrameEvent, Framer};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// How much of the file is read at a time.
const CHUNK: usize = 64 * 1024;

/// How many bytes may pass without a telegram: at start, the file must
/// hold one within this many; while replaying, this many without one end
/// the replay.
pub const SCAN_LIMIT: u64 = 16 * 1024 * 1024;

/// Which file, how fast, how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayConfig {
    pub path: PathBuf,
    /// Pause between telegrams; zero replays as fast as possible.
    pub interval: Duration,
    /// Start again after the last telegram, forever.
    pub looped: bool,
    /// Keys when the file holds Smarty encrypted frames.
    pub smarty: Option<SmartyKeys>,
}

impl fmt::Display for ReplayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay {} every {}{}",
            self.path.display(),
            crate::duration::format(self.interval),
            if self.looped { ", looped" } else { ", once" }
        )?;
        fmt_smarty(f, self.smarty.as_ref())
    }
}

/// A replay file, checked: it opens and holds a telegram near its start.
/// Only what the check counted is kept, never the file's telegrams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    path: PathBuf,
    smarty: Option<SmartyKeys>,
    /// Telegrams in the part of the file the check read.
    telegrams: usize,
    /// Fragments the framer dropped there (cut-off or oversized telegrams).
    skipped: usize,
}

/// One step of a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A telegram (`/` … `!CRC`) to feed.
    Telegram(Vec<u8>),
    /// An encrypted frame that did not decrypt, counted as malformed.
    Rejected(String),
}

/// The file's bytes to entries, a chunk at a time: the framer, or the
/// Smarty deframer when the file is encrypted.
enum Splitter {
    Plain(Framer),
    Smarty(Box<SmartyDeframer>),
}

impl Splitter {
    fn new(smarty: Option<&SmartyKeys>) -> Splitter {
        match smarty {
            Some(keys) => Splitter::Smarty(Box::new(SmartyDeframer::new(keys.clone()))),
            None => Splitter::Plain(Framer::new()),
        }
    }

    /// Splits the next bytes of the file into `out`; returns how many
    /// fragments were skipped.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Entry>) -> usize {
        match self {
            Splitter::Plain(framer) => {
                let mut skipped = 0;
                framer.feed(bytes, |ev| push_frame(ev, out, &mut skipped));
                skipped
            }
            Splitter::Smarty(deframer) => {
                let mut input = bytes;
                while let Some(result) = deframer.decode(&mut input) {
                    out.push(match smarty_plaintext(result) {
                        Ok(plaintext) => Entry::Telegram(plaintext.to_vec()),
                        Err(why) => Entry::Rejected(why),
                    });
                }
                0
            }
        }
    }

    /// Ends the file: a telegram whose `!` arrived is completed, anything
    /// else unfinished is skipped (or rejected, when encrypted).
    fn finish(&mut self, out: &mut Vec<Entry>) -> usize {
        match self {
            Splitter::Plain(framer) => {
                let mut skipped = 0;
                framer.finish(|ev| push_frame(ev, out, &mut skipped));
                skipped
            }
            Splitter::Smarty(deframer) => {
                if let Some(e) = deframer.finish() {
                    out.push(Entry::Rejected(smarty_reason(&e)));
                }
                0
            }
        }
    }
}

fn push_frame(ev: FrameEvent<'_>, out: &mut Vec<Entry>, skipped: &mut usize) {
    match ev {
        FrameEvent::Telegram(t) => out.push(Entry::Telegram(t.to_vec())),
        FrameEvent::Discarded(_) => *skipped += 1,
    }
}

/// One pass over the file: chunks read and split as they are needed.
struct Reader {
    file: tokio::fs::File,
    splitter: Splitter,
    buf: Vec<u8>,
    /// Bytes read since the last chunk that completed a telegram.
    since_telegram: u64,
    /// Bytes read in all.
    total: u64,
    skipped: usize,
}

impl Reader {
    async fn open(path: &Path, smarty: Option<&SmartyKeys>) -> io::Result<Reader> {
        Ok(Reader {
            file: tokio::fs::File::open(path).await?,
            splitter: Splitter::new(smarty),
            buf: vec![0; CHUNK],
            since_telegram: 0,
            total: 0,
            skipped: 0,
        })
    }

    /// Reads one chunk and adds its entries to `out`; false once the file
    /// has ended (`out` then holds the last entries, if any).
    async fn next(&mut self, out: &mut Vec<Entry>) -> io::Result<bool> {
        let before = out.len();
        let n = loop {
            match self.file.read(&mut self.buf).await {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.skipped += self.splitter.finish(out);
            return Ok(false);
        }
        self.total = self.total.saturating_add(n as u64);
        self.skipped += self.splitter.feed(&self.buf[..n], out);
        let completed = out[before..]
            .iter()
            .any(|e| matches!(e, Entry::Telegram(_)));
        if completed {
            self.since_telegram = 0;
        } else {
            self.since_telegram = self.since_telegram.saturating_add(n as u64);
        }
        Ok(true)
    }

    /// True when [`SCAN_LIMIT`] bytes passed without a telegram.
    fn starved(&self) -> bool {
        self.since_telegram >= SCAN_LIMIT
    }
}

/// Why a pass stopped early.
enum PassError {
    Read(io::Error),
    NoTelegram,
}

impl fmt::Display for PassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PassError::Read(e) => write!(f, "read error: {e}"),
            PassError::NoTelegram => write!(
                f,
                "no telegram in {} MiB, stopping rather than reading on",
                SCAN_LIMIT / (1024 * 1024)
            ),
        }
    }
}

impl Replay {
    /// Opens the file and checks that a telegram comes within its first
    /// [`SCAN_LIMIT`] bytes; a file without one is an error, since
    /// replaying it would show nothing.
    pub async fn load(path: &Path) -> Result<Replay, SourceError> {
        Replay::load_with(path, None).await
    }

    /// [`Replay::load`], decrypting Smarty frames when keys are given. An
    /// encrypted file of which no frame decrypts is an error: the keys are
    /// wrong, and the exporter should say so rather than start.
    pub async fn load_with(
        path: &Path,
        smarty: Option<&SmartyKeys>,
    ) -> Result<Replay, SourceError> {
        let read_error = |source| SourceError::ReplayRead {
            path: path.to_owned(),
            source,
        };
        let mut reader = Reader::open(path, smarty).await.map_err(read_error)?;
        let mut r = Replay {
            path: path.to_owned(),
            smarty: smarty.cloned(),
            telegrams: 0,
            skipped: 0,
        };
        let mut entries = Vec::new();
        let mut rejects = 0usize;
        let mut first_reject = None;
        loop {
            let more = reader.next(&mut entries).await.map_err(read_error)?;
            for e in entries.drain(..) {
                match e {
                    Entry::Telegram(_) => r.telegrams += 1,
                    Entry::Rejected(why) => {
                        rejects += 1;
                        first_reject.get_or_insert(why);
                    }
                }
            }
            // Counting a whole large file would read it twice; the start
            // of it is enough to know it replays.
            if !more || reader.total >= SCAN_LIMIT {
                break;
            }
        }
        r.skipped = reader.skipped;
        if r.telegrams == 0 {
            return Err(match first_reject {
                Some(first) => SourceError::ReplayUndecryptable {
                    path: path.to_owned(),
                    failed: rejects,
                    first,
                },
                None => SourceError::ReplayEmpty {
                    path: path.to_owned(),
                },
            });
        }
        Ok(r)
    }

    /// How many telegrams the check found: all of them in a file up to
    /// [`SCAN_LIMIT`] bytes, those of its start in a larger one.
    pub fn len(&self) -> usize {
        self.telegrams
    }

    /// True when the check found no telegram (never, for a loaded file).
    pub fn is_empty(&self) -> bool {
        self.telegrams == 0
    }

    /// Fragments skipped in the part of the file the check read.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Feeds one telegram every `cfg.interval` (the first at once), once or
    /// forever, reading the file as it goes. The source is up while
    /// replaying and down when done, or when a pass finds no telegram or
    /// the file cannot be read any more.
    pub async fn run(self, cfg: &ReplayConfig, meter: Arc<Meter>) {
        let mut pipeline = Pipeline::new(meter.clone());
        let mut ticker = (!cfg.interval.is_zero()).then(|| {
            let mut t = tokio::time::interval(cfg.interval);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        meter.set_source_up(true);
        tracing::info!(
            meter = meter.name(),
            telegrams = self.telegrams,
            skipped = self.skipped,
            "{cfg}: started"
        );
        let mut passes: u64 = 0;
        let stopped = loop {
            match self.pass(&mut pipeline, ticker.as_mut()).await {
                Ok(0) => break Some(PassError::NoTelegram),
                Ok(_) => passes += 1,
                Err(e) => break Some(e),
            }
            if !cfg.looped {
                break None;
            }
        };
        pipeline.finish();
        meter.set_source_up(false);
        match stopped {
            None => tracing::info!(
                meter = meter.name(),
                passes,
                "{cfg}: finished; the last telegram stays on show"
            ),
            Some(why) => tracing::warn!(
                meter = meter.name(),
                passes,
                "{cfg}: stopped: {why}; the last telegram stays on show"
            ),
        }
    }

    /// One pass over the file; returns how many telegrams it fed.
    async fn pass(
        &self,
        pipeline: &mut Pipeline,
        mut ticker: Option<&mut tokio::time::Interval>,
    ) -> Result<u64, PassError> {
        let mut reader = Reader::open(&self.path, self.smarty.as_ref())
            .await
            .map_err(PassError::Read)?;
        let mut entries = Vec::new();
        let mut fed = 0;
        loop {
            let more = reader.next(&mut entries).await.map_err(PassError::Read)?;
            for entry in entries.drain(..) {
                match ticker.as_mut() {
                    Some(tick) => {
                        tick.tick().await;
                    }
                    // Let the server and other tasks run between telegrams.
                    None => tokio::task::yield_now().await,
                }
                match entry {
                    // The line end after the CRC completes the frame at once.
                    Entry::Telegram(t) => {
                        feed_plaintext(pipeline, &t);
                        fed += 1;
                    }
                    Entry::Rejected(why) => pipeline.reject(&why),
                }
            }
            if !more {
                return Ok(fed);
            }
            if reader.starved() {
                return Err(PassError::NoTelegram);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_concatenated_telegrams_across_chunks_and_skips_fragments() {
        let t = b"/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(000001.000*kWh)\r\n!ABCD\r\n";
        let mut file = Vec::new();
        file.extend_from_slice(b"noise\r\n");
        file.extend_from_slice(t);
        file.extend_from_slice(b"/KFM5 cut off\r\n");
        file.extend_from_slice(t);
        file.extend_from_slice(b"/ISk5 unfinished\r\n");
        // Byte by byte: a telegram cut between two reads is still whole.
        let mut s = Splitter::new(None);
        let mut out = Vec::new();
        let mut skipped = 0;
        for b in file.chunks(1) {
            skipped += s.feed(b, &mut out);
        }
        skipped += s.finish(&mut out);
        assert_eq!((out.len(), skipped), (2, 2));
        assert_eq!(out[0], Entry::Telegram(t[..t.len() - 2].to_vec()));
    }
}
