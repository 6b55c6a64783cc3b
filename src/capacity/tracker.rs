//! [`Tracker`]: a meter's capacity-tariff state, moved on by each telegram,
//! and the [`Capacity`] view that `/metrics`, the API and the page show.

use super::months::{history_earlier, rolling_average, Month, MonthPeaks};
use super::price::Price;
use super::quarter::{projected_mw, quarter_start, QuarterWatch, QUARTER_S};
use super::CapacitySettings;
use dsmr_engine::time::civil_from_days;
use dsmr_engine::value::Dimension;
use dsmr_engine::{Fixed, Quantity, Telegram, Zone};
use std::path::PathBuf;

/// Where the energy of the running quarter so far came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnergySource {
    /// The import register now minus at the quarter's start.
    Register,
    /// The meter's `1-0:1.4.0` (the register at the start was not seen).
    Demand,
}

impl EnergySource {
    /// `register` or `demand`, as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            EnergySource::Register => "register",
            EnergySource::Demand => "demand",
        }
    }
}

/// The capacity tariff of one meter after its latest telegram. Powers are
/// milliwatts; absent (`None`) where not measured, never 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    /// The meter's month (its own wall clock).
    pub month: Month,
    /// Unix start of the running quarter-hour.
    pub quarter_start: i64,
    /// Seconds of the quarter gone.
    pub quarter_elapsed_s: i64,
    /// The quarter's average if the power now holds until its end.
    pub projected_mw: Option<i64>,
    /// What the energy so far was counted from.
    pub energy_source: Option<EnergySource>,
    /// This month's highest quarter so far (`1-0:1.6.0`, or recorded).
    pub month_peak_mw: Option<i64>,
    /// The rolling average of monthly peaks, each at least 2.5 kW.
    pub rolling_average_mw: i64,
    /// How many months it counted (current included, at most 12).
    pub months_counted: u8,
    /// True when the earlier months came from the meter's `0-0:98.1.0`.
    pub from_history: bool,
    /// The yearly cost at the configured price, when one is set.
    pub cost_per_year: Option<Fixed>,
    /// The price it was computed with.
    pub price: Option<Price>,
    /// Whether the latest telegram carried `1-0:1.4.0` and `1-0:1.6.0`;
    /// `None` until the meter sent them once (in this process), so a meter
    /// that never does is not reported as one that stopped.
    pub values_sent: Option<bool>,
}

/// A meter's capacity-tariff state.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    settings: CapacitySettings,
    /// True once the meter sent a capacity value, or when configured.
    active: bool,
    /// True once a telegram carried both `1-0:1.4.0` and `1-0:1.6.0`.
    sent_once: bool,
    quarter: QuarterWatch,
    /// The monthly peaks the exporter recorded (and the state file holds).
    recorded: MonthPeaks,
    view: Option<Capacity>,
}

impl Tracker {
    /// A tracker with these settings and the peaks recorded before (from
    /// the state file); active from the start when configured or when
    /// peaks were recorded.
    pub fn new(settings: CapacitySettings, recorded: MonthPeaks) -> Tracker {
        let active = settings.enabled || recorded.iter().next().is_some();
        Tracker {
            settings,
            active,
            sent_once: false,
            quarter: QuarterWatch::default(),
            recorded,
            view: None,
        }
    }

    /// The view after the latest telegram; `None` for a meter that is not
    /// a capacity-tariff meter.
    pub fn view(&self) -> Option<&Capacity> {
        self.view.as_ref()
    }

    /// The peaks recorded so far.
    pub fn recorded(&self) -> &MonthPeaks {
        &self.recorded
    }

    /// Moves on with telegram `t` (which arrived at Unix `arrived`; its
    /// own clock is read in `zone`). Returns the state file and the peaks
    /// to write there when the recorded peaks changed.
    pub fn observe(
        &mut self,
        t: &Telegram,
        zone: Zone,
        arrived: i64,
    ) -> Option<(PathBuf, MonthPeaks)> {
        let values_sent = t.demand.is_some() && t.month_peak.is_some();
        let sends_any = t.demand.is_some() || t.month_peak.is_some() || !t.peak_history.is_empty();
        self.active |= sends_any;
        self.sent_once |= values_sent;
        if !self.active {
            return None;
        }
        let now = t.timestamp.map_or(arrived, |ts| ts.to_unix(&zone));
        let month = t
            .timestamp
            .as_ref()
            .map_or_else(|| month_at(now, zone), Month::of);
        let mut changed = false;
        let ended = self.quarter.observe(now, import_mj(t));
        let meter_peak = t.month_peak.and_then(|p| {
            let at = p.time.as_ref().map_or(month, Month::of);
            Some((at, milliwatts(p.value)?))
        });
        match (meter_peak, ended) {
            (Some((at, mw)), _) => changed |= self.recorded.raise(at, mw),
            (None, Some((start, mw))) if t.month_peak.is_none() => {
                changed |= self.recorded.raise(month_at(start, zone), mw);
            }
            _ => {}
        }
        self.recorded.prune(month);
        let sent = self.sent_once.then_some(values_sent);
        self.view = Some(self.compute(t, now, month, sent));
        if !changed {
            return None;
        }
        let path = self.settings.state_file.clone()?;
        Some((path, self.recorded.clone()))
    }

