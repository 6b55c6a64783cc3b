//! The reading thread of a backfill: reads the log, frames it, restores
//! CRLF line ends, decodes and checks most telegrams, and hands them to the
//! worker in batches.

use super::batch::{Batch, BATCH, RAW_EVERY};
use super::options::{BackfillError, READ_BLOCK};
use dsmr_engine::telegram::Error as TelegramError;
use dsmr_engine::{FrameEvent, Framer, Telegram};
use std::io::{self, Read};
use std::sync::mpsc;

/// Reads, frames, restores CRLF, decodes and checks CRCs; valid telegrams
/// go to the worker in batches.
pub(super) struct FrameReader {
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
    pub(super) fn new(tx: mpsc::SyncSender<Batch>, returned: mpsc::Receiver<Batch>) -> FrameReader {
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
    pub(super) fn read(&mut self, input: &mut dyn Read) -> Result<(), BackfillError> {
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
    pub(super) fn finish(&mut self) -> (u64, u64) {
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
