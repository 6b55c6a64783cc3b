//! `backfill`: a log of raw telegrams to OpenMetrics text in which every
//! sample carries its telegram's own time, for
//! `promtool tsdb create-blocks-from openmetrics`.
//!
//! A log is in time order, but OpenMetrics wants each family's samples
//! together, and Prometheus's block writer wants each series in time order.
//! So samples are spooled, one temporary file per series in a compact form
//! (2 to 10 bytes a sample, in `TMPDIR`), and written out family by family
//! at the end. Memory is bounded by the number of series (tens per meter)
//! and a few batches in flight, never by the length of the log.
//!
//! Both cores work: the caller's thread reads, frames and decodes, a worker
//! decodes a share too and spools the samples; at the end one thread formats
//! the text while the other writes it.
//!
//! The samples are those the scrape shows ([`metrics::telegram_samples`]),
//! so names and values are the same; the exporter's own series (telegram
//! counters, `dsmr_source_up`) describe a running process and are left out.
//! Registers stay the meter's absolute values.

use crate::metrics::{self, Family, MetricKind, Sample, Value};
use dsmr_engine::telegram::Error as TelegramError;
use dsmr_engine::{FrameEvent, Framer, Telegram, Zone};
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Meter clocks before 2001-01-01 UTC are unset clocks (meters fall back to
/// 2000-01-01 or 1970-01-01), not history: such telegrams count as having no
/// timestamp rather than landing in blocks decades old.
pub const MIN_VALID_TIME: i64 = 978_307_200;

/// At most this many distinct series: a meter has well under a hundred, and
/// each series holds an open spool file, so the cap stays under the usual
/// limit of 1024 open files.
pub const MAX_SERIES: usize = 1000;

/// Input is read in blocks of this size.
const READ_BLOCK: usize = 64 * 1024;

/// Each series' spool file is written through a buffer of this size.
const SPOOL_BUFFER: usize = 16 * 1024;

/// What a backfill writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillOptions {
    /// The `meter` label (`--meter`, default `main`): the name the live
    /// exporter gives the same meter, so history and live data join.
    pub meter: String,
    /// The zone of meter clocks without a DST flag (`--timezone`).
    pub zone: Zone,
    /// Adds `equipment_id` labels, as `--metrics.expose-equipment-ids` does live.
    pub expose_equipment_ids: bool,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        BackfillOptions {
            meter: "main".to_owned(),
            zone: Zone::CET,
            expose_equipment_ids: false,
        }
    }
}

/// What happened to the telegrams of the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackfillStats {
    /// Valid telegrams written, each at a time later than the one before.
    pub written: u64,
    /// Valid telegrams at the same time as the previous one (a meter
    /// repeating its clock): only series not yet written at that time were.
    pub repeated_timestamp: u64,
    /// Telegrams skipped because their CRC did not match.
    pub crc_mismatch: u64,
    /// Telegrams skipped as malformed: cut off, too long, no header or `!`
    /// line, or a DSMR 4+ telegram without CRC.
    pub malformed: u64,
    /// Valid telegrams skipped because 0-0:1.0.0 is missing, not a date,
    /// before [`MIN_VALID_TIME`] (an unset clock), or more than a day ahead
    /// of the present (a clock gone wrong, which would otherwise make every
    /// later telegram out of order).
    pub no_timestamp: u64,
    /// Valid telegrams skipped because they are older than one already
    /// written (a clock set back, or a log not in time order).
    pub out_of_order: u64,
    /// Sample lines written.
    pub samples: u64,
    /// Distinct series written.
    pub series: u64,
    /// Time of the first and the last telegram written, Unix seconds.
    pub first_time: Option<i64>,
    pub last_time: Option<i64>,
}

impl BackfillStats {
    /// Telegrams skipped for any reason.
    pub fn skipped(&self) -> u64 {
        self.crc_mismatch + self.malformed + self.no_timestamp + self.out_of_order
    }
}

