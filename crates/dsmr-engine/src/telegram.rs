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

mod accept;
mod decode;
mod error;
mod fast;
mod field;
mod logs;
mod mask;
mod mbus;
mod meaning;
mod scan;

use crate::crc::{crc16_arc, crc16_x25, parse_crc_digits};
use crate::obis::Obis;
use crate::time::Timestamp;
use crate::value::Quantity;
use alloc::borrow::ToOwned;
use alloc::vec::Vec;

pub use accept::{Acceptance, Implausible, MAX_IDENTIFICATION};
pub use error::{Error, FieldError, FieldErrorKind};

/// What the CRC line said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrcStatus {
    /// No CRC digits after `!` (DSMR 2.2/3.0).
    #[default]
    Missing,
    /// The CRC matches.
    Valid(u16),
    /// The CRC does not match. The fields are still decoded, so a caller
    /// can inspect a damaged telegram; [`Telegram::verify`] refuses it.
    Mismatch {
        /// The CRC the meter wrote after `!`.
        sent: u16,
        /// The CRC of the text as it arrived.
        computed: u16,
    },
}

/// Which CRC-16 the digits after `!` are checked with.
///
/// DSMR says CRC-16/ARC, and every meter but Holley's sends it. Holley
/// DTSD545 meters send CRC-16/X25; X25 is tried only for a header whose
/// manufacturer code is `HLY` (X25 first, then ARC), so a meter of any other
/// make is never checked against a second CRC, which would let twice as much
/// damage and noise through. [`Acceptance`] remembers the algorithm a meter
/// used and refuses a telegram that matches only the other one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrcAlgorithm {
    /// CRC-16/ARC, the DSMR checksum.
    #[default]
    Arc,
    /// CRC-16/X25 (Holley, header `/HLY…`).
    X25,
}

impl CrcAlgorithm {
    /// The CRC of `data` (`/` … `!`) by this algorithm.
    pub fn compute(self, data: &[u8]) -> u16 {
        match self {
            CrcAlgorithm::Arc => crc16_arc(data),
            CrcAlgorithm::X25 => crc16_x25(data),
        }
    }

    /// The catalogue name, lower case: `arc`, `x25`.
    pub fn as_str(self) -> &'static str {
        match self {
            CrcAlgorithm::Arc => "arc",
            CrcAlgorithm::X25 => "x25",
        }
    }
}

/// An energy register of a tariff above 4 (`1-0:1.8.5`, Israeli
/// `1-0:1.8.11` … `1.8.13`): tariffs 1 to 4 have fixed places in
/// [`Telegram::imported`], these are listed by tariff number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TariffRegister {
    /// The OBIS E group: the tariff number as the meter counts it.
    pub tariff: u8,
    /// The register, kWh as written.
    pub value: Quantity,
}

/// A byte range of the telegram's own text: text fields point into
/// [`Telegram::raw`] instead of owning a `String`, so decoding again into the
/// same [`Telegram`] allocates nothing. Read one with [`Telegram::str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Offset of the first byte; `u32` keeps a span at 8 bytes, and a
    /// telegram is far below 4 GiB (the framer caps it at 16 KiB by default).
    pub start: u32,
    /// Offset just past the last byte.
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

/// A line whose OBIS code this engine does not interpret, kept as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownLine {
    /// 1-based line number in the telegram (the header is line 1).
    pub line: u32,
    /// The parsed code, so callers can match it without reparsing.
    pub obis: Obis,
    /// The code as written.
    pub code: Span,
    /// Everything from the first `(` to the last `)`.
    pub value: Span,
}

