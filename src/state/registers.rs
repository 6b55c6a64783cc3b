//! The register guard: a cumulative register never goes backwards, never
//! leaps further than the meter could have counted, and never vanishes for
//! one telegram.
//!
//! Real meters and dongles send a register that is wrong for one telegram
//! (export 95 -> 33 -> 95 kWh, import at a tenth once an hour). Passed
//! through, Prometheus reads the dip as a counter reset and `increase()`
//! adds the whole register again. The guard sits between the decoder and
//! the stored telegram ([`super::Meter::record_telegram`]) and rewrites the
//! telegram's registers in place, so `/metrics`, the JSON API, the page and
//! "today" all read the same held values.
//!
//! # Rules
//! The guarded registers: energy imported and exported per tariff and in
//! total (1-0:1.8.t, 2.8.t), reactive energy (1-0:3.8.t, 4.8.t), the M-Bus
//! readings (gas, water, heat), the power failure counters (0-0:96.7.21,
//! 96.7.9) and the sag and swell counters of each phase; and, in [`more`],
//! up to [`MORE`] energy registers of tariffs above 4 (1-0:1.8.5, Israeli
//! 1.8.11-1.8.13, 2.8.t), keyed by direction and tariff. For each:
//!
//! - **Accepted** when it is at least the last good value and at most the
//!   last good value plus what the meter could have counted since:
//!   [`Commodity::per_hour`] times the seconds between the two readings (the
//!   larger of the meter-clock difference, 0-0:1.0.0 or the M-Bus capture
//!   time, and the arrival difference), plus one second for the clocks'
//!   resolution.
//! - **Rejected** otherwise, as `backwards` (below the last good value) or
//!   `jump` (beyond the bound): the telegram carries the last good value
//!   instead, the rejection is counted by register and reason
//!   (`dsmr_register_rejected_total`) and logged, at most one line per
//!   [`LOG_EVERY`] per meter with a count of the lines left out.
//! - **A reset is taken** when the rejected value is confirmed: it and the
//!   next telegrams, [`CONFIRM`] in a row, each at least the one before and
//!   within the bound from it (the same lower value three times, or counting
//!   up from a new base). A new equipment id (0-0:96.1.1 for the meter's
//!   registers, 0-n:96.1.0 for its M-Bus channel) or another M-Bus device
//!   type is a new device: its first value is taken at once.
//! - **Out of range**: a negative value, or one whose base unit does not fit
//!   an `i64` (an 18-digit kWh register), is counted as a field error and
//!   treated as a missing line.
//! - **A missing line** (or an out-of-range one) keeps the last good value
//!   while the meter sent the line within its stale period (its
//!   `stale_after`, else [`DEFAULT_CARRY`], the default of `--stale-after`),
//!   so a series never vanishes for one telegram. Instantaneous readings
//!   (power, voltage, current) are not carried: an old "now" would be an
//!   invented value, while a held register is a true lower bound.
//!
//! Everything is compared exactly, in integers of the smallest digit.

mod more;

pub use more::MORE;

use super::MbusKind;
use dsmr_engine::telegram::{MbusReading, ReadingKind, Telegram};
use dsmr_engine::{Fixed, Quantity, Zone};
use std::time::{Duration, Instant};

/// How many telegrams in a row must agree on a rejected value before it is
/// taken as a reset of the register.
pub const CONFIRM: u8 = 3;

/// How long a missing register keeps its last value when the meter has no
/// staleness limit of its own: the default of `--stale-after`.
pub const DEFAULT_CARRY: Duration = Duration::from_secs(60);

/// At most one log line per this interval per meter.
pub const LOG_EVERY: Duration = Duration::from_secs(20);

/// Why a register value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Below the last good value.
    Backwards,
    /// Further above the last good value than the meter could have counted.
    Jump,
}

impl Reason {
    /// Both reasons, in the order of [`Reason::index`].
    pub const ALL: [Reason; 2] = [Reason::Backwards, Reason::Jump];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Backwards => "backwards",
            Reason::Jump => "jump",
        }
    }

    fn index(self) -> usize {
        match self {
            Reason::Backwards => 0,
            Reason::Jump => 1,
        }
    }
}

/// What a register counts, and so how fast it can grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Commodity {
    Energy,
    Reactive,
    Gas,
    Water,
    Heat,
    Events,
}

impl Commodity {
    /// The most the register can grow in one hour, in its base unit. Each
    /// bound is well above any household connection:
    /// - electricity: 250 kW (3 x 80 A x 400 V is 96 kW), 9 x 10^8 J;
    /// - reactive energy: 250 kvar, 250 000 varh;
    /// - gas: 250 m³/h (a G160 meter's maximum flow; households have G4-G25);
    /// - water: 50 m³/h (a household meter's Q4 is 5 m³/h);
    /// - heat: 1 MW, 3.6 x 10^9 J;
    /// - event counters (power failures, sags, swells): one per second.
    const fn per_hour(self) -> i128 {
        match self {
            Commodity::Energy => 900_000_000,
            Commodity::Reactive => 250_000,
            Commodity::Gas => 250,
            Commodity::Water => 50,
            Commodity::Heat => 3_600_000_000,
            Commodity::Events => 3_600,
        }
    }
}

/// A register's value as the telegram carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    Q(Quantity),
    Count(u64),
    Mbus(MbusReading),
}

/// Why a reading has no value in its base unit.
enum NoBase {
    /// A unit the engine does not know: not judged, passed through.
    Unknown,
    /// Negative or too large for its base unit: a field error.
    OutOfRange,
}

