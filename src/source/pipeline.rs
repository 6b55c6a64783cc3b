//! Bytes to meter state: the framer, the decoder and the scratch telegram
//! that every source feeds.
//!
//! The scratch telegram a frame is decoded into is one per thread, not one
//! per meter: a decode never waits, so no two meters need it at once. The
//! meter keeps the decoded telegram and the scratch gets the meter's
//! previous one back, whose buffers the next decode reuses (whichever
//! meter it is for). With 10 000 meters this saves a whole telegram,
//! buffers and all, per meter (docs/scale.md).
//!
//! A source owns a [`Pipeline`] and gives it bytes (after Smarty decryption,
//! when the meter has keys). Framing, CRC and decoding all happen here, so
//! every source counts telegrams the same way; each result is recorded in
//! the [`Meter`] (`crate::state`), the only thing this module writes.

use super::log_limit::{LogLimit, LOG_BURST, LOG_WINDOW};
use crate::state::Meter;
use dsmr_engine::telegram::Error as TelegramError;
use dsmr_engine::{Acceptance, FrameEvent, Framer, Telegram};
use std::cell::RefCell;
use std::sync::Arc;

/// Bytes to meter state: a framer and the decoder's per-meter rules.
#[derive(Debug)]
pub struct Pipeline {
    meter: Arc<Meter>,
    framer: Framer,
    acceptance: Acceptance,
    /// Bad telegrams: a few warnings a minute, the rest counted.
    log: LogLimit,
}

thread_local! {
    /// The telegram frames are decoded into on this thread (see the module doc).
    static SCRATCH: RefCell<Telegram> = RefCell::new(Telegram::new());
}

impl Pipeline {
    /// A pipeline feeding `meter`.
    pub fn new(meter: Arc<Meter>) -> Pipeline {
        Pipeline {
            meter,
            // Many meters, each silent between telegrams.
            framer: Framer::new().release_idle(),
            acceptance: Acceptance::new(),
            log: LogLimit::new(LOG_WINDOW, LOG_BURST),
        }
    }

    /// Accepts DSMR 4+ telegrams without CRC, also after telegrams with
    /// one (for sources such as HTTP that guard the bytes themselves). A
    /// telegram without CRC must still read as a meter's
    /// (`Telegram::plausible_without_crc`).
    pub fn allow_missing_crc(mut self, allow: bool) -> Pipeline {
        self.acceptance = self.acceptance.allow_missing_crc(allow);
        self
    }