/// Per-phase values (index 0 = L1). The OBIS C group names the phase:
/// 21–33 for L1, 41–53 for L2, 61–73 for L3; below, the L1 codes. A
/// single-phase meter fills L1 only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Phase {
    /// `1-0:21.7.0`: active power drawn from the grid on this phase, kW.
    pub power_import: Option<Quantity>,
    /// `1-0:22.7.0`: active power fed into the grid on this phase, kW.
    pub power_export: Option<Quantity>,
    /// `1-0:23.7.0`: reactive power import, kvar; Belgian, Luxembourg and
    /// e-MUCS meters send it, Dutch ones do not.
    pub reactive_power_import: Option<Quantity>,
    /// `1-0:24.7.0`: reactive power export, kvar; as for the import.
    pub reactive_power_export: Option<Quantity>,
    /// `1-0:32.7.0`: voltage, V. DSMR 5 and later; DSMR 4 meters omit it.
    pub voltage: Option<Quantity>,
    /// `1-0:31.7.0`: current, A. DSMR 5 writes whole amperes and no sign,
    /// so it is coarse and never tells import from export.
    pub current: Option<Quantity>,
    /// Fuse supervision threshold (BE/HU `1-0:31.4.0`, LU `1-1:31.4.0`).
    pub current_limit: Option<Quantity>,
    /// `1-0:33.7.0`: power factor, no unit; Hungarian meters send it.
    pub power_factor: Option<Quantity>,
    /// `1-0:32.32.0`: voltage sags on this phase since installation; a
    /// counter the meter never resets.
    pub voltage_sags: Option<u64>,
    /// `1-0:32.36.0`: voltage swells on this phase; a counter, like sags.
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
    /// The 15-minute average demand, kW; an entry without one is dropped,
    /// so this is not an `Option`.
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
    /// When the device captured the value (hourly on DSMR 4 gas meters,
    /// every 5 minutes on DSMR 5): older than the telegram, and the time a
    /// sample of it belongs to.
    pub time: Timestamp,
    /// m³ for gas and water, GJ or kWh for heat, as the device wrote it.
    pub value: Quantity,
    /// Which object it came from: a corrected and an uncorrected gas volume
    /// are different quantities.
    pub kind: ReadingKind,
}

