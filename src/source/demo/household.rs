//! The simulated household: which appliances run when, what they draw, the
//! sun on the roof and the central heating, all by local time of day and
//! season. Pure functions of the time; the randomness is in `meter`.

use super::clock::LocalTime;
use std::f64::consts::PI;

/// An appliance or tap that runs for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Appliance {
    Kettle,
    Cooking,
    Dishwasher,
    Washer,
    Shower,
    Tap,
}

/// Every appliance, in the order their starts are drawn (which the seed's
/// reproducibility depends on).
pub(super) const APPLIANCES: [Appliance; 6] = [
    Appliance::Kettle,
    Appliance::Cooking,
    Appliance::Dishwasher,
    Appliance::Washer,
    Appliance::Shower,
    Appliance::Tap,
];

/// What a running appliance adds.
pub(super) struct Effect {
    /// Watts on L1, L2, L3.
    pub(super) watts: [f64; 3],
    pub(super) water_l_per_min: f64,
    pub(super) gas_m3_per_h: f64,
}

impl Appliance {
    /// How long one use lasts.
    pub(super) fn minutes(self) -> i64 {
        match self {
            Appliance::Kettle => 3,
            Appliance::Cooking => 30,
            Appliance::Dishwasher => 20,
            Appliance::Washer => 25,
            Appliance::Shower => 8,
            Appliance::Tap => 1,
        }
    }

    /// What it draws while it runs.
    pub(super) fn effect(self) -> Effect {
        let (watts, water_l_per_min, gas_m3_per_h) = match self {
            Appliance::Kettle => ([2000.0, 0.0, 0.0], 0.0, 0.0),
            Appliance::Cooking => ([0.0, 0.0, 2300.0], 0.0, 0.0),
            Appliance::Dishwasher => ([0.0, 1900.0, 0.0], 1.0, 0.0),
            Appliance::Washer => ([0.0, 0.0, 2100.0], 2.0, 0.0),
            Appliance::Shower => ([0.0; 3], 8.5, 1.8),
            Appliance::Tap => ([0.0; 3], 6.0, 0.0),
        };
        Effect {
            watts,
            water_l_per_min,
            gas_m3_per_h,
        }
    }

    /// Expected starts per hour at local hour `h`.
    pub(super) fn rate_per_hour(self, h: f64, weekend: bool) -> f64 {
        let awake = if (6.5..23.0).contains(&h) { 1.0 } else { 0.0 };
        let wake = wake_hour(weekend);
        match self {
            Appliance::Kettle => {
                0.2 * awake + 1.2 * bump(h, wake + 0.3, 0.6) + 0.6 * bump(h, 15.5, 0.7)
            }
            Appliance::Cooking => 1.0 * bump(h, 17.75, 0.5),
            Appliance::Dishwasher => 0.35 * bump(h, 20.0, 0.8),
            Appliance::Washer => (if weekend { 0.3 } else { 0.08 }) * bump(h, 10.5, 1.5),
            Appliance::Shower => {
                1.6 * bump(h, wake - 0.25, 0.6) + 0.1 * awake + 0.4 * bump(h, 21.5, 0.8)
            }
            Appliance::Tap => 0.05 + 0.8 * awake,
        }
    }
}

/// The electrical state and flows at one instant.
pub(super) struct Sample {
    /// Net power per phase in W: positive imports, negative exports.
    pub(super) net: [i64; 3],
    /// Voltage per phase in decivolts.
    pub(super) volts_dv: [u32; 3],
    pub(super) gas_m3_per_h: f64,
    pub(super) water_l_per_min: f64,
}

/// A smooth peak around hour `center` with width `width` hours.
pub(super) fn bump(h: f64, center: f64, width: f64) -> f64 {
    let x = (h - center) / width;
    (-x * x).exp()
}

/// When the household gets up: later at the weekend.
pub(super) fn wake_hour(weekend: bool) -> f64 {
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
pub(super) fn solar_watts(t: &LocalTime, h: f64) -> f64 {
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
pub(super) fn heating_m3_per_h(t: &LocalTime, h: f64) -> f64 {
    let winter = ((1.0 - season(t)) / 2.0).powf(1.2);
    let night = if !(5.5..23.0).contains(&h) { -0.1 } else { 0.0 };
    (winter * (0.15 + night + 0.9 * bump(h, 6.75, 1.0) + 0.5 * bump(h, 18.5, 2.0))).max(0.0)
}

/// BE tariffs: 1 (day) on weekdays 07:00-22:00, else 2 (night).
pub(super) fn be_tariff(t: &LocalTime) -> u8 {
    if !t.is_weekend() && (7..22).contains(&t.hour) {
        1
    } else {
        2
    }
}

/// NL tariffs: 1 (low) at night 23:00-07:00 and all weekend, else 2 (normal).
pub(super) fn nl_tariff(t: &LocalTime) -> u8 {
    if t.is_weekend() || t.hour >= 23 || t.hour < 7 {
        1
    } else {
        2
    }
}
