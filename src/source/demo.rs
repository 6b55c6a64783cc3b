//! A simulated Dutch DSMR 5.0 meter, for trying the exporter without one.
//!
//! [`DemoMeter`] writes real telegram text (CRLF lines, DSMR 5 number
//! formats, a valid CRC-16/ARC) that the task feeds through the same
//! pipeline as bytes from a serial port, so the demo exercises the framer
//! and decoder too. The household it simulates:
//!
//! - three phases with a daily load curve: a base load and a fridge, morning,
//!   lunch and evening peaks, appliances (kettle, oven, dishwasher, washing
//!   machine) switching on at plausible times, and some noise;
//! - solar panels on all three phases, stronger and longer in summer and
//!   shaded by drifting clouds: around midday the meter exports;
//! - energy registers that grow by the integral of the net power, kept in
//!   integer millijoules so they never go backwards, on the NL tariffs
//!   (1 = night 23-07 and weekends, 2 = weekday daytime);
//! - gas (M-Bus channel 1) for heating in winter mornings and evenings and
//!   for showers, water (channel 2) in bursts, both captured every 5 minutes
//!   like a real DSMR 5 meter;
//! - voltages around 230 V that rise with export, currents = power / voltage,
//!   a power failure log and rare voltage sags and swells.
//!
//! Everything is a pure function of the seed, the start time and the times
//! passed to [`DemoMeter::next_telegram`], so tests can check a simulated day.

use super::pipeline::Pipeline;
use super::SplitMix64;
use crate::state::{unix_millis, Meter};
use dsmr_engine::crc::crc16_arc;
use dsmr_engine::value::days_from_civil;
use std::f64::consts::PI;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The header line: `/`, a three-letter manufacturer code, a digit.
pub const HEADER: &str = "/XDM5DEMO-METER";

/// A step longer than this (a suspended laptop, a clock jump) adds no more
/// energy than an hour would.
const MAX_STEP_MS: i64 = 3_600_000;

/// Millijoules per watt-hour.
const MJ_PER_WH: u64 = 3_600_000;

/// 2020-01-01T00:00:00Z: the registers start as if the meter was installed then.
const INSTALLED: i64 = 1_577_836_800;

/// An appliance or tap that runs for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Kettle,
    Cooking,
    Dishwasher,
    Washer,
    Shower,
    Tap,
}

const KINDS: [Kind; 6] = [
    Kind::Kettle,
    Kind::Cooking,
    Kind::Dishwasher,
    Kind::Washer,
    Kind::Shower,
    Kind::Tap,
];

/// What a running appliance adds.
struct Effect {
    /// Watts on L1, L2, L3.
    watts: [f64; 3],
    water_l_per_min: f64,
    gas_m3_per_h: f64,
}

impl Kind {
    fn minutes(self) -> i64 {
        match self {
            Kind::Kettle => 3,
            Kind::Cooking => 30,
            Kind::Dishwasher => 20,
            Kind::Washer => 25,
            Kind::Shower => 8,
            Kind::Tap => 1,
        }
    }

    fn effect(self) -> Effect {
        let (watts, water_l_per_min, gas_m3_per_h) = match self {
            Kind::Kettle => ([2000.0, 0.0, 0.0], 0.0, 0.0),
            Kind::Cooking => ([0.0, 0.0, 2300.0], 0.0, 0.0),
            Kind::Dishwasher => ([0.0, 1900.0, 0.0], 1.0, 0.0),
            Kind::Washer => ([0.0, 0.0, 2100.0], 2.0, 0.0),
            Kind::Shower => ([0.0; 3], 8.5, 1.8),
            Kind::Tap => ([0.0; 3], 6.0, 0.0),
        };
        Effect {
            watts,
            water_l_per_min,
            gas_m3_per_h,
        }
    }

