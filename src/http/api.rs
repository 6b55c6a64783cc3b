//! The JSON API at `/api/v1/meters`, and the document per meter that the
//! page and the event stream show too, built by [`meter_json`]: the
//! latest values (each a decimal with the meter's own digits and its unit),
//! the telegram's own time and its arrival time, the source's state, and
//! "today" (the registers now minus those of the meter's [`DayStart`]).

use crate::state::{
    local_day, unix_millis, unix_seconds, DayStart, MbusKind, Meter, MeterState, Meters,
};
use dsmr_engine::json::{quantity, time, Json};
use dsmr_engine::telegram::Telegram;
use dsmr_engine::{Fixed, Quantity, Unit, Zone};
use std::time::{Duration, Instant, SystemTime};

/// `/api/v1/meters`: every meter as it is now.
pub fn meters_json(meters: &Meters, stale_after: Duration) -> String {
    meters_json_at(meters, stale_after, Instant::now(), SystemTime::now())
}

/// `/api/v1/meters` as of `now` (monotonic) and `wall` (its wall-clock time).
fn meters_json_at(
    meters: &Meters,
    stale_after: Duration,
    now: Instant,
    wall: SystemTime,
) -> String {
    let mut w = Json::new();
    w.open('{');
    w.kv_str("version", env!("CARGO_PKG_VERSION"));
    w.kv_raw("now", &unix_millis_json(wall));
    w.key("meters");
    w.open('[');
    for m in meters.iter() {
        meter_json(&mut w, m, now, stale_after);
    }
    w.close(']');
    w.close('}');
    w.out
}

/// One meter's document (an element of `meters`, and the data of an event).
pub(crate) fn meter_json(w: &mut Json, m: &Meter, now: Instant, stale_after: Duration) {
    let zone = m.zone();
    let st = m.lock();
    w.open('{');
    w.kv_str("name", m.name());
    w.kv_raw("source_up", bool_str(st.source_up));
    w.kv_raw(
        "fresh",
        bool_str(st.is_fresh(now, m.stale_after_or(stale_after))),
    );
    w.kv_num("seq", st.seq);
    match st.received_at {
        Some(t) => w.kv_raw("received_at", &unix_millis_json(t)),
        None => w.kv_raw("received_at", "null"),
    }
    match st.received_instant {
        Some(t) => {
            let age = now.saturating_duration_since(t).as_millis() as i64;
            w.kv_raw("age_seconds", &Fixed::new(age, 3).to_string());
        }
        None => w.kv_raw("age_seconds", "null"),
    }
    w.key("telegrams");
    w.open('{');
    w.kv_num("ok", st.ok);
    w.kv_num("crc_mismatch", st.crc_mismatch);
    w.kv_num("malformed", st.malformed);
    w.kv_num("field_errors", st.field_errors);
    w.close('}');
    match &st.telegram {
        Some(t) => {
            w.key("telegram");
            telegram(w, t, &zone);
        }
        None => w.kv_raw("telegram", "null"),
    }
    match today(&st, zone) {
        Some(doc) => {
            w.key("today");
            doc.write(w);
        }
        None => w.kv_raw("today", "null"),
    }
    drop(st);
    w.close('}');
}