    fn compute(&self, t: &Telegram, now: i64, month: Month, values_sent: Option<bool>) -> Capacity {
        let (energy, energy_source) = match self.quarter.energy_so_far_mj(now) {
            Some(e) => (Some(e), Some(EnergySource::Register)),
            None => match t.demand.and_then(milliwatts) {
                Some(d) => (
                    Some(d.saturating_mul(QUARTER_S)),
                    Some(EnergySource::Demand),
                ),
                None => (None, None),
            },
        };
        let power = t.power_import.and_then(milliwatts);
        let projected = energy.zip(power).map(|(e, p)| projected_mw(now, e, p));
        let month_peak = self.recorded.get(month);
        let from_history = !t.peak_history.is_empty();
        let earlier = if from_history {
            history_earlier(&t.peak_history, month)
        } else {
            self.recorded.earlier(month)
        };
        let (avg, n) = rolling_average(month_peak.unwrap_or(0), &earlier);
        let price = self.settings.price;
        Capacity {
            month,
            quarter_start: quarter_start(now),
            quarter_elapsed_s: now - quarter_start(now),
            projected_mw: projected,
            energy_source: projected.and(energy_source),
            month_peak_mw: month_peak,
            rolling_average_mw: avg,
            months_counted: n,
            from_history,
            cost_per_year: price.and_then(|p| p.yearly_cost(avg)),
            price,
            values_sent,
        }
    }
}

/// The month of Unix time `unix` on the wall clock of `zone`.
fn month_at(unix: i64, zone: Zone) -> Month {
    let local = unix + i64::from(zone.offset_at(unix));
    let (y, m, _) = civil_from_days(local.div_euclid(86_400));
    Month::new(y as i32, m as u8)
}

/// A power in milliwatts, exactly; `None` when it is not a power or has
/// digits below the milliwatt.
pub fn milliwatts(q: Quantity) -> Option<i64> {
    if q.dimension() != Some(Dimension::Power) {
        return None;
    }
    q.base()?.times(1000)?.as_integer()
}

/// An energy in millijoules, exactly.
fn millijoules(q: Quantity) -> Option<i64> {
    if q.dimension() != Some(Dimension::Energy) {
        return None;
    }
    q.base()?.times(1000)?.as_integer()
}

