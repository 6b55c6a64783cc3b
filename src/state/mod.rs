//! The latest state of every meter: written by the sources, read at scrape time.
//!
//! A source's pipeline (`source::pipeline`) frames and decodes its bytes;
//! each valid telegram is swapped into the shared [`Meter`]
//! under a `std::sync::Mutex` held only while it is checked and swapped in
//! (a few microseconds), never across an `.await`, so a scrape never waits
//! on a read and a read never waits on a scrape. Decoding into the scratch
//! telegram reuses its buffers.
//!
//! Each meter also keeps the register values of its first telegram of the
//! local day ([`DayStart`], for the page's "today" figures) and a
//! `tokio::sync::watch` channel that is poked after every valid telegram and
//! every change of the source's state, for `/events`. Poking it never waits
//! for the listeners.
//!
//! Before a telegram is stored, [`registers`] checks its cumulative
//! registers: a value that goes backwards or leaps is held at the last good
//! one, a missing register keeps its last value for the stale period, and
//! out-of-range values count as field errors. Every reader sees the held
//! values.
//!
//! A meter with prices ([`Meter::set_plan`]) bills each telegram's guarded
//! register increases to its cost account ([`crate::cost::Account`]) right
//! after the guard, under the same lock.
//! Each meter's capacity-tariff [`Tracker`] sees every stored telegram too;
//! when a month's recorded peak rises it writes the state file after the
//! lock is released.
//!
//! # Inside
//! - this file: [`Meter`], [`MeterState`], [`DayStart`] and the meter kinds.
//! - [`registers`]: the register guard ([`Registers`]).
//! - `billing`: the guarded registers as the cost account reads them.
//! - [`live`]: the set of meters served now, swapped whole on a reload,
//!   and how the last reload went ([`Live`]).
//! - [`history`]: the live page's last hours of power (a bounded ring) and
//!   today's cost base.
//! - `prefetch`: cache hints that ask for a meter's state and guard before
//!   a telegram needs them (10 000 meters: docs/scale.md, round eight).

mod billing;
pub mod history;
pub mod live;
mod prefetch;
pub mod registers;

pub use live::{Live, ReloadStatus};
pub use registers::{Reason, Registers};

use crate::capacity::{self, Tracker};
use crate::cost::{Account, Plan};
use dsmr_engine::value::Dimension;
use dsmr_engine::{CrcAlgorithm, CrcStatus, Quantity, Telegram, Zone};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// Everything known about one meter.
#[derive(Debug, Default)]
pub struct MeterState {
    /// The latest telegram that passed its CRC check.
    pub telegram: Option<Telegram>,
    /// Wall-clock time the latest valid telegram arrived.
    pub received_at: Option<SystemTime>,
    /// Monotonic time of the same, for staleness.
    pub received_instant: Option<Instant>,
    /// Telegrams by result.
    pub ok: u64,
    pub crc_mismatch: u64,
    pub malformed: u64,
    /// Values that did not parse inside otherwise valid telegrams.
    pub field_errors: u64,
    /// Of the `ok` telegrams, those whose CRC is CRC-16/X25 (Holley).
    pub crc_x25: u64,
    /// Whether the source (port, connection, file) is open.
    pub source_up: bool,
    /// How often the source was reopened after a failure.
    pub reconnects: u64,
    /// Increases with every valid telegram (for change notification).
    pub seq: u64,
    /// The register values at the start of the current local day.
    pub day_start: Option<DayStart>,
    /// The register guard: last good values and rejections by register.
    pub registers: Registers,
    /// Money spent and earned, when the meter has prices. Boxed: an
    /// account is some 860 bytes that a meter without prices (most, and
    /// every one of an installer's 10 000) would carry for nothing.
    pub cost: Option<Box<Account>>,
    /// The Belgian capacity tariff (inactive until the meter sends a
    /// capacity value or its config asks for it).
    pub capacity: Tracker,
    /// The last hours of power and today's cost base, for the live page.
    pub history: history::History,
}

/// The first register values seen on one local date (in the meter's zone,
/// by arrival time, not by the meter's clock): what "today" is counted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayStart {
    /// The local date, as days since 1970-01-01.
    pub day: i64,
    /// Arrival time of the telegram the values come from.
    pub taken_at: SystemTime,
    /// True when the previous telegram arrived shortly before local
    /// midnight, so these values are the day's start. False after a
    /// (re)start or a long gap: they then only cover the day since `taken_at`.
    pub since_midnight: bool,
    /// Electricity registers: total, then tariffs 1 to 4 (as in [`Telegram`]).
    pub imported: [Option<Quantity>; 5],
    pub exported: [Option<Quantity>; 5],
    /// M-Bus registers (gas, water, heat) by channel 1 to 4.
    pub mbus: [Option<Quantity>; 4],
    /// Tariffs above 4, as in [`Telegram::imported_more`] (copied once a
    /// day, not per telegram).
    pub imported_more: Vec<dsmr_engine::telegram::TariffRegister>,
    /// See `imported_more`.
    pub exported_more: Vec<dsmr_engine::telegram::TariffRegister>,
}

