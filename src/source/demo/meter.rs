//! [`DemoMeter`]: the simulation's state, moved forward by each telegram.

use super::clock::LocalTime;
use super::household::{be_tariff, bump, heating_m3_per_h, nl_tariff, solar_watts, wake_hour};
use super::household::{Appliance, Sample, APPLIANCES};
use super::peaks::Demand;
use super::text::Registers;
use super::DemoCountry;
use crate::source::random::SplitMix64;
use crate::state::unix_millis;
use std::f64::consts::PI;
use std::time::SystemTime;

/// A step longer than this (a suspended laptop, a clock jump) adds no more
/// energy than an hour would.
const MAX_STEP_MS: i64 = 3_600_000;

/// 2020-01-01T00:00:00Z: the registers start as if the meter was installed then.
const INSTALLED: i64 = 1_577_836_800;

/// An appliance switched on, and when it switches off.
#[derive(Debug, Clone, Copy)]
struct Running {
    appliance: Appliance,
    until_ms: i64,
}

/// A meter simulation that writes one telegram per call: a Dutch DSMR 5.0
/// meter, or a Belgian e-MUCS one with the capacity tariff's registers.
#[derive(Debug, Clone)]
pub struct DemoMeter {
    rng: SplitMix64,
    /// Unix milliseconds of the latest telegram.
    last_ms: i64,
    /// What the telegram shows.
    registers: Registers,
    /// Gas and water volume in microlitres, as flowed (the telegram shows
    /// the 5-minute captures of these).
    gas_ul: u64,
    water_ul: u64,
    /// Share of clear sky reaching the panels, drifting.
    cloud: f64,
    /// Slow random variation of the base load, in W.
    wiggle: f64,
    running: Vec<Running>,
    /// The Belgian meter's demand registers; `None` for a Dutch meter.
    demand: Option<Demand>,
}

impl DemoMeter {
    /// A meter of `country` (see [`DemoMeter::new`]).
    pub fn of(country: DemoCountry, seed: u64, start: SystemTime) -> DemoMeter {
        let mut m = DemoMeter::new(seed, start);
        if country == DemoCountry::Be {
            let t = LocalTime::from_unix(unix_millis(start).div_euclid(1000));
            m.demand = Some(Demand::new(&t, &mut m.rng));
        }
        m
    }

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
            registers: Registers {
                import_mj,
                export_mj,
                capture_slot: start_s.div_euclid(300),
                gas_capture: gas_ul,
                water_capture: water_ul,
                power_failures,
                failure_log,
                sags,
                swells,
            },
            gas_ul,
            water_ul,
            cloud: 0.85,
            wiggle: 0.0,
            running: Vec::new(),
            demand: None,
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
        let tariff = match self.demand {
            Some(_) => be_tariff(&t),
            None => nl_tariff(&t),
        };
        let net: i64 = s.net.iter().sum();
        let r = &mut self.registers;
        let energy = if net >= 0 {
            &mut r.import_mj
        } else {
            &mut r.export_mj
        };
        let step_mj = net.unsigned_abs() * dt_ms as u64;
        energy[usize::from(tariff - 1)] += step_mj;
        if let Some(d) = &mut self.demand {
            d.add(&t, if net >= 0 { step_mj } else { 0 });
        }
        self.gas_ul += (s.gas_m3_per_h * 1e9 / 3600.0 * dt_s).round() as u64;
        self.water_ul += (s.water_l_per_min * 1e6 / 60.0 * dt_s).round() as u64;
        let slot = t.unix.div_euclid(300);
        if slot > r.capture_slot {
            r.capture_slot = slot;
            r.gas_capture = self.gas_ul;
            r.water_capture = self.water_ul;
        }
        match &self.demand {
            Some(d) => r.render_be(&t, &s, tariff, d).into_bytes(),
            None => r.render(&t, &s, tariff).into_bytes(),
        }
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
        for appliance in APPLIANCES {
            let p = appliance.rate_per_hour(h, t.is_weekend()) / 3600.0 * dt_s;
            if rng.next_f64() < p && !self.running.iter().any(|r| r.appliance == appliance) {
                self.running.push(Running {
                    appliance,
                    until_ms: now_ms + appliance.minutes() * 60_000,
                });
            }
        }
        let r = &mut self.registers;
        for i in 0..3 {
            if rng.next_f64() < dt_s / 40_000.0 {
                r.sags[i] += 1;
            }
            if rng.next_f64() < dt_s / 90_000.0 {
                r.swells[i] += 1;
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
            let e = r.appliance.effect();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsmr_engine::crc::crc16_arc;
    use std::time::{Duration, UNIX_EPOCH};

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

    #[test]
    fn the_belgian_meter_decodes_with_its_capacity_values() {
        let start = UNIX_EPOCH + Duration::from_secs(1_781_654_400);
        let mut d = DemoMeter::of(DemoCountry::Be, 3, start);
        let mut last = None;
        for s in 1..=1_200 {
            last = Some(d.next_telegram(start + Duration::from_secs(s)));
        }
        let text = last.unwrap();
        let t = dsmr_engine::Telegram::decode(&text).expect("a telegram");
        assert!(matches!(t.crc, dsmr_engine::CrcStatus::Valid(_)) && t.verify(false).is_ok());
        assert!(t.errors.is_empty(), "{:?}", t.errors);
        assert!(t.demand.is_some() && t.month_peak.is_some());
        assert_eq!(t.peak_history.len(), 13);
        assert!(t.mbus[0].reading.is_some() && t.mbus[1].reading.is_some());
        assert!(t.imported[1].is_some() && t.tariff.is_some());
    }
}