fn bool_str(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// Unix time in seconds with milliseconds, as a JSON number.
fn unix_millis_json(t: SystemTime) -> String {
    Fixed::new(unix_millis(t), 3).to_string()
}

const TARIFFS: [&str; 5] = ["total", "tariff_1", "tariff_2", "tariff_3", "tariff_4"];

fn registers(w: &mut Json, key: &str, regs: &[Option<Quantity>; 5]) {
    w.key(key);
    w.open('{');
    for (name, q) in TARIFFS.iter().zip(regs) {
        if let Some(q) = q {
            w.key(name);
            quantity(w, q);
        }
    }
    w.close('}');
}

fn qty(w: &mut Json, key: &str, q: Option<Quantity>) {
    if let Some(q) = q {
        w.key(key);
        quantity(w, &q);
    }
}

fn telegram(w: &mut Json, t: &Telegram, zone: &Zone) {
    w.open('{');
    w.kv_str("header", t.header());
    if let Some(v) = t.declared_version() {
        w.kv_str("version", v);
    }
    match t.timestamp {
        Some(ts) => {
            w.key("time");
            time(w, &ts, zone);
        }
        None => w.kv_raw("time", "null"),
    }
    if let Some(v) = t.tariff {
        w.kv_num("tariff", v as u64);
    }
    qty(w, "power_import", t.power_import);
    qty(w, "power_export", t.power_export);
    w.key("phases");
    w.open('{');
    for (i, p) in t.phases.iter().enumerate() {
        if p.power_import.is_none()
            && p.power_export.is_none()
            && p.voltage.is_none()
            && p.current.is_none()
        {
            continue;
        }
        w.key(["l1", "l2", "l3"][i]);
        w.open('{');
        qty(w, "power_import", p.power_import);
        qty(w, "power_export", p.power_export);
        qty(w, "voltage", p.voltage);
        qty(w, "current", p.current);
        w.close('}');
    }
    w.close('}');
    registers(w, "imported", &t.imported);
    registers(w, "exported", &t.exported);
    w.key("mbus");
    w.open('[');
    for (i, m) in t.mbus.iter().enumerate() {
        let Some(r) = &m.reading else { continue };
        w.open('{');
        w.kv_num("channel", i as u64 + 1);
        if let Some(kind) = mbus_kind(m.device_type, r.value.unit) {
            w.kv_str("kind", kind);
        }
        w.key("value");
        quantity(w, &r.value);
        w.key("time");
        time(w, &r.time, zone);
        w.close('}');
    }
    w.close(']');
    w.close('}');
}

/// The kind of an M-Bus register as `/metrics` reads it ([`MbusKind::of`]).
fn mbus_kind(device_type: Option<u16>, unit: Unit) -> Option<&'static str> {
    MbusKind::of(device_type, unit.base().map(|(d, _)| d)).map(MbusKind::as_str)
}

/// `a - b` exactly, when both have the same unit.
fn minus(a: Quantity, b: Quantity) -> Option<Quantity> {
    if a.unit != b.unit {
        return None;
    }
    let scale = a.value.scale.max(b.value.scale);
    let widen = |f: Fixed| {
        10i64
            .checked_pow(u32::from(scale - f.scale))
            .and_then(|p| f.mantissa.checked_mul(p))
    };
    Some(Quantity {
        value: Fixed::new(widen(a.value)?.checked_sub(widen(b.value)?)?, scale),
        unit: a.unit,
    })
}

/// The registers now minus those at the start of the local day.
struct Today {
    since: SystemTime,
    since_local: String,
    since_midnight: bool,
    imported: [Option<Quantity>; 5],
    exported: [Option<Quantity>; 5],
    /// (kind, value) per M-Bus channel.
    mbus: Vec<(&'static str, Quantity)>,
}

fn today(st: &MeterState, zone: Zone) -> Option<Today> {
    let t = st.telegram.as_ref()?;
    let d: &DayStart = st.day_start.as_ref()?;
    let diff = |now: &[Option<Quantity>; 5], then: &[Option<Quantity>; 5]| {
        std::array::from_fn(|i| minus(now[i]?, then[i]?))
    };
    let mut mbus = Vec::new();
    for (m, then) in t.mbus.iter().zip(&d.mbus) {
        let (Some(r), Some(then)) = (&m.reading, then) else {
            continue;
        };
        if let (Some(kind), Some(q)) = (
            mbus_kind(m.device_type, r.value.unit),
            minus(r.value, *then),
        ) {
            mbus.push((kind, q));
        }
    }
    let (_, second) = local_day(zone, unix_seconds(d.taken_at));
    Some(Today {
        since: d.taken_at,
        since_local: format!("{:02}:{:02}", second / 3_600, second % 3_600 / 60),
        since_midnight: d.since_midnight,
        imported: diff(&t.imported, &d.imported),
        exported: diff(&t.exported, &d.exported),
        mbus,
    })
}

impl Today {
    fn write(&self, w: &mut Json) {
        w.open('{');
        w.kv_raw("since", &unix_millis_json(self.since));
        w.kv_str("since_local", &self.since_local);
        w.kv_raw("since_midnight", bool_str(self.since_midnight));
        registers(w, "imported", &self.imported);
        registers(w, "exported", &self.exported);
        // The first channel of each kind (a second gas meter is rare).
        for kind in ["gas", "water", "heat"] {
            if let Some((_, q)) = self.mbus.iter().find(|(k, _)| *k == kind) {
                w.key(kind);
                quantity(w, q);
            }
        }
        w.close('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtracts_exactly_across_scales() {
        let q = |m, s| Quantity {
            value: Fixed::new(m, s),
            unit: Unit::KWh,
        };
        assert_eq!(minus(q(9418807, 3), q(94180, 1)), Some(q(807, 3)));
        let m3 = Quantity {
            value: Fixed::new(1, 0),
            unit: Unit::M3,
        };
        assert_eq!(minus(q(1, 0), m3), None);
        assert_eq!(mbus_kind(Some(3), Unit::M3), Some("gas"));
        assert_eq!(mbus_kind(Some(7), Unit::M3), Some("water"));
        assert_eq!(mbus_kind(None, Unit::GJ), Some("heat"));
        assert_eq!(mbus_kind(Some(3), Unit::GJ), None);
    }

    /// The first telegram of `input` that decodes.
    fn first_telegram(input: &[u8]) -> Option<Telegram> {
        let mut framer = dsmr_engine::Framer::new();
        let mut found = None;
        let mut on = |ev: dsmr_engine::FrameEvent<'_>| {
            if let dsmr_engine::FrameEvent::Telegram(f) = ev {
                if found.is_none() {
                    found = Telegram::decode(f).ok();
                }
            }
        };
        framer.feed(input, &mut on);
        framer.finish(&mut on);
        found
    }