    /// The meter this pipeline feeds.
    pub fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }

    /// Feeds bytes from the source; returns how many telegrams (valid or
    /// not) they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        self.drive(|framer, on| framer.feed(bytes, on))
    }

    /// Ends the input (EOF of a file or connection): a telegram in progress
    /// is completed if its `!` arrived, else counted as malformed. Returns
    /// how many telegrams (valid or not) that completed, 0 or 1.
    pub fn finish(&mut self) -> usize {
        self.drive(|framer, on| framer.finish(on))
    }

    /// Runs one framer step with every event it yields handled and counted.
    fn drive(&mut self, step: impl FnOnce(&mut Framer, &mut dyn FnMut(FrameEvent<'_>))) -> usize {
        let Pipeline {
            meter,
            framer,
            acceptance,
            log,
        } = self;
        let mut n = 0;
        SCRATCH.with_borrow_mut(|scratch| {
            step(framer, &mut |ev| {
                n += 1;
                record_frame(meter, scratch, acceptance, log, ev);
            });
        });
        n
    }

    /// Counts input that a layer before the framer refused (a Smarty frame
    /// that failed authentication, an HTTP body without a telegram) as
    /// `malformed`, with the same rate-limited warning as a bad telegram.
    pub fn reject(&mut self, reason: &str) {
        self.meter.record_malformed();
        self.log
            .warn(self.meter.name(), format_args!("bad telegram: {reason}"));
    }
}

/// Decodes and checks one framed telegram and records the result in the
/// meter: the telegram, or a count of why it was refused (with a
/// rate-limited warning). A CRC that does not match, and a CRC missing from
/// a meter that has sent CRCs, count as `crc_mismatch`; a telegram without
/// CRC that does not read as a meter's (noise that framed) as `malformed`.
fn record_frame(
    meter: &Meter,
    scratch: &mut Telegram,
    acceptance: &mut Acceptance,
    log: &mut LogLimit,
    ev: FrameEvent<'_>,
) {
    let frame = match ev {
        FrameEvent::Telegram(f) => f,
        FrameEvent::Discarded(e) => {
            meter.record_malformed();
            log.warn(meter.name(), format_args!("bad telegram: {e}"));
            return;
        }
    };
    meter.prefetch_guard();
    let verdict = scratch
        .decode_into(frame)
        .and_then(|()| acceptance.check(scratch));
    match verdict {
        Ok(()) => {
            if let Some(first) = scratch.errors.first() {
                log.warn(
                    meter.name(),
                    format_args!(
                        "bad telegram: {} value(s) skipped, first: {first}",
                        scratch.errors.len()
                    ),
                );
            }
            meter.record_telegram(scratch);
        }
        Err(e @ (TelegramError::CrcMismatch { .. } | TelegramError::CrcDropped)) => {
            meter.record_crc_mismatch();
            log.warn(meter.name(), format_args!("bad telegram: {e}"));
        }
        Err(e) => {
            meter.record_malformed();
            log.warn(meter.name(), format_args!("bad telegram: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{local_day, unix_seconds};
    use dsmr_engine::Zone;
    use std::time::SystemTime;

    const GOOD: &[u8] =
        b"/XMX5LGBBFFB231216240\r\n\r\n1-3:0.2.8(40)\r\n0-0:1.0.0(000101010000W)\r\n!3552\r\n";

    #[test]
    fn counts_each_result_and_keeps_the_latest() {
        let m = Meter::new("main", Zone::CET);
        let mut p = Pipeline::new(m.clone());
        let mut bad = GOOD.to_vec();
        bad[30] = b'9';
        p.feed(&bad);
        p.feed(b"/ISK5 cut off\r\n");
        p.feed(b"noise");
        p.finish();
        let st = m.lock();
        assert_eq!((st.ok, st.crc_mismatch, st.malformed), (0, 1, 1));
        assert!(st.telegram.is_none());
    }

    /// A DSMR 2.2 telegram: no CRC, and plausible.
    const DSMR22: &[u8] = b"/ISk5\\2MT382-1004\r\n\r\n0-0:96.1.1(5A424556303035303933313937373132)\r\n1-0:1.8.1(00154.000*kWh)\r\n0-0:96.14.0(0001)\r\n!\r\n";

    fn counts(m: &Meter) -> (u64, u64, u64) {
        let st = m.lock();
        (st.ok, st.crc_mismatch, st.malformed)
    }

    #[test]
    fn a_bare_header_after_a_crc_is_a_crc_failure_and_keeps_the_telegram() {
        let m = Meter::new("main", Zone::CET);
        let mut p = Pipeline::new(m.clone());
        p.feed(GOOD);
        // Issue #12: noise that frames after a good DSMR 4+ telegram.
        p.feed(b"/ABC5\r\n\r\n!\r\n");
        // A plausible telegram, but without the CRC this meter sends.
        p.feed(DSMR22);
        assert_eq!(counts(&m), (1, 2, 0));
        let st = m.lock();
        let t = st.telegram.as_ref().expect("the good telegram");
        assert_eq!(t.manufacturer(), "XMX");
    }

    #[test]
    fn a_meter_without_crc_is_accepted_and_its_noise_is_malformed() {
        let m = Meter::new("main", Zone::CET);
        let mut p = Pipeline::new(m.clone());
        p.feed(DSMR22);
        p.feed(b"/ABC5\r\n\r\n!\r\n");
        p.feed(b"/ISk5\\2MT382-1004\r\n\r\n1-0:1.8.1(00154.000*kWh)\r\nX\x07(\r\n!\r\n");
        p.feed(DSMR22);
        assert_eq!(counts(&m), (2, 0, 2));
    }

    #[test]
    fn a_source_that_allows_a_missing_crc_keeps_no_memory_of_crcs() {
        let m = Meter::new("main", Zone::CET);
        let mut p = Pipeline::new(m.clone()).allow_missing_crc(true);
        p.feed(GOOD);
        let bang = GOOD.iter().rposition(|&b| b == b'!').unwrap_or(0);
        p.feed(&GOOD[..=bang]);
        p.feed(b"\r\n");
        // Still not noise: no identification after the header.
        p.feed(b"/ABC5\r\n\r\n!\r\n");
        assert_eq!(counts(&m), (2, 0, 1));
    }

    #[test]
    fn notifies_and_records_the_day_start() {
        let m = Meter::new("main", Zone::CET);
        let mut rx = m.subscribe();
        assert!(!rx.has_changed().unwrap());
        Pipeline::new(m.clone()).feed(GOOD);
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        let st = m.lock();
        let d = st.day_start.as_ref().expect("a day start");
        assert!(!d.since_midnight, "the first telegram after a start");
        let (today, _) = local_day(Zone::CET, unix_seconds(SystemTime::now()));
        assert_eq!(d.day, today);
        drop(st);
        m.set_source_up(true);
        assert!(rx.has_changed().unwrap());
    }
}