/// Why a backfill stopped. Bad telegrams do not stop it; they are counted.
#[derive(Debug, Error)]
pub enum BackfillError {
    /// The log could not be read.
    #[error("reading the telegram log at byte {offset}: {source}")]
    Read { offset: u64, source: io::Error },
    /// The OpenMetrics output could not be written.
    #[error("writing the OpenMetrics output: {source}")]
    Write { source: io::Error },
    /// A temporary spool file or its directory failed.
    #[error("spool {}: {source} (set TMPDIR to a directory with room for the output)", path.display())]
    Spool { path: PathBuf, source: io::Error },
    /// The telegrams describe more series than any meter has.
    #[error("more than {limit} distinct series: the log does not look like one meter's telegrams")]
    TooManySeries { limit: usize },
}

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
/// rest ([`RAW_EVERY`]) and turns them all into spooled samples. Telegrams
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
    let (front, back) = std::thread::scope(|scope| {
        let worker = scope.spawn(move || {
            let mut back = Back::new(opts, spool);
            for batch in full_rx {
                match &batch {
                    Batch::Decoded(telegrams) => {
                        for t in telegrams {
                            back.telegram(t)?;
                        }
                    }
                    Batch::Raw { text, ends } => {
                        let mut start = 0;
                        for &end in ends {
                            back.raw(&text[start..end])?;
                            start = end;
                        }
                    }
                }
                // The front may have stopped on an error of its own.
                let _ = empty_tx.send(batch);
            }
            Ok::<_, BackfillError>(back)
        });
        let mut front = Front::new(full_tx, empty_rx);
        let read = front.read(input);
        // Closes the queue, also after a read error, so the worker finishes.
        let counts = front.finish();
        let front_stats = read.map(|()| counts);
        let back = match worker.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        (front_stats, back)
    });
    // When the worker failed, the front stopped early: the worker's error
    // is the cause.
    let mut back = back?;
    let (crc_mismatch, malformed) = front?;
    let mut stats = back.stats;
    stats.crc_mismatch += crc_mismatch;
    stats.malformed += malformed;
    stats.series = back.spool.series.len() as u64;
    back.spool.concatenate(out)?;
    Ok(stats)
}

