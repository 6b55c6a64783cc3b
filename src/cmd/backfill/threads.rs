//! The two threads of a backfill and what passes between them: the
//! caller's thread reads, frames and decodes most telegrams; a scoped
//! worker decodes the rest and turns them all into spooled samples.

use super::options::{
    BackfillError, BackfillOptions, BackfillStats, MIN_VALID_TIME, QUEUED_BATCHES, READ_BLOCK,
};
use super::spool::Spool;
use crate::metrics::{self, Sample};
use crate::state::unix_seconds;
use dsmr_engine::telegram::Error as TelegramError;
use dsmr_engine::{FrameEvent, Framer, Telegram};
use std::io::{self, Read, Write};
use std::sync::mpsc;
use std::time::SystemTime;

/// Reads a log of raw telegrams (concatenated as a serial capture or an
/// archive stores them, CRLF or LF line ends, noise between them allowed)
/// from `input` and writes OpenMetrics text to `out`: every sample stamped
/// with its telegram's 0-0:1.0.0 time in seconds, families contiguous,
/// `# EOF` last. Telegrams that fail their CRC, do not decode, have no
/// usable time or go back in time are skipped and counted.
///
/// `out` receives everything only at the end (after the whole log was
/// read), in large writes; it is flushed before returning.
///
/// Two threads share the work: this one reads, frames and decodes most
/// telegrams (so the input need not be `Send`), a scoped worker decodes the
/// rest (`RAW_EVERY`) and turns them all into spooled samples. Telegrams
/// travel in batches and come back for reuse, so their buffers are
/// allocated once.
pub fn run(
    input: &mut dyn Read,
    out: &mut dyn Write,
    opts: &BackfillOptions,
) -> Result<BackfillStats, BackfillError> {
    let spool = Spool::create()?;
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(QUEUED_BATCHES);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    let (read, spooled) = std::thread::scope(|scope| {
        let worker_thread = scope.spawn(move || {
            let mut worker = SpoolWorker::new(opts, spool);
            for batch in full_rx {
                worker.batch(&batch)?;
                // The reader may have stopped on an error of its own.
                let _ = empty_tx.send(batch);
            }
            Ok::<_, BackfillError>(worker)
        });
        let mut reader = FrameReader::new(full_tx, empty_rx);
        let read = reader.read(input);
        // Closes the queue, also after a read error, so the worker finishes.
        let counts = reader.finish();
        let read = read.map(|()| counts);
        let spooled = match worker_thread.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (read, spooled)
    });
    // When the worker failed, the reader stopped early: the worker's error
    // is the cause.
    let mut worker = spooled?;
    let (crc_mismatch, malformed) = read?;
    let mut stats = worker.stats;
    stats.crc_mismatch += crc_mismatch;
    stats.malformed += malformed;
    stats.series = worker.spool.series.len() as u64;
    worker.spool.concatenate(out)?;
    Ok(stats)
}

/// Telegrams per batch: enough to make the hand-over cost negligible.
const BATCH: usize = 64;
/// Every this many batches goes to the worker undecoded: decoding is about
/// half the work and the worker's own part (samples, spool) about a third,
/// so this evens out the two threads (measured with `perf`, per thread).
const RAW_EVERY: u64 = 3;

/// Telegrams on their way to the worker: decoded, or framed only (every
/// [`RAW_EVERY`]th batch, `ends` marks where each frame of `text` ends).
enum Batch {
    Decoded(Vec<Telegram>),
    Raw { text: Vec<u8>, ends: Vec<usize> },
}

/// Reads, frames, restores CRLF, decodes and checks CRCs; valid telegrams
/// go to the worker in batches.
struct FrameReader {
    framer: Framer,
    tx: Option<mpsc::SyncSender<Batch>>,
    returned: mpsc::Receiver<Batch>,
    batch: Vec<Telegram>,
    /// The frames of a raw batch, when this batch is one.
    raw_text: Vec<u8>,
    raw_ends: Vec<usize>,
    /// Batches sent so far.
    sent: u64,
    /// Telegrams of returned batches, decoded into again.
    spare: Vec<Telegram>,
    /// The frame with CRLF line ends, when the log has LF only.
    crlf: Vec<u8>,
    crc_mismatch: u64,
    malformed: u64,
}