impl Reading {
    /// The value in its base unit, never negative.
    fn base(self) -> Result<Fixed, NoBase> {
        let q = match self {
            Reading::Q(q) => q,
            Reading::Mbus(m) => m.value,
            Reading::Count(n) => {
                return match i64::try_from(n) {
                    Ok(n) => Ok(Fixed::new(n, 0)),
                    Err(_) => Err(NoBase::OutOfRange),
                }
            }
        };
        if q.unit.base().is_none() {
            return Err(NoBase::Unknown);
        }
        match q.base() {
            Some(f) if f.mantissa >= 0 => Ok(f),
            _ => Err(NoBase::OutOfRange),
        }
    }
}

/// Number of guarded registers: see [`get`] for the layout.
const SLOTS: usize = 32;
const MBUS: usize = 20;

/// The `register` label of each slot: the OBIS code. M-Bus slots are named
/// by the object their last reading came from (see [`mbus_name`]).
const NAMES: [&str; SLOTS] = [
    "1-0:1.8.0",
    "1-0:1.8.1",
    "1-0:1.8.2",
    "1-0:1.8.3",
    "1-0:1.8.4",
    "1-0:2.8.0",
    "1-0:2.8.1",
    "1-0:2.8.2",
    "1-0:2.8.3",
    "1-0:2.8.4",
    "1-0:3.8.0",
    "1-0:3.8.1",
    "1-0:3.8.2",
    "1-0:3.8.3",
    "1-0:3.8.4",
    "1-0:4.8.0",
    "1-0:4.8.1",
    "1-0:4.8.2",
    "1-0:4.8.3",
    "1-0:4.8.4",
    "0-1:24.2.1",
    "0-2:24.2.1",
    "0-3:24.2.1",
    "0-4:24.2.1",
    "0-0:96.7.21",
    "0-0:96.7.9",
    "1-0:32.32.0",
    "1-0:52.32.0",
    "1-0:72.32.0",
    "1-0:32.36.0",
    "1-0:52.36.0",
    "1-0:72.36.0",
];

fn mbus_name(channel: usize, kind: ReadingKind) -> &'static str {
    const UNCORRECTED: [&str; 4] = ["0-1:24.2.3", "0-2:24.2.3", "0-3:24.2.3", "0-4:24.2.3"];
    const PROFILE: [&str; 4] = ["0-1:24.3.0", "0-2:24.3.0", "0-3:24.3.0", "0-4:24.3.0"];
    let c = channel.min(3);
    match kind {
        ReadingKind::Corrected => NAMES[MBUS + c],
        ReadingKind::Uncorrected => UNCORRECTED[c],
        ReadingKind::Profile => PROFILE[c],
    }
}

/// Slot `i` of a telegram: 0-4 imported (total, tariffs), 5-9 exported,
/// 10-14 reactive imported, 15-19 reactive exported, 20-23 M-Bus channels,
/// 24 power failures, 25 long power failures, 26-28 sags, 29-31 swells.
fn get(t: &Telegram, i: usize) -> Option<Reading> {
    match i {
        0..=4 => t.imported[i].map(Reading::Q),
        5..=9 => t.exported[i - 5].map(Reading::Q),
        10..=14 => t.reactive_imported[i - 10].map(Reading::Q),
        15..=19 => t.reactive_exported[i - 15].map(Reading::Q),
        20..=23 => t.mbus[i - 20].reading.map(Reading::Mbus),
        24 => t.power_failures.map(Reading::Count),
        25 => t.long_power_failures.map(Reading::Count),
        26..=28 => t.phases[i - 26].voltage_sags.map(Reading::Count),
        29..=31 => t.phases[i - 29].voltage_swells.map(Reading::Count),
        _ => None,
    }
}

/// Writes slot `i` (see [`get`]); a reading of another shape clears it.
fn set(t: &mut Telegram, i: usize, r: Option<Reading>) {
    let q = match r {
        Some(Reading::Q(q)) => Some(q),
        _ => None,
    };
    let n = match r {
        Some(Reading::Count(n)) => Some(n),
        _ => None,
    };
    match i {
        0..=4 => t.imported[i] = q,
        5..=9 => t.exported[i - 5] = q,
        10..=14 => t.reactive_imported[i - 10] = q,
        15..=19 => t.reactive_exported[i - 15] = q,
        20..=23 => {
            t.mbus[i - 20].reading = match r {
                Some(Reading::Mbus(m)) => Some(m),
                _ => None,
            }
        }
        24 => t.power_failures = n,
        25 => t.long_power_failures = n,
        26..=28 => t.phases[i - 26].voltage_sags = n,
        29..=31 => t.phases[i - 29].voltage_swells = n,
        _ => {}
    }
}

/// A value with the times it was read at.
#[derive(Debug, Clone, Copy)]
struct Point {
    reading: Reading,
    base: Fixed,
    /// The meter's clock for it (0-0:1.0.0, or the M-Bus capture time).
    meter_time: Option<i64>,
    /// Arrival, Unix milliseconds.
    arrived_ms: i64,
}

impl Point {
    /// The point of `reading`, arriving now (`meter_time`: the telegram's
    /// clock), or why it has no base value. A reading equal to the held one
    /// never gets here: [`Slot::take_unchanged`] takes it as it is.
    fn of(reading: Reading, meter_time: Option<i64>, cx: &Context<'_>) -> Result<Point, NoBase> {
        Ok(Point {
            reading,
            base: reading.base()?,
            meter_time: match reading {
                Reading::Mbus(m) => Some(m.time.to_unix(&cx.zone)),
                _ => meter_time,
            },
            arrived_ms: cx.arrived_ms,
        })
    }

