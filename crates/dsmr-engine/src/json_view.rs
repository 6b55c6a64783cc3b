//! A decoded telegram as JSON through serde (feature `serde`):
//! `serde_json::to_writer(out, &telegram.json_view(zone))` writes one line of
//! the `parse` command (tests/golden/*.jsonl). The value types serialize on
//! their own too, in the one shape the exporter's API shares with `parse`:
//! a [`Quantity`] as `{"value":…,"unit":…,"base_value":…,"base_unit":…}`, a
//! [`Fixed`] as a JSON number with exactly its digits, and a meter time as
//! `{"local":…,"dst":…,"unix":…}` through [`TimeJson`].
//!
//! Meter decimals stay exact. A [`Fixed`] is written as its own digits
//! (`0.000`, `9418.807`), never through an `f64`, which would drop trailing
//! zeros and round long mantissas. serde has no "raw number" type, so the
//! digits go out as serde_json's raw value (its `raw_value` feature): see
//! [`Fixed`]'s `Serialize` for how, without a check or an allocation per
//! number. The alternative, `arbitrary_precision`, would change how every
//! `serde_json::Number` and `Value` of the whole program stores and compares
//! numbers (Cargo unifies features), which an engine has no business doing.
//! The price: the raw numbers are serde_json's own token, so these impls are
//! meant for serde_json; another serializer sees each decimal with a
//! fraction as a one-field struct holding its text.
//!
//! Timestamps need the meter's [`Zone`] for their Unix time, hence a view
//! that pairs the telegram with a zone rather than `Serialize` on
//! [`Telegram`] itself.

use crate::telegram::{
    device_type_name, line_of, CrcAlgorithm, CrcStatus, FieldError, Mbus, Peak, Phase,
    PowerFailure, ReadingKind, Span, Telegram, UnknownLine,
};
use crate::time::{Dst, Timestamp, Zone};
use crate::value::{Dimension, Fixed, Quantity};
use alloc::string::String;
use core::fmt;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

/// A telegram paired with the zone its timestamps are read in; serializes
/// to one line of the `parse` command.
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
        m.serialize_entry("crc", &Crc(t.crc, t.crc_algorithm))?;
        m.serialize_entry("header", t.header())?;
        m.serialize_entry("manufacturer", t.manufacturer())?;
        text(&mut m, t, "version", t.version)?;
        text(&mut m, t, "emucs_version", t.emucs_version)?;
        if let Some(ts) = &t.timestamp {
            m.serialize_entry("timestamp", &TimeJson(ts, zone))?;
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
        for (key, s) in TEXT_EXTRA.iter().zip(t.text_messages_extra) {
            text(&mut m, t, key, s)?;
        }
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
        Some(q) => m.serialize_entry(key, q),
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

/// The name serde_json gives its raw values (`serde_json::value::RawValue`
/// serializes as a one-field struct of this name holding its text, and
/// serde_json's serializer writes that text as it is).
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// A decimal as a JSON number with exactly its digits, `Display`'s text.
///
/// An integer (scale 0) is an `i64`. A fraction is written into a stack
/// buffer and handed to serde_json as a raw value through serde_json's own
/// raw-value token, exactly what `RawValue::serialize` does, minus building
/// the `&RawValue`: the public ways to get one either parse the text again
/// (`serde_json::from_str::<&RawValue>`) or allocate (`RawValue::from_string`,
/// which parses too), once per number, about 50 numbers a telegram. The
/// engine bench's `decimal` group measures the three for `9418.807`: 12 ns
/// this way, 50 ns through `from_str`, 48 ns through `from_string` (one
/// run, Intel Xeon, 2 shared cores). The digits need no check: they
/// are made here, a sign, digits, a point and digits. The tests check that
/// the token still gives a raw number (the golden files would show it too).
impl Serialize for Fixed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.scale == 0 {
            return s.serialize_i64(self.mantissa);
        }
        let mut buf = [0u8; DIGITS];
        match digits(*self, &mut buf).and_then(|d| core::str::from_utf8(d).ok()) {
            Some(text) => raw_json(s, text),
            // A scale above 18, which no meter sends (the decoder reads 18
            // digits at most): `Display` into a `String`.
            None => raw_json(s, &alloc::format!("{self}")),
        }
    }
}