    /// Expected starts per hour at local hour `h`.
    fn rate_per_hour(self, h: f64, weekend: bool) -> f64 {
        let awake = if (6.5..23.0).contains(&h) { 1.0 } else { 0.0 };
        let wake = wake_hour(weekend);
        match self {
            Kind::Kettle => 0.2 * awake + 1.2 * bump(h, wake + 0.3, 0.6) + 0.6 * bump(h, 15.5, 0.7),
            Kind::Cooking => 1.0 * bump(h, 17.75, 0.5),
            Kind::Dishwasher => 0.35 * bump(h, 20.0, 0.8),
            Kind::Washer => (if weekend { 0.3 } else { 0.08 }) * bump(h, 10.5, 1.5),
            Kind::Shower => {
                1.6 * bump(h, wake - 0.25, 0.6) + 0.1 * awake + 0.4 * bump(h, 21.5, 0.8)
            }
            Kind::Tap => 0.05 + 0.8 * awake,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Running {
    kind: Kind,
    until_ms: i64,
}

/// A DSMR 5.0 meter simulation that writes one telegram per call.
#[derive(Debug, Clone)]
pub struct DemoMeter {
    rng: SplitMix64,
    /// Unix milliseconds of the latest telegram.
    last_ms: i64,
    /// Imported / exported energy per tariff (index 0 = tariff 1), in mJ.
    import_mj: [u64; 2],
    export_mj: [u64; 2],
    /// Gas and water volume in microlitres.
    gas_ul: u64,
    water_ul: u64,
    /// The 5-minute slot of the latest M-Bus capture, and what it captured.
    capture_slot: i64,
    gas_capture: u64,
    water_capture: u64,
    power_failures: u32,
    /// End time (unix s) and duration (s) of the long power failures.
    failure_log: [(i64, u32); 2],
    sags: [u32; 3],
    swells: [u32; 3],
    /// Share of clear sky reaching the panels, drifting.
    cloud: f64,
    /// Slow random variation of the base load, in W.
    wiggle: f64,
    running: Vec<Running>,
}

/// The electrical state at one instant.
struct Sample {
    /// Net power per phase in W: positive imports, negative exports.
    net: [i64; 3],
    /// Voltage per phase in decivolts.
    volts_dv: [u32; 3],
    gas_m3_per_h: f64,
    water_l_per_min: f64,
}

impl DemoMeter {
    /// A meter whose registers read as if installed in 2020 and used since,
    /// with noise drawn from `seed`. The first telegram at `start` adds no
    /// energy; later ones add the energy since the previous call.
    pub fn new(seed: u64, start: SystemTime) -> DemoMeter {
        let mut rng = SplitMix64::new(seed);
        let start_ms = unix_millis(start);
        let start_s = start_ms.div_euclid(1000);
        let years = ((start_s - INSTALLED) as f64 / 31_557_600.0).max(0.0) + 0.5;
        let kwh_mj = |kwh_per_year: f64, r: &mut SplitMix64| {
            (kwh_per_year * years * (1.0 + 0.02 * r.next_f64()) * 3.6e9) as u64
        };
        let import_mj = [kwh_mj(1400.0, &mut rng), kwh_mj(1700.0, &mut rng)];
        let export_mj = [kwh_mj(500.0, &mut rng), kwh_mj(1100.0, &mut rng)];
        let m3_ul = |m3_per_year: f64, r: &mut SplitMix64| {
            (m3_per_year * years * (1.0 + 0.02 * r.next_f64()) * 1e9) as u64
        };
        let gas_ul = m3_ul(950.0, &mut rng);
        let water_ul = m3_ul(55.0, &mut rng);
        let day = 86_400;
        let recent =
            start_s - (20 + (rng.next_u64() % 40) as i64) * day + (rng.next_u64() % 86_400) as i64;
        let older =
            recent - (60 + (rng.next_u64() % 200) as i64) * day + (rng.next_u64() % 86_400) as i64;
        let failure_log = [
            (older, 180 + (rng.next_u64() % 7200) as u32),
            (recent, 180 + (rng.next_u64() % 3600) as u32),
        ];
        let power_failures = 3 + (rng.next_u64() % 6) as u32;
        let sags: [u32; 3] = std::array::from_fn(|_| (rng.next_u64() % 4) as u32);
        let swells: [u32; 3] = std::array::from_fn(|_| (rng.next_u64() % 2) as u32);
        DemoMeter {
            rng,
            last_ms: start_ms,
            import_mj,
            export_mj,
            gas_ul,
            water_ul,
            capture_slot: start_s.div_euclid(300),
            gas_capture: gas_ul,
            water_capture: water_ul,
            power_failures,
            failure_log,
            sags,
            swells,
            cloud: 0.85,
            wiggle: 0.0,
            running: Vec::new(),
        }
    }

    /// Advances the simulation to `now` and writes the telegram the meter
    /// sends at that moment: `/` … `!CRC` and a final CRLF. A `now` earlier
    /// than the previous call adds nothing (registers never go backwards).
    pub fn next_telegram(&mut self, now: SystemTime) -> Vec<u8> {
        let now_ms = unix_millis(now);
        let dt_ms = (now_ms - self.last_ms).clamp(0, MAX_STEP_MS);
        self.last_ms = self.last_ms.max(now_ms);
        let t = LocalTime::from_unix(now_ms.div_euclid(1000));
        let dt_s = dt_ms as f64 / 1000.0;

        self.evolve(&t, now_ms, dt_s);
        let s = self.sample(&t);
        let tariff = nl_tariff(&t);
        let net: i64 = s.net.iter().sum();
        let registers = if net >= 0 {
            &mut self.import_mj
        } else {
            &mut self.export_mj
        };
        registers[usize::from(tariff - 1)] += net.unsigned_abs() * dt_ms as u64;
        self.gas_ul += (s.gas_m3_per_h * 1e9 / 3600.0 * dt_s).round() as u64;
        self.water_ul += (s.water_l_per_min * 1e6 / 60.0 * dt_s).round() as u64;
        let slot = t.unix.div_euclid(300);
        if slot > self.capture_slot {
            self.capture_slot = slot;
            self.gas_capture = self.gas_ul;
            self.water_capture = self.water_ul;
        }
        self.render(&t, &s, tariff).into_bytes()
    }

    /// Moves the random parts of the household forward by `dt_s` seconds.
    fn evolve(&mut self, t: &LocalTime, now_ms: i64, dt_s: f64) {
        let rng = &mut self.rng;
        let root = dt_s.sqrt();
        let pull = (dt_s / 1000.0).min(1.0);
        self.cloud =
            (self.cloud + (0.85 - self.cloud) * pull + 0.02 * root * rng.normal()).clamp(0.35, 1.0);
        let pull = (dt_s / 100.0).min(1.0);
        self.wiggle = (self.wiggle * (1.0 - pull) + 8.0 * root * rng.normal()).clamp(-80.0, 80.0);

        self.running.retain(|r| r.until_ms > now_ms);
        let h = t.hour_f64();
        for kind in KINDS {
            let p = kind.rate_per_hour(h, t.is_weekend()) / 3600.0 * dt_s;
            if rng.next_f64() < p && !self.running.iter().any(|r| r.kind == kind) {
                self.running.push(Running {
                    kind,
                    until_ms: now_ms + kind.minutes() * 60_000,
                });
            }
        }
        for i in 0..3 {
            if rng.next_f64() < dt_s / 40_000.0 {
                self.sags[i] += 1;
            }
            if rng.next_f64() < dt_s / 90_000.0 {
                self.swells[i] += 1;
            }
        }
    }

    /// Power, voltage and flows at local time `t`.
    fn sample(&mut self, t: &LocalTime) -> Sample {
        let h = t.hour_f64();
        let wake = wake_hour(t.is_weekend());
        let awake = if (wake - 0.5..23.0).contains(&h) {
            120.0
        } else {
            0.0
        };
        let household = 160.0
            + awake
            + self.wiggle
            + 700.0 * bump(h, wake + 0.25, 0.8)
            + 250.0 * bump(h, 12.75, 1.0)
            + 1100.0 * bump(h, 19.0, 1.6);
        let mut load = [0.45, 0.30, 0.25].map(|share| household * share);
        // A fridge compressor: 18 minutes on, 32 off.
        if t.unix.div_euclid(60) % 50 < 18 {
            load[1] += 95.0;
        }
        let mut water_l_per_min = 0.0;
        let mut gas_m3_per_h = heating_m3_per_h(t, h) * (1.0 + 0.15 * self.rng.normal()).max(0.0);
        for r in &self.running {
            let e = r.kind.effect();
            for (l, w) in load.iter_mut().zip(e.watts) {
                *l += w;
            }
            water_l_per_min += e.water_l_per_min;
            gas_m3_per_h += e.gas_m3_per_h;
        }
        let solar = solar_watts(t, h) * self.cloud;
        let net = load.map(|l| (l - solar / 3.0).round() as i64);
        let total_export = (-net.iter().sum::<i64>()).max(0) as f64;
        let mut volts_dv = [0u32; 3];
        for (i, v) in volts_dv.iter_mut().enumerate() {
            let volts = 230.0
                + 1.0 * (2.0 * PI * h / 12.0 + i as f64).sin()
                + 0.4 * self.rng.normal()
                + 0.5 * total_export / 1000.0
                - 0.4 * net[i].max(0) as f64 / 1000.0;
            *v = (volts.clamp(227.0, 233.0) * 10.0).round() as u32;
        }
        Sample {
            net,
            volts_dv,
            gas_m3_per_h,
            water_l_per_min,
        }
    }

    fn render(&self, t: &LocalTime, s: &Sample, tariff: u8) -> String {
        let mut o = String::with_capacity(1200);
        let mut line = |text: std::fmt::Arguments<'_>| {
            let _ = o.write_fmt(text);
            o.push_str("\r\n");
        };
        line(format_args!("{HEADER}"));
        line(format_args!(""));
        line(format_args!("1-3:0.2.8(50)"));
        line(format_args!("0-0:1.0.0({})", t.tst()));
        line(format_args!("0-0:96.1.1({})", hex("E0099000000000001")));
        line(format_args!("1-0:1.8.1({}*kWh)", kwh(self.import_mj[0])));
        line(format_args!("1-0:1.8.2({}*kWh)", kwh(self.import_mj[1])));
        line(format_args!("1-0:2.8.1({}*kWh)", kwh(self.export_mj[0])));
        line(format_args!("1-0:2.8.2({}*kWh)", kwh(self.export_mj[1])));
        line(format_args!("0-0:96.14.0({tariff:04})"));
        let net: i64 = s.net.iter().sum();
        line(format_args!("1-0:1.7.0({}*kW)", kw(net.max(0))));
        line(format_args!("1-0:2.7.0({}*kW)", kw((-net).max(0))));
        line(format_args!("0-0:96.7.21({:05})", self.power_failures));
        line(format_args!("0-0:96.7.9({:05})", self.failure_log.len()));
        let mut log = format!("1-0:99.97.0({})(0-0:96.7.19)", self.failure_log.len());
        for (end, secs) in self.failure_log {
            let _ = write!(log, "({})({secs:010}*s)", LocalTime::from_unix(end).tst());
        }
        line(format_args!("{log}"));
        for (code, n) in [32, 52, 72].iter().zip(self.sags) {
            line(format_args!("1-0:{code}.32.0({n:05})"));
        }
        for (code, n) in [32, 52, 72].iter().zip(self.swells) {
            line(format_args!("1-0:{code}.36.0({n:05})"));
        }
        line(format_args!("0-0:96.13.0()"));
        for (code, dv) in [32, 52, 72].iter().zip(s.volts_dv) {
            line(format_args!("1-0:{code}.7.0({:03}.{}*V)", dv / 10, dv % 10));
        }
        for ((code, p), dv) in [31, 51, 71].iter().zip(s.net).zip(s.volts_dv) {
            let amps = (p.unsigned_abs() as f64 * 10.0 / dv as f64).round() as u64;
            line(format_args!("1-0:{code}.7.0({:03}*A)", amps.min(999)));
        }
        for (code, p) in [21, 41, 61].iter().zip(s.net) {
            line(format_args!("1-0:{code}.7.0({}*kW)", kw(p.max(0))));
        }
        for (code, p) in [22, 42, 62].iter().zip(s.net) {
            line(format_args!("1-0:{code}.7.0({}*kW)", kw((-p).max(0))));
        }
        let capture = LocalTime::from_unix(self.capture_slot * 300).tst();
        line(format_args!("0-1:24.1.0(003)"));
        line(format_args!("0-1:96.1.0({})", hex("G0099000000000001")));
        line(format_args!(
            "0-1:24.2.1({capture})({}*m3)",
            m3(self.gas_capture)
        ));
        line(format_args!("0-2:24.1.0(007)"));
        line(format_args!("0-2:96.1.0({})", hex("W0099000000000001")));
        line(format_args!(
            "0-2:24.2.1({capture})({}*m3)",
            m3(self.water_capture)
        ));
        o.push('!');
        let crc = crc16_arc(o.as_bytes());
        let _ = write!(o, "{crc:04X}\r\n");
        o
    }
}

/// Feeds a fresh demo meter's telegram into `meter` once a second, forever.
pub async fn run(meter: Arc<Meter>) {
    let mut demo = DemoMeter::new(super::clock_seed(), SystemTime::now());
    let mut pipeline = Pipeline::new(meter.clone());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    meter.set_source_up(true);
    tracing::info!(
        meter = meter.name(),
        "demo: simulated DSMR 5.0 meter started (one telegram a second)"
    );
    loop {
        tick.tick().await;
        pipeline.feed(&demo.next_telegram(SystemTime::now()));
    }
}

/// A smooth peak around hour `center` with width `width` hours.
fn bump(h: f64, center: f64, width: f64) -> f64 {
    let x = (h - center) / width;
    (-x * x).exp()
}

fn wake_hour(weekend: bool) -> f64 {
    if weekend {
        8.75
    } else {
        7.0
    }
}

/// +1 at the summer solstice, -1 at the winter solstice.
fn season(t: &LocalTime) -> f64 {
    (2.0 * PI * (t.day_of_year as f64 - 171.0) / 365.25).cos()
}

/// Output of a 4 kWp roof under a clear sky: from 700 W at noon in
/// December to 3.3 kW in June, over a day of 8 to 16.5 hours.
fn solar_watts(t: &LocalTime, h: f64) -> f64 {
    let season = season(t);
    let day_len = 12.2 + 4.3 * season;
    // Solar noon in the Netherlands is about 12:40 CET.
    let noon = 12.65 + if t.summer { 1.0 } else { 0.0 };
    let x = (h - (noon - day_len / 2.0)) / day_len;
    if !(0.0..1.0).contains(&x) {
        return 0.0;
    }
    (2000.0 + 1300.0 * season) * (PI * x).sin().powi(2)
}

/// Central heating: little in summer, most on winter mornings and evenings.
fn heating_m3_per_h(t: &LocalTime, h: f64) -> f64 {
    let winter = ((1.0 - season(t)) / 2.0).powf(1.2);
    let night = if !(5.5..23.0).contains(&h) { -0.1 } else { 0.0 };
    (winter * (0.15 + night + 0.9 * bump(h, 6.75, 1.0) + 0.5 * bump(h, 18.5, 2.0))).max(0.0)
}

/// NL tariffs: 1 (low) at night 23:00-07:00 and all weekend, else 2 (normal).
fn nl_tariff(t: &LocalTime) -> u8 {
    if t.is_weekend() || t.hour >= 23 || t.hour < 7 {
        1
    } else {
        2
    }
}

/// `000123.456` (kWh with Wh resolution) from millijoules.
fn kwh(mj: u64) -> String {
    let wh = mj / MJ_PER_WH;
    format!("{:06}.{:03}", (wh / 1000) % 1_000_000, wh % 1000)
}

/// `01.193` (kW with W resolution).
fn kw(w: i64) -> String {
    let w = w.clamp(0, 99_999);
    format!("{:02}.{:03}", w / 1000, w % 1000)
}

/// `01234.567` (m³ with litre resolution) from microlitres.
fn m3(ul: u64) -> String {
    let l = ul / 1_000_000;
    format!("{:05}.{:03}", (l / 1000) % 100_000, l % 1000)
}

/// Equipment ids are sent as hex-encoded ASCII.
fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

/// Wall-clock time in the Netherlands (CET with EU summer time).
#[derive(Debug, Clone, Copy)]
struct LocalTime {
    unix: i64,
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    /// 0 = Monday … 6 = Sunday.
    weekday: u32,
    /// 1 = 1 January.
    day_of_year: u32,
    summer: bool,
}

impl LocalTime {
    fn from_unix(unix: i64) -> LocalTime {
        let summer = eu_summer_time(unix);
        let local = unix + if summer { 7_200 } else { 3_600 };
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        LocalTime {
            unix,
            year,
            month,
            day,
            hour: (secs / 3_600) as u32,
            minute: (secs / 60 % 60) as u32,
            second: (secs % 60) as u32,
            weekday: (days + 3).rem_euclid(7) as u32,
            day_of_year: (days - days_from_civil(year, 1, 1) + 1) as u32,
            summer,
        }
    }

    fn hour_f64(&self) -> f64 {
        self.hour as f64 + self.minute as f64 / 60.0 + self.second as f64 / 3600.0
    }

    fn is_weekend(&self) -> bool {
        self.weekday >= 5
    }

    /// The DSMR timestamp `YYMMDDhhmmssX`, X = `S` in summer time, else `W`.
    fn tst(&self) -> String {
        format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}{}",
            self.year.rem_euclid(100),
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            if self.summer { 'S' } else { 'W' }
        )
    }
}

