//! The JSON API at `/api/v1/meters`, and the document per meter that the
//! page and the event stream show too ([`MeterDoc`], written by
//! [`meter_json`]): the latest values (each a decimal with the meter's own
//! digits and its unit), the telegram's own time and its arrival time, the
//! source's state, and "today" (the registers now minus those of the
//! meter's [`DayStart`]).
//!
//! The documents are `Serialize` views written by serde_json; their leaves
//! are the engine's value types in the shape `parse` uses too: a
//! [`Quantity`] as `{"value","unit","base_value","base_unit"}`, a meter time
//! as [`TimeJson`] `{"local","dst","unix"}`, and every decimal (the values,
//! `now`, `received_at`, `age_seconds`) as a [`Fixed`] written with exactly
//! its digits, never through an `f64`.

use super::cost_doc::{ChartDoc, CostDoc};
use crate::capacity::Capacity;
use crate::state::{
    local_day, unix_millis, unix_seconds, DayStart, MbusKind, Meter, MeterState, Meters,
};
use dsmr_engine::json_view::TimeJson;
use dsmr_engine::telegram::{Phase, TariffRegister, Telegram};
use dsmr_engine::{Fixed, Quantity, Unit, Zone};
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
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
    let doc = MetersDoc {
        version: env!("CARGO_PKG_VERSION"),
        now: unix_millis_fixed(wall),
        meters: MeterList {
            meters,
            now,
            stale_after,
            wall: unix_seconds(wall),
        },
    };
    let mut out = Vec::with_capacity(2048);
    write(&mut out, &doc);
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}

/// One meter's document (an element of `meters`, and the data of an
/// event), appended to `out`.
pub(crate) fn meter_json(out: &mut Vec<u8>, m: &Meter, now: Instant, stale_after: Duration) {
    let st = m.lock();
    write(out, &MeterDoc::of(m, &st, now, stale_after, None));
}

/// Serializes into a `Vec`, which cannot fail for these documents (no
/// map with non-string keys, no failing `Serialize`).
fn write(out: &mut Vec<u8>, doc: &impl Serialize) {
    if let Err(e) = serde_json::to_writer(out, doc) {
        tracing::error!("API document not written: {e}");
    }
}

/// The whole `/api/v1/meters` document.
#[derive(Serialize)]
struct MetersDoc<'a> {
    version: &'static str,
    /// Unix time in seconds with milliseconds.
    now: Fixed,
    meters: MeterList<'a>,
}

/// The meters, each locked while its document is written.
struct MeterList<'a> {
    meters: &'a Meters,
    now: Instant,
    stale_after: Duration,
    /// Unix second of `now`: the charts are drawn up to it.
    wall: i64,
}

impl Serialize for MeterList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.meters.len()))?;
        for m in self.meters.iter() {
            let st = m.lock();
            let doc = MeterDoc::of(m, &st, self.now, self.stale_after, Some(self.wall));
            seq.serialize_element(&doc)?;
        }
        seq.end()
    }
}

/// One meter: its source, its counters, its latest telegram and today.
#[derive(Serialize)]
pub(crate) struct MeterDoc<'a> {
    name: &'a str,
    source_up: bool,
    fresh: bool,
    seq: u64,
    /// Unix time of the latest valid telegram, seconds with milliseconds.
    received_at: Option<Fixed>,
    /// Seconds since then, with milliseconds.
    age_seconds: Option<Fixed>,
    telegrams: Counters,
    telegram: Option<TelegramDoc<'a>>,
    today: Option<Today>,
    /// Only for a capacity-tariff meter (Belgian), added after `today`.
    #[serde(skip_serializing_if = "Option::is_none")]
    capacity: Option<CapacityDoc>,
    /// Only for a meter with prices: today's cost and the prices now.
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<CostDoc>,
    /// Only in `/api/v1/meters` (not in events), when there is something
    /// to draw: the last hours of power and the price curve.
    #[serde(skip_serializing_if = "Option::is_none")]
    chart: Option<ChartDoc>,
}