    /// True when `next` is at least this value and within what the meter
    /// could have counted since.
    fn admits(&self, next: &Point, c: Commodity) -> Result<(), Reason> {
        if self.base == next.base {
            // Nothing counted: within any bound (most registers, most telegrams).
            return Ok(());
        }
        let s = self.base.scale.max(next.base.scale);
        let (a, b) = (widen(self.base, s), widen(next.base, s));
        if b < a {
            return Err(Reason::Backwards);
        }
        let meter = match (self.meter_time, next.meter_time) {
            (Some(x), Some(y)) => y.saturating_sub(x).max(0),
            _ => 0,
        };
        let arrival = next.arrived_ms.saturating_sub(self.arrived_ms).max(0);
        let arrival = arrival / 1_000 + i64::from(arrival % 1_000 != 0);
        let seconds = i128::from(meter.max(arrival)) + 1;
        // (b - a) * 3600 <= per_hour * seconds, at scale s.
        let grew = (b - a).checked_mul(3_600);
        let bound = c
            .per_hour()
            .checked_mul(seconds)
            .and_then(|x| x.checked_mul(10i128.pow(u32::from(s))));
        match (grew, bound) {
            (_, None) => Ok(()),
            (Some(g), Some(m)) if g <= m => Ok(()),
            _ => Err(Reason::Jump),
        }
    }
}

/// A decimal as an integer at `scale` (at most 18 digits: always fits).
fn widen(f: Fixed, scale: u8) -> i128 {
    i128::from(f.mantissa) * 10i128.pow(u32::from(scale.saturating_sub(f.scale)))
}

/// One guarded register.
#[derive(Debug, Clone, Default)]
struct Slot {
    /// The last good value.
    held: Option<Point>,
    /// When the meter last sent the line with a value in range.
    seen: Option<Instant>,
    /// A rejected value being confirmed, and how many telegrams agree on it.
    /// Boxed: only a glitching register has one, and inline it was half of
    /// every slot (1.6 KiB a meter).
    candidate: Option<Box<(Point, u8)>>,
    /// Rejections by [`Reason::index`].
    rejected: [u64; 2],
    /// The `register` label.
    name: &'static str,
}

/// What [`Slot::judge`] made of a value.
enum Verdict {
    /// The new last good value.
    Taken,
    /// A confirmed reset, from the value held before.
    Reset(Fixed),
    /// Refused: the telegram should carry the held value instead.
    Rejected(Reason, Point),
}

impl Slot {
    /// Judges `p` against the last good value (see the module doc's rules)
    /// and keeps the result: the new held value, the candidate reset and
    /// the rejection counts.
    fn judge(&mut self, p: Point, c: Commodity) -> Verdict {
        let Some(held) = self.held else {
            self.held = Some(p);
            return Verdict::Taken;
        };
        let reason = match held.admits(&p, c) {
            Ok(()) => {
                self.held = Some(p);
                self.candidate = None;
                return Verdict::Taken;
            }
            Err(reason) => reason,
        };
        let agreed = match self.candidate.as_deref() {
            Some((candidate, n)) if candidate.admits(&p, c).is_ok() => n + 1,
            _ => 1,
        };
        if agreed >= CONFIRM {
            self.held = Some(p);
            self.candidate = None;
            return Verdict::Reset(held.base);
        }
        match self.candidate.as_deref_mut() {
            Some(kept) => *kept = (p, agreed),
            None => self.candidate = Some(Box::new((p, agreed))),
        }
        self.rejected[reason.index()] += 1;
        Verdict::Rejected(reason, held)
    }

    /// Takes a reading equal to the held one in place, as [`Slot::judge`]
    /// would take its point: the held point gets this telegram's times (an
    /// M-Bus reading keeps its capture time), its base value stays. False,
    /// with nothing changed, for any other reading. Within a second only the
    /// running tariff's register counts: the others, most of a meter's
    /// registers, are taken this way, with no point built and copied
    /// (docs/scale.md).
    fn take_unchanged(
        &mut self,
        reading: Reading,
        meter_time: Option<i64>,
        cx: &Context<'_>,
    ) -> bool {
        let Some(held) = self.held.as_mut().filter(|h| h.reading == reading) else {
            return false;
        };
        if !matches!(reading, Reading::Mbus(_)) {
            held.meter_time = meter_time;
        }
        held.arrived_ms = cx.arrived_ms;
        self.seen = Some(cx.now);
        self.candidate = None;
        true
    }

    /// Drops the last good value; true when there was one (a reset).
    fn forget(&mut self) -> bool {
        self.candidate = None;
        self.seen = None;
        self.held.take().is_some()
    }
}

/// Logs a confirmed reset (rare: one line each).
fn log_reset(cx: &Context<'_>, register: &str, from: Fixed, to: Fixed) {
    tracing::info!(
        meter = cx.meter,
        register,
        from = %from,
        to = %to,
        "register reset taken: {CONFIRM} telegrams agree on the new value"
    );
}

/// What one telegram's check changed, for the meter's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Values out of range, to add to the field errors.
    pub field_errors: u64,
    /// Bit `i` set when slot `i` was reset (new device or confirmed reset),
    /// so "today" starts again from the new value.
    pub resets: u32,
    /// The same for the tariffs above 4 (`imported_more`, `exported_more`):
    /// bit `256 * exported + tariff`. Read it with [`Outcome::tariff_reset`].
    pub tariff_resets: [u64; 8],
}