/// An M-Bus device (gas, water, heat, …) on channels 1 to 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mbus {
    /// EN 13757-3 medium: 3 gas, 4 heat, 6 warm water, 7 water, 12 heat (inlet).
    pub device_type: Option<u16>,
    /// `0-n:96.1.0` / `0-n:96.1.1`: the device's serial, hex-encoded ASCII
    /// on DSMR 4+.
    pub equipment_id: Option<Span>,
    /// `0-n:96.1.2`: the device's EAN code, where the meter sends one.
    pub ean: Option<Span>,
    /// `None` when the device sent nothing or only a placeholder.
    pub reading: Option<MbusReading>,
    /// True when a placeholder reading (impossible time, or zero at the
    /// epoch) was seen and dropped: the device is announced but silent.
    pub placeholder: bool,
    /// `0-n:24.4.0`: the gas valve position, as written (DSMR 4 gas meters).
    pub valve: Option<u8>,
    /// `0-n:96.3.10`: the device's breaker state (Belgian gas and water
    /// meters), coded like [`Telegram::breaker`].
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
    /// What the CRC line said. A mismatch still decodes, so the caller can
    /// look at a damaged telegram; [`Telegram::verify`] decides.
    pub crc: CrcStatus,
    /// The CRC-16 that [`Telegram::crc`] was checked with (ARC unless the
    /// header is a Holley's, `/HLY…`).
    pub crc_algorithm: CrcAlgorithm,
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
    /// `1-0:1.8.t` for tariffs above 4, in tariff order, one per tariff.
    pub imported_more: Vec<TariffRegister>,
    /// `1-0:2.8.t` for tariffs above 4, like `imported_more`.
    pub exported_more: Vec<TariffRegister>,
    /// `1-0:3.8.t` reactive energy import.
    pub reactive_imported: [Option<Quantity>; 5],
    /// `1-0:4.8.t` reactive energy export.
    pub reactive_exported: [Option<Quantity>; 5],
    /// `1-0:5.8.0` … `8.8.0`: reactive energy per quadrant.
    pub reactive_quadrants: [Option<Quantity>; 4],
    /// `1-0:15.8.0`: absolute active energy.
    pub absolute_energy: Option<Quantity>,
    /// `1-0:1.7.0`: active power drawn from the grid now, all phases, kW.
    pub power_import: Option<Quantity>,
    /// `1-0:2.7.0`: active power fed into the grid now (solar), kW. Meters
    /// send both directions; at most one is non-zero.
    pub power_export: Option<Quantity>,
    /// `1-0:3.7.0`: reactive power import, kvar (BE, LU, e-MUCS).
    pub reactive_power_import: Option<Quantity>,
    /// `1-0:4.7.0`: reactive power export, kvar (BE, LU, e-MUCS).
    pub reactive_power_export: Option<Quantity>,
    /// `1-0:5.7.0` … `8.7.0`: reactive power per quadrant (index 0 is
    /// Q1), kvar.
    pub reactive_power_quadrants: [Option<Quantity>; 4],
    /// `1-0:9.7.0`: apparent power import, kVA.
    pub apparent_power_import: Option<Quantity>,
    /// `1-0:10.7.0`: apparent power export, kVA.
    pub apparent_power_export: Option<Quantity>,
    /// `1-0:13.7.0`: total power factor, no unit (Hungarian meters).
    pub power_factor: Option<Quantity>,
    /// `1-0:14.7.0`: grid frequency, Hz (Hungarian meters).
    pub frequency: Option<Quantity>,
    /// L1, L2, L3; a single-phase meter fills index 0 only.
    pub phases: [Phase; 3],
    /// `0-0:96.14.0`: the active tariff.
    pub tariff: Option<u16>,
    /// `0-0:96.3.10`: 0 disconnected, 1 connected, 2 ready for reconnection.
    pub breaker: Option<u8>,
    /// `0-0:17.0.0`: in kW, A (DSMR 3) or kVA (LU).
    pub threshold: Option<Quantity>,
    /// `0-0:96.7.21`: power failures in any phase since installation; a
    /// counter the meter never resets.
    pub power_failures: Option<u64>,
    /// `0-0:96.7.9`: long power failures (longer than the meter's
    /// threshold, 3 minutes by default) in any phase; a counter.
    pub long_power_failures: Option<u64>,
    /// `1-0:99.97.0`, as the meter lists it.
    pub power_failure_log: Vec<PowerFailure>,
    /// Whether a `1-0:99.97.0` line was present (an empty log is still a log).
    pub has_power_failure_log: bool,
    /// `0-0:96.13.0`: the grid operator's text message as written (DSMR 4+
    /// hex-encodes it); `None` when empty, as it nearly always is.
    pub text_message: Option<Span>,
    /// `0-0:96.13.1`: the numeric message code of DSMR 2.2–4 meters.
    pub text_code: Option<Span>,
    /// `0-0:96.13.2` … `96.13.5`: the four extra text message slots of
    /// Luxembourg (Smarty) meters, as written; `None` when empty.
    pub text_messages_extra: [Option<Span>; 4],
    /// `1-0:1.4.0`: running 15-minute average demand.
    pub demand: Option<Quantity>,
    /// `1-0:1.6.0`: this month's peak demand.
    pub month_peak: Option<Peak>,
    /// `0-0:98.1.0`: the monthly peaks the meter lists (13 on Fluvius
    /// meters), every entry kept: the telegram's size bounds them.
    pub peak_history: Vec<Peak>,
    /// Channels 1 to 4 (index 0 is channel 1).
    pub mbus: [Mbus; 4],
    /// Lines whose codes this engine does not interpret, kept rather than
    /// dropped so a new meter's objects can be seen; at most 512.
    pub unknown: Vec<UnknownLine>,
    /// Fields left out, with their line and code; at most 512, so a
    /// telegram of garbage cannot grow memory.
    pub errors: Vec<FieldError>,
    /// The codes of the previous telegram by position: a meter sends the
    /// same lines every time, so most lines are recognised by one compare.
    cache: Vec<fast::Entry>,
}