impl<'a> MeterDoc<'a> {
    /// The document; with the chart as of Unix second `chart_at` if given.
    fn of(
        m: &'a Meter,
        st: &'a MeterState,
        now: Instant,
        stale_after: Duration,
        chart_at: Option<i64>,
    ) -> Self {
        let zone = m.zone();
        MeterDoc {
            name: m.name(),
            source_up: st.source_up,
            fresh: st.is_fresh(now, m.stale_after_or(stale_after)),
            seq: st.seq,
            received_at: st.received_at.map(unix_millis_fixed),
            age_seconds: st
                .received_instant
                .map(|t| Fixed::new(now.saturating_duration_since(t).as_millis() as i64, 3)),
            telegrams: Counters {
                ok: st.ok,
                crc_mismatch: st.crc_mismatch,
                malformed: st.malformed,
                field_errors: st.field_errors,
            },
            telegram: st.telegram.as_ref().map(|t| TelegramDoc::of(t, zone)),
            today: today(st, zone),
            capacity: st.capacity.view().map(CapacityDoc::of),
            cost: st.cost.as_ref().and_then(|a| CostDoc::of(a, &st.history)),
            chart: chart_at.and_then(|w| ChartDoc::of(st.cost.as_deref(), &st.history, zone, w)),
        }
    }
}

/// The capacity tariff (see `crate::capacity`): powers as kW quantities
/// with the milliwatt's digits, the cost as the exact decimal.
#[derive(Serialize)]
struct CapacityDoc {
    /// `YYYY-MM` on the meter's clock.
    month: String,
    /// Unix start of the running quarter-hour, and the seconds gone.
    quarter_start: i64,
    quarter_elapsed_seconds: i64,
    /// The running quarter's average if the power now holds.
    projected: Option<Quantity>,
    /// `register` or `demand`: what the energy so far was counted from.
    projected_from: Option<&'static str>,
    month_peak: Option<Quantity>,
    rolling_average: Quantity,
    months_counted: u8,
    /// True when the earlier months are the meter's own history.
    from_history: bool,
    price_per_kw_year: Option<Fixed>,
    cost_per_year: Option<Fixed>,
    /// `null` until the meter sent 1-0:1.4.0 and 1-0:1.6.0 once.
    values_sent: Option<bool>,
}

impl CapacityDoc {
    fn of(c: &Capacity) -> CapacityDoc {
        CapacityDoc {
            month: c.month.label(),
            quarter_start: c.quarter_start,
            quarter_elapsed_seconds: c.quarter_elapsed_s,
            projected: c.projected_mw.and_then(kilowatts),
            projected_from: c.energy_source.map(|e| e.as_str()),
            month_peak: c.month_peak_mw.and_then(kilowatts),
            rolling_average: kilowatts(c.rolling_average_mw).unwrap_or(Quantity {
                value: Fixed::new(0, 0),
                unit: Unit::KW,
            }),
            months_counted: c.months_counted,
            from_history: c.from_history,
            price_per_kw_year: c.price.map(|p| p.value()),
            cost_per_year: c.cost_per_year,
            values_sent: c.values_sent,
        }
    }
}

/// Milliwatts as kW, with no trailing zero decimals.
fn kilowatts(mw: i64) -> Option<Quantity> {
    Some(Quantity {
        value: Fixed::new(mw, 6).times(1)?,
        unit: Unit::KW,
    })
}

/// Telegrams by result.
#[derive(Serialize)]
struct Counters {
    ok: u64,
    crc_mismatch: u64,
    malformed: u64,
    field_errors: u64,
}

/// Unix time in seconds with milliseconds, exactly.
fn unix_millis_fixed(t: SystemTime) -> Fixed {
    Fixed::new(unix_millis(t), 3)
}

/// The latest telegram: what the page shows.
#[derive(Serialize)]
struct TelegramDoc<'a> {
    header: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    /// The meter's own time, `null` without one.
    time: Option<TimeJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tariff: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    power_import: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    power_export: Option<Quantity>,
    phases: Phases,
    imported: Registers,
    exported: Registers,
    mbus: Vec<MbusDoc<'a>>,
}

