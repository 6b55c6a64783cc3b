//! A framed telegram decoded into typed values.
//!
//! Decoding never fails on one odd line: every object is decoded on its own,
//! a value that does not parse leaves that one field absent and is recorded
//! in [`Telegram::errors`] with its line and OBIS code, and codes this engine
//! does not know are kept in [`Telegram::unknown`]. Only a missing header or
//! `!` line makes the whole telegram an [`Error`].
//!
//! A [`Telegram`] owns a copy of its text and reuses its buffers, so decoding
//! into the same value again allocates nothing once the buffers are warm.

use super::crc::{crc16_arc, parse_crc_digits};
use super::obis::Obis;
use super::value::{trim, Dimension, Fixed, Quantity, Timestamp, Unit};
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Why a telegram as a whole was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The text does not start with `/`, three letters and a digit.
    NoHeader,
    /// No `!` line (with at most four hex digits after it) ends the text.
    NoEnd,
    /// The CRC after `!` does not match the text.
    CrcMismatch { sent: u16, computed: u16 },
    /// A DSMR 4+ or e-MUCS telegram came without its CRC.
    MissingCrc { version: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoHeader => f.write_str(
                "no telegram header: byte 0 should be '/' followed by three letters and a digit",
            ),
            Error::NoEnd => f.write_str(
                "no '!' line ends the telegram (it is cut off or its CRC line is damaged)",
            ),
            Error::CrcMismatch { sent, computed } => write!(
                f,
                "CRC mismatch: the telegram says {sent:04X}, its content gives {computed:04X}"
            ),
            Error::MissingCrc { version } => write!(
                f,
                "CRC missing on a telegram that declares version {version}, which requires one"
            ),
        }
    }
}

impl core::error::Error for Error {}

/// What the CRC line said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrcStatus {
    /// No CRC digits after `!` (DSMR 2.2/3.0).
    #[default]
    Missing,
    /// The CRC matches.
    Valid(u16),
    /// The CRC does not match.
    Mismatch { sent: u16, computed: u16 },
}

/// A byte range of the telegram's own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
}

/// Why one field of a telegram was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// The line is not `code(value)…`, or its OBIS code is damaged.
    MalformedLine,
    /// A number did not parse.
    BadNumber { group: u8 },
    /// A timestamp is not a date.
    BadTimestamp { group: u8 },
    /// The unit does not fit the register (`V` on an energy register).
    UnexpectedUnit { group: u8, unit: Unit },
    /// A value the register needs is missing.
    MissingValue { group: u8 },
    /// A log declared a different number of entries than it holds.
    CountMismatch { declared: u32, found: u32 },
}

impl fmt::Display for FieldErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldErrorKind::MalformedLine => {
                f.write_str("malformed line (not an OBIS code followed by parenthesised values)")
            }
            FieldErrorKind::BadNumber { group } => write!(f, "value {group} is not a number"),
            FieldErrorKind::BadTimestamp { group } => {
                write!(f, "value {group} is not a valid timestamp")
            }
            FieldErrorKind::UnexpectedUnit { group, unit } => write!(
                f,
                "value {group} has unit {unit:?}, which does not fit this register"
            ),
            FieldErrorKind::MissingValue { group } => write!(f, "value {group} is missing"),
            FieldErrorKind::CountMismatch { declared, found } => {
                write!(f, "declares {declared} entries but holds {found}")
            }
        }
    }
}

impl core::error::Error for FieldErrorKind {}

/// One field that was left out, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    /// 1-based line number in the telegram (the header is line 1).
    pub line: u32,
    /// The OBIS code, when it could be read.
    pub obis: Option<Obis>,
    pub kind: FieldErrorKind,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(o) = self.obis {
            write!(f, " ({o})")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl core::error::Error for FieldError {}

/// A line whose OBIS code this engine does not interpret, kept as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownLine {
    pub line: u32,
    pub obis: Obis,
    /// The code as written.
    pub code: Span,
    /// Everything from the first `(` to the last `)`.
    pub value: Span,
}

/// Per-phase values (index 0 = L1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Phase {
    pub power_import: Option<Quantity>,
    pub power_export: Option<Quantity>,
    pub reactive_power_import: Option<Quantity>,
    pub reactive_power_export: Option<Quantity>,
    pub voltage: Option<Quantity>,
    pub current: Option<Quantity>,
    /// Fuse supervision threshold (BE/HU `1-0:31.4.0`, LU `1-1:31.4.0`).
    pub current_limit: Option<Quantity>,
    pub power_factor: Option<Quantity>,
    pub voltage_sags: Option<u64>,
    pub voltage_swells: Option<u64>,
}

/// One entry of the long power failure log: when it ended and how long it lasted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerFailure {
    /// `None` when the meter wrote a placeholder that is not a date.
    pub end: Option<Timestamp>,
    /// Seconds; a u64, as meters send values above `i32::MAX`.
    pub duration: Option<u64>,
}

/// A 15-minute demand peak (Belgian capacity tariff).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peak {
    /// Start of the billing month (history entries only).
    pub period_start: Option<Timestamp>,
    /// When the peak occurred; `None` for the placeholder `632525252525W`.
    pub time: Option<Timestamp>,
    pub value: Quantity,
}

/// Which OBIS object an M-Bus reading came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadingKind {
    /// `0-n:24.2.1` (temperature-corrected volume on gas meters).
    Corrected,
    /// `0-n:24.2.3` (Belgian gas: not temperature-corrected).
    Uncorrected,
    /// `0-n:24.3.0` DSMR 2.2/3.0 profile with the value on the next line.
    Profile,
}

/// An M-Bus device's last reading and its own capture time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbusReading {
    pub time: Timestamp,
    pub value: Quantity,
    pub kind: ReadingKind,
}

/// An M-Bus device (gas, water, heat, …) on channels 1 to 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mbus {
    /// EN 13757-3 medium: 3 gas, 4 heat, 6 warm water, 7 water, 12 heat (inlet).
    pub device_type: Option<u16>,
    pub equipment_id: Option<Span>,
    pub ean: Option<Span>,
    /// `None` when the device sent nothing or only a placeholder.
    pub reading: Option<MbusReading>,
    /// True when a placeholder reading (impossible time, or zero at the
    /// epoch) was seen and dropped: the device is announced but silent.
    pub placeholder: bool,
    pub valve: Option<u8>,
    pub breaker: Option<u8>,
}

impl Mbus {
    /// True when the telegram said anything about this channel.
    pub fn is_present(&self) -> bool {
        self.device_type.is_some()
            || self.equipment_id.is_some()
            || self.reading.is_some()
            || self.placeholder
            || self.valve.is_some()
            || self.breaker.is_some()
    }

    /// A readable name for the device type.
    pub fn device_type_name(&self) -> Option<&'static str> {
        self.device_type.map(device_type_name)
    }
}

/// A readable name for an EN 13757-3 medium code.
pub fn device_type_name(t: u16) -> &'static str {
    match t {
        2 => "electricity",
        3 => "gas",
        4 | 12 => "heat",
        6 => "warm_water",
        7 => "water",
        10 | 11 => "cold",
        _ => "other",
    }
}

