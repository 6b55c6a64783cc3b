//! A decoded telegram as JSON through serde (feature `serde`):
//! `serde_json::to_string(&telegram.json_view(zone))` gives exactly the text
//! of [`crate::json::telegram_to_json`], the `parse` command's output.
//!
//! Meter decimals stay exact. A [`Fixed`] is written as its own digits
//! (`0.000`, `9418.807`), never through an `f64`, which would drop trailing
//! zeros and round long mantissas. serde has no "raw number" type, so the
//! digits go out as a `serde_json::value::RawValue` (serde_json's `raw_value`
//! feature) borrowed from a stack buffer: no allocation per number, and the
//! feature only adds that type. The alternative, `arbitrary_precision`,
//! would change how every `serde_json::Number` and `Value` of the whole
//! program stores and compares numbers (Cargo unifies features), which an
//! engine has no business doing. The price: the raw numbers are serde_json's
//! own token, so this view is meant for serde_json; another serializer sees
//! each decimal as a one-field struct.
//!
//! Timestamps need the meter's [`Zone`] for their Unix time, hence a view
//! that pairs the telegram with a zone rather than `Serialize` on
//! [`Telegram`] itself.

use crate::telegram::{
    device_type_name, line_of, CrcStatus, FieldError, Mbus, Peak, Phase, PowerFailure, ReadingKind,
    Span, Telegram, UnknownLine,
};
use crate::time::{Dst, Timestamp, Zone};
use crate::value::{Dimension, Fixed, Quantity};
use alloc::string::String;
use core::fmt::{self, Write};
use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::value::RawValue;

/// A telegram paired with the zone its timestamps are read in; serializes
/// to the same JSON object as [`crate::json::telegram_to_json`].
#[derive(Debug, Clone, Copy)]
pub struct JsonView<'a> {
    telegram: &'a Telegram,
    zone: Zone,
}

impl Telegram {
    /// This telegram as a serde value; timestamps get their Unix time in `zone`.
    pub fn json_view(&self, zone: Zone) -> JsonView<'_> {
        JsonView {
            telegram: self,
            zone,
        }
    }
}

type Map<S> = <S as Serializer>::SerializeMap;
type MapResult<S> = Result<Map<S>, <S as Serializer>::Error>;

impl Serialize for JsonView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (t, zone) = (self.telegram, self.zone);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("crc", &Crc(t.crc))?;
        m.serialize_entry("header", t.header())?;
        m.serialize_entry("manufacturer", t.manufacturer())?;
        text(&mut m, t, "version", t.version)?;
        text(&mut m, t, "emucs_version", t.emucs_version)?;
        if let Some(ts) = &t.timestamp {
            m.serialize_entry("timestamp", &Time(ts, zone))?;
        }
        text(&mut m, t, "equipment_id", t.equipment_id)?;
        text(&mut m, t, "serial", t.serial)?;
        text(&mut m, t, "ean", t.ean)?;
        text(&mut m, t, "logical_name", t.logical_name)?;
        text(&mut m, t, "device_id", t.device_id)?;
        m.serialize_entry("electricity", &Electricity(t))?;
        m.serialize_entry("phases", &Phases(&t.phases))?;
        if t.has_power_failure_log {
            let log = seq(&t.power_failure_log, |f| Failure(f, zone));
            m.serialize_entry("power_failure_log", &log)?;
        }
        if let Some(p) = &t.month_peak {
            m.serialize_entry("month_peak", &PeakView(p, zone))?;
        }
        if !t.peak_history.is_empty() {
            let history = seq(&t.peak_history, |p| PeakView(p, zone));
            m.serialize_entry("peak_history", &history)?;
        }
        text(&mut m, t, "text_message", t.text_message)?;
        text(&mut m, t, "text_code", t.text_code)?;
        m.serialize_entry("mbus", &Channels(t, zone))?;
        m.serialize_entry("unknown", &seq(&t.unknown, |u| Unknown(t, u)))?;
        m.serialize_entry("errors", &seq(&t.errors, |e| ErrorView(t, e)))?;
        m.end()
    }
}