impl DayStart {
    /// A register that was reset (a new device, or a confirmed reset)
    /// counts "today" from its new value, never below zero.
    fn rebase(&mut self, t: &Telegram, outcome: &registers::Outcome) {
        for i in 0..5 {
            if outcome.reset(registers::IMPORTED + i) {
                self.imported[i] = t.imported[i];
            }
            if outcome.reset(registers::EXPORTED + i) {
                self.exported[i] = t.exported[i];
            }
        }
        for c in 0..4 {
            if outcome.reset(registers::MBUS_SLOTS + c) {
                self.mbus[c] = t.mbus[c].reading.map(|r| r.value);
            }
        }
        for (exported, now, start) in [
            (false, &t.imported_more, &mut self.imported_more),
            (true, &t.exported_more, &mut self.exported_more),
        ] {
            for r in now
                .iter()
                .filter(|r| outcome.tariff_reset(exported, r.tariff))
            {
                match start.binary_search_by_key(&r.tariff, |s| s.tariff) {
                    Ok(i) => start[i] = *r,
                    Err(i) => start.insert(i, *r),
                }
            }
        }
    }
}

/// A telegram more than this after the last one of the previous day does
/// not count as the day's start.
const MIDNIGHT_GAP: i64 = 300;

impl DayStart {
    fn of(t: &Telegram, day: i64, taken_at: SystemTime, since_midnight: bool) -> DayStart {
        DayStart {
            day,
            taken_at,
            since_midnight,
            imported: t.imported,
            exported: t.exported,
            mbus: std::array::from_fn(|i| t.mbus[i].reading.map(|r| r.value)),
            imported_more: t.imported_more.clone(),
            exported_more: t.exported_more.clone(),
        }
    }
}

/// Seconds since the Unix epoch (negative before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// Milliseconds since the Unix epoch (negative before it).
pub fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// What an M-Bus channel's register counts, by the device type the channel
/// announced (EN 13757-3 medium) and the dimension of the reading:
/// - 3 gas and 6/7 (warm) water count volume: m³, or no unit (read as m³);
/// - 4/12 heat count energy (GJ, MJ, kWh);
/// - a reading on a channel that announced no type is heat when it is an
///   energy, else gas (volume or no unit), as nearly every such device is a
///   gas meter of an older or incomplete telegram.
///
/// Anything else (a cold or electricity meter, a unit that contradicts the
/// device type) is none of the three. `/metrics` and the page both ask here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MbusKind {
    Gas,
    Water,
    Heat,
}

impl MbusKind {
    /// The kind of a reading, or `None` when it is none of the three.
    pub fn of(device_type: Option<u16>, dim: Option<Dimension>) -> Option<MbusKind> {
        use Dimension::{Dimensionless, Energy, Volume};
        match (device_type, dim?) {
            (Some(3) | None, Volume | Dimensionless) => Some(MbusKind::Gas),
            (Some(6 | 7), Volume | Dimensionless) => Some(MbusKind::Water),
            (Some(4 | 12) | None, Energy) => Some(MbusKind::Heat),
            _ => None,
        }
    }

    /// `gas`, `water` or `heat`, as the JSON API names it.
    pub fn as_str(self) -> &'static str {
        match self {
            MbusKind::Gas => "gas",
            MbusKind::Water => "water",
            MbusKind::Heat => "heat",
        }
    }
}

/// The local date (days since 1970-01-01) and the second of that day, of a
/// Unix time in `zone`.
pub fn local_day(zone: Zone, unix: i64) -> (i64, i64) {
    let local = unix + zone.offset_at(unix) as i64;
    (local.div_euclid(86_400), local.rem_euclid(86_400))
}

/// Starts a new [`DayStart`] on the first telegram of a local date.
fn track_day_start(
    day_start: &mut Option<DayStart>,
    t: &Telegram,
    zone: Zone,
    previous: Option<SystemTime>,
    now: SystemTime,
) {
    let now_unix = unix_seconds(now);
    let (day, _) = local_day(zone, now_unix);
    if day_start.as_ref().is_some_and(|d| d.day == day) {
        return;
    }
    let since_midnight = previous.is_some_and(|p| {
        let p = unix_seconds(p);
        local_day(zone, p).0 == day - 1 && now_unix - p <= MIDNIGHT_GAP
    });
    *day_start = Some(DayStart::of(t, day, now, since_midnight));
}