impl FrameReader {
    fn new(tx: mpsc::SyncSender<Batch>, returned: mpsc::Receiver<Batch>) -> FrameReader {
        FrameReader {
            framer: Framer::new(),
            tx: Some(tx),
            returned,
            batch: Vec::with_capacity(BATCH),
            raw_text: Vec::new(),
            raw_ends: Vec::new(),
            sent: 0,
            spare: Vec::new(),
            crlf: Vec::new(),
            crc_mismatch: 0,
            malformed: 0,
        }
    }

    /// Reads the whole input, or until the worker stops.
    fn read(&mut self, input: &mut dyn Read) -> Result<(), BackfillError> {
        let mut buf = vec![0u8; READ_BLOCK];
        let mut offset = 0u64;
        while self.tx.is_some() {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(BackfillError::Read { offset, source }),
            };
            offset += n as u64;
            let mut framer = std::mem::take(&mut self.framer);
            framer.feed(&buf[..n], |ev| self.frame(ev));
            self.framer = framer;
        }
        let mut framer = std::mem::take(&mut self.framer);
        framer.finish(|ev| self.frame(ev));
        Ok(())
    }

    /// Sends the last batch and closes the queue; the reader's counts
    /// (CRC mismatches, malformed frames).
    fn finish(&mut self) -> (u64, u64) {
        self.send();
        self.tx = None;
        (self.crc_mismatch, self.malformed)
    }

    /// One framed telegram: CRLF put back, then added to the raw batch or
    /// decoded and checked into the decoded one; anything else is counted.
    fn frame(&mut self, ev: FrameEvent<'_>) {
        let FrameEvent::Telegram(frame) = ev else {
            self.malformed += 1;
            return;
        };
        // The CRC covers CRLF line ends; an archive that stored LF still has
        // the meter's CRC, so the line ends are put back before checking.
        let frame = if has_bare_lf(frame) {
            to_crlf(frame, &mut self.crlf);
            &self.crlf[..]
        } else {
            frame
        };
        if self.sent % RAW_EVERY == RAW_EVERY - 1 {
            self.raw_text.extend_from_slice(frame);
            self.raw_ends.push(self.raw_text.len());
            if self.raw_ends.len() >= BATCH {
                self.send();
            }
            return;
        }
        // Every batch comes back once; taking them up to the next decoded
        // one keeps the return queue short.
        while self.spare.is_empty() {
            match self.returned.try_recv() {
                Ok(Batch::Decoded(telegrams)) => self.spare = telegrams,
                // Not filling a raw batch now, so its buffers are free.
                Ok(Batch::Raw { mut text, mut ends }) => {
                    text.clear();
                    ends.clear();
                    (self.raw_text, self.raw_ends) = (text, ends);
                }
                Err(_) => break,
            }
        }
        let mut t = self.spare.pop().unwrap_or_default();
        match t.decode_into(frame).and_then(|()| t.verify(false)) {
            Ok(()) => self.batch.push(t),
            Err(e) => {
                match e {
                    TelegramError::CrcMismatch { .. } => self.crc_mismatch += 1,
                    _ => self.malformed += 1,
                }
                self.spare.push(t);
            }
        }
        if self.batch.len() >= BATCH {
            self.send();
        }
    }

    /// Hands the batch being filled (raw or decoded) to the worker.
    fn send(&mut self) {
        let batch = if !self.raw_ends.is_empty() {
            Batch::Raw {
                text: std::mem::take(&mut self.raw_text),
                ends: std::mem::take(&mut self.raw_ends),
            }
        } else if !self.batch.is_empty() {
            Batch::Decoded(std::mem::replace(
                &mut self.batch,
                Vec::with_capacity(BATCH),
            ))
        } else {
            return;
        };
        self.sent += 1;
        // A worker that hung up failed; reading stops and its error is kept.
        if self.tx.as_ref().is_some_and(|tx| tx.send(batch).is_err()) {
            self.tx = None;
        }
    }
}

/// The worker: valid telegrams to spooled samples.
struct SpoolWorker<'o> {
    opts: &'o BackfillOptions,
    spool: Spool,
    samples: Vec<Sample<'o>>,
    /// The series of each sample position of the previous telegram: the
    /// next telegram nearly always lists the same series in the same order.
    prev: Vec<u32>,
    /// A series' text `name{labels}`, built only when `prev` misses.
    key: String,
    /// Time of the latest telegram written.
    last: Option<i64>,
    /// Where the frames of raw batches are decoded.
    scratch: Telegram,
    /// Later than this, a meter clock is wrong: the present plus a day.
    latest: i64,
    stats: BackfillStats,
}