/// `key: "text"` for a span that is there.
fn text<M: SerializeMap>(
    m: &mut M,
    t: &Telegram,
    key: &str,
    s: Option<Span>,
) -> Result<(), M::Error> {
    match s {
        Some(s) => m.serialize_entry(key, t.str(s)),
        None => Ok(()),
    }
}

/// `key: quantity` for a quantity that is there.
fn qty<M: SerializeMap>(m: &mut M, key: &str, q: &Option<Quantity>) -> Result<(), M::Error> {
    match q {
        Some(q) => m.serialize_entry(key, &Qty(q)),
        None => Ok(()),
    }
}

/// `key: n` for a number that is there.
fn num<M: SerializeMap, N: Serialize>(m: &mut M, key: &str, n: &Option<N>) -> Result<(), M::Error> {
    match n {
        Some(n) => m.serialize_entry(key, n),
        None => Ok(()),
    }
}

/// A list of views of `items`.
struct Seq<'a, T, F>(&'a [T], F);

/// The items of a list, each seen through `view`.
fn seq<'a, T, V: Serialize, F: Fn(&'a T) -> V>(items: &'a [T], view: F) -> Seq<'a, T, F> {
    Seq(items, view)
}

impl<'a, T, V: Serialize, F: Fn(&'a T) -> V> Serialize for Seq<'a, T, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

/// A decimal as a JSON number with exactly its digits.
struct Num(Fixed);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = StackStr::default();
        write!(buf, "{}", self.0).map_err(S::Error::custom)?;
        let raw: &RawValue = serde_json::from_str(buf.as_str()).map_err(S::Error::custom)?;
        raw.serialize(s)
    }
}

/// Room for any [`Fixed`]: a sign, 19 digits, a point and leading zeros.
struct StackStr {
    buf: [u8; 48],
    len: usize,
}

impl Default for StackStr {
    fn default() -> StackStr {
        StackStr {
            buf: [0; 48],
            len: 0,
        }
    }
}

impl StackStr {
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for StackStr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

struct Crc(CrcStatus);

impl Serialize for Crc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex = |c: u16| Hex(c);
        let mut m = s.serialize_map(None)?;
        match self.0 {
            CrcStatus::Valid(c) => {
                m.serialize_entry("status", "valid")?;
                m.serialize_entry("sent", &hex(c))?;
            }
            CrcStatus::Missing => m.serialize_entry("status", "missing")?,
            CrcStatus::Mismatch { sent, computed } => {
                m.serialize_entry("status", "mismatch")?;
                m.serialize_entry("sent", &hex(sent))?;
                m.serialize_entry("computed", &hex(computed))?;
            }
        }
        m.end()
    }
}

/// A CRC as four upper-case hex digits, the way the meter writes it.
struct Hex(u16);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:04X}", self.0))
    }
}

/// Key names of the tariff registers, index 0 being the total.
const IMPORTED: [&str; 5] = [
    "imported_total",
    "imported_tariff_1",
    "imported_tariff_2",
    "imported_tariff_3",
    "imported_tariff_4",
];
const EXPORTED: [&str; 5] = [
    "exported_total",
    "exported_tariff_1",
    "exported_tariff_2",
    "exported_tariff_3",
    "exported_tariff_4",
];
const REACTIVE_IMPORTED: [&str; 5] = [
    "reactive_imported_total",
    "reactive_imported_tariff_1",
    "reactive_imported_tariff_2",
    "reactive_imported_tariff_3",
    "reactive_imported_tariff_4",
];
const REACTIVE_EXPORTED: [&str; 5] = [
    "reactive_exported_total",
    "reactive_exported_tariff_1",
    "reactive_exported_tariff_2",
    "reactive_exported_tariff_3",
    "reactive_exported_tariff_4",
];
const REACTIVE_ENERGY_Q: [&str; 4] = [
    "reactive_energy_q1",
    "reactive_energy_q2",
    "reactive_energy_q3",
    "reactive_energy_q4",
];
const REACTIVE_POWER_Q: [&str; 4] = [
    "reactive_power_q1",
    "reactive_power_q2",
    "reactive_power_q3",
    "reactive_power_q4",
];

struct Electricity<'a>(&'a Telegram);