impl MeterState {
    /// True when a valid telegram arrived within `stale_after`.
    pub fn is_fresh(&self, now: Instant, stale_after: Duration) -> bool {
        self.received_instant
            .is_some_and(|t| now.saturating_duration_since(t) <= stale_after)
    }
}

/// One named meter, shared between its source and the server.
#[derive(Debug)]
pub struct Meter {
    zone: Zone,
    /// This meter's own staleness limit (from a config file); `None` uses
    /// the exporter-wide one.
    stale_after: Option<Duration>,
    state: Mutex<MeterState>,
    name: String,
    /// Poked after every valid telegram and change of the source's state.
    changed: watch::Sender<()>,
}

impl Meter {
    /// A meter with no telegram yet.
    pub fn new(name: impl Into<String>, zone: Zone) -> Arc<Meter> {
        Arc::new(Meter {
            name: name.into(),
            zone,
            stale_after: None,
            state: Mutex::new(MeterState::default()),
            changed: watch::Sender::new(()),
        })
    }

    /// A receiver that wakes after every valid telegram and every change of
    /// the source's state (`/events`). Each listener has its own; a slow one
    /// only misses intermediate wake-ups, never holds the source.
    pub fn subscribe(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    /// Wakes the subscribers; never waits for them.
    fn notify(&self) {
        // Mostly nobody listens (the page's event stream is the one
        // subscriber), and a send takes a lock and wakes eight lists: 2 %
        // of the meters' thread at 10 000 meters. A subscriber that comes
        // later waits for the next telegram either way.
        if self.changed.receiver_count() > 0 {
            self.changed.send_replace(());
        }
    }

    /// A meter with its own staleness limit, which wins over the
    /// exporter-wide one that readers pass to [`Meter::stale_after_or`]:
    /// meters in one config file may send at different rates.
    pub fn with_stale_after(
        name: impl Into<String>,
        zone: Zone,
        stale_after: Duration,
    ) -> Arc<Meter> {
        Arc::new(Meter {
            name: name.into(),
            zone,
            stale_after: Some(stale_after),
            state: Mutex::new(MeterState::default()),
            changed: watch::Sender::new(()),
        })
    }

    /// The staleness limit for this meter: its own, else `default`.
    pub fn stale_after_or(&self, default: Duration) -> Duration {
        self.stale_after.unwrap_or(default)
    }

    /// The name given on the command line or in the config (`meter` label).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone for timestamps without a DST flag.
    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// Locks the state. A poisoned lock is recovered: the state is plain
    /// data and every writer leaves it consistent.
    pub fn lock(&self) -> MutexGuard<'_, MeterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives the meter prices: from the next telegram on, its register
    /// increases are billed (a new account, nothing billed yet).
    pub fn set_plan(&self, plan: Arc<Plan>) {
        self.lock().cost = Some(Box::new(Account::new(plan)));
    }

    /// Asks the CPU for this meter's state (its lock, counters and kept
    /// telegram) ahead of a telegram: called when the source is woken for
    /// bytes, so the loads run during the kernel's `recv` (see `prefetch`).
    pub fn prefetch_state(&self) {
        prefetch::value(&self.state);
    }

    /// Asks the CPU for the register guard's slots ahead of a telegram:
    /// called before the telegram is decoded, so the loads run meanwhile.
    pub fn prefetch_guard(&self) {
        self.lock().registers.prefetch();
    }

    /// Records that the source opened (`true`) or closed (`false`).
    pub fn set_source_up(&self, up: bool) {
        let changed = std::mem::replace(&mut self.lock().source_up, up) != up;
        if changed {
            self.notify();
        }
    }

    /// Records a reopen after a failure.
    pub fn record_reconnect(&self) {
        self.lock().reconnects += 1;
    }

    /// Records a telegram that passed its checks: swaps it in for the
    /// previous one (whose buffers `telegram` gets back, for the next
    /// decode), counts it and its skipped values, starts a new day when the
    /// local date changed, and wakes the subscribers.
    pub fn record_telegram(&self, telegram: &mut Telegram) {
        let mut guard = self.lock();
        let st = &mut *guard;
        let now = SystemTime::now();
        let previous = st.received_at.replace(now);
        st.ok += 1;
        if telegram.crc_algorithm == CrcAlgorithm::X25 && telegram.crc != CrcStatus::Missing {
            st.crc_x25 += 1;
        }
        st.seq += 1;
        st.field_errors += telegram.errors.len() as u64;
        let instant = Instant::now();
        st.received_instant = Some(instant);
        // The decoder's line cache stays with `telegram` (the pipeline's
        // scratch), which gets the previous telegram's buffers back.
        let t = st.telegram.get_or_insert_with(Telegram::new);
        telegram.exchange(t);
        let cx = registers::Context {
            meter: &self.name,
            zone: self.zone,
            arrived_ms: unix_millis(now),
            now: instant,
            carry: self.stale_after.unwrap_or(registers::DEFAULT_CARRY),
        };
        let outcome = st.registers.check(t, &cx);
        st.field_errors += outcome.field_errors;
        if let Some(account) = st.cost.as_mut() {
            account.apply(&billing::readings(
                t,
                &outcome,
                self.zone,
                unix_seconds(now),
            ));
        }
        track_day_start(&mut st.day_start, t, self.zone, previous, now);
        let at = unix_seconds(now);
        st.history.observe_power(t, at);
        if let Some(account) = st.cost.as_ref() {
            st.history
                .observe_cost(account, local_day(self.zone, at).0, at);
        }
        if let Some(d) = st.day_start.as_mut() {
            d.rebase(t, &outcome);
        }
        let save = st.capacity.observe(t, self.zone, unix_seconds(now));
        drop(guard);
        // Only when a month's peak rose: rare, small, and outside the lock.
        if let Some((path, peaks)) = save {
            if let Err(e) = capacity::store::save(&path, &peaks) {
                tracing::warn!(meter = %self.name, "{e}");
            }
        }
        self.notify();
    }

    /// Sets the capacity-tariff tracker (its settings and the peaks
    /// recorded before), before the source starts.
    pub fn set_capacity(&self, tracker: Tracker) {
        self.lock().capacity = tracker;
    }

    /// Counts a telegram whose CRC did not match.
    pub fn record_crc_mismatch(&self) {
        self.lock().crc_mismatch += 1;
    }

    /// Counts input that never became a telegram (framing, decoding,
    /// decryption or an HTTP body without one).
    pub fn record_malformed(&self) {
        self.lock().malformed += 1;
    }
}

/// Every meter of this process, in configuration order. Cloning is one
/// reference count: a reload swaps a new list in ([`Live`]) while a scrape
/// still reads the one it took.
#[derive(Debug, Default, Clone)]
pub struct Meters {
    list: Arc<[Arc<Meter>]>,
}

impl Meters {
    /// The set of meters.
    pub fn new(list: Vec<Arc<Meter>>) -> Meters {
        Meters { list: list.into() }
    }

