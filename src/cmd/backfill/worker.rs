//! The spooling worker of a backfill: decodes the batches the reader left
//! raw, drops telegrams without a usable time or out of order, and spools
//! the samples of the rest, one file per series.

use super::batch::Batch;
use super::options::{BackfillError, BackfillOptions, BackfillStats, MIN_VALID_TIME};
use super::spool::Spool;
use crate::metrics::{self, Sample};
use crate::state::unix_seconds;
use dsmr_engine::telegram::Error as TelegramError;
use dsmr_engine::Telegram;
use std::time::SystemTime;

/// The worker: valid telegrams to spooled samples.
pub(super) struct SpoolWorker<'o> {
    opts: &'o BackfillOptions,
    pub(super) spool: Spool,
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
    pub(super) stats: BackfillStats,
}

impl<'o> SpoolWorker<'o> {
    pub(super) fn new(opts: &'o BackfillOptions, spool: Spool) -> SpoolWorker<'o> {
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
    pub(super) fn batch(&mut self, batch: &Batch) -> Result<(), BackfillError> {
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