/// Zero bytes after the text in [`Telegram::raw`].
const PAD: usize = 32;

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
            let sent = parse_crc_digits(&frame[bang + 1..]).ok_or(Error::NoEnd)?;
            self.check_crc(&frame[..=bang], sent)
        };
        // Exactly, not doubling: a meter's latest telegram is kept, and
        // 10 000 meters' spare halves were 10 MiB. Telegrams of one meter
        // barely vary in length, so this rarely reallocates.
        self.raw.reserve_exact(frame.len() + PAD);
        self.raw.extend_from_slice(frame);
        self.raw.extend_from_slice(&[0; PAD]);
        self.len = frame.len();
        self.decode_body(bang);
        Ok(())
    }

    /// The CRC status of `data` (`/` … `!`) against `sent`: CRC-16/ARC,
    /// or for a Holley header (`/HLY`) CRC-16/X25 first and then ARC.
    /// Sets [`Telegram::crc_algorithm`] to the one that matched (or, on a
    /// mismatch, the one the header calls for).
    fn check_crc(&mut self, data: &[u8], sent: u16) -> CrcStatus {
        // The third letter's case only says how fast the meter answers.
        let holley = data
            .get(1..4)
            .is_some_and(|m| m.eq_ignore_ascii_case(b"HLY"));
        let first = if holley {
            CrcAlgorithm::X25
        } else {
            CrcAlgorithm::Arc
        };
        self.crc_algorithm = first;
        let computed = first.compute(data);
        if sent == computed {
            return CrcStatus::Valid(sent);
        }
        if first == CrcAlgorithm::X25 && crc16_arc(data) == sent {
            self.crc_algorithm = CrcAlgorithm::Arc;
            return CrcStatus::Valid(sent);
        }
        CrcStatus::Mismatch { sent, computed }
    }

    /// Accepts or refuses the telegram by its CRC. A telegram without CRC
    /// is refused when it declares DSMR 4+ or e-MUCS and `allow_missing_crc`
    /// is false (a source that guards the bytes itself may allow it), and
    /// always when it does not read as a meter's
    /// ([`Telegram::plausible_without_crc`]). [`Acceptance`] adds the
    /// memory that a meter has sent CRCs.
    pub fn verify(&self, allow_missing_crc: bool) -> Result<(), Error> {
        match self.crc {
            CrcStatus::Valid(_) => self.plausible_with_crc().map_err(Error::Implausible),
            CrcStatus::Mismatch { sent, computed } => Err(Error::CrcMismatch { sent, computed }),
            CrcStatus::Missing => {
                if let Some(v) = self.declared_version() {
                    if !allow_missing_crc && self.requires_crc() {
                        return Err(Error::MissingCrc {
                            version: v.to_owned(),
                        });
                    }
                }
                self.plausible_without_crc().map_err(Error::Implausible)
            }
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

    /// Empties the telegram for the next decode, keeping the buffers'
    /// memory and the line cache. Field by field, in place: building a
    /// `Telegram { .. }` and moving it in copies its 2.4 KB twice, a tenth
    /// of a decode. The pattern lists every field, so a new one cannot be
    /// forgotten here.
    fn reset(&mut self) {
        let Telegram {
            raw,
            len,
            crc,
            crc_algorithm,
            header,
            version,
            emucs_version,
            timestamp,
            equipment_id,
            serial,
            ean,
            logical_name,
            device_id,
            imported,
            exported,
            imported_more,
            exported_more,
            reactive_imported,
            reactive_exported,
            reactive_quadrants,
            absolute_energy,
            power_import,
            power_export,
            reactive_power_import,
            reactive_power_export,
            reactive_power_quadrants,
            apparent_power_import,
            apparent_power_export,
            power_factor,
            frequency,
            phases,
            tariff,
            breaker,
            threshold,
            power_failures,
            long_power_failures,
            power_failure_log,
            has_power_failure_log,
            text_message,
            text_code,
            text_messages_extra,
            demand,
            month_peak,
            peak_history,
            mbus,
            unknown,
            errors,
            // The line cache stays: it makes the next decode fast.
            cache: _,
        } = self;
        raw.clear();
        imported_more.clear();
        exported_more.clear();
        power_failure_log.clear();
        peak_history.clear();
        unknown.clear();
        errors.clear();
        *len = Default::default();
        *crc = Default::default();
        *crc_algorithm = Default::default();
        *header = Default::default();
        *version = Default::default();
        *emucs_version = Default::default();
        *timestamp = Default::default();
        *equipment_id = Default::default();
        *serial = Default::default();
        *ean = Default::default();
        *logical_name = Default::default();
        *device_id = Default::default();
        *imported = Default::default();
        *exported = Default::default();
        *reactive_imported = Default::default();
        *reactive_exported = Default::default();
        *reactive_quadrants = Default::default();
        *absolute_energy = Default::default();
        *power_import = Default::default();
        *power_export = Default::default();
        *reactive_power_import = Default::default();
        *reactive_power_export = Default::default();
        *reactive_power_quadrants = Default::default();
        *apparent_power_import = Default::default();
        *apparent_power_export = Default::default();
        *power_factor = Default::default();
        *frequency = Default::default();
        *phases = Default::default();
        *tariff = Default::default();
        *breaker = Default::default();
        *threshold = Default::default();
        *power_failures = Default::default();
        *long_power_failures = Default::default();
        *has_power_failure_log = Default::default();
        *text_message = Default::default();
        *text_code = Default::default();
        *text_messages_extra = Default::default();
        *demand = Default::default();
        *month_peak = Default::default();
        *mbus = Default::default();
    }

    /// Swaps the decoded contents of `self` and `stored` but not their
    /// line caches: the telegram decoded into keeps the cache that makes
    /// its next decode fast, and a telegram that is only kept (a meter's
    /// latest) holds no cache. With 10 000 meters a cache per kept
    /// telegram was some 3 KiB each that nothing read.
    pub fn exchange(&mut self, stored: &mut Telegram) {
        core::mem::swap(self, stored);
        core::mem::swap(&mut self.cache, &mut stored.cache);
    }

    /// The telegram's text (`/` … `!CRC`).
    pub fn raw(&self) -> &[u8] {
        self.raw.get(..self.len).unwrap_or_default()
    }

    /// The text the CRC covers: `/` through the final `!`.
    pub fn crc_covered(&self) -> &[u8] {
        let raw = self.raw();
        let bang = raw.iter().rposition(|&b| b == b'!').unwrap_or(raw.len());
        raw.get(..=bang).unwrap_or(raw)
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

    /// `1-0:1.8.t` for every tariff `t` from 1 up, in tariff order: 1 to 4
    /// from [`Telegram::imported`], then [`Telegram::imported_more`].
    pub fn imported_tariffs(&self) -> impl Iterator<Item = TariffRegister> + '_ {
        tariffs(&self.imported, &self.imported_more)
    }

    /// `1-0:2.8.t` for every tariff from 1 up, like
    /// [`Telegram::imported_tariffs`].
    pub fn exported_tariffs(&self) -> impl Iterator<Item = TariffRegister> + '_ {
        tariffs(&self.exported, &self.exported_more)
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
}

/// Tariffs 1 to 4 of `fixed` (index 0 is the total), then `more`.
fn tariffs<'a>(
    fixed: &'a [Option<Quantity>; 5],
    more: &'a [TariffRegister],
) -> impl Iterator<Item = TariffRegister> + 'a {
    (1u8..)
        .zip(&fixed[1..])
        .filter_map(|(tariff, q)| q.map(|value| TariffRegister { tariff, value }))
        .chain(more.iter().copied())
}