/// A decoded telegram. Fields a telegram does not carry are `None`.
#[derive(Debug, Clone, Default)]
pub struct Telegram {
    /// The text, then [`PAD`] zero bytes so that 16-byte loads near the end
    /// stay in bounds.
    raw: Vec<u8>,
    /// Length of the text in `raw`.
    len: usize,
    pub crc: CrcStatus,
    header: Span,
    /// `1-3:0.2.8`, e.g. `50`.
    pub version: Option<Span>,
    /// `0-0:96.1.4`, e.g. `50217` (e-MUCS).
    pub emucs_version: Option<Span>,
    /// `0-0:1.0.0`: the meter's clock, decoded as it is (never used to stamp samples).
    pub timestamp: Option<Timestamp>,
    /// `0-0:96.1.1` (hex-encoded ASCII).
    pub equipment_id: Option<Span>,
    /// `0-0:96.1.0` / `0-0:96.1.255`.
    pub serial: Option<Span>,
    /// `0-0:96.1.2`.
    pub ean: Option<Span>,
    /// `0-0:42.0.0`.
    pub logical_name: Option<Span>,
    /// `1-0:0.0.0` / `0-0:0.0.0`.
    pub device_id: Option<Span>,
    /// `1-0:1.8.t`: index 0 is the tariff-less total `1.8.0`, 1..=4 the tariffs.
    pub imported: [Option<Quantity>; 5],
    /// `1-0:2.8.t`, indexed like `imported`.
    pub exported: [Option<Quantity>; 5],
    /// `1-0:3.8.t` reactive energy import.
    pub reactive_imported: [Option<Quantity>; 5],
    /// `1-0:4.8.t` reactive energy export.
    pub reactive_exported: [Option<Quantity>; 5],
    /// `1-0:5.8.0` … `8.8.0`: reactive energy per quadrant.
    pub reactive_quadrants: [Option<Quantity>; 4],
    /// `1-0:15.8.0`: absolute active energy.
    pub absolute_energy: Option<Quantity>,
    pub power_import: Option<Quantity>,
    pub power_export: Option<Quantity>,
    pub reactive_power_import: Option<Quantity>,
    pub reactive_power_export: Option<Quantity>,
    /// `1-0:5.7.0` … `8.7.0`.
    pub reactive_power_quadrants: [Option<Quantity>; 4],
    pub apparent_power_import: Option<Quantity>,
    pub apparent_power_export: Option<Quantity>,
    pub power_factor: Option<Quantity>,
    pub frequency: Option<Quantity>,
    pub phases: [Phase; 3],
    /// `0-0:96.14.0`: the active tariff.
    pub tariff: Option<u16>,
    /// `0-0:96.3.10`: 0 disconnected, 1 connected, 2 ready for reconnection.
    pub breaker: Option<u8>,
    /// `0-0:17.0.0`: in kW, A (DSMR 3) or kVA (LU).
    pub threshold: Option<Quantity>,
    pub power_failures: Option<u64>,
    pub long_power_failures: Option<u64>,
    /// `1-0:99.97.0`, as the meter lists it.
    pub power_failure_log: Vec<PowerFailure>,
    /// Whether a `1-0:99.97.0` line was present (an empty log is still a log).
    pub has_power_failure_log: bool,
    pub text_message: Option<Span>,
    pub text_code: Option<Span>,
    /// `1-0:1.4.0`: running 15-minute average demand.
    pub demand: Option<Quantity>,
    /// `1-0:1.6.0`: this month's peak demand.
    pub month_peak: Option<Peak>,
    /// `0-0:98.1.0`: up to 13 months of peaks.
    pub peak_history: Vec<Peak>,
    /// Channels 1 to 4 (index 0 is channel 1).
    pub mbus: [Mbus; 4],
    pub unknown: Vec<UnknownLine>,
    pub errors: Vec<FieldError>,
    /// The codes of the previous telegram by position: a meter sends the
    /// same lines every time, so most lines are recognised by one compare.
    cache: Vec<Entry>,
}

/// Zero bytes after the text in [`Telegram::raw`].
const PAD: usize = 32;

/// What the `k`-th object of the previous telegram was: its code's bytes
/// (with the `(` after them) and what they mean. A line whose first bytes
/// equal `key` under `mask` has the same code, so the same OBIS and slot:
/// the cache is exact whatever the meter sends.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u128,
    /// Covers the code and its `(`; zero when the code is not cacheable
    /// (longer than 15 bytes, or spaces around it), which never matches.
    mask: u128,
    /// Bytes covered by `mask`.
    len: u8,
    obis: Option<Obis>,
    slot: Slot,
    /// For quantities: the bytes after the number last time (`*kWh`, up to
    /// eight, zero-padded) and the unit they gave for this slot;
    /// `unit_len` is [`NO_UNIT`] until one is learnt.
    unit_key: u64,
    unit_len: u8,
    unit: Unit,
}

/// [`Entry::unit_len`] when no unit is cached.
const NO_UNIT: u8 = u8::MAX;

/// What an OBIS code means to this engine, resolved once per code (and
/// cached by position), so that dispatching a line is one jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Version,
    EmucsVersion,
    Timestamp,
    EquipmentId,
    Serial,
    Ean,
    LogicalName,
    DeviceId,
    Tariff,
    Breaker,
    Threshold,
    PowerFailures,
    LongPowerFailures,
    TextMessage,
    TextCode,
    PeakHistory,
    Imported(u8),
    Exported(u8),
    ReactiveImported(u8),
    ReactiveExported(u8),
    ReactiveQuadrant(u8),
    AbsoluteEnergy,
    PowerImport,
    PowerExport,
    ReactivePowerImport,
    ReactivePowerExport,
    ReactivePowerQuadrant(u8),
    ApparentPowerImport,
    ApparentPowerExport,
    PowerFactor,
    Frequency,
    Demand,
    MonthPeak,
    PowerFailureLog,
    PhasePowerImport(u8),
    PhasePowerExport(u8),
    PhaseReactiveImport(u8),
    PhaseReactiveExport(u8),
    PhaseCurrent(u8),
    PhaseCurrentLimit(u8),
    PhaseVoltage(u8),
    PhaseSags(u8),
    PhaseSwells(u8),
    PhasePowerFactor(u8),
    MbusDeviceType(u8),
    MbusEquipmentId(u8),
    MbusEan(u8),
    MbusValve(u8),
    MbusBreaker(u8),
    MbusReading(u8, ReadingKind),
    MbusProfile(u8),
    Unknown,
}

impl Slot {
    /// The slot of a code. Indices are 0-based (phase L1, M-Bus channel 1).
    fn of(o: Obis) -> Slot {
        use Slot::*;
        match (o.a, o.b, o.c, o.d, o.e) {
            (1, 3, 0, 2, 8) => Version,
            (0, 0, 96, 1, 4) => EmucsVersion,
            (0, 0, 1, 0, 0) => Timestamp,
            (0, 0, 96, 1, 1) => EquipmentId,
            (0, 0, 96, 1, 0) | (0, 0, 96, 1, 255) => Serial,
            (0, 0, 96, 1, 2) => Ean,
            (0, 0, 42, 0, 0) => LogicalName,
            (0 | 1, 0, 0, 0, 0) => DeviceId,
            (0, 0, 96, 14, 0) => Tariff,
            (0, 0, 96, 3, 10) => Breaker,
            (0, 0, 17, 0, 0) => Threshold,
            (0, 0, 96, 7, 21) => PowerFailures,
            (0, 0, 96, 7, 9) => LongPowerFailures,
            (0, 0, 96, 13, 0) => TextMessage,
            (0, 0, 96, 13, 1) => TextCode,
            (0, 0, 98, 1, 0) => PeakHistory,
            (1, 0 | 1, c, d, e) => Slot::electricity(c, d, e),
            (0, n @ 1..=4, c, d, e) => Slot::mbus(n - 1, c, d, e),
            _ => Unknown,
        }
    }