impl<'a> TelegramDoc<'a> {
    fn of(t: &'a Telegram, zone: Zone) -> Self {
        let mbus = t.mbus.iter().enumerate().filter_map(|(i, m)| {
            let r = m.reading.as_ref()?;
            Some(MbusDoc {
                channel: i + 1,
                kind: mbus_kind(m.device_type, r.value.unit),
                value: r.value,
                time: TimeJson(&r.time, zone),
            })
        });
        TelegramDoc {
            header: t.header(),
            version: t.declared_version(),
            time: t.timestamp.as_ref().map(|ts| TimeJson(ts, zone)),
            tariff: t.tariff,
            power_import: t.power_import,
            power_export: t.power_export,
            phases: Phases {
                l1: PhaseDoc::of(&t.phases[0]),
                l2: PhaseDoc::of(&t.phases[1]),
                l3: PhaseDoc::of(&t.phases[2]),
            },
            imported: Registers::of(&t.imported).with_more(&t.imported_more),
            exported: Registers::of(&t.exported).with_more(&t.exported_more),
            mbus: mbus.collect(),
        }
    }
}

/// The phases with any of the four values the page shows.
#[derive(Serialize)]
struct Phases {
    #[serde(skip_serializing_if = "Option::is_none")]
    l1: Option<PhaseDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    l2: Option<PhaseDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    l3: Option<PhaseDoc>,
}

#[derive(Serialize)]
struct PhaseDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    power_import: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    power_export: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    voltage: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<Quantity>,
}

impl PhaseDoc {
    /// `None` when the phase has none of the four.
    fn of(p: &Phase) -> Option<PhaseDoc> {
        let doc = PhaseDoc {
            power_import: p.power_import,
            power_export: p.power_export,
            voltage: p.voltage,
            current: p.current,
        };
        let any = doc.power_import.is_some()
            || doc.power_export.is_some()
            || doc.voltage.is_some()
            || doc.current.is_some();
        any.then_some(doc)
    }
}

/// Registers by tariff, index 0 being the total; absent ones left out.
#[derive(Serialize)]
struct Registers {
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tariff_1: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tariff_2: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tariff_3: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tariff_4: Option<Quantity>,
    /// Tariffs above 4 (`tariff_5`, Israeli `tariff_11` …), as the meter
    /// numbers them.
    #[serde(flatten)]
    more: std::collections::BTreeMap<String, Quantity>,
}

impl Registers {
    fn of(r: &[Option<Quantity>; 5]) -> Registers {
        Registers {
            total: r[0],
            tariff_1: r[1],
            tariff_2: r[2],
            tariff_3: r[3],
            tariff_4: r[4],
            more: Default::default(),
        }
    }

    /// Adds the tariffs above 4.
    fn with_more(mut self, more: &[TariffRegister]) -> Registers {
        self.more = more
            .iter()
            .map(|r| (format!("tariff_{}", r.tariff), r.value))
            .collect();
        self
    }
}

/// An M-Bus channel with a reading.
#[derive(Serialize)]
struct MbusDoc<'a> {
    channel: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    value: Quantity,
    time: TimeJson<'a>,
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
#[derive(Serialize)]
struct Today {
    /// Arrival time of the day's first telegram, Unix seconds with milliseconds.
    since: Fixed,
    /// The same as local `HH:MM`.
    since_local: String,
    since_midnight: bool,
    imported: Registers,
    exported: Registers,
    /// The first M-Bus channel of each kind (a second gas meter is rare).
    #[serde(skip_serializing_if = "Option::is_none")]
    gas: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    water: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    heat: Option<Quantity>,
}