impl Serialize for Electricity<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = self.energy::<S>(s.serialize_map(None)?)?;
        let t = self.0;
        qty(&mut m, "absolute_energy", &t.absolute_energy)?;
        qty(&mut m, "power_import", &t.power_import)?;
        qty(&mut m, "power_export", &t.power_export)?;
        qty(&mut m, "reactive_power_import", &t.reactive_power_import)?;
        qty(&mut m, "reactive_power_export", &t.reactive_power_export)?;
        for (key, q) in REACTIVE_POWER_Q.iter().zip(&t.reactive_power_quadrants) {
            qty(&mut m, key, q)?;
        }
        qty(&mut m, "apparent_power_import", &t.apparent_power_import)?;
        qty(&mut m, "apparent_power_export", &t.apparent_power_export)?;
        qty(&mut m, "power_factor", &t.power_factor)?;
        qty(&mut m, "frequency", &t.frequency)?;
        qty(&mut m, "threshold", &t.threshold)?;
        qty(&mut m, "demand", &t.demand)?;
        num(&mut m, "tariff", &t.tariff)?;
        num(&mut m, "breaker", &t.breaker)?;
        num(&mut m, "power_failures", &t.power_failures)?;
        num(&mut m, "long_power_failures", &t.long_power_failures)?;
        m.end()
    }
}

impl Electricity<'_> {
    /// The energy registers, tariff by tariff, then per quadrant.
    fn energy<S: Serializer>(&self, mut m: Map<S>) -> MapResult<S> {
        let t = self.0;
        for i in 0..5 {
            qty(&mut m, IMPORTED[i], &t.imported[i])?;
            qty(&mut m, EXPORTED[i], &t.exported[i])?;
            qty(&mut m, REACTIVE_IMPORTED[i], &t.reactive_imported[i])?;
            qty(&mut m, REACTIVE_EXPORTED[i], &t.reactive_exported[i])?;
        }
        for (key, q) in REACTIVE_ENERGY_Q.iter().zip(&t.reactive_quadrants) {
            qty(&mut m, key, q)?;
        }
        Ok(m)
    }
}

/// The phases the telegram said anything about, as `l1` … `l3`.
struct Phases<'a>(&'a [Phase; 3]);

impl Serialize for Phases<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (key, p) in ["l1", "l2", "l3"].iter().zip(self.0) {
            if *p != Phase::default() {
                m.serialize_entry(key, &PhaseView(p))?;
            }
        }
        m.end()
    }
}

struct PhaseView<'a>(&'a Phase);

impl Serialize for PhaseView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        qty(&mut m, "power_import", &p.power_import)?;
        qty(&mut m, "power_export", &p.power_export)?;
        qty(&mut m, "reactive_power_import", &p.reactive_power_import)?;
        qty(&mut m, "reactive_power_export", &p.reactive_power_export)?;
        qty(&mut m, "voltage", &p.voltage)?;
        qty(&mut m, "current", &p.current)?;
        qty(&mut m, "current_limit", &p.current_limit)?;
        qty(&mut m, "power_factor", &p.power_factor)?;
        num(&mut m, "voltage_sags", &p.voltage_sags)?;
        num(&mut m, "voltage_swells", &p.voltage_swells)?;
        m.end()
    }
}

/// A quantity with its exact value in the base unit of its dimension.
struct Qty<'a>(&'a Quantity);

impl Serialize for Qty<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let q = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("value", &Num(q.value))?;
        m.serialize_entry("unit", q.unit.as_str())?;
        if let (Some(b), Some((dim, _))) = (q.base(), q.unit.base()) {
            m.serialize_entry("base_value", &Num(b))?;
            m.serialize_entry("base_unit", base_unit(dim))?;
        }
        m.end()
    }
}

/// The Prometheus base unit of a dimension.
fn base_unit(d: Dimension) -> &'static str {
    use Dimension as D;
    match d {
        D::Energy => "J",
        D::Power => "W",
        D::ReactivePower => "var",
        D::ReactiveEnergy => "varh",
        D::ApparentPower => "VA",
        D::Voltage => "V",
        D::Current => "A",
        D::Volume => "m3",
        D::Frequency => "Hz",
        D::Time => "s",
        D::Dimensionless => "",
    }
}

/// A meter timestamp: its wall time, its flag, and its Unix time in the zone.
struct Time<'a>(&'a Timestamp, Zone);