/// `text` (valid JSON by construction) as serde_json's raw value: written
/// as it is.
fn raw_json<S: Serializer>(s: S, text: &str) -> Result<S::Ok, S::Error> {
    let mut raw = s.serialize_struct(RAW_VALUE, 1)?;
    raw.serialize_field(RAW_VALUE, text)?;
    raw.end()
}

/// Room for a [`Fixed`] of scale 18 or less: a sign, 20 digits, a point and
/// 18 decimals.
const DIGITS: usize = 40;

/// `f`'s `Display` text, written backwards into the end of `buf` two
/// digits at a time; `None` for a scale above 18.
fn digits(f: Fixed, buf: &mut [u8; DIGITS]) -> Option<&[u8]> {
    if f.scale > 18 {
        return None;
    }
    let a = f.mantissa.unsigned_abs();
    let p = 10u64.pow(u32::from(f.scale));
    let (mut int, mut frac) = (a / p, a % p);
    let mut i = DIGITS;
    let mut left = f.scale;
    while left >= 2 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(pair(frac % 100));
        frac /= 100;
        left -= 2;
    }
    if left == 1 {
        i -= 1;
        buf[i] = b'0' + (frac % 10) as u8;
    }
    if f.scale > 0 {
        i -= 1;
        buf[i] = b'.';
    }
    while int >= 100 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(pair(int % 100));
        int /= 100;
    }
    if int >= 10 {
        i -= 2;
        buf[i..i + 2].copy_from_slice(pair(int));
    } else {
        i -= 1;
        buf[i] = b'0' + int as u8;
    }
    if f.mantissa < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    // ASCII by construction; the caller checks it once as text, together
    // with whatever it writes around it.
    Some(&buf[i..])
}

/// The two digits of `n` (below 100).
#[inline]
fn pair(n: u64) -> &'static [u8] {
    const PAIRS: &[u8; 200] = b"\
        0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let n = (n % 100) as usize * 2;
    &PAIRS[n..n + 2]
}

/// The CRC line, and `"algorithm":"x25"` for a Holley meter's CRC-16/X25
/// (ARC, the DSMR one, is left unsaid, so the output of every other meter
/// stays as it was).
struct Crc(CrcStatus, CrcAlgorithm);

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
        if self.1 != CrcAlgorithm::Arc && self.0 != CrcStatus::Missing {
            m.serialize_entry("algorithm", self.1.as_str())?;
        }
        m.end()
    }
}

/// A CRC as four upper-case hex digits, the way the meter writes it.
struct Hex(u16);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let c = self.0;
        let hex = [12, 8, 4, 0].map(|shift| HEX[usize::from(c >> shift & 0xf)]);
        s.serialize_str(core::str::from_utf8(&hex).unwrap_or("0000"))
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
/// `0-0:96.13.2` … `96.13.5`.
const TEXT_EXTRA: [&str; 4] = [
    "text_message_2",
    "text_message_3",
    "text_message_4",
    "text_message_5",
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
        // Tariffs above 4 (`imported_tariff_5`, `imported_tariff_11`, …):
        // rare, so their keys are made here.
        for r in &t.imported_more {
            m.serialize_entry(&alloc::format!("imported_tariff_{}", r.tariff), &r.value)?;
        }
        for r in &t.exported_more {
            m.serialize_entry(&alloc::format!("exported_tariff_{}", r.tariff), &r.value)?;
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

/// A quantity with its exact value in the base unit of its dimension:
/// `{"value":0.196,"unit":"kW","base_value":196,"base_unit":"W"}`; the two
/// `base_` keys only when the unit has a base (not for `Unit::Other`).
///
/// The object is written whole into a stack buffer and handed to serde_json
/// as one raw value, like a [`Fixed`]: a telegram holds about 25 quantities,
/// and through `serialize_map` serde_json scans each of their 100 keys and
/// 50 unit strings for characters to escape, one byte at a time, about a
/// third of `parse`'s time (`cargo bench --bench parse`, Intel Xeon, 2
/// shared cores: 2.97 µs a telegram that way against 2.47 µs for dsmr5
/// decoding it; 2.34 µs against 2.58 µs this way, each pair from one run). Nothing here needs escaping: the keys are these literals and the
/// units the engine's own static names. `QuantityMap` is the same object
/// through serde's map, kept for a value the buffer cannot hold; a test
/// checks that the two write the same bytes for every unit.
impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; QUANTITY];
        match quantity_text(self, &mut buf) {
            Some(text) => raw_json(s, text),
            None => QuantityMap(self).serialize(s),
        }
    }
}

