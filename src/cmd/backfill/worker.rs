//! The spooling worker of a backfill: decodes the batches the reader left
//! raw, applies the live exporter's rules in log order (a meter that has
//! sent CRCs must keep sending them; registers that go backwards or jump
//! are held at their last good value), drops telegrams without a usable
//! time or out of order, and spools the samples of the rest, one file per
//! series.

use super::batch::Batch;
use super::options::{BackfillError, BackfillOptions, BackfillStats, MIN_VALID_TIME};
use super::spool::Spool;
use crate::metrics::{self, Sample};
use crate::state::registers::{self, Registers};
use crate::state::unix_seconds;
use dsmr_engine::telegram::Error as TelegramError;
use dsmr_engine::{Acceptance, Telegram};
use std::time::{Duration, Instant, SystemTime};

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
    /// The meter's CRC memory, as the live pipeline keeps it.
    acceptance: Acceptance,
    /// The register guard, as the live meter state keeps it, run on meter
    /// time: `epoch` stands for the first telegram's time.
    registers: Registers,
    epoch: Option<(Instant, i64)>,
    stats: BackfillStats,
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
            acceptance: Acceptance::new(),
            registers: Registers::default(),
            epoch: None,
            stats: BackfillStats::default(),
        }
    }

    /// The counts so far, with the register values the guard held back.
    pub(super) fn stats(&self) -> BackfillStats {
        let mut stats = self.stats;
        stats.registers_held = self.registers.rejected().map(|(_, _, n)| n).sum();
        stats
    }

    /// The telegrams of one batch, decoded here first when it is raw.
    pub(super) fn batch(&mut self, batch: &mut Batch) -> Result<(), BackfillError> {
        match batch {
            Batch::Decoded(telegrams) => {
                for t in telegrams {
                    self.telegram(t)?;
                }
            }
            Batch::Raw { text, ends } => {
                let mut start = 0;
                for &end in ends.iter() {
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
            Ok(()) => self.telegram(&mut t),
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

    /// Spools the samples of one valid telegram, unless the meter's CRC
    /// memory refuses it or its time is unusable or before the last one
    /// written; its registers pass the guard first.
    fn telegram(&mut self, t: &mut Telegram) -> Result<(), BackfillError> {
        if self.acceptance.check(t).is_err() {
            // Valid on its own (the reader verified it), so refused only
            // for lacking a CRC after the meter had sent them.
            self.stats.crc_mismatch += 1;
            return Ok(());
        }
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
        self.guard(t, time);
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

    /// The live guard on meter time: "now" advances as the meter's clock
    /// does, so a missing line is carried for as long as it would be live.
    fn guard(&mut self, t: &mut Telegram, time: i64) {
        let (epoch, first) = *self.epoch.get_or_insert((Instant::now(), time));
        let since = u64::try_from(time.saturating_sub(first)).unwrap_or(0);
        let now = epoch
            .checked_add(Duration::from_secs(since))
            .unwrap_or(epoch);
        let cx = registers::Context {
            meter: &self.opts.meter,
            zone: self.opts.zone,
            arrived_ms: time.saturating_mul(1_000),
            now,
            carry: registers::DEFAULT_CARRY,
        };
        self.registers.check(t, &cx);
    }
}