fn today(st: &MeterState, zone: Zone) -> Option<Today> {
    let t = st.telegram.as_ref()?;
    let d: &DayStart = st.day_start.as_ref()?;
    let diff = |now: &[Option<Quantity>; 5], then: &[Option<Quantity>; 5]| {
        Registers::of(&std::array::from_fn(|i| minus(now[i]?, then[i]?)))
    };
    // Tariffs above 4 that have a value at the day's start.
    let more = |now: &[TariffRegister], then: &[TariffRegister]| -> Vec<TariffRegister> {
        let start = |tariff| then.iter().find(|s| s.tariff == tariff);
        let diff = |r: &TariffRegister| minus(r.value, start(r.tariff)?.value);
        let at = |r: &TariffRegister| diff(r).map(|value| TariffRegister { value, ..*r });
        now.iter().filter_map(at).collect()
    };
    let mut mbus = t.mbus.iter().zip(&d.mbus).filter_map(|(m, then)| {
        let (r, then) = (m.reading.as_ref()?, (*then)?);
        Some((
            mbus_kind(m.device_type, r.value.unit)?,
            minus(r.value, then)?,
        ))
    });
    let (mut gas, mut water, mut heat) = (None, None, None);
    for (kind, q) in &mut mbus {
        let slot = match kind {
            "gas" => &mut gas,
            "water" => &mut water,
            "heat" => &mut heat,
            _ => continue,
        };
        slot.get_or_insert(q);
    }
    let (_, second) = local_day(zone, unix_seconds(d.taken_at));
    Some(Today {
        since: unix_millis_fixed(d.taken_at),
        since_local: format!("{:02}:{:02}", second / 3_600, second % 3_600 / 60),
        since_midnight: d.since_midnight,
        imported: diff(&t.imported, &d.imported)
            .with_more(&more(&t.imported_more, &d.imported_more)),
        exported: diff(&t.exported, &d.exported)
            .with_more(&more(&t.exported_more, &d.exported_more)),
        gas,
        water,
        heat,
    })
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
                        imported_more: Vec::new(),
                        exported_more: Vec::new(),
                    });
                }
                st.capacity.observe(&t, Zone::CET, 1_700_000_000);
                st.telegram = Some(t);
            }
            list.push(m);
        }
        list.push(priced_meter(&files[0], base));
        list.push(Meter::new("no telegram yet", Zone::UTC));
        (Meters::new(list), now)
    }

    /// A meter with prices (a spot feed for import and export, fixed gas
    /// and daily charges), billed an hour, with three power samples: its
    /// `cost` and `chart` blocks.
    fn priced_meter(fixture: &std::path::Path, base: Instant) -> std::sync::Arc<Meter> {
        use crate::cost::{Account, Feed, Formula, Interval, Nanos, Plan, Readings, Spec};
        use std::sync::Arc;
        let t = first_telegram(&std::fs::read(fixture).expect("fixture")).expect("telegram");
        let feed = Arc::new(Feed::new("pinned"));
        let iv = |start: i64, price: i64| Interval {
            start,
            end: start + 900,
            price: Nanos(price),
        };
        feed.merge(
            &[iv(1_699_999_200, 81_000_000), iv(1_700_000_100, -4_500_000)],
            i64::MIN,
        );
        let vat = Formula {
            markup: Nanos(20_000_000),
            tax: Nanos(101_540_000),
            vat_ppm: 210_000,
        };
        let plan = Plan {
            currency: "EUR".into(),
            import: Some(Spec::Dynamic {
                feed: feed.clone(),
                formula: vat,
            }),
            export: Some(Spec::Dynamic {
                feed,
                formula: Formula::default(),
            }),
            gas: Some(Spec::Fixed([
                Some(Nanos(1_350_000_000)),
                None,
                None,
                None,
                None,
            ])),
            water: None,
            heat: None,
            fixed_per_day: Some(Nanos(850_000_000)),
            ahead: true,
        };
        let m = Meter::new("with prices", Zone::CET);
        {
            let mut st = m.lock();
            let mut account = Account::new(Arc::new(plan));
            let at = |at| Readings {
                at,
                tariff: Some(1),
                imported: [None; 5],
                exported: [None; 5],
                mbus: [None; 4],
            };
            account.apply(&at(1_699_996_400));
            st.history.observe_cost(&account, 19_675, 1_699_996_400);
            account.apply(&at(1_700_000_000));
            for (i, s) in [1_699_999_900, 1_699_999_930, 1_700_000_000]
                .iter()
                .enumerate()
            {
                st.history.observe_power(&t, s + i as i64);
            }
            st.cost = Some(Box::new(account));
            st.received_at = Some(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
            st.received_instant = Some(base + Duration::from_secs(99));
            st.telegram = Some(t);
        }
        m
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
        // The priced meter's blocks: today's fixed charges of an hour, the
        // prices at the latest telegram, the chart.
        for want in [
            "\"cost\":{\"currency\":\"EUR\",\"since\":1699996400,\"today\":[",
            "{\"what\":\"fixed\",\"amount\":0.035416666}",
            // Samples at their slots' starts, then the newest telegram's second.
            "\"chart\":{\"power_step_seconds\":30,\"power\":[[1699999890,286],[1699999920,286],[1699999980,286],[1700000002,286]]",
            "\"prices\":[[1699999200,0.245073400],[1700000100,0.141618400]]",
        ] {
            assert!(got.contains(want), "{want} not in the document");
        }
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
