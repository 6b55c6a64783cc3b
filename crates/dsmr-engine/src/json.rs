//! A decoded telegram as one JSON object, for `dsmr-exporter parse` and
//! scripts. Decimals are written as JSON numbers with exactly the meter's
//! digits (JSON numbers are decimal text, so nothing is rounded).

use super::telegram::{CrcStatus, Mbus, Peak, Phase, ReadingKind, Span, Telegram};
use super::time::{Dst, Timestamp, Zone};
use super::value::Quantity;
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt::Write;

/// Writes `t` as a single-line JSON object; timestamps get their Unix time in `zone`.
pub fn telegram_to_json(t: &Telegram, zone: &Zone) -> String {
    let mut w = Json {
        out: String::with_capacity(2048),
        first: true,
    };
    w.open('{');
    w.key("crc");
    w.open('{');
    match t.crc {
        CrcStatus::Valid(c) => {
            w.kv_str("status", "valid");
            w.kv_str("sent", &format!("{c:04X}"));
        }
        CrcStatus::Missing => w.kv_str("status", "missing"),
        CrcStatus::Mismatch { sent, computed } => {
            w.kv_str("status", "mismatch");
            w.kv_str("sent", &format!("{sent:04X}"));
            w.kv_str("computed", &format!("{computed:04X}"));
        }
    }
    w.close('}');
    w.kv_str("header", t.header());
    w.kv_str("manufacturer", t.manufacturer());
    opt_span(&mut w, t, "version", t.version);
    opt_span(&mut w, t, "emucs_version", t.emucs_version);
    if let Some(ts) = t.timestamp {
        w.key("timestamp");
        time(&mut w, &ts, zone);
    }
    opt_span(&mut w, t, "equipment_id", t.equipment_id);
    opt_span(&mut w, t, "serial", t.serial);
    opt_span(&mut w, t, "ean", t.ean);
    opt_span(&mut w, t, "logical_name", t.logical_name);
    opt_span(&mut w, t, "device_id", t.device_id);

    w.key("electricity");
    w.open('{');
    let names = ["total", "tariff_1", "tariff_2", "tariff_3", "tariff_4"];
    for (i, n) in names.iter().enumerate() {
        qty(&mut w, &format!("imported_{n}"), t.imported[i]);
        qty(&mut w, &format!("exported_{n}"), t.exported[i]);
        qty(
            &mut w,
            &format!("reactive_imported_{n}"),
            t.reactive_imported[i],
        );
        qty(
            &mut w,
            &format!("reactive_exported_{n}"),
            t.reactive_exported[i],
        );
    }
    for (i, q) in t.reactive_quadrants.iter().enumerate() {
        qty(&mut w, &format!("reactive_energy_q{}", i + 1), *q);
    }
    qty(&mut w, "absolute_energy", t.absolute_energy);
    qty(&mut w, "power_import", t.power_import);
    qty(&mut w, "power_export", t.power_export);
    qty(&mut w, "reactive_power_import", t.reactive_power_import);
    qty(&mut w, "reactive_power_export", t.reactive_power_export);
    for (i, q) in t.reactive_power_quadrants.iter().enumerate() {
        qty(&mut w, &format!("reactive_power_q{}", i + 1), *q);
    }
    qty(&mut w, "apparent_power_import", t.apparent_power_import);
    qty(&mut w, "apparent_power_export", t.apparent_power_export);
    qty(&mut w, "power_factor", t.power_factor);
    qty(&mut w, "frequency", t.frequency);
    qty(&mut w, "threshold", t.threshold);
    qty(&mut w, "demand", t.demand);
    if let Some(v) = t.tariff {
        w.kv_num("tariff", v as u64);
    }
    if let Some(v) = t.breaker {
        w.kv_num("breaker", v as u64);
    }
    if let Some(v) = t.power_failures {
        w.kv_num("power_failures", v);
    }
    if let Some(v) = t.long_power_failures {
        w.kv_num("long_power_failures", v);
    }
    w.close('}');

    w.key("phases");
    w.open('{');
    for (i, p) in t.phases.iter().enumerate() {
        if *p != Phase::default() {
            w.key(&format!("l{}", i + 1));
            phase(&mut w, p);
        }
    }
    w.close('}');

    if t.has_power_failure_log {
        w.key("power_failure_log");
        w.open('[');
        for f in &t.power_failure_log {
            w.open('{');
            match f.end {
                Some(ts) => {
                    w.key("end");
                    time(&mut w, &ts, zone);
                }
                None => w.kv_raw("end", "null"),
            }
            match f.duration {
                Some(d) => w.kv_num("duration_s", d),
                None => w.kv_raw("duration_s", "null"),
            }
            w.close('}');
        }
        w.close(']');
    }
    if let Some(p) = &t.month_peak {
        w.key("month_peak");
        peak(&mut w, p, zone);
    }
    if !t.peak_history.is_empty() {
        w.key("peak_history");
        w.open('[');
        for p in &t.peak_history {
            peak(&mut w, p, zone);
        }
        w.close(']');
    }
    opt_span(&mut w, t, "text_message", t.text_message);
    opt_span(&mut w, t, "text_code", t.text_code);

    w.key("mbus");
    w.open('[');
    for (i, m) in t.mbus.iter().enumerate() {
        if m.is_present() {
            mbus(&mut w, t, i + 1, m, zone);
        }
    }
    w.close(']');

    w.key("unknown");
    w.open('[');
    for u in &t.unknown {
        w.open('{');
        w.kv_num("line", u.line as u64);
        w.kv_str("obis", &u.obis.to_string());
        w.kv_str("code", t.str(u.code));
        w.kv_str("value", t.str(u.value));
        w.close('}');
    }
    w.close(']');
    w.key("errors");
    w.open('[');
    for e in &t.errors {
        w.open('{');
        w.kv_num("line", e.line as u64);
        if let Some(o) = e.obis {
            w.kv_str("obis", &o.to_string());
        }
        w.kv_str("error", &e.kind.to_string());
        w.kv_str(
            "text",
            &String::from_utf8_lossy(super::telegram::line_of(t.raw(), e.line)),
        );
        w.close('}');
    }
    w.close(']');
    w.close('}');
    w.out
}