    /// Electricity objects of the meter itself.
    fn electricity(c: u8, d: u8, e: u8) -> Slot {
        use Slot::*;
        match (c, d, e) {
            (1, 8, t @ 0..=4) => Imported(t),
            (2, 8, t @ 0..=4) => Exported(t),
            (3, 8, t @ 0..=4) => ReactiveImported(t),
            (4, 8, t @ 0..=4) => ReactiveExported(t),
            (5..=8, 8, 0) => ReactiveQuadrant(c - 5),
            (15, 8, 0) => AbsoluteEnergy,
            (1, 7, 0) => PowerImport,
            (2, 7, 0) => PowerExport,
            (3, 7, 0) => ReactivePowerImport,
            (4, 7, 0) => ReactivePowerExport,
            (5..=8, 7, 0) => ReactivePowerQuadrant(c - 5),
            (9, 7, 0) => ApparentPowerImport,
            (10, 7, 0) => ApparentPowerExport,
            (13, 7, 0) => PowerFactor,
            (14, 7, 0) => Frequency,
            (1, 4, 0) => Demand,
            (1, 6, 0) => MonthPeak,
            (99, 97, 0) => PowerFailureLog,
            (21..=24 | 41..=44 | 61..=64, 7, 0) => {
                let p = (c - 21) / 20;
                match (c - 21) % 20 {
                    0 => PhasePowerImport(p),
                    1 => PhasePowerExport(p),
                    2 => PhaseReactiveImport(p),
                    _ => PhaseReactiveExport(p),
                }
            }
            (31 | 51 | 71, 7, 0) => PhaseCurrent((c - 31) / 20),
            (31 | 51 | 71, 4, 0) => PhaseCurrentLimit((c - 31) / 20),
            (32 | 52 | 72, 7, 0) => PhaseVoltage((c - 32) / 20),
            (32 | 52 | 72, 32, 0) => PhaseSags((c - 32) / 20),
            (32 | 52 | 72, 36, 0) => PhaseSwells((c - 32) / 20),
            (33 | 53 | 73, 7, 0) => PhasePowerFactor((c - 33) / 20),
            _ => Unknown,
        }
    }

    /// Objects of M-Bus channel `ch + 1`.
    fn mbus(ch: u8, c: u8, d: u8, e: u8) -> Slot {
        use Slot::*;
        match (c, d, e) {
            (24, 1, 0) => MbusDeviceType(ch),
            (96, 1, 0 | 1) => MbusEquipmentId(ch),
            (96, 1, 2) => MbusEan(ch),
            (24, 4, 0) => MbusValve(ch),
            (96, 3, 10) => MbusBreaker(ch),
            (24, 2, 1) => MbusReading(ch, ReadingKind::Corrected),
            (24, 2, 3) => MbusReading(ch, ReadingKind::Uncorrected),
            (24, 3, 0) => MbusProfile(ch),
            _ => Unknown,
        }
    }
}

/// The values of one object: parenthesised groups, possibly over several lines.
#[derive(Clone, Copy)]
struct Groups<'a> {
    raw: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Groups<'a> {
    fn next_span(&mut self) -> Option<(usize, usize)> {
        while self.pos < self.end && self.raw[self.pos] != b'(' {
            self.pos += 1;
        }
        if self.pos >= self.end {
            return None;
        }
        let open = self.pos + 1;
        let close = open + find(&self.raw[open..self.end], b')')?;
        self.pos = close + 1;
        Some((open, close))
    }

    fn next(&mut self) -> Option<&'a [u8]> {
        self.next_span().map(|(a, b)| &self.raw[a..b])
    }

    fn nth_span(mut self, n: usize) -> Option<(usize, usize)> {
        for _ in 0..n {
            self.next_span()?;
        }
        self.next_span()
    }

    #[cfg(test)]
    fn count(mut self) -> usize {
        let mut n = 0;
        while self.next_span().is_some() {
            n += 1;
        }
        n
    }
}

type FieldResult<T> = Result<T, FieldErrorKind>;

const STOP_OPEN: u8 = 1;
const STOP_CLOSE: u8 = 2;

/// Which bytes end each scan. `!` ends them all: the body is scanned up to
/// the `!` that ends the telegram, which serves as a sentinel, so the scan
/// loops need no length check of their own.
static STOPS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b'(' as usize] = STOP_OPEN;
    t[b')' as usize] = STOP_CLOSE;
    t[b'\n' as usize] = STOP_OPEN | STOP_CLOSE;
    t[b'!' as usize] = STOP_OPEN | STOP_CLOSE;
    t
};

#[inline(always)]
fn is_stop(b: u8, class: u8) -> bool {
    STOPS[b as usize] & class != 0
}

/// Bytes of `w` equal to `b` have their high bit set in the result; the
/// lowest set bit is always exact (SWAR "has byte").
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline(always)]
fn has_byte(w: u64, b: u8) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    let x = w ^ (LO * b as u64);
    x.wrapping_sub(LO) & !x & (LO << 7)
}

/// Index of the first of `a`, `\n` or `!` at or after `i`, sixteen bytes
/// at a time with SSE2 (part of every x86-64). The caller guarantees a `!`
/// before the end of `raw`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn scan(raw: &[u8], mut i: usize, a: u8, class: u8) -> usize {
    use core::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    while let Some(chunk) = raw.get(i..i + 16) {
        // SAFETY: SSE2 is enabled for this build (the cfg above), and the
        // load reads the 16 bytes of `chunk`.
        let m = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast());
            let hits = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(a as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)),
                ),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'!' as i8)),
            );
            _mm_movemask_epi8(hits) as u32
        };
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    scan_tail(raw, i, class)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn scan(raw: &[u8], i: usize, a: u8, class: u8) -> usize {
    scan_swar(raw, i, a, class)
}