    /// `q` less 1234 in its last digit (a day's use), or in another unit.
    fn earlier(q: Quantity, other_unit: bool) -> Quantity {
        Quantity {
            value: Fixed::new(q.value.mantissa - 1234, q.value.scale),
            unit: if other_unit { Unit::Wh } else { q.unit },
        }
    }

    /// One meter per fixture (its first telegram, varied counters, ages,
    /// day starts: none, since midnight or not, a register in another unit)
    /// and a meter without a telegram; with the `now` to write them at.
    fn pinned_meters() -> (Meters, Instant) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("fixtures dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        files.sort();
        let base = Instant::now();
        let now = base + Duration::from_secs(100);
        let epoch = |ms: u64| std::time::UNIX_EPOCH + Duration::from_millis(ms);
        let mut list = Vec::new();
        for (i, path) in files.iter().enumerate() {
            let name = path.file_stem().and_then(|s| s.to_str()).expect("name");
            let Some(t) = first_telegram(&std::fs::read(path).expect("fixture")) else {
                continue;
            };
            let i = i as u64;
            let m = Meter::new(name, Zone::CET);
            {
                let mut st = m.lock();
                st.source_up = i % 2 == 0;
                st.seq = i * 7;
                st.ok = i * 11;
                st.crc_mismatch = i % 3;
                st.malformed = i % 5;
                st.field_errors = t.errors.len() as u64;
                st.received_at = Some(epoch(1_700_000_000_000 + i * 1_001));
                st.received_instant = Some(base + Duration::from_millis(100_000 - i * 317));
                if i % 4 != 3 {
                    st.day_start = Some(DayStart {
                        day: 0,
                        taken_at: epoch(1_699_990_000_000 + i * 60_017),
                        since_midnight: i % 2 == 0,
                        imported: std::array::from_fn(|r| {
                            t.imported[r].map(|q| earlier(q, i % 5 == 1 && r == 0))
                        }),
                        exported: t.exported.map(|q| q.map(|q| earlier(q, false))),
                        mbus: std::array::from_fn(|c| {
                            t.mbus[c].reading.map(|r| earlier(r.value, false))
                        }),
                    });
                }
                st.telegram = Some(t);
            }
            list.push(m);
        }
        list.push(Meter::new("no telegram yet", Zone::UTC));
        (Meters::new(list), now)
    }

    /// What to compare `got` with: tests/golden/`name`, or rewrite it
    /// with `UPDATE_GOLDEN=1`.
    fn golden(name: &str, got: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, got).expect("write golden");
        }
        std::fs::read_to_string(path).expect("golden file")
    }

    /// The exact bytes of `/api/v1/meters` for a meter per fixture: Home
    /// Assistant templates and the page read every key, its order, its
    /// nulls and its digits.
    #[test]
    fn api_document_is_pinned_byte_for_byte() {
        let (meters, now) = pinned_meters();
        let wall = std::time::UNIX_EPOCH + Duration::from_millis(1_700_000_123_456);
        let got = meters_json_at(&meters, Duration::from_secs(5), now, wall);
        assert_eq!(got, golden("api_meters.json", &got));
    }

    /// The exact bytes of an `/events` frame.
    #[test]
    fn event_frame_is_pinned_byte_for_byte() {
        let (meters, now) = pinned_meters();
        let mut got = String::new();
        for m in meters.iter().take(2).chain(meters.iter().last()) {
            let frame = super::super::events::meter_event(m, now, Duration::from_secs(5));
            got.push_str(std::str::from_utf8(&frame).expect("UTF-8"));
        }
        assert_eq!(got, golden("api_events.txt", &got));
    }
}