    /// Iterates over the meters.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Meter>> {
        self.list.iter()
    }

    /// True when both are the same list (not an equal one): a reload
    /// swapped nothing in between.
    pub fn same_list(&self, other: &Meters) -> bool {
        Arc::ptr_eq(&self.list, &other.list)
    }

    /// How many meters there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] =
        b"/XMX5LGBBFFB231216240\r\n\r\n1-3:0.2.8(40)\r\n0-0:1.0.0(000101010000W)\r\n!3552\r\n";

    #[test]
    fn a_new_local_day_starts_at_the_first_telegram_after_midnight() {
        let t = Telegram::decode(GOOD).unwrap();
        let at = |s: i64| UNIX_EPOCH + Duration::from_secs(s as u64);
        // 2023-01-15 23:59:00 CET is 22:59:00 UTC.
        let before = 1_673_823_540;
        let mut ds = None;
        track_day_start(&mut ds, &t, Zone::CET, None, at(before));
        assert!(!ds.as_ref().unwrap().since_midnight);
        let day = ds.as_ref().unwrap().day;
        // Same day: kept.
        track_day_start(&mut ds, &t, Zone::CET, Some(at(before)), at(before + 50));
        assert_eq!(ds.as_ref().unwrap().taken_at, at(before));
        // Ten seconds after midnight, the previous telegram 70 s earlier.
        track_day_start(
            &mut ds,
            &t,
            Zone::CET,
            Some(at(before + 50)),
            at(before + 70),
        );
        let d = ds.as_ref().unwrap();
        assert_eq!((d.day, d.since_midnight), (day + 1, true));
        // After a gap across midnight: only "since".
        let mut ds = None;
        track_day_start(
            &mut ds,
            &t,
            Zone::CET,
            Some(at(before - 3_600)),
            at(before + 3_600),
        );
        assert!(!ds.unwrap().since_midnight);
        assert_eq!(local_day(Zone::CET, before + 60), (day + 1, 0));
    }
}
