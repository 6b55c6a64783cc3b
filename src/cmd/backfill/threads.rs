//! The two threads of a backfill and what passes between them: the
//! caller's thread reads, frames and decodes most telegrams
//! ([`super::reader`]); a scoped worker decodes the rest and turns them all
//! into spooled samples ([`super::worker`]).

use super::batch::Batch;
use super::options::{BackfillError, BackfillOptions, BackfillStats, QUEUED_BATCHES};
use super::reader::FrameReader;
use super::spool::Spool;
use super::worker::SpoolWorker;
use std::io::{Read, Write};
use std::sync::mpsc;

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
            for mut batch in full_rx {
                worker.batch(&mut batch)?;
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
    let mut stats = worker.stats();
    stats.crc_mismatch += crc_mismatch;
    stats.malformed += malformed;
    stats.series = worker.spool.series.len() as u64;
    worker.spool.concatenate(out)?;
    Ok(stats)
}