/// Batches waiting for the worker; with [`BATCH`] telegrams each, this
/// bounds the telegrams in flight (a few hundred, about 1 MB).
const QUEUED_BATCHES: usize = 4;
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
struct Front {
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

impl Front {
    fn new(tx: mpsc::SyncSender<Batch>, returned: mpsc::Receiver<Batch>) -> Front {
        Front {
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

    /// Sends the last batch and closes the queue; the front's counts.
    fn finish(&mut self) -> (u64, u64) {
        self.send();
        self.tx = None;
        (self.crc_mismatch, self.malformed)
    }

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
struct Back<'o> {
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

impl<'o> Back<'o> {
    fn new(opts: &'o BackfillOptions, spool: Spool) -> Back<'o> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(i64::MAX, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Back {
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

    /// A frame the front did not decode: decoded and checked here.
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

/// The decimal text of `v`, built in `buf` two digits at a time: it runs
/// twice for every line of the output, and `write!` costs several times more.
fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
    if n >= 10 {
        let d = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[d..d + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
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

/// One series and its spool file.
///
/// The spool holds compact records, not text: the series' name and labels
/// would be most of every line, and the spool's writes and reads cost more
/// than the conversion. A record is a tag byte, the time as a delta to the
/// series' previous sample (varint), then the value: a zigzag varint
/// ([`TAG_INT`]), 8 bytes of an `f64` ([`TAG_FLOAT`]), or nothing when it is
/// the previous sample's value ([`TAG_SAME`], most registers most of the time).
struct Series {
    fam: Family,
    labels: Vec<(&'static str, Box<str>)>,
    /// `name{labels}`, written before each value.
    key: Box<str>,
    file: BufWriter<File>,
    path: PathBuf,
    /// Time and value of the last sample spooled: a repeated time is
    /// written once, and times and values are spooled as differences.
    last: Option<(i64, Value)>,
}

const TAG_INT: u8 = 0;
const TAG_FLOAT: u8 = 1;
const TAG_SAME: u8 = 2;

impl Series {
    /// Whether `s` belongs to this series.
    fn is(&self, s: &Sample<'_>) -> bool {
        self.fam == s.family()
            && self
                .labels
                .iter()
                .map(|(k, v)| (*k, &**v))
                .eq(s.labels().iter())
    }

    /// Spools one sample; times only increase (the caller skips the rest).
    fn write(&mut self, time: i64, value: Value) -> Result<(), BackfillError> {
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

    /// Formats the spooled samples as OpenMetrics lines into `chunks`;
    /// stops early, without error, when the writing side is gone.
    fn replay(&mut self, chunks: &mut Chunks) -> Result<(), BackfillError> {
        let spool_err = |source| BackfillError::Spool {
            path: self.path.clone(),
            source,
        };
        self.file.flush().map_err(spool_err)?;
        let file = self.file.get_mut();
        file.seek(SeekFrom::Start(0)).map_err(spool_err)?;
        let mut input = Records::new(file);
        let (mut time, mut value) = (0i64, Value::Int(0));
        let mut num = [0; 20];
        while let Some(tag) = input.byte().map_err(spool_err)? {
            let delta = input.varint().map_err(spool_err)?;
            time = time.wrapping_add_unsigned(delta);
            value = match tag {
                TAG_SAME => value,
                TAG_INT => {
                    let z = input.varint().map_err(spool_err)?;
                    Value::Int((z >> 1) as i64 ^ -((z & 1) as i64))
                }
                TAG_FLOAT => Value::Float(f64::from_le_bytes(input.array().map_err(spool_err)?)),
                _ => return Err(spool_err(damaged())),
            };
            let text = &mut chunks.buf;
            text.extend_from_slice(self.key.as_bytes());
            text.push(b' ');
            match value {
                Value::Int(v) => text.extend_from_slice(fmt_i64(v, &mut num)),
                // Display prints the shortest text that reads back as the
                // same double, and never an exponent.
                Value::Float(v) => {
                    let _ = write!(text, "{v}");
                }
            }
            text.push(b' ');
            text.extend_from_slice(fmt_i64(time, &mut num));
            text.push(b'\n');
            if !chunks.maybe_send() {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The formatted output on its way to the writing thread, in blocks;
/// written blocks come back for reuse.
struct Chunks {
    buf: Vec<u8>,
    tx: mpsc::SyncSender<Vec<u8>>,
    returned: mpsc::Receiver<Vec<u8>>,
    /// The writing side hung up (it failed): formatting more is useless.
    gone: bool,
}

impl Chunks {
    /// Sends the block when full; false when the writing side is gone.
    fn maybe_send(&mut self) -> bool {
        self.buf.len() < READ_BLOCK || self.send()
    }

    /// Sends the block; false when the writing side is gone.
    fn send(&mut self) -> bool {
        let next = match self.returned.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Vec::with_capacity(READ_BLOCK + 1024),
        };
        let full = std::mem::replace(&mut self.buf, next);
        self.gone |= self.tx.send(full).is_err();
        !self.gone
    }
}

/// LEB128: seven bits a byte, low first; returns the bytes used.
fn put_varint(buf: &mut [u8], mut v: u64) -> usize {
    let mut i = 0;
    while v >= 0x80 {
        buf[i] = v as u8 | 0x80;
        v >>= 7;
        i += 1;
    }
    buf[i] = v as u8;
    i + 1
}

fn damaged() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "spool record damaged")
}

/// A buffered reader of spool records.
struct Records<'f> {
    file: &'f mut File,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
}

impl<'f> Records<'f> {
    fn new(file: &'f mut File) -> Records<'f> {
        Records {
            file,
            buf: vec![0; READ_BLOCK],
            pos: 0,
            len: 0,
        }
    }

    /// The next byte; `None` at the end of the file.
    fn byte(&mut self) -> io::Result<Option<u8>> {
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
    fn need(&mut self) -> io::Result<u8> {
        self.byte()?.ok_or_else(damaged)
    }

    fn varint(&mut self) -> io::Result<u64> {
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

    fn array(&mut self) -> io::Result<[u8; 8]> {
        let mut a = [0; 8];
        for b in &mut a {
            *b = self.need()?;
        }
        Ok(a)
    }
}

/// The temporary directory of spool files; removed when dropped, so also
/// on error.
struct Spool {
    dir: PathBuf,
    series: Vec<Series>,
    index: HashMap<Box<str>, u32>,
}

impl Spool {
    /// A new, empty directory under the system's temporary directory.
    fn create() -> Result<Spool, BackfillError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "dsmr-backfill-{}-{nanos}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&dir).map_err(|source| BackfillError::Spool {
            path: dir.clone(),
            source,
        })?;
        Ok(Spool {
            dir,
            series: Vec::new(),
            index: HashMap::new(),
        })
    }

    /// The series of `s`, created (with its file) on first sight.
    fn lookup(&mut self, s: &Sample<'_>, key: &mut String) -> Result<u32, BackfillError> {
        key.clear();
        series_key(s, key);
        if let Some(&idx) = self.index.get(key.as_str()) {
            return Ok(idx);
        }
        if self.series.len() >= MAX_SERIES {
            return Err(BackfillError::TooManySeries { limit: MAX_SERIES });
        }
        let idx = self.series.len() as u32;
        let path = self.dir.join(format!("{idx}.spool"));
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

    /// Writes every series, family by family in the exposition's order,
    /// each family described once, then `# EOF`. A scoped thread formats
    /// while this one writes, so formatting overlaps the output's I/O.
    fn concatenate(&mut self, out: &mut dyn Write) -> Result<(), BackfillError> {
        let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(QUEUED_BATCHES);
        let (back_tx, returned) = mpsc::channel::<Vec<u8>>();
        let series = &mut self.series;
        let (written, formatted) = std::thread::scope(|scope| {
            let formatter = scope.spawn(move || {
                let mut chunks = Chunks {
                    buf: Vec::with_capacity(READ_BLOCK + 1024),
                    tx,
                    returned,
                    gone: false,
                };
                format_all(series, &mut chunks)?;
                chunks.send();
                Ok::<(), BackfillError>(())
            });
            let mut written = Ok(());
            for chunk in &rx {
                written = out.write_all(&chunk);
                if written.is_err() {
                    break;
                }
                let _ = back_tx.send(chunk);
            }
            // Hanging up stops a formatter that is still going.
            drop(rx);
            let formatted = match formatter.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            (written, formatted)
        });
        let write_err = |source| BackfillError::Write { source };
        written.map_err(write_err)?;
        formatted?;
        out.write_all(b"# EOF\n").map_err(write_err)?;
        out.flush().map_err(write_err)
    }
}

/// Every series in family order, each family's `# HELP` and `# TYPE` first.
fn format_all(series: &mut [Series], chunks: &mut Chunks) -> Result<(), BackfillError> {
    let mut order: Vec<usize> = (0..series.len()).collect();
    // Stable: series of a family keep the order they first appeared in.
    order.sort_by_key(|&i| series[i].fam);
    let mut current = None;
    for i in order {
        if chunks.gone {
            return Ok(());
        }
        let series = &mut series[i];
        if current != Some(series.fam) {
            current = Some(series.fam);
            let fam = series.fam;
            let kind = match fam.kind() {
                MetricKind::Counter => "counter",
                MetricKind::Gauge => "gauge",
            };
            let name = fam.family_name();
            let _ = write!(
                chunks.buf,
                "# HELP {name} {}\n# TYPE {name} {kind}\n",
                fam.help()
            );
        }
        series.replay(chunks)?;
    }
    Ok(())
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.series.clear();
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            tracing::warn!("could not remove the spool {}: {e}", self.dir.display());
        }
    }
}

/// `name{k="v",…}` with label values escaped as OpenMetrics wants.
fn series_key(s: &Sample<'_>, key: &mut String) {
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
    fn integers_format_like_display() {
        let cases = [
            0,
            7,
            -7,
            10,
            99,
            100,
            -101,
            7_668_414_000,
            i64::MAX,
            i64::MIN,
        ];
        for v in cases {
            assert_eq!(fmt_i64(v, &mut [0; 20]), v.to_string().as_bytes());
        }
    }

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