impl<'o> SpoolWorker<'o> {
    fn new(opts: &'o BackfillOptions, spool: Spool) -> SpoolWorker<'o> {
        let now = unix_seconds(SystemTime::now());
        SpoolWorker {
            opts,
            spool,
            samples: Vec::new(),
            prev: Vec::new(),
            key: String::new(),
            last: None,
            scratch: Telegram::new(),
            latest: now.saturating_add(86_400),
            stats: BackfillStats::default(),
        }
    }

    /// The telegrams of one batch, decoded here first when it is raw.
    fn batch(&mut self, batch: &Batch) -> Result<(), BackfillError> {
        match batch {
            Batch::Decoded(telegrams) => {
                for t in telegrams {
                    self.telegram(t)?;
                }
            }
            Batch::Raw { text, ends } => {
                let mut start = 0;
                for &end in ends {
                    self.raw(&text[start..end])?;
                    start = end;
                }
            }
        }
        Ok(())
    }

    /// A frame the reader did not decode: decoded and checked here.
    fn raw(&mut self, frame: &[u8]) -> Result<(), BackfillError> {
        let mut t = std::mem::take(&mut self.scratch);
        let result = match t.decode_into(frame).and_then(|()| t.verify(false)) {
            Ok(()) => self.telegram(&t),
            Err(TelegramError::CrcMismatch { .. }) => {
                self.stats.crc_mismatch += 1;
                Ok(())
            }
            Err(_) => {
                self.stats.malformed += 1;
                Ok(())
            }
        };
        self.scratch = t;
        result
    }

    /// Spools the samples of one valid telegram, unless its time is
    /// unusable or before the last one written.
    fn telegram(&mut self, t: &Telegram) -> Result<(), BackfillError> {
        let time = t
            .timestamp
            .map(|ts| ts.to_unix(&self.opts.zone))
            .filter(|&ts| (MIN_VALID_TIME..=self.latest).contains(&ts));
        let Some(time) = time else {
            self.stats.no_timestamp += 1;
            return Ok(());
        };
        match self.last {
            Some(last) if time < last => {
                self.stats.out_of_order += 1;
                return Ok(());
            }
            Some(last) if time == last => self.stats.repeated_timestamp += 1,
            _ => {
                self.stats.written += 1;
                self.stats.first_time.get_or_insert(time);
                self.stats.last_time = Some(time);
                self.last = Some(time);
            }
        }
        self.samples.clear();
        metrics::telegram_samples(
            t,
            &self.opts.meter,
            self.opts.zone,
            self.opts.expose_equipment_ids,
            &mut self.samples,
        );
        let spool = &mut self.spool;
        for (i, s) in self.samples.iter().enumerate() {
            let idx = match self.prev.get(i) {
                Some(&idx) if spool.series[idx as usize].is(s) => idx,
                _ => {
                    let idx = spool.lookup(s, &mut self.key)?;
                    match self.prev.get_mut(i) {
                        Some(slot) => *slot = idx,
                        None => self.prev.push(idx),
                    }
                    idx
                }
            };
            let series = &mut spool.series[idx as usize];
            if series.last.is_some_and(|(t, _)| t == time) {
                continue;
            }
            series.write(time, s.value())?;
            self.stats.samples += 1;
        }
        Ok(())
    }
}

/// True when some line ends in LF without CR.
fn has_bare_lf(frame: &[u8]) -> bool {
    memchr::memchr_iter(b'\n', frame).any(|i| i == 0 || frame[i - 1] != b'\r')
}

/// Copies `frame` into `out` with every bare LF made CRLF.
fn to_crlf(frame: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut from = 0;
    for i in memchr::memchr_iter(b'\n', frame) {
        out.extend_from_slice(&frame[from..i]);
        if i == 0 || frame[i - 1] != b'\r' {
            out.push(b'\r');
        }
        from = i;
    }
    out.extend_from_slice(&frame[from..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_lf_becomes_crlf_and_crlf_stays() {
        let mut out = Vec::new();
        assert!(has_bare_lf(b"/ABC5\n\n1-0:1.8.1(1)\r\n!"));
        to_crlf(b"/ABC5\n\n1-0:1.8.1(1)\r\n!", &mut out);
        assert_eq!(out, b"/ABC5\r\n\r\n1-0:1.8.1(1)\r\n!");
        assert!(!has_bare_lf(&out));
        assert!(!has_bare_lf(b"/ABC5\r\n!"));
    }
}