/// The import register over all tariffs (mJ): the sum of the tariff
/// registers when the meter sends them, else its total (`1-0:1.8.0`).
fn import_mj(t: &Telegram) -> Option<i64> {
    let mut sum: Option<i64> = None;
    for q in t.imported[1..].iter().flatten() {
        let mj = millijoules(*q)?;
        sum = Some(sum.unwrap_or(0).checked_add(mj)?);
    }
    sum.or_else(|| t.imported[0].and_then(millijoules))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telegram(lines: &str) -> Telegram {
        let mut text = format!("/FLU5\\253769484_A\r\n\r\n{lines}!");
        let crc = dsmr_engine::crc::crc16_arc(text.as_bytes());
        text.push_str(&format!("{crc:04X}\r\n"));
        Telegram::decode(text.as_bytes()).expect("a telegram")
    }

    fn be(time: &str, import_wh: i64, power_w: i64, demand_w: i64, peak: &str) -> Telegram {
        telegram(&format!(
            "0-0:1.0.0({time})\r\n1-0:1.8.1({:06}.{:03}*kWh)\r\n1-0:1.8.2(000100.000*kWh)\r\n\
             1-0:1.4.0({:02}.{:03}*kW)\r\n1-0:1.6.0({peak})\r\n1-0:1.7.0({:02}.{:03}*kW)\r\n",
            import_wh / 1000,
            import_wh % 1000,
            demand_w / 1000,
            demand_w % 1000,
            power_w / 1000,
            power_w % 1000,
        ))
    }

    #[test]
    fn a_dutch_meter_has_no_capacity() {
        let mut tr = Tracker::default();
        let t = telegram("0-0:1.0.0(231102121500W)\r\n1-0:1.8.1(000001.000*kWh)\r\n");
        assert!(tr.observe(&t, Zone::CET, 0).is_none());
        assert!(tr.view().is_none());
    }

    #[test]
    fn the_projection_counts_from_the_register_once_seen_at_the_start() {
        let mut tr = Tracker::default();
        let peak = "231102114500W)(03.064*kW";
        // Mid-quarter (12:20): from 1.4.0 = 1.2 kW; 2 kW for the 600 s left.
        tr.observe(&be("231102122000W", 1000, 2000, 1200, peak), Zone::CET, 0);
        let v = tr.view().unwrap().clone();
        assert_eq!(v.energy_source, Some(EnergySource::Demand));
        assert_eq!(v.projected_mw, Some(1_200_000 + 2_000_000 * 600 / 900));
        assert_eq!(v.month_peak_mw, Some(3_064_000));
        assert_eq!(v.month, Month::new(2023, 11));
        // From 12:30:00 the register counts: at 12:35:00, 250 Wh more,
        // 3 kW now: (900 000 J + 3000 W × 600 s) / 900 s = 3 kW.
        tr.observe(&be("231102123000W", 2000, 3000, 0, peak), Zone::CET, 0);
        tr.observe(&be("231102123500W", 2250, 3000, 1000, peak), Zone::CET, 0);
        let v = tr.view().unwrap();
        assert_eq!(v.energy_source, Some(EnergySource::Register));
        assert_eq!(v.projected_mw, Some(3_000_000));
        assert!(v.values_sent == Some(true) && !v.from_history);
        // Only this month is known, above the floor: the average is it.
        assert_eq!((v.rolling_average_mw, v.months_counted), (3_064_000, 1));
        assert_eq!(v.cost_per_year, None);
    }

    #[test]
    fn recorded_months_make_the_average_and_cost_without_history() {
        let settings = CapacitySettings {
            price: Some(Price::parse("40").unwrap()),
            state_file: Some(PathBuf::from("cap.state")),
            ..CapacitySettings::default()
        };
        let mut tr = Tracker::new(settings, MonthPeaks::default());
        let oct = be("231031120000W", 1000, 0, 0, "231010120000S)(04.000*kW");
        let (path, saved) = tr.observe(&oct, Zone::CET, 0).expect("a new peak to save");
        assert_eq!(path, PathBuf::from("cap.state"));
        assert_eq!(saved.get(Month::new(2023, 10)), Some(4_000_000));
        // The same peak again: nothing to save.
        assert!(tr.observe(&oct, Zone::CET, 0).is_none());
        let nov = be("231102120000W", 1000, 0, 0, "231101000000W)(01.000*kW");
        tr.observe(&nov, Zone::CET, 0)
            .expect("November's first peak");
        let v = tr.view().unwrap();
        // (4 + max(1, 2.5)) / 2 = 3.25 kW; × 40 = 130.
        assert_eq!((v.rolling_average_mw, v.months_counted), (3_250_000, 2));
        assert_eq!(v.cost_per_year, Some(Fixed::new(130, 0)));
    }

    #[test]
    fn a_meter_that_stops_sending_its_values_is_told_from_one_that_never_did() {
        let plain = telegram("0-0:1.0.0(231102121500W)\r\n1-0:1.8.1(000001.000*kWh)\r\n");
        // Configured, never sent them: tracked, but not "stopped".
        let settings = CapacitySettings {
            enabled: true,
            ..CapacitySettings::default()
        };
        let mut tr = Tracker::new(settings, MonthPeaks::default());
        tr.observe(&plain, Zone::CET, 0);
        assert_eq!(tr.view().unwrap().values_sent, None);
        // Sent them, then stopped: the rolling average stays, the flag drops.
        let mut tr = Tracker::default();
        let peak = "231102114500W)(03.064*kW";
        tr.observe(&be("231102121000W", 1000, 500, 400, peak), Zone::CET, 0);
        assert_eq!(tr.view().unwrap().values_sent, Some(true));
        tr.observe(&plain, Zone::CET, 0);
        let v = tr.view().unwrap();
        assert_eq!(v.values_sent, Some(false));
        assert_eq!(v.month_peak_mw, Some(3_064_000));
    }
}