/// Line `n` (1-based, the header is line 1) of a telegram's text without
/// its line end: what a [`FieldError`] report quotes.
pub fn line_of(raw: &[u8], n: u32) -> &[u8] {
    raw.split(|&b| b == b'\n')
        .nth(n.saturating_sub(1) as usize)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const T: &[u8] = b"/ISk5\\2MT382-1000\r\n\r\n1-3:0.2.8(50)\r\n1-0:1.8.1(000123.456*kWh)\r\n1-0:1.7.0(01.193*kW)\r\n!";

    #[test]
    fn exchange_keeps_the_line_cache_with_the_decoder() {
        let mut scratch = Telegram::new();
        scratch.decode_into(T).expect("decodes");
        assert!(!scratch.cache.is_empty(), "a decode fills the cache");
        let cached = scratch.cache.len();
        let mut stored = Telegram::new();
        scratch.exchange(&mut stored);
        let imported = stored.imported[1].map(|q| q.value.to_string());
        assert_eq!(imported.as_deref(), Some("123.456"));
        assert_eq!(stored.str(stored.version.unwrap_or_default()), "50");
        assert!(stored.cache.is_empty(), "the kept telegram holds no cache");
        assert_eq!(scratch.cache.len(), cached, "the decoder keeps it");
        assert!(scratch.imported[1].is_none(), "and gets the old contents");
    }
}