fn opt_span(w: &mut Json, t: &Telegram, key: &str, s: Option<Span>) {
    if let Some(s) = s {
        w.kv_str(key, t.str(s));
    }
}

fn qty(w: &mut Json, key: &str, q: Option<Quantity>) {
    if let Some(q) = q {
        w.key(key);
        quantity(w, &q);
    }
}

pub fn quantity(w: &mut Json, q: &Quantity) {
    w.open('{');
    w.kv_raw("value", &q.value.to_string());
    w.kv_str("unit", q.unit.as_str());
    if let (Some(b), Some((dim, _))) = (q.base(), q.unit.base()) {
        w.kv_raw("base_value", &b.to_string());
        w.kv_str("base_unit", base_unit(dim));
    }
    w.close('}');
}

fn base_unit(d: super::value::Dimension) -> &'static str {
    use super::value::Dimension as D;
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

pub fn time(w: &mut Json, t: &Timestamp, zone: &Zone) {
    w.open('{');
    w.kv_str(
        "local",
        &format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        ),
    );
    w.kv_str(
        "dst",
        match t.dst {
            Dst::Winter => "W",
            Dst::Summer => "S",
            Dst::Unknown => "",
        },
    );
    w.kv_raw("unix", &t.to_unix(zone).to_string());
    w.close('}');
}

fn phase(w: &mut Json, p: &Phase) {
    w.open('{');
    qty(w, "power_import", p.power_import);
    qty(w, "power_export", p.power_export);
    qty(w, "reactive_power_import", p.reactive_power_import);
    qty(w, "reactive_power_export", p.reactive_power_export);
    qty(w, "voltage", p.voltage);
    qty(w, "current", p.current);
    qty(w, "current_limit", p.current_limit);
    qty(w, "power_factor", p.power_factor);
    if let Some(v) = p.voltage_sags {
        w.kv_num("voltage_sags", v);
    }
    if let Some(v) = p.voltage_swells {
        w.kv_num("voltage_swells", v);
    }
    w.close('}');
}

fn peak(w: &mut Json, p: &Peak, zone: &Zone) {
    w.open('{');
    if let Some(ts) = p.period_start {
        w.key("period_start");
        time(w, &ts, zone);
    }
    match p.time {
        Some(ts) => {
            w.key("time");
            time(w, &ts, zone);
        }
        None => w.kv_raw("time", "null"),
    }
    w.key("value");
    quantity(w, &p.value);
    w.close('}');
}

fn mbus(w: &mut Json, t: &Telegram, channel: usize, m: &Mbus, zone: &Zone) {
    w.open('{');
    w.kv_num("channel", channel as u64);
    if let Some(d) = m.device_type {
        w.kv_num("device_type", d as u64);
        w.kv_str("device", super::telegram::device_type_name(d));
    }
    opt_span(w, t, "equipment_id", m.equipment_id);
    opt_span(w, t, "ean", m.ean);
    if let Some(r) = &m.reading {
        w.key("reading");
        w.open('{');
        w.key("time");
        time(w, &r.time, zone);
        w.key("value");
        quantity(w, &r.value);
        w.kv_str(
            "kind",
            match r.kind {
                ReadingKind::Corrected => "24.2.1",
                ReadingKind::Uncorrected => "24.2.3",
                ReadingKind::Profile => "24.3.0",
            },
        );
        w.close('}');
    }
    if m.placeholder {
        w.kv_raw("placeholder", "true");
    }
    if let Some(v) = m.valve {
        w.kv_num("valve", v as u64);
    }
    if let Some(v) = m.breaker {
        w.kv_num("breaker", v as u64);
    }
    w.close('}');
}

/// A minimal JSON writer that tracks where commas go (also used by the
/// web API).
#[derive(Debug)]
pub struct Json {
    pub out: String,
    first: bool,
}

impl Default for Json {
    fn default() -> Json {
        Json::new()
    }
}

impl Json {
    pub fn new() -> Json {
        Json {
            out: String::with_capacity(2048),
            first: true,
        }
    }
    pub fn sep(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }
    pub fn open(&mut self, c: char) {
        self.sep();
        self.out.push(c);
        self.first = true;
    }
    pub fn close(&mut self, c: char) {
        self.out.push(c);
        self.first = false;
    }
    pub fn key(&mut self, k: &str) {
        self.sep();
        string(&mut self.out, k);
        self.out.push(':');
        self.first = true; // the value follows without a comma
    }
    pub fn kv_str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.first = false;
        string(&mut self.out, v);
    }
    pub fn kv_raw(&mut self, k: &str, v: &str) {
        self.key(k);
        self.first = false;
        self.out.push_str(v);
    }
    pub fn kv_num(&mut self, k: &str, v: u64) {
        self.kv_raw(k, &v.to_string());
    }
}

/// Appends `s` as a JSON string literal.
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // As serde_json writes them, so both writers give the same bytes.
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