/// [`scan`] eight bytes at a time (SWAR) where SSE2 is not at hand
/// (ARM boards such as the Raspberry Pi).
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline(always)]
fn scan_swar(raw: &[u8], mut i: usize, a: u8, class: u8) -> usize {
    while let Some(chunk) = raw.get(i..i + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let m = has_byte(w, a) | has_byte(w, b'\n') | has_byte(w, b'!');
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    scan_tail(raw, i, class)
}

#[inline(always)]
fn scan_tail(raw: &[u8], mut i: usize, class: u8) -> usize {
    while i < raw.len() && !is_stop(raw[i], class) {
        i += 1;
    }
    i
}

/// Position of `b` in `s`. Telegram lines are short (20-60 bytes), where a
/// plain loop beats a SIMD search's set-up cost.
#[inline]
fn find(s: &[u8], b: u8) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

/// Splits `value*unit`.
fn split_unit(s: &[u8]) -> (&[u8], &[u8]) {
    match find(s, b'*') {
        Some(i) => (trim(&s[..i]), &s[i + 1..]),
        None => (trim(s), &[][..]),
    }
}

/// A quantity in `dims`; `default` is the unit assumed when none is written.
fn quantity(
    s: &[u8],
    group: u8,
    dims: &[Dimension],
    default: Unit,
) -> FieldResult<Option<Quantity>> {
    // Fast path for what meters send: digits, an optional fraction, then
    // nothing or `*unit` (no sign, no spaces). Anything else, or more than
    // 18 digits, takes the general path below, which decides it.
    if let Some((value, n)) = plain_decimal(s) {
        let unit = match &s[n..] {
            [] => Some(Unit::None),
            [b'*', u @ ..] => Some(Unit::parse(u)),
            _ => None,
        };
        if let Some(mut unit) = unit {
            if unit == Unit::None {
                unit = default;
            }
            return match unit.base() {
                Some((d, _)) if dims.contains(&d) => Ok(Some(Quantity { value, unit })),
                _ => Err(FieldErrorKind::UnexpectedUnit { group, unit }),
            };
        }
    }
    quantity_general(s, group, dims, default)
}

/// [`quantity`] for any spelling: signs, spaces, long numbers.
fn quantity_general(
    s: &[u8],
    group: u8,
    dims: &[Dimension],
    default: Unit,
) -> FieldResult<Option<Quantity>> {
    let s = trim(s);
    if s.is_empty() {
        return Ok(None);
    }
    // One pass: the number, then `*unit` (spaces allowed around either).
    let (value, n) = Fixed::parse_prefix(s).ok_or(FieldErrorKind::BadNumber { group })?;
    let unit = match trim(&s[n..]) {
        [] => &[][..],
        [b'*', u @ ..] => u,
        _ => return Err(FieldErrorKind::BadNumber { group }),
    };
    let mut unit = Unit::parse(unit);
    if unit == Unit::None {
        unit = default;
    }
    match unit.base() {
        Some((d, _)) if dims.contains(&d) => Ok(Some(Quantity { value, unit })),
        _ => Err(FieldErrorKind::UnexpectedUnit { group, unit }),
    }
}

/// `digits[.digits]` at the start of `s` with at most 18 digits in all and a
/// digit first: the value and its length. `None` leaves it to
/// [`Fixed::parse_prefix`], which gives the same value when there is one.
#[inline(always)]
fn plain_decimal(s: &[u8]) -> Option<(Fixed, usize)> {
    let mut m: i64 = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        m = m.wrapping_mul(10).wrapping_add(d as i64);
        i += 1;
    }
    if i == 0 {
        return None;
    }
    let mut scale = 0usize;
    if s.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&c) = s.get(i) {
            let d = c.wrapping_sub(b'0');
            if d >= 10 {
                break;
            }
            m = m.wrapping_mul(10).wrapping_add(d as i64);
            i += 1;
            scale += 1;
        }
        if i - 1 > 18 {
            return None;
        }
    } else if i > 18 {
        return None;
    }
    Some((
        Fixed {
            mantissa: m,
            scale: scale as u8,
        },
        i,
    ))
}

fn integer(s: &[u8], group: u8) -> FieldResult<Option<u64>> {
    // Fast path: 1 to 19 digits, then the end or `*unit`.
    let mut v: u64 = 0;
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(d as u64);
        i += 1;
    }
    if (1..=19).contains(&i) && matches!(s.get(i), None | Some(b'*')) {
        return Ok(Some(v));
    }
    let (num, _) = split_unit(s);
    if num.is_empty() {
        return Ok(None);
    }
    if num.len() > 19 || !num.iter().all(u8::is_ascii_digit) {
        return Err(FieldErrorKind::BadNumber { group });
    }
    Ok(Some(
        num.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64),
    ))
}

fn small<T: TryFrom<u64>>(s: &[u8], group: u8) -> FieldResult<Option<T>> {
    match integer(s, group)? {
        None => Ok(None),
        Some(v) => T::try_from(v)
            .map(Some)
            .map_err(|_| FieldErrorKind::BadNumber { group }),
    }
}

fn timestamp(s: &[u8], group: u8) -> FieldResult<Option<Timestamp>> {
    if trim(s).is_empty() {
        return Ok(None);
    }
    Timestamp::parse(s)
        .map(Some)
        .ok_or(FieldErrorKind::BadTimestamp { group })
}

const ENERGY: &[Dimension] = &[Dimension::Energy];
const POWER: &[Dimension] = &[Dimension::Power];
const REACTIVE_POWER: &[Dimension] = &[Dimension::ReactivePower];
const REACTIVE_ENERGY: &[Dimension] = &[Dimension::ReactiveEnergy];
const APPARENT: &[Dimension] = &[Dimension::ApparentPower];
const VOLTAGE: &[Dimension] = &[Dimension::Voltage];
const CURRENT: &[Dimension] = &[Dimension::Current];
const NONE: &[Dimension] = &[Dimension::Dimensionless];
const FREQUENCY: &[Dimension] = &[Dimension::Frequency];
const THRESHOLD: &[Dimension] = &[
    Dimension::Power,
    Dimension::Current,
    Dimension::ApparentPower,
];
const MBUS: &[Dimension] = &[
    Dimension::Volume,
    Dimension::Energy,
    Dimension::Dimensionless,
];