impl Outcome {
    /// True when slot `i` was reset.
    pub fn reset(&self, i: usize) -> bool {
        i < SLOTS && self.resets & (1 << i) != 0
    }

    /// True when the register of a tariff above 4 was reset (a new device
    /// or a confirmed reset): billing and "today" start again from it.
    pub fn tariff_reset(&self, exported: bool, tariff: u8) -> bool {
        let bit = usize::from(exported) * 256 + usize::from(tariff);
        self.tariff_resets[bit / 64] & (1 << (bit % 64)) != 0
    }

    fn set_tariff_reset(&mut self, exported: bool, tariff: u8) {
        let bit = usize::from(exported) * 256 + usize::from(tariff);
        self.tariff_resets[bit / 64] |= 1 << (bit % 64);
    }
}

/// Slot numbers of the registers "today" counts: imported, exported (total
/// and tariffs) and the M-Bus channels.
pub const IMPORTED: usize = 0;
/// See [`IMPORTED`].
pub const EXPORTED: usize = 5;
/// See [`IMPORTED`].
pub const MBUS_SLOTS: usize = MBUS;

/// Times and limits of one check.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub meter: &'a str,
    pub zone: Zone,
    /// Arrival, Unix milliseconds.
    pub arrived_ms: i64,
    pub now: Instant,
    /// How long a missing line keeps its last value.
    pub carry: Duration,
}

/// An equipment id as a 64-bit SipHash of its bytes. Ids are compared on
/// every telegram; held as boxed bytes each comparison read memory of its
/// own, out of the cache by the meter's next telegram (3 % of the
/// exporter's time at 10 000 meters, docs/scale.md). The print sits in the
/// guard. Two different ids give the same print about once in 2^64 device
/// changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IdPrint(u64);

impl IdPrint {
    fn of(id: &[u8]) -> IdPrint {
        use std::hash::Hasher;
        // Fixed keys: the same id gives the same print all along.
        let mut h = std::hash::DefaultHasher::new();
        h.write(id);
        IdPrint(h.finish())
    }
}

/// No slot yet in [`Registers::at`].
const ABSENT: u8 = u8::MAX;

/// The guard of one meter's registers.
#[derive(Debug)]
pub struct Registers {
    /// Where slot `i`'s register is in `slots`, or [`ABSENT`].
    at: [u8; SLOTS],
    /// The registers the meter has sent, in the order they first came,
    /// which is the order every telegram and [`Registers::check`] go
    /// through them: one allocation read front to back. A meter sends a
    /// few of the 32 (a whole array of slots was 7 KiB per meter; see
    /// docs/scale.md).
    slots: Vec<Slot>,
    /// Equipment ids (0-0:96.1.1, 0-n:96.1.0), compared on every telegram
    /// to notice a new device.
    meter_id: Option<IdPrint>,
    mbus_id: [Option<IdPrint>; 4],
    mbus_type: [Option<u16>; 4],
    /// The tariffs above 4.
    more: more::More,
    log_last: Option<Instant>,
    log_suppressed: u64,
}

impl Default for Registers {
    fn default() -> Registers {
        Registers {
            at: [ABSENT; SLOTS],
            slots: Vec::new(),
            meter_id: None,
            mbus_id: Default::default(),
            mbus_type: [None; 4],
            more: more::More::default(),
            log_last: None,
            log_suppressed: 0,
        }
    }
}

impl Registers {
    /// Asks the CPU for the slots, which every telegram reads front to back.
    pub(super) fn prefetch(&self) {
        super::prefetch::bytes(
            self.slots.as_ptr().cast(),
            std::mem::size_of_val(self.slots.as_slice()),
        );
    }

    /// Slot `i`, once its register has arrived.
    fn slot(&self, i: usize) -> Option<&Slot> {
        self.slots.get(usize::from(*self.at.get(i)?))
    }

    /// Slot `i`, once its register has arrived.
    fn slot_mut(&mut self, i: usize) -> Option<&mut Slot> {
        self.slots.get_mut(usize::from(*self.at.get(i)?))
    }

    /// Slot `i`, made when its register first arrives.
    fn slot_or_new(&mut self, i: usize) -> &mut Slot {
        if self.at[i] == ABSENT {
            // At most SLOTS (32) entries: the position fits a u8 below ABSENT.
            self.at[i] = self.slots.len() as u8;
            // Grown by one: a meter's registers arrive together, once.
            self.slots.reserve_exact(1);
            self.slots.push(Slot::default());
        }
        let j = usize::from(self.at[i]);
        &mut self.slots[j]
    }

