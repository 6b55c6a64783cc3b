//! What travels from the reading thread to the spooling worker, and how
//! much at a time.

use dsmr_engine::Telegram;

/// Telegrams per batch: enough to make the hand-over cost negligible.
pub(super) const BATCH: usize = 64;
/// Every this many batches goes to the worker undecoded: decoding is about
/// half the work and the worker's own part (samples, spool) about a third,
/// so this evens out the two threads (measured with `perf`, per thread).
pub(super) const RAW_EVERY: u64 = 3;

/// Telegrams on their way to the worker: decoded, or framed only (every
/// [`RAW_EVERY`]th batch, `ends` marks where each frame of `text` ends).
pub(super) enum Batch {
    Decoded(Vec<Telegram>),
    Raw { text: Vec<u8>, ends: Vec<usize> },
}