impl Serialize for Time<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("local", &Display(Local(t)))?;
        let dst = match t.dst {
            Dst::Winter => "W",
            Dst::Summer => "S",
            Dst::Unknown => "",
        };
        m.serialize_entry("dst", dst)?;
        m.serialize_entry("unix", &t.to_unix(&self.1))?;
        m.end()
    }
}

/// The wall time without its flag, `2023-04-04T21:31:04`.
struct Local<'a>(&'a Timestamp);

impl fmt::Display for Local<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        )
    }
}

/// Anything `Display` as a JSON string, without a `String` in between.
struct Display<D>(D);

impl<D: fmt::Display> Serialize for Display<D> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A timestamp that may be a placeholder (`null`).
fn opt_time(t: &Option<Timestamp>, zone: Zone) -> Option<Time<'_>> {
    t.as_ref().map(|t| Time(t, zone))
}

struct Failure<'a>(&'a PowerFailure, Zone);

impl Serialize for Failure<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("end", &opt_time(&self.0.end, self.1))?;
        m.serialize_entry("duration_s", &self.0.duration)?;
        m.end()
    }
}

struct PeakView<'a>(&'a Peak, Zone);

impl Serialize for PeakView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (p, zone) = (self.0, self.1);
        let mut m = s.serialize_map(None)?;
        if let Some(ts) = &p.period_start {
            m.serialize_entry("period_start", &Time(ts, zone))?;
        }
        m.serialize_entry("time", &opt_time(&p.time, zone))?;
        m.serialize_entry("value", &Qty(&p.value))?;
        m.end()
    }
}

/// The M-Bus channels the telegram said anything about.
struct Channels<'a>(&'a Telegram, Zone);

impl Serialize for Channels<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for (i, m) in self.0.mbus.iter().enumerate() {
            if m.is_present() {
                seq.serialize_element(&Channel(self.0, i + 1, m, self.1))?;
            }
        }
        seq.end()
    }
}

struct Channel<'a>(&'a Telegram, usize, &'a Mbus, Zone);

impl Serialize for Channel<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Channel(t, channel, c, zone) = *self;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("channel", &channel)?;
        if let Some(d) = c.device_type {
            m.serialize_entry("device_type", &d)?;
            m.serialize_entry("device", device_type_name(d))?;
        }
        text(&mut m, t, "equipment_id", c.equipment_id)?;
        text(&mut m, t, "ean", c.ean)?;
        if let Some(r) = &c.reading {
            m.serialize_entry("reading", &Reading(&r.time, &r.value, r.kind, zone))?;
        }
        if c.placeholder {
            m.serialize_entry("placeholder", &true)?;
        }
        num(&mut m, "valve", &c.valve)?;
        num(&mut m, "breaker", &c.breaker)?;
        m.end()
    }
}

struct Reading<'a>(&'a Timestamp, &'a Quantity, ReadingKind, Zone);

impl Serialize for Reading<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("time", &Time(self.0, self.3))?;
        m.serialize_entry("value", &Qty(self.1))?;
        let kind = match self.2 {
            ReadingKind::Corrected => "24.2.1",
            ReadingKind::Uncorrected => "24.2.3",
            ReadingKind::Profile => "24.3.0",
        };
        m.serialize_entry("kind", kind)?;
        m.end()
    }
}

struct Unknown<'a>(&'a Telegram, &'a UnknownLine);

impl Serialize for Unknown<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (t, u) = (self.0, self.1);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("line", &u.line)?;
        m.serialize_entry("obis", &Display(u.obis))?;
        m.serialize_entry("code", t.str(u.code))?;
        m.serialize_entry("value", t.str(u.value))?;
        m.end()
    }
}

struct ErrorView<'a>(&'a Telegram, &'a FieldError);

impl Serialize for ErrorView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (t, e) = (self.0, self.1);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("line", &e.line)?;
        if let Some(o) = e.obis {
            m.serialize_entry("obis", &Display(o))?;
        }
        m.serialize_entry("error", &Display(e.kind))?;
        let line = String::from_utf8_lossy(line_of(t.raw(), e.line));
        m.serialize_entry("text", &*line)?;
        m.end()
    }
}
