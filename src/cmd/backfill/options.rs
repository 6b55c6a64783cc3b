//! What a backfill takes and gives: its options, the counts it reports,
//! the errors that stop it and its limits.

use dsmr_engine::Zone;
use std::io;
use std::path::PathBuf;
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
pub(super) const READ_BLOCK: usize = 64 * 1024;

/// Each series' spool file is written through a buffer of this size.
pub(super) const SPOOL_BUFFER: usize = 16 * 1024;

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
    /// Telegrams skipped because their CRC did not match, or because they
    /// had none after the meter had sent CRCs (noise that framed).
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
    /// Register values held at their last good value because they went
    /// backwards or jumped further than the meter could have counted (the
    /// live exporter's guard: dsmr_register_rejections_total). The
    /// telegram is written, with the held value.
    pub registers_held: u64,
    /// Sample lines written.
    pub samples: u64,
    /// Distinct series written.
    pub series: u64,
    /// Time of the first telegram written, Unix seconds.
    pub first_time: Option<i64>,
    /// Time of the last telegram written, Unix seconds.
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
    Read {
        /// Bytes of the log read before the error.
        offset: u64,
        /// The reader's error.
        source: io::Error,
    },
    /// The OpenMetrics output could not be written.
    #[error("writing the OpenMetrics output: {source}")]
    Write {
        /// The writer's error.
        source: io::Error,
    },
    /// A temporary spool file or its directory failed.
    #[error("spool {}: {source} (set TMPDIR to a directory with room for the output)", path.display())]
    Spool {
        /// The spool file or directory.
        path: PathBuf,
        /// The file system's error.
        source: io::Error,
    },
    /// The telegrams describe more series than any meter has.
    #[error("more than {limit} distinct series: the log does not look like one meter's telegrams")]
    TooManySeries {
        /// [`MAX_SERIES`].
        limit: usize,
    },
}

/// Batches waiting for the worker; with [`BATCH`] telegrams each, this
/// bounds the telegrams in flight (a few hundred, about 1 MB).
pub(super) const QUEUED_BATCHES: usize = 4;