/// What a quantity register accepts, and the unit assumed when none is written.
type Kind = (&'static [Dimension], Unit);
const K_ENERGY: Kind = (ENERGY, Unit::KWh);
const K_POWER: Kind = (POWER, Unit::KW);
const K_REACTIVE_ENERGY: Kind = (REACTIVE_ENERGY, Unit::KVarh);
const K_REACTIVE_POWER: Kind = (REACTIVE_POWER, Unit::KVar);

/// Caps on repeated entries, far above what any meter sends.
const MAX_LOG: usize = 64;
const MAX_KEPT: usize = 512;

impl Telegram {
    /// An empty telegram to decode into.
    pub fn new() -> Telegram {
        Telegram::default()
    }

    /// Decodes a framed telegram (`/` … `!` and the CRC digits, as the
    /// framer yields it; trailing line ends are allowed).
    pub fn decode(frame: &[u8]) -> Result<Telegram, Error> {
        let mut t = Telegram::new();
        t.decode_into(frame)?;
        Ok(t)
    }

    /// Decodes into `self`, reusing its buffers.
    pub fn decode_into(&mut self, frame: &[u8]) -> Result<(), Error> {
        self.reset();
        let mut end = frame.len();
        while end > 0 && matches!(frame[end - 1], b'\r' | b'\n' | b' ' | b'\t') {
            end -= 1;
        }
        let frame = &frame[..end];
        if !super::frame::starts_with_header(frame) {
            return Err(Error::NoHeader);
        }
        let digits = frame
            .iter()
            .rev()
            .take(5)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let bang = frame.len() - digits - 1;
        if digits > 4 || frame[bang] != b'!' {
            return Err(Error::NoEnd);
        }
        self.crc = if digits == 0 {
            CrcStatus::Missing
        } else {
            let computed = crc16_arc(&frame[..=bang]);
            match parse_crc_digits(&frame[bang + 1..]) {
                Some(sent) if sent == computed => CrcStatus::Valid(sent),
                Some(sent) => CrcStatus::Mismatch { sent, computed },
                None => return Err(Error::NoEnd),
            }
        };
        self.raw.extend_from_slice(frame);
        self.raw.extend_from_slice(&[0; PAD]);
        self.len = frame.len();
        self.decode_body(bang);
        Ok(())
    }

    /// Accepts or refuses the telegram by its CRC. A telegram without CRC
    /// passes unless it declares DSMR 4+ or e-MUCS and `allow_missing_crc`
    /// is false (a source that guards the bytes itself may allow it).
    pub fn verify(&self, allow_missing_crc: bool) -> Result<(), Error> {
        match self.crc {
            CrcStatus::Valid(_) => Ok(()),
            CrcStatus::Mismatch { sent, computed } => Err(Error::CrcMismatch { sent, computed }),
            CrcStatus::Missing => match self.declared_version() {
                Some(v) if !allow_missing_crc && self.requires_crc() => Err(Error::MissingCrc {
                    version: v.to_owned(),
                }),
                _ => Ok(()),
            },
        }
    }

    /// True for telegrams whose protocol version requires a CRC.
    fn requires_crc(&self) -> bool {
        if self.emucs_version.is_some() {
            return true;
        }
        self.version
            .and_then(|s| {
                core::str::from_utf8(self.bytes(s))
                    .ok()?
                    .parse::<u32>()
                    .ok()
            })
            .is_some_and(|v| v >= 40)
    }

    fn reset(&mut self) {
        let mut raw = core::mem::take(&mut self.raw);
        let mut log = core::mem::take(&mut self.power_failure_log);
        let mut hist = core::mem::take(&mut self.peak_history);
        let mut unknown = core::mem::take(&mut self.unknown);
        let mut errors = core::mem::take(&mut self.errors);
        let cache = core::mem::take(&mut self.cache);
        raw.clear();
        log.clear();
        hist.clear();
        unknown.clear();
        errors.clear();
        *self = Telegram {
            raw,
            power_failure_log: log,
            peak_history: hist,
            unknown,
            errors,
            cache,
            ..Telegram::default()
        };
    }

    /// The telegram's text (`/` … `!CRC`).
    pub fn raw(&self) -> &[u8] {
        self.raw.get(..self.len).unwrap_or_default()
    }

    /// The bytes of a span of this telegram.
    pub fn bytes(&self, s: Span) -> &[u8] {
        self.raw()
            .get(s.start as usize..s.end as usize)
            .unwrap_or_default()
    }

    /// A span as text (P1 is ASCII; anything else shows as U+FFFD).
    pub fn str(&self, s: Span) -> &str {
        core::str::from_utf8(self.bytes(s)).unwrap_or("\u{FFFD}")
    }

    /// The header line without `/`, e.g. `ISk5\2MT382-1000`.
    pub fn header(&self) -> &str {
        self.str(Span::new(1, self.header.end as usize))
    }

    /// The three-letter manufacturer code, e.g. `ISk`, `KFM`, `FLU`.
    pub fn manufacturer(&self) -> &str {
        self.str(Span::new(1, 4))
    }

    /// The identification after the manufacturer code and digit.
    pub fn identification(&self) -> &str {
        self.str(Span::new(5, self.header.end as usize))
    }

    /// The version the telegram declares (`1-3:0.2.8`, else `0-0:96.1.4`).
    pub fn declared_version(&self) -> Option<&str> {
        self.version
            .or(self.emucs_version)
            .map(|s| self.str(s))
            .filter(|s| !s.is_empty())
    }

    /// The newest entry of the long power failure log (by end time).
    pub fn last_power_failure(&self) -> Option<&PowerFailure> {
        self.power_failure_log
            .iter()
            .filter(|p| p.end.is_some())
            .max_by_key(|p| {
                p.end
                    .map(|t| (t.year, t.month, t.day, t.hour, t.minute, t.second))
            })
    }

    /// The code and slot of the `k`-th object, whose code is `raw[start..open]`
    /// (`code` trimmed), from the cache when the previous telegram had the
    /// same bytes at the same position.
    #[inline]
    fn entry_of(&mut self, raw: &[u8], start: usize, open: usize, code: &[u8], k: usize) -> Entry {
        let len = open + 1 - start;
        let cacheable = len <= 16 && code.len() + 1 == len && k < MAX_KEPT;
        if !cacheable {
            let obis = Obis::parse(code);
            return Entry {
                key: 0,
                mask: 0,
                len: 0,
                obis,
                slot: obis.map_or(Slot::Unknown, Slot::of),
                unit_key: 0,
                unit_len: NO_UNIT,
                unit: Unit::None,
            };
        }
        let mask = if len == 16 {
            u128::MAX
        } else {
            (1u128 << (8 * len)) - 1
        };
        let key = load16(raw, start).unwrap_or(0) & mask;
        if let Some(e) = self.cache.get(k) {
            if e.len != 0 && e.mask == mask && e.key == key {
                return *e;
            }
        }
        let obis = Obis::parse(code);
        let e = Entry {
            key,
            mask,
            len: len as u8,
            obis,
            slot: obis.map_or(Slot::Unknown, Slot::of),
            unit_key: 0,
            unit_len: NO_UNIT,
            unit: Unit::None,
        };
        if k < self.cache.len() {
            self.cache[k] = e;
        } else if k == self.cache.len() {
            self.cache.push(e);
        }
        e
    }

    /// Decodes the `k`-th object at `i` if it is a one-value line whose code
    /// the cache knows; `None` leaves the line to the general path, which
    /// decides it the same way. Returns where the next line starts.
    #[inline(always)]
    fn fast_line(
        &mut self,
        raw: &[u8],
        i: usize,
        bang: usize,
        k: usize,
        line: u32,
    ) -> Option<usize> {
        let e = *self.cache.get(k)?;
        let w = load16(raw, i)?;
        if (w ^ e.key) & e.mask != 0 || e.len == 0 {
            return None;
        }
        let obis = e.obis?;
        let open = i + e.len as usize - 1;
        let close = scan(raw, open + 1, b')', STOP_CLOSE);
        // ")\r\n" and no value continued on the next line.
        match raw.get(close..close + 4)? {
            [b')', b'\r', b'\n', next] if close < bang && *next != b'(' => {}
            _ => return None,
        }
        let value = raw.get(open + 1..close)?;
        if let Some((field, (dims, default))) = self.quantity_field(e.slot) {
            // Digits, then the same unit bytes as last time: the same unit.
            let plain = plain_decimal(value);
            if let Some((v, n)) = plain {
                if e.unit_len <= 8
                    && value.len() - n == e.unit_len as usize
                    && load8(raw, open + 1 + n) & byte_mask(e.unit_len) == e.unit_key
                {
                    *field = Some(Quantity {
                        value: v,
                        unit: e.unit,
                    });
                    return Some(close + 3);
                }
            }
            match quantity(value, 0, dims, default) {
                Ok(q) => {
                    *field = q;
                    if let (Some(q), Some((_, n))) = (q, plain) {
                        self.learn_unit(k, raw, open + 1 + n, value.len() - n, q.unit);
                    }
                }
                Err(kind) => self.error(line, Some(obis), kind),
            }
            return Some(close + 3);
        }
        if let Some(field) = self.count_field(e.slot) {
            if let Some(v) = all_digits(value) {
                *field = Some(v);
                return Some(close + 3);
            }
        }
        let g = Groups {
            raw,
            pos: open,
            end: close + 1,
        };
        let code = Span::new(i, open);
        if let Err(kind) = self.object(e.slot, obis, g, raw, line, code, open, close, close + 1) {
            self.error(line, Some(obis), kind);
        }
        Some(close + 3)
    }

    fn error(&mut self, line: u32, obis: Option<Obis>, kind: FieldErrorKind) {
        if self.errors.len() < MAX_KEPT {
            self.errors.push(FieldError { line, obis, kind });
        }
    }

    fn decode_body(&mut self, bang: usize) {
        let raw = core::mem::take(&mut self.raw);
        let header_end = memchr::memchr(b'\n', &raw[..bang]).unwrap_or(bang);
        let mut h = header_end;
        while h > 0 && raw[h - 1] == b'\r' {
            h -= 1;
        }
        self.header = Span::new(0, h);
        let mut line: u32 = 1;
        let mut object = 0usize;
        let mut i = header_end;
        while i < bang {
            let c = raw[i];
            if c == b'\n' {
                line += 1;
                i += 1;
                continue;
            }
            if matches!(c, b'\r' | b' ' | b'\t') {
                i += 1;
                continue;
            }
            if let Some(next) = self.fast_line(&raw, i, bang, object, line) {
                object += 1;
                line += 1;
                i = next;
                continue;
            }
            let obj_line = line;
            // One pass over the line: code up to '(', then groups up to ')',
            // stopping at the line end; each byte is looked at once.
            let start = i;
            i = scan(&raw, i, b'(', STOP_OPEN).min(bang);
            if i >= bang || raw[i] != b'(' {
                self.error(
                    obj_line,
                    Obis::parse(trim(&raw[start..i])),
                    FieldErrorKind::MalformedLine,
                );
                // Skip the rest of the line (it may hold a stray '!').
                while i < bang && raw[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            let open = i;
            let code = trim(&raw[start..open]);
            let mut last = open;
            let mut ok = true;
            let mut j = open;
            // The first group's ')', found by the scan (no group re-scan).
            let mut first_close = usize::MAX;
            loop {
                // raw[j] == '(' here.
                j = scan(&raw, j + 1, b')', STOP_CLOSE).min(bang);
                if j >= bang || raw[j] != b')' {
                    ok = false;
                    break;
                }
                first_close = first_close.min(j);
                j += 1;
                last = j;
                // Nearly every line ends ")\r\n": step onto the '\n' at once.
                if j + 1 < bang && raw[j] == b'\r' && raw[j + 1] == b'\n' {
                    j += 1;
                }
                while j < bang && matches!(raw[j], b' ' | b'\r' | b'\t') {
                    j += 1;
                }
                if j >= bang {
                    break;
                }
                match raw[j] {
                    b'(' => continue,
                    // A value continued on the next line (DSMR 2.2/3.0 gas).
                    b'\n' if raw.get(j + 1) == Some(&b'(') && j + 1 < bang => {
                        line += 1;
                        j += 1;
                        continue;
                    }
                    b'\n' => break,
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            // Resume at the line end (the '\n' is counted by the outer loop).
            let mut eol = j.min(bang);
            while eol < bang && raw[eol] != b'\n' {
                eol += 1;
            }
            let entry = self.entry_of(&raw, start, open, code, object);
            object += 1;
            match (ok, entry.obis) {
                (true, Some(o)) => {
                    let groups = Groups {
                        raw: &raw,
                        pos: open,
                        end: last,
                    };
                    if let Err(kind) = self.object(
                        entry.slot,
                        o,
                        groups,
                        &raw,
                        obj_line,
                        code_span(&raw, code),
                        open,
                        first_close,
                        last,
                    ) {
                        self.error(obj_line, Some(o), kind);
                    }
                }
                (_, o) => self.error(obj_line, o, FieldErrorKind::MalformedLine),
            }
            i = eol;
        }
        self.raw = raw;
    }

    #[allow(clippy::too_many_arguments)]
    fn object(
        &mut self,
        slot: Slot,
        o: Obis,
        g: Groups<'_>,
        raw: &[u8],
        line: u32,
        code: Span,
        open: usize,
        first_close: usize,
        end: usize,
    ) -> FieldResult<()> {
        // `raw[open]` is '(' and `raw[first_close]` the first ')' after it:
        // the first group, as `g.nth_span(0)` would find it again.
        debug_assert_eq!(g.nth_span(0), Some((open + 1, first_close)));
        let first = raw.get(open + 1..first_close).unwrap_or_default();
        if let Some((field, (dims, unit))) = self.quantity_field(slot) {
            *field = quantity(first, 0, dims, unit)?;
            return Ok(());
        }
        let first_span = || (first_close > open + 1).then(|| Span::new(open + 1, first_close));
        use Slot::*;
        match slot {
            Version => self.version = first_span(),
            EmucsVersion => self.emucs_version = first_span(),
            Timestamp => self.timestamp = timestamp(first, 0)?,
            EquipmentId => self.equipment_id = first_span(),
            Serial => self.serial = first_span(),
            Ean => self.ean = first_span(),
            LogicalName => self.logical_name = first_span(),
            DeviceId => self.device_id = first_span(),
            Tariff => self.tariff = small(first, 0)?,
            Breaker => self.breaker = small(first, 0)?,
            PowerFailures => self.power_failures = integer(first, 0)?,
            LongPowerFailures => self.long_power_failures = integer(first, 0)?,
            TextMessage => self.text_message = first_span(),
            TextCode => self.text_code = first_span(),
            PeakHistory => {
                if !self.peak_history_line(g)? {
                    self.keep_unknown(line, o, code, open, end);
                }
            }
            MonthPeak => {
                let mut g = g;
                let time = self::timestamp(g.next().unwrap_or_default(), 0)
                    .ok()
                    .flatten();
                let v = g.next().ok_or(FieldErrorKind::MissingValue { group: 1 })?;
                self.month_peak = quantity(v, 1, POWER, Unit::KW)?.map(|value| Peak {
                    period_start: None,
                    time,
                    value,
                });
            }
            PowerFailureLog => self.power_failure_log_line(g)?,
            PhaseSags(p) => self.phases[p as usize].voltage_sags = integer(first, 0)?,
            PhaseSwells(p) => self.phases[p as usize].voltage_swells = integer(first, 0)?,
            MbusDeviceType(ch) => {
                let s = trim(first);
                self.mbus[ch as usize].device_type = if s.is_empty() {
                    None
                } else {
                    // Decimal as DSMR writes it ("003"); hex for "00C".
                    let dec = small::<u16>(s, 0).ok().flatten();
                    let hex = core::str::from_utf8(s)
                        .ok()
                        .and_then(|h| u16::from_str_radix(h, 16).ok());
                    Some(dec.or(hex).ok_or(FieldErrorKind::BadNumber { group: 0 })?)
                };
            }
            MbusEquipmentId(ch) => self.mbus[ch as usize].equipment_id = first_span(),
            MbusEan(ch) => self.mbus[ch as usize].ean = first_span(),
            MbusValve(ch) => self.mbus[ch as usize].valve = small(first, 0)?,
            MbusBreaker(ch) => self.mbus[ch as usize].breaker = small(first, 0)?,
            MbusReading(ch, kind) => {
                let mut g = g;
                let time = g.next().unwrap_or_default();
                let value = g.next().ok_or(FieldErrorKind::MissingValue { group: 1 })?;
                self.mbus_reading(ch as usize, time, value, 1, Unit::None, kind)?;
            }
            MbusProfile(ch) => {
                // (time)(status)(interval)(count)(obis)(unit) then the value.
                let time = g.nth_span(0).map(|(a, b)| &g.raw[a..b]).unwrap_or_default();
                let unit = g.nth_span(5).map(|(a, b)| &g.raw[a..b]).unwrap_or_default();
                let value = g
                    .nth_span(6)
                    .map(|(a, b)| &g.raw[a..b])
                    .ok_or(FieldErrorKind::MissingValue { group: 6 })?;
                self.mbus_reading(
                    ch as usize,
                    time,
                    value,
                    6,
                    Unit::parse(unit),
                    ReadingKind::Profile,
                )?;
            }
            Unknown => self.keep_unknown(line, o, code, open, end),
            // Quantities, handled above.
            Threshold
            | Imported(_)
            | Exported(_)
            | ReactiveImported(_)
            | ReactiveExported(_)
            | ReactiveQuadrant(_)
            | AbsoluteEnergy
            | PowerImport
            | PowerExport
            | ReactivePowerImport
            | ReactivePowerExport
            | ReactivePowerQuadrant(_)
            | ApparentPowerImport
            | ApparentPowerExport
            | PowerFactor
            | Frequency
            | Demand
            | PhasePowerImport(_)
            | PhasePowerExport(_)
            | PhaseReactiveImport(_)
            | PhaseReactiveExport(_)
            | PhaseCurrent(_)
            | PhaseCurrentLimit(_)
            | PhaseVoltage(_)
            | PhasePowerFactor(_) => {}
        }
        Ok(())
    }

    /// Remembers that the `len` bytes at `at` after the number of the
    /// `k`-th object mean `unit` (only spellings [`quantity`]'s fast path
    /// reads the same way: nothing, or `*` and a unit).
    #[cold]
    fn learn_unit(&mut self, k: usize, raw: &[u8], at: usize, len: usize, unit: Unit) {
        let suffix = raw.get(at..at + len).unwrap_or_default();
        if len > 8 || !(suffix.is_empty() || suffix[0] == b'*') {
            return;
        }
        if let Some(e) = self.cache.get_mut(k) {
            e.unit_key = load8(raw, at) & byte_mask(len as u8);
            e.unit_len = len as u8;
            e.unit = unit;
        }
    }

    /// The field a counter slot fills.
    #[inline(always)]
    fn count_field(&mut self, slot: Slot) -> Option<&mut Option<u64>> {
        match slot {
            Slot::PowerFailures => Some(&mut self.power_failures),
            Slot::LongPowerFailures => Some(&mut self.long_power_failures),
            Slot::PhaseSags(p) => Some(&mut self.phases[p as usize].voltage_sags),
            Slot::PhaseSwells(p) => Some(&mut self.phases[p as usize].voltage_swells),
            _ => None,
        }
    }

    /// The field a one-quantity slot fills, with the dimensions it accepts
    /// and the unit assumed when the meter writes none.
    #[inline(always)]
    fn quantity_field(&mut self, slot: Slot) -> Option<(&mut Option<Quantity>, Kind)> {
        use Slot::*;
        let p = &mut self.phases;
        Some(match slot {
            Threshold => (&mut self.threshold, (THRESHOLD, Unit::KW)),
            Imported(t) => (&mut self.imported[t as usize], K_ENERGY),
            Exported(t) => (&mut self.exported[t as usize], K_ENERGY),
            ReactiveImported(t) => (&mut self.reactive_imported[t as usize], K_REACTIVE_ENERGY),
            ReactiveExported(t) => (&mut self.reactive_exported[t as usize], K_REACTIVE_ENERGY),
            ReactiveQuadrant(q) => (&mut self.reactive_quadrants[q as usize], K_REACTIVE_ENERGY),
            AbsoluteEnergy => (&mut self.absolute_energy, K_ENERGY),
            PowerImport => (&mut self.power_import, K_POWER),
            PowerExport => (&mut self.power_export, K_POWER),
            ReactivePowerImport => (&mut self.reactive_power_import, K_REACTIVE_POWER),
            ReactivePowerExport => (&mut self.reactive_power_export, K_REACTIVE_POWER),
            ReactivePowerQuadrant(q) => (
                &mut self.reactive_power_quadrants[q as usize],
                K_REACTIVE_POWER,
            ),
            ApparentPowerImport => (&mut self.apparent_power_import, (APPARENT, Unit::KVA)),
            ApparentPowerExport => (&mut self.apparent_power_export, (APPARENT, Unit::KVA)),
            PowerFactor => (&mut self.power_factor, (NONE, Unit::None)),
            Frequency => (&mut self.frequency, (FREQUENCY, Unit::Hz)),
            Demand => (&mut self.demand, K_POWER),
            PhasePowerImport(i) => (&mut p[i as usize].power_import, K_POWER),
            PhasePowerExport(i) => (&mut p[i as usize].power_export, K_POWER),
            PhaseReactiveImport(i) => (&mut p[i as usize].reactive_power_import, K_REACTIVE_POWER),
            PhaseReactiveExport(i) => (&mut p[i as usize].reactive_power_export, K_REACTIVE_POWER),
            PhaseCurrent(i) => (&mut p[i as usize].current, (CURRENT, Unit::A)),
            PhaseCurrentLimit(i) => (&mut p[i as usize].current_limit, (CURRENT, Unit::A)),
            PhaseVoltage(i) => (&mut p[i as usize].voltage, (VOLTAGE, Unit::V)),
            PhasePowerFactor(i) => (&mut p[i as usize].power_factor, (NONE, Unit::None)),
            _ => return None,
        })
    }

    fn keep_unknown(&mut self, line: u32, obis: Obis, code: Span, open: usize, end: usize) {
        if self.unknown.len() < MAX_KEPT {
            self.unknown.push(UnknownLine {
                line,
                obis,
                code,
                value: Span::new(open, end),
            });
        }
    }

    /// `1-0:99.97.0(N)(0-0:96.7.19)(end)(duration*s)…`
    fn power_failure_log_line(&mut self, mut g: Groups<'_>) -> FieldResult<()> {
        self.has_power_failure_log = true;
        let declared: u32 = small(g.next().unwrap_or_default(), 0)?.unwrap_or(0);
        g.next(); // the buffer's own OBIS id
        let mut found = 0u32;
        let mut group = 2u8;
        let mut err = None;
        while let Some(end) = g.next() {
            let dur = g.next();
            found += 1;
            let duration = match dur.map(|d| integer(d, group.saturating_add(1))) {
                Some(Ok(d)) => d,
                Some(Err(e)) => {
                    err.get_or_insert(e);
                    None
                }
                None => {
                    err.get_or_insert(FieldErrorKind::MissingValue {
                        group: group.saturating_add(1),
                    });
                    None
                }
            };
            if self.power_failure_log.len() < MAX_LOG {
                self.power_failure_log.push(PowerFailure {
                    end: Timestamp::parse(end),
                    duration,
                });
            }
            group = group.saturating_add(2);
        }
        if let Some(e) = err {
            return Err(e);
        }
        if declared != found {
            return Err(FieldErrorKind::CountMismatch { declared, found });
        }
        Ok(())
    }

    /// Belgian `0-0:98.1.0(N)(1-0:1.6.0)(1-0:1.6.0)(period)(time)(value)…`.
    /// Returns `false` for other meters' uses of the code (kept as unknown).
    fn peak_history_line(&mut self, mut g: Groups<'_>) -> FieldResult<bool> {
        let count = g.next().unwrap_or_default();
        let mut probe = g;
        let is_be = probe.next().and_then(Obis::parse).is_some()
            && probe.next().and_then(Obis::parse).is_some();
        if !is_be {
            return Ok(false);
        }
        let declared: u32 = small(count, 0)?.unwrap_or(0);
        g = probe;
        let mut found = 0u32;
        let mut group = 3u8;
        while let Some(period) = g.next() {
            let time = g
                .next()
                .ok_or(FieldErrorKind::MissingValue { group: group + 1 })?;
            let value = g
                .next()
                .ok_or(FieldErrorKind::MissingValue { group: group + 2 })?;
            found += 1;
            if let Some(value) = quantity(value, group.saturating_add(2), POWER, Unit::KW)? {
                if self.peak_history.len() < MAX_LOG {
                    self.peak_history.push(Peak {
                        period_start: Timestamp::parse(period),
                        time: Timestamp::parse(time),
                        value,
                    });
                }
            }
            group = group.saturating_add(3);
        }
        if declared != found {
            return Err(FieldErrorKind::CountMismatch { declared, found });
        }
        Ok(true)
    }

    fn mbus_reading(
        &mut self,
        ch: usize,
        time: &[u8],
        value: &[u8],
        group: u8,
        default: Unit,
        kind: ReadingKind,
    ) -> FieldResult<()> {
        let q = quantity(value, group, MBUS, default)?;
        let m = &mut self.mbus[ch];
        match (Timestamp::parse(time), q) {
            (_, None) => m.placeholder = true,
            (None, Some(_)) => m.placeholder = true,
            (Some(t), Some(v)) if v.value.is_zero() && t.year <= 2000 => m.placeholder = true,
            (Some(t), Some(v)) => {
                if m.reading.is_none() {
                    m.reading = Some(MbusReading {
                        time: t,
                        value: v,
                        kind,
                    });
                }
            }
        }
        Ok(())
    }
}

/// The 8 bytes at `i`, little-endian; zero past the end.
#[inline(always)]
fn load8(raw: &[u8], i: usize) -> u64 {
    match raw.get(i..i + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or_default()),
        None => 0,
    }
}

/// The low `len` bytes (`len` <= 8; [`NO_UNIT`] gives all of them).
#[inline(always)]
fn byte_mask(len: u8) -> u64 {
    if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * len)) - 1
    }
}

/// `1` to `19` digits and nothing else, as [`integer`] reads them.
#[inline(always)]
fn all_digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s {
        let d = c.wrapping_sub(b'0');
        if d >= 10 {
            return None;
        }
        v = v * 10 + d as u64;
    }
    Some(v)
}