/// EU summer time: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC.
fn eu_summer_time(unix: i64) -> bool {
    let (year, _, _) = civil_from_days(unix.div_euclid(86_400));
    let last_sunday = |month| {
        let last = days_from_civil(year, month, 31);
        last - (last + 4).rem_euclid(7)
    };
    let start = last_sunday(3) * 86_400 + 3_600;
    let end = last_sunday(10) * 86_400 + 3_600;
    (start..end).contains(&unix)
}

/// (year, month, day) of a day number since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn local_time_follows_eu_summer_time() {
        // 2026-03-29 00:59:59 UTC is still winter time, 01:00 is summer time.
        let before = LocalTime::from_unix(1_774_745_999);
        assert_eq!((before.hour, before.summer), (1, false));
        let after = LocalTime::from_unix(1_774_746_000);
        assert_eq!((after.hour, after.summer), (3, true));
        assert_eq!(after.tst(), "260329030000S");
        // 2026-10-25 01:00 UTC: back to 02:00 winter time.
        let autumn = LocalTime::from_unix(1_792_890_000);
        assert_eq!(autumn.tst(), "261025020000W");
        // 2026-06-17 is a Wednesday, day 168 of the year.
        let june = LocalTime::from_unix(1_781_654_400);
        assert_eq!((june.weekday, june.day_of_year, june.hour), (2, 168, 2));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

    #[test]
    fn number_formats_are_dsmr5() {
        assert_eq!(kwh(1_234_567 * MJ_PER_WH + 5), "001234.567");
        assert_eq!(kw(1193), "01.193");
        assert_eq!(m3(1_234_567_000_000), "01234.567");
        assert_eq!(hex("E0"), "4530");
    }

    #[test]
    fn telegram_ends_with_its_crc() {
        let start = UNIX_EPOCH + Duration::from_secs(1_781_654_400);
        let mut d = DemoMeter::new(1, start);
        let t = d.next_telegram(start + Duration::from_secs(1));
        let text = String::from_utf8(t).unwrap();
        assert!(text.starts_with("/XDM5DEMO-METER\r\n\r\n1-3:0.2.8(50)\r\n"));
        let bang = text.rfind('!').unwrap();
        let crc = crc16_arc(&text.as_bytes()[..=bang]);
        assert_eq!(&text[bang + 1..], format!("{crc:04X}\r\n"));
    }
}