/// A [`Quantity`] through serde's map: the reference the raw text matches.
struct QuantityMap<'a>(&'a Quantity);

impl Serialize for QuantityMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let q = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("value", &q.value)?;
        m.serialize_entry("unit", q.unit.as_str())?;
        if let (Some(b), Some((dim, _))) = (q.base(), q.unit.base()) {
            m.serialize_entry("base_value", &b)?;
            m.serialize_entry("base_unit", base_unit(dim))?;
        }
        m.end()
    }
}

/// Room for a quantity's object: the keys, two decimals and two units.
const QUANTITY: usize = 64 + 2 * DIGITS;

/// `q`'s JSON object written into `out`; `None` when a decimal has no
/// stack text (a scale above 18).
fn quantity_text<'b>(q: &Quantity, out: &'b mut [u8; QUANTITY]) -> Option<&'b str> {
    let mut w = Cursor { buf: out, len: 0 };
    let mut d = [0u8; DIGITS];
    w.put(b"{\"value\":")?;
    w.put(digits(q.value, &mut d)?)?;
    w.put(b",\"unit\":\"")?;
    w.put(q.unit.as_str().as_bytes())?;
    w.put(b"\"")?;
    if let (Some(b), Some((dim, _))) = (q.base(), q.unit.base()) {
        w.put(b",\"base_value\":")?;
        w.put(digits(b, &mut d)?)?;
        w.put(b",\"base_unit\":\"")?;
        w.put(base_unit(dim).as_bytes())?;
        w.put(b"\"")?;
    }
    w.put(b"}")?;
    let len = w.len;
    core::str::from_utf8(&out[..len]).ok()
}

/// Appends to a fixed buffer; `None` when it is full.
struct Cursor<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        self.buf.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
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

/// A meter timestamp as JSON: its wall time, its DST flag (`"W"`, `"S"`
/// or `""`) and its Unix time in the zone,
/// `{"local":"2022-01-27T11:04:31","dst":"W","unix":1643277871}`.
#[derive(Debug, Clone, Copy)]
pub struct TimeJson<'a>(pub &'a Timestamp, pub Zone);

/// Written whole as one raw value, as a [`Quantity`] is and for the same
/// reason (its keys and values need no escaping); `TimeMap` is the same
/// object through serde's map, which a test holds it to.
impl Serialize for TimeJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; TIME];
        match time_text(self, &mut buf) {
            Some(text) => raw_json(s, text),
            None => TimeMap(self).serialize(s),
        }
    }
}

/// A [`TimeJson`] through serde's map: the reference the raw text matches.
struct TimeMap<'a, 'b>(&'a TimeJson<'b>);

impl Serialize for TimeMap<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0 .0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("local", local(t, &mut [0; 32]))?;
        m.serialize_entry("dst", dst_flag(t.dst))?;
        m.serialize_entry("unix", &t.to_unix(&self.0 .1))?;
        m.end()
    }
}

/// The flag as the meter writes it, `""` for none.
fn dst_flag(dst: Dst) -> &'static str {
    match dst {
        Dst::Winter => "W",
        Dst::Summer => "S",
        Dst::Unknown => "",
    }
}