/// The 16 bytes at `i`, little-endian; `None` past the end.
#[inline(always)]
fn load16(raw: &[u8], i: usize) -> Option<u128> {
    let b: [u8; 16] = raw.get(i..i + 16)?.try_into().ok()?;
    Some(u128::from_le_bytes(b))
}

fn code_span(raw: &[u8], code: &[u8]) -> Span {
    let start = code.as_ptr() as usize - raw.as_ptr() as usize;
    Span::new(start, start + code.len())
}

/// Splits a telegram's text into lines with their numbers, for reports.
pub fn line_of(raw: &[u8], n: u32) -> &[u8] {
    raw.split(|&b| b == b'\n')
        .nth(n.saturating_sub(1) as usize)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::prelude::rust_2021::*;

    #[test]
    fn groups_over_lines() {
        let raw = b"(a)(b)\r\n(c)";
        let g = Groups {
            raw,
            pos: 0,
            end: raw.len(),
        };
        assert_eq!(g.count(), 3);
        assert_eq!(g.nth_span(2), Some((9, 10)));
    }

    #[test]
    fn scans_agree_with_a_plain_loop() {
        let alphabet = b"()!\n\r0123456789.*kW";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 1 + (x % 80) as usize;
            // Ends with the `!` every telegram body ends with.
            let raw: Vec<u8> = (0..len)
                .map(|k| alphabet[((x >> (k % 50)) as usize + k * 7) % alphabet.len()])
                .chain(core::iter::once(b'!'))
                .collect();
            let start = (x >> 20) as usize % raw.len();
            for (a, class) in [(b'(', STOP_OPEN), (b')', STOP_CLOSE)] {
                let plain = start
                    + raw[start..]
                        .iter()
                        .position(|&c| is_stop(c, class))
                        .unwrap_or(raw.len() - start);
                assert_eq!(scan(&raw, start, a, class), plain, "{raw:?} from {start}");
                assert_eq!(
                    scan_swar(&raw, start, a, class),
                    plain,
                    "{raw:?} from {start}"
                );
            }
        }
    }

    #[test]
    fn fast_paths_agree_with_the_general_parsers() {
        let alphabet = b"0123456789.*kWhVm3 -+";
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut cases: Vec<Vec<u8>> = vec![
            b"9999999999999999999".to_vec(),
            b"99999999999999999999".to_vec(),
            b"123456789012345678".to_vec(),
            b"1234567890.12345678".to_vec(),
            b"1234567890.123456789".to_vec(),
            b"5.".to_vec(),
            b"5.*kW".to_vec(),
            b"1.2.3".to_vec(),
        ];
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 24) as usize;
            let mut y = x;
            let mut c = Vec::with_capacity(len);
            for _ in 0..len {
                y = y
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                c.push(alphabet[((y >> 33) % alphabet.len() as u64) as usize]);
            }
            cases.push(c);
        }
        for c in &cases {
            if let Some(fast) = plain_decimal(c) {
                assert_eq!(Some(fast), Fixed::parse_prefix(c), "{c:?}");
            }
            let general = {
                let (num, _) = split_unit(c);
                if num.is_empty() {
                    Ok(None)
                } else if num.len() > 19 || !num.iter().all(u8::is_ascii_digit) {
                    Err(FieldErrorKind::BadNumber { group: 0 })
                } else {
                    Ok(Some(
                        num.iter().fold(0u64, |a, &d| a * 10 + (d - b'0') as u64),
                    ))
                }
            };
            assert_eq!(integer(c, 0), general, "{c:?}");
            for (dims, unit) in [
                (ENERGY, Unit::KWh),
                (POWER, Unit::KW),
                (VOLTAGE, Unit::V),
                (NONE, Unit::None),
                (MBUS, Unit::None),
            ] {
                assert_eq!(
                    quantity(c, 0, dims, unit),
                    quantity_general(c, 0, dims, unit),
                    "{c:?}"
                );
            }
        }
    }
}