    /// Each register the meter has sent or had rejected, with its count per
    /// reason (zeros included, so `rate()` sees the first rejection).
    pub fn rejected(&self) -> impl Iterator<Item = (&'static str, Reason, u64)> + '_ {
        (0..SLOTS)
            .filter_map(|i| self.slot(i))
            .chain(self.more.slots())
            .filter(|s| !s.name.is_empty())
            .flat_map(|s| Reason::ALL.map(|r| (s.name, r, s.rejected[r.index()])))
    }

    /// Checks every register of `t` against the last good values and
    /// rewrites `t` to what the series should show (see the module doc).
    pub fn check(&mut self, t: &mut Telegram, cx: &Context<'_>) -> Outcome {
        let mut out = Outcome::default();
        self.new_devices(t, cx, &mut out);
        let meter_time = t.timestamp.map(|ts| ts.to_unix(&cx.zone));
        for (i, &name) in NAMES.iter().enumerate() {
            let Some(reading) = get(t, i) else {
                self.carry(t, i, cx);
                continue;
            };
            let name = match reading {
                Reading::Mbus(m) => mbus_name(i - MBUS, m.kind),
                _ => name,
            };
            if self.commodity(t, i, reading).is_some() {
                if let Some(slot) = self.slot_mut(i) {
                    if slot.take_unchanged(reading, meter_time, cx) {
                        slot.name = name;
                        continue;
                    }
                }
            }
            let p = match Point::of(reading, meter_time, cx) {
                Ok(p) => p,
                // Not judged, and not carried either: it is what was sent.
                Err(NoBase::Unknown) => continue,
                Err(NoBase::OutOfRange) => {
                    out.field_errors += 1;
                    self.carry(t, i, cx);
                    continue;
                }
            };
            let Some(commodity) = self.commodity(t, i, p.reading) else {
                continue;
            };
            let slot = self.slot_or_new(i);
            slot.seen = Some(cx.now);
            slot.name = name;
            match slot.judge(p, commodity) {
                Verdict::Taken => {}
                Verdict::Reset(from) => {
                    out.resets |= 1 << i;
                    log_reset(cx, name, from, p.base);
                }
                Verdict::Rejected(reason, held) => {
                    set(t, i, Some(held.reading));
                    self.log_rejection(cx, name, reason, held.base, p.base);
                }
            }
        }
        self.check_more(t, meter_time, cx, &mut out);
        out
    }

    /// What slot `i` counts, or `None` for an M-Bus reading that is none of
    /// gas, water and heat (it has no series, so it is not judged).
    fn commodity(&self, t: &Telegram, i: usize, r: Reading) -> Option<Commodity> {
        Some(match (i, r) {
            (0..=9, _) => Commodity::Energy,
            (10..=19, _) => Commodity::Reactive,
            (20..=23, Reading::Mbus(m)) => {
                match MbusKind::of(t.mbus[i - MBUS].device_type, m.value.dimension())? {
                    MbusKind::Gas => Commodity::Gas,
                    MbusKind::Water => Commodity::Water,
                    MbusKind::Heat => Commodity::Heat,
                }
            }
            (20..=23, _) => return None,
            _ => Commodity::Events,
        })
    }

    /// A missing or out-of-range line: the last good value while the meter
    /// sent the line within the carry period, else nothing.
    fn carry(&mut self, t: &mut Telegram, i: usize, cx: &Context<'_>) {
        let Some(slot) = self.slot(i) else {
            set(t, i, None);
            return;
        };
        let recent = slot
            .seen
            .is_some_and(|s| cx.now.saturating_duration_since(s) <= cx.carry);
        match slot.held {
            Some(held) if recent => {
                set(t, i, Some(held.reading));
                if (MBUS..MBUS + 4).contains(&i) {
                    let m = &mut t.mbus[i - MBUS];
                    if m.device_type.is_none() {
                        m.device_type = self.mbus_type[i - MBUS];
                    }
                }
            }
            _ => set(t, i, None),
        }
    }

    /// A new equipment id (or M-Bus device type) is a new device: its
    /// registers start again from whatever it sends.
    fn new_devices(&mut self, t: &Telegram, cx: &Context<'_>, out: &mut Outcome) {
        if let Some(span) = t.equipment_id {
            let id = IdPrint::of(t.bytes(span));
            if self.meter_id != Some(id) {
                if self.meter_id.is_some() {
                    tracing::info!(
                        meter = cx.meter,
                        "new meter equipment id: registers start again"
                    );
                    for i in (0..MBUS).chain(MBUS + 4..SLOTS) {
                        self.forget(i, out);
                    }
                    self.more.forget_all(out);
                }
                self.meter_id = Some(id);
            }
        }
        for (c, m) in t.mbus.iter().enumerate() {
            let id = m.equipment_id.map(|s| IdPrint::of(t.bytes(s)));
            let new_id = id.is_some_and(|id| self.mbus_id[c].is_some_and(|old| old != id));
            let new_type = m
                .device_type
                .is_some_and(|d| self.mbus_type[c].is_some_and(|old| old != d));
            if new_id || new_type {
                tracing::info!(
                    meter = cx.meter,
                    channel = c + 1,
                    "new M-Bus device: its register starts again"
                );
                self.forget(MBUS + c, out);
            }
            if id.is_some() {
                self.mbus_id[c] = id;
            }
            if m.device_type.is_some() {
                self.mbus_type[c] = m.device_type;
            }
        }
    }

    fn forget(&mut self, i: usize, out: &mut Outcome) {
        if self.slot_mut(i).is_some_and(Slot::forget) {
            out.resets |= 1 << i;
        }
    }

    /// One warning per [`LOG_EVERY`], with how many were left out.
    fn log_rejection(
        &mut self,
        cx: &Context<'_>,
        register: &str,
        reason: Reason,
        held: Fixed,
        got: Fixed,
    ) {
        if self
            .log_last
            .is_some_and(|t| cx.now.saturating_duration_since(t) < LOG_EVERY)
        {
            self.log_suppressed += 1;
            return;
        }
        self.log_last = Some(cx.now);
        let suppressed = std::mem::take(&mut self.log_suppressed);
        tracing::warn!(
            meter = cx.meter,
            register,
            reason = reason.as_str(),
            held = %held,
            got = %got,
            suppressed,
            "register value rejected, the last good value is kept"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Meter;
    use std::sync::Arc;

    const ID: &str = "4530303034303031353934373534343134";

    /// A telegram at minute `minute` after 10:00 with the given lines.
    fn telegram(minute: u32, id: &str, lines: &str) -> Telegram {
        let text = format!(
            "/XMX5LGBBFFB231216240\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0(2301151{}{:02}00W)\r\n\
             0-0:96.1.1({id})\r\n{lines}!\r\n",
            minute / 60,
            minute % 60
        );
        Telegram::decode(text.as_bytes()).expect("a telegram")
    }

    fn record(m: &Arc<Meter>, minute: u32, id: &str, lines: &str) {
        m.record_telegram(&mut telegram(minute, id, lines));
    }

    fn imported(m: &Meter, tariff: usize) -> Option<String> {
        let st = m.lock();
        let t = st.telegram.as_ref()?;
        t.imported[tariff].map(|q| q.value.to_string())
    }

    fn exported(m: &Meter) -> Option<String> {
        let st = m.lock();
        st.telegram.as_ref()?.exported[1].map(|q| q.value.to_string())
    }

    fn rejected(m: &Meter, register: &str, reason: Reason) -> u64 {
        m.lock()
            .registers
            .rejected()
            .find(|&(r, why, _)| r == register && why == reason)
            .map_or(0, |(_, _, n)| n)
    }

    fn imp(v: &str) -> String {
        format!("1-0:1.8.1({v}*kWh)\r\n")
    }

    #[test]
    fn a_register_that_dips_for_one_telegram_is_held_then_follows() {
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &imp("002130.000"));
        record(&m, 1, ID, &imp("000010.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2130.000"));
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Backwards), 1);
        record(&m, 2, ID, &imp("002131.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2131.000"));
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Backwards), 1);
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Jump), 0);
        assert_eq!(m.lock().field_errors, 0);
    }

    #[test]
    fn export_95_33_95_never_shows_33() {
        let m = Meter::new("main", Zone::CET);
        let exp = |v: &str| format!("1-0:2.8.1({v}*kWh)\r\n");
        for (minute, v) in [(0, "000095.000"), (1, "000033.000"), (2, "000095.000")] {
            record(&m, minute, ID, &exp(v));
            assert_eq!(exported(&m).as_deref(), Some("95.000"), "minute {minute}");
        }
        assert_eq!(rejected(&m, "1-0:2.8.1", Reason::Backwards), 1);
    }

    #[test]
    fn an_import_at_a_tenth_once_an_hour_is_held() {
        let m = Meter::new("main", Zone::CET);
        let mut shown = Vec::new();
        for minute in 0..=120 {
            let wh = 2_130_000 + minute * 10;
            let v = if minute % 60 == 30 { wh / 10 } else { wh };
            record(
                &m,
                minute,
                ID,
                &imp(&format!("{}.{:03}", v / 1000, v % 1000)),
            );
            shown.push(imported(&m, 1).unwrap_or_default());
        }
        assert_eq!(shown[30], shown[29]);
        assert_eq!(shown[31], "2130.310");
        assert_eq!(shown[120], "2131.200");
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Backwards), 2);
    }

    #[test]
    fn a_leap_beyond_250_kw_is_a_jump_and_within_it_is_taken() {
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &imp("002130.000"));
        record(&m, 1, ID, &imp("021300.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2130.000"));
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Jump), 1);
        // 250 kW for the two minutes since 2130 plus a second: 8.40 kWh.
        record(&m, 2, ID, &imp("002138.300"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2138.300"));
        record(&m, 3, ID, &imp("002142.600"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2138.300"));
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Jump), 2);
    }

    #[test]
    fn an_unchanged_reading_moves_the_bound_on() {
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &imp("002130.000"));
        // Ten minutes later, the same value: the next rise is bounded by
        // the minute since this one, not the eleven since the first.
        record(&m, 10, ID, &imp("002130.000"));
        record(&m, 11, ID, &imp("002138.300"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2130.000"));
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Jump), 1);
        // Within 250 kW for the minute and a second: taken.
        record(&m, 12, ID, &imp("002134.200"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2134.200"));
    }

    #[test]
    fn a_reset_confirmed_by_three_telegrams_is_taken() {
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &imp("002130.000"));
        record(&m, 1, ID, &imp("000010.000"));
        record(&m, 2, ID, &imp("000010.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2130.000"));
        record(&m, 3, ID, &imp("000010.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("10.000"));
        record(&m, 4, ID, &imp("000010.100"));
        assert_eq!(imported(&m, 1).as_deref(), Some("10.100"));
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Backwards), 2);
        // Counting up from a new base confirms too.
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &imp("002130.000"));
        for (minute, v) in [(1, "000000.001"), (2, "000000.002"), (3, "000000.010")] {
            record(&m, minute, ID, &imp(v));
        }
        assert_eq!(imported(&m, 1).as_deref(), Some("0.010"));
        // A glitch in between starts the count again.
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &imp("002130.000"));
        for (minute, v) in [(1, "000010.000"), (2, "000010.000"), (3, "000009.000")] {
            record(&m, minute, ID, &imp(v));
        }
        assert_eq!(imported(&m, 1).as_deref(), Some("2130.000"));
    }

    #[test]
    fn a_new_equipment_id_is_taken_at_once_and_today_starts_again() {
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &imp("002130.000"));
        record(
            &m,
            1,
            "4530303034303031353934373534343135",
            &imp("000010.000"),
        );
        assert_eq!(imported(&m, 1).as_deref(), Some("10.000"));
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Backwards), 0);
        let st = m.lock();
        let d = st.day_start.as_ref().expect("a day start");
        assert_eq!(
            d.imported[1].map(|q| q.value.to_string()).as_deref(),
            Some("10.000")
        );
    }

    #[test]
    fn ids_of_96_digits_tell_devices_apart() {
        // 96 hex digits, the most DSMR allows, differing in the last one.
        let long = |last: char| format!("{}{last}", "45".repeat(47) + "3");
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, &long('1'), &imp("002130.000"));
        record(&m, 1, &long('1'), &imp("000010.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2130.000"), "same id");
        record(&m, 2, &long('2'), &imp("000010.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("10.000"), "new id");
        // A short id after a long one, and back.
        record(&m, 3, ID, &imp("000005.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("5.000"));
        record(&m, 4, &long('2'), &imp("000001.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("1.000"));
        assert_eq!(rejected(&m, "1-0:1.8.1", Reason::Backwards), 1);
    }

    #[test]
    fn a_missing_line_keeps_its_value_for_the_stale_period() {
        let m = Meter::new("main", Zone::CET);
        record(
            &m,
            0,
            ID,
            &(imp("002130.000") + "1-0:1.8.2(000500.000*kWh)\r\n"),
        );
        record(&m, 1, ID, &imp("002130.100"));
        assert_eq!(imported(&m, 2).as_deref(), Some("500.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2130.100"));
        // A meter whose stale period has passed since the line was sent.
        let m = Meter::with_stale_after("main", Zone::CET, Duration::ZERO);
        record(
            &m,
            0,
            ID,
            &(imp("002130.000") + "1-0:1.8.2(000500.000*kWh)\r\n"),
        );
        std::thread::sleep(Duration::from_millis(5));
        record(&m, 1, ID, &imp("002130.100"));
        assert_eq!(imported(&m, 2), None);
    }

    #[test]
    fn negative_and_out_of_range_registers_are_field_errors_and_held() {
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &imp("002130.000"));
        record(&m, 1, ID, &imp("-002130.000"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2130.000"));
        assert_eq!(m.lock().field_errors, 1);
        record(&m, 2, ID, &imp("999999999999.999999"));
        assert_eq!(imported(&m, 1).as_deref(), Some("2130.000"));
        assert_eq!(m.lock().field_errors, 2);
        // With nothing to hold, the value is left out (and still counted).
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &imp("-000001.000"));
        assert_eq!(imported(&m, 1), None);
        assert_eq!(m.lock().field_errors, 1);
    }

    #[test]
    fn event_counters_and_gas_are_guarded_too() {
        let m = Meter::new("main", Zone::CET);
        let lines = |failures: u32, gas: &str| {
            format!(
                "0-0:96.7.21({failures:05})\r\n0-1:24.1.0(003)\r\n\
                 0-1:24.2.1(230115100000W)({gas}*m3)\r\n"
            )
        };
        record(&m, 0, ID, &lines(5, "01234.567"));
        record(&m, 1, ID, &lines(3, "00123.456"));
        {
            let st = m.lock();
            let t = st.telegram.as_ref().expect("a telegram");
            assert_eq!(t.power_failures, Some(5));
            let gas = t.mbus[0].reading.expect("gas").value.value.to_string();
            assert_eq!(gas, "1234.567");
        }
        assert_eq!(rejected(&m, "0-0:96.7.21", Reason::Backwards), 1);
        assert_eq!(rejected(&m, "0-1:24.2.1", Reason::Backwards), 1);
        // 1000 failures in a minute is more than one a second.
        record(&m, 2, ID, &lines(1005, "01234.567"));
        assert_eq!(rejected(&m, "0-0:96.7.21", Reason::Jump), 1);
        record(&m, 3, ID, &lines(6, "01234.600"));
        assert_eq!(
            m.lock().telegram.as_ref().and_then(|t| t.power_failures),
            Some(6)
        );
    }

    /// The shown register of tariff `tariff` above 4.
    fn more(m: &Meter, exported: bool, tariff: u8) -> Option<String> {
        let st = m.lock();
        let t = st.telegram.as_ref()?;
        let list = if exported {
            &t.exported_more
        } else {
            &t.imported_more
        };
        let r = list.iter().find(|r| r.tariff == tariff)?;
        Some(r.value.value.to_string())
    }

    fn t5(v: &str) -> String {
        format!("1-0:1.8.5({v}*kWh)\r\n")
    }

    #[test]
    fn a_tariff_5_glitch_is_held_counted_and_followed() {
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &t5("003221.000"));
        record(&m, 1, ID, &t5("000322.100"));
        assert_eq!(more(&m, false, 5).as_deref(), Some("3221.000"));
        assert_eq!(rejected(&m, "1-0:1.8.5", Reason::Backwards), 1);
        record(&m, 2, ID, &t5("032210.000"));
        assert_eq!(more(&m, false, 5).as_deref(), Some("3221.000"));
        assert_eq!(rejected(&m, "1-0:1.8.5", Reason::Jump), 1);
        record(&m, 3, ID, &t5("003221.100"));
        assert_eq!(more(&m, false, 5).as_deref(), Some("3221.100"));
        assert_eq!(rejected(&m, "1-0:1.8.5", Reason::Backwards), 1);
        // The export side is its own register.
        let exp = |v: &str| format!("1-0:2.8.5({v}*kWh)\r\n");
        record(&m, 4, ID, &(t5("003221.200") + &exp("000417.000")));
        record(&m, 5, ID, &(t5("003221.300") + &exp("000041.700")));
        assert_eq!(more(&m, true, 5).as_deref(), Some("417.000"));
        assert_eq!(more(&m, false, 5).as_deref(), Some("3221.300"));
        assert_eq!(rejected(&m, "1-0:2.8.5", Reason::Backwards), 1);
        assert_eq!(rejected(&m, "1-0:1.8.5", Reason::Backwards), 1);
        assert_eq!(m.lock().field_errors, 0);
    }

    #[test]
    fn israeli_tariffs_11_to_13_are_guarded_each_on_its_own() {
        let m = Meter::new("main", Zone::CET);
        let lines = |a: &str, b: &str, c: &str| {
            format!("1-0:1.8.11({a}*kWh)\r\n1-0:1.8.12({b}*kWh)\r\n1-0:1.8.13({c}*kWh)\r\n")
        };
        record(&m, 0, ID, &lines("001000.000", "002000.000", "003000.000"));
        record(&m, 1, ID, &lines("000100.000", "002000.500", "003000.000"));
        assert_eq!(more(&m, false, 11).as_deref(), Some("1000.000"));
        assert_eq!(more(&m, false, 12).as_deref(), Some("2000.500"));
        assert_eq!(rejected(&m, "1-0:1.8.11", Reason::Backwards), 1);
        assert_eq!(rejected(&m, "1-0:1.8.12", Reason::Backwards), 0);
        // A reset of tariff 11 confirmed by three telegrams is taken.
        record(&m, 2, ID, &lines("000100.000", "002000.600", "003000.000"));
        assert_eq!(more(&m, false, 11).as_deref(), Some("1000.000"));
        let mut t = telegram(3, ID, &lines("000100.000", "002000.700", "003000.000"));
        let cx = Context {
            meter: "main",
            zone: Zone::CET,
            arrived_ms: 1_673_773_380_000,
            now: Instant::now(),
            carry: DEFAULT_CARRY,
        };
        let out = m.lock().registers.check(&mut t, &cx);
        assert!(out.tariff_reset(false, 11));
        assert!(!out.tariff_reset(false, 12) && !out.tariff_reset(true, 11));
        assert_eq!(t.imported_more[0].value.value.to_string(), "100.000");
        assert_eq!(rejected(&m, "1-0:1.8.11", Reason::Backwards), 2);
    }

    #[test]
    fn a_missing_tariff_5_is_carried_for_the_stale_period() {
        let m = Meter::new("main", Zone::CET);
        let both = t5("003221.000") + "1-0:1.8.11(000100.000*kWh)\r\n";
        record(&m, 0, ID, &both);
        record(&m, 1, ID, &imp("002130.000"));
        assert_eq!(more(&m, false, 5).as_deref(), Some("3221.000"));
        assert_eq!(more(&m, false, 11).as_deref(), Some("100.000"));
        {
            let st = m.lock();
            let tariffs: Vec<u8> = st.telegram.as_ref().map_or(Vec::new(), |t| {
                t.imported_more.iter().map(|r| r.tariff).collect()
            });
            assert_eq!(tariffs, [5, 11], "in tariff order");
        }
        // Out of range is a field error and carried too.
        record(&m, 2, ID, &t5("-003221.000"));
        assert_eq!(more(&m, false, 5).as_deref(), Some("3221.000"));
        assert_eq!(m.lock().field_errors, 1);
        // Once the stale period has passed, the series is left out.
        let m = Meter::with_stale_after("main", Zone::CET, Duration::ZERO);
        record(&m, 0, ID, &t5("003221.000"));
        std::thread::sleep(Duration::from_millis(5));
        record(&m, 1, ID, &imp("002130.000"));
        assert_eq!(more(&m, false, 5), None);
    }

    #[test]
    fn a_new_equipment_id_takes_tariff_5_at_once() {
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &t5("003221.000"));
        let other = "4530303034303031353934373534343135";
        let mut t = telegram(1, other, &t5("000001.000"));
        let cx = Context {
            meter: "main",
            zone: Zone::CET,
            arrived_ms: 1_673_773_260_000,
            now: Instant::now(),
            carry: DEFAULT_CARRY,
        };
        let out = m.lock().registers.check(&mut t, &cx);
        assert!(out.tariff_reset(false, 5));
        assert_eq!(t.imported_more[0].value.value.to_string(), "1.000");
        assert_eq!(rejected(&m, "1-0:1.8.5", Reason::Backwards), 0);
    }

    #[test]
    fn today_of_tariff_5_starts_again_from_a_new_meter() {
        let m = Meter::new("main", Zone::CET);
        record(&m, 0, ID, &t5("003221.000"));
        let other = "4530303034303031353934373534343135";
        record(&m, 1, other, &t5("000001.000"));
        let st = m.lock();
        let d = st.day_start.as_ref().expect("a day start");
        let start: Vec<_> = d
            .imported_more
            .iter()
            .map(|r| (r.tariff, r.value.value.to_string()))
            .collect();
        assert_eq!(start, [(5, "1.000".to_owned())]);
    }

    #[test]
    fn tariffs_beyond_the_cap_pass_unguarded_and_the_rest_stay_guarded() {
        let m = Meter::new("main", Zone::CET);
        let lines = |v: u32| {
            (5..=5 + MORE as u32)
                .map(|t| format!("1-0:1.8.{t}({v:06}.000*kWh)\r\n"))
                .collect::<String>()
        };
        record(&m, 0, ID, &lines(1000));
        record(&m, 1, ID, &lines(10));
        let last = 5 + MORE as u8;
        assert_eq!(more(&m, false, last - 1).as_deref(), Some("1000.000"));
        assert_eq!(more(&m, false, last).as_deref(), Some("10.000"));
        let names: Vec<_> = m.lock().registers.rejected().map(|r| r.0).collect();
        assert!(names.contains(&"1-0:1.8.20") && !names.contains(&"1-0:1.8.21"));
    }
}