/// Room for a meter time's object: the keys, the wall time and an `i64`.
const TIME: usize = 40 + 32 + DIGITS;

/// `t`'s JSON object written into `out`.
fn time_text<'b>(t: &TimeJson<'_>, out: &'b mut [u8; TIME]) -> Option<&'b str> {
    let mut w = Cursor { buf: out, len: 0 };
    w.put(b"{\"local\":\"")?;
    w.put(local(t.0, &mut [0; 32]).as_bytes())?;
    w.put(b"\",\"dst\":\"")?;
    w.put(dst_flag(t.0.dst).as_bytes())?;
    w.put(b"\",\"unix\":")?;
    w.put(digits(Fixed::new(t.0.to_unix(&t.1), 0), &mut [0; DIGITS])?)?;
    w.put(b"}")?;
    let len = w.len;
    core::str::from_utf8(&out[..len]).ok()
}

/// The wall time without its flag, `2023-04-04T21:31:04`: the fields
/// zero-padded to 4 and 2 digits as `{:04}`/`{:02}` would.
fn local<'b>(t: &Timestamp, buf: &'b mut [u8; 32]) -> &'b str {
    let two = [t.month, t.day, t.hour, t.minute, t.second];
    if t.year > 9_999 || two.iter().any(|&n| n > 99) {
        return local_wide(t, buf);
    }
    let y = u64::from(t.year);
    buf[..19].copy_from_slice(b"0000-00-00T00:00:00");
    buf[0..2].copy_from_slice(pair(y / 100));
    buf[2..4].copy_from_slice(pair(y));
    for (at, n) in [5, 8, 11, 14, 17].into_iter().zip(two) {
        buf[at..at + 2].copy_from_slice(pair(u64::from(n)));
    }
    core::str::from_utf8(&buf[..19]).unwrap_or("")
}

/// [`local`] for fields wider than their padding (which the decoder never
/// yields, but a `Timestamp` built by hand may hold): all their digits.
#[cold]
fn local_wide<'b>(t: &Timestamp, buf: &'b mut [u8; 32]) -> &'b str {
    let mut len = 0;
    let mut put = |n: u64, width: usize, sep: Option<u8>| {
        let mut tmp = [0u8; 20];
        let (mut n, mut i) = (n, tmp.len());
        while n > 0 || tmp.len() - i < width {
            i -= 1;
            tmp[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        for &b in tmp[i..].iter().chain(sep.as_slice()) {
            if let Some(slot) = buf.get_mut(len) {
                *slot = b;
                len += 1;
            }
        }
    };
    put(u64::from(t.year), 4, Some(b'-'));
    put(u64::from(t.month), 2, Some(b'-'));
    put(u64::from(t.day), 2, Some(b'T'));
    put(u64::from(t.hour), 2, Some(b':'));
    put(u64::from(t.minute), 2, Some(b':'));
    put(u64::from(t.second), 2, None);
    core::str::from_utf8(&buf[..len]).unwrap_or("")
}

/// Anything `Display` as a JSON string, without a `String` in between.
struct Display<D>(D);

impl<D: fmt::Display> Serialize for Display<D> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A timestamp that may be a placeholder (`null`).
fn opt_time(t: &Option<Timestamp>, zone: Zone) -> Option<TimeJson<'_>> {
    t.as_ref().map(|t| TimeJson(t, zone))
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
            m.serialize_entry("period_start", &TimeJson(ts, zone))?;
        }
        m.serialize_entry("time", &opt_time(&p.time, zone))?;
        m.serialize_entry("value", &p.value)?;
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
        m.serialize_entry("time", &TimeJson(self.0, self.3))?;
        m.serialize_entry("value", self.1)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    /// The token is serde_json's: a `Fixed` comes out exactly as the
    /// `RawValue` of its `Display` text, for every sign, scale and width.
    #[test]
    fn decimals_are_serde_json_raw_values_of_their_display_text() {
        let mantissas = [0, 1, -1, 5, -5, 9, 10, 99, 100, 123_456, -987_654_321];
        let extremes = [i64::MAX, i64::MIN, 999_999_999_999_999_999];
        for m in mantissas.into_iter().chain(extremes) {
            for scale in [0u8, 1, 2, 3, 4, 7, 9, 17, 18, 19, 25] {
                let f = Fixed::new(m, scale);
                let text = alloc::format!("{f}");
                let raw = RawValue::from_string(text.clone()).expect("Display is a JSON number");
                let want = serde_json::to_string(&raw).expect("raw");
                assert_eq!(serde_json::to_string(&f).expect("fixed"), want, "{text}");
            }
        }
    }

    /// The raw text of a quantity is byte for byte what serde's map of the
    /// same keys writes, for every unit, sign, scale and width (a base value
    /// that overflows leaves its two keys out in both).
    #[test]
    fn quantities_write_what_the_serde_map_writes() {
        use crate::value::Unit as U;
        let units = [
            U::None,
            U::Wh,
            U::KWh,
            U::MWh,
            U::MJ,
            U::GJ,
            U::W,
            U::KW,
            U::Var,
            U::KVar,
            U::Varh,
            U::KVarh,
            U::VA,
            U::KVA,
            U::V,
            U::A,
            U::M3,
            U::Hz,
            U::Seconds,
            U::Other,
        ];
        let mantissas = [0, 1, -1, 7, 9_418_807, -123_456, i64::MAX, i64::MIN];
        let mut raw = 0;
        for unit in units {
            for m in mantissas {
                for scale in [0u8, 1, 3, 9, 18, 19] {
                    let q = Quantity {
                        value: Fixed::new(m, scale),
                        unit,
                    };
                    let got = serde_json::to_string(&q).expect("quantity");
                    let want = serde_json::to_string(&QuantityMap(&q)).expect("map");
                    assert_eq!(got, want, "{m} scale {scale} {unit:?}");
                    raw += usize::from(quantity_text(&q, &mut [0; QUANTITY]).is_some());
                }
            }
        }
        // The fast path is the one taken (scales up to 18).
        assert_eq!(raw, units.len() * mantissas.len() * 5);
    }

    /// A meter time's raw text is what serde's map writes, in both zones,
    /// with and without a flag, and for a wide year.
    #[test]
    fn times_write_what_the_serde_map_writes() {
        for (year, month, dst) in [
            (2023, 4, Dst::Summer),
            (2024, 12, Dst::Winter),
            (1970, 1, Dst::Unknown),
            (12_345, 2, Dst::Unknown),
        ] {
            let t = Timestamp {
                year,
                month,
                day: 28,
                hour: 2,
                minute: 30,
                second: 5,
                dst,
            };
            for zone in [Zone::CET, Zone::UTC] {
                let v = TimeJson(&t, zone);
                let got = serde_json::to_string(&v).expect("time");
                let want = serde_json::to_string(&TimeMap(&v)).expect("map");
                assert_eq!(got, want);
                assert!(time_text(&v, &mut [0; TIME]).is_some(), "{got}");
            }
        }
    }

    #[test]
    fn times_and_crcs_read_as_before() {
        let t = Timestamp {
            year: 2023,
            month: 4,
            day: 4,
            hour: 21,
            minute: 3,
            second: 0,
            dst: Dst::Summer,
        };
        let json = serde_json::to_string(&TimeJson(&t, Zone::CET)).expect("time");
        assert_eq!(
            json,
            r#"{"local":"2023-04-04T21:03:00","dst":"S","unix":1680634980}"#
        );
        for (year, month, second) in [(7, 1, 9), (999, 12, 59), (9_999, 99, 0), (10_000, 100, 255)]
        {
            let t = Timestamp {
                year,
                month,
                second,
                ..t
            };
            let want = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            );
            assert_eq!(local(&t, &mut [0; 32]), want);
        }
        for c in [0u16, 0x73a4, 0xffff, 0x0f0a] {
            let json = serde_json::to_string(&Hex(c)).expect("hex");
            assert_eq!(json, alloc::format!("\"{c:04X}\""));
        }
    }
}
