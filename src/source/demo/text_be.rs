//! The Belgian demo's telegram: the registers as a Fluvius e-MUCS meter
//! writes them (its number formats, gas on `24.2.3`, water on `24.2.1`),
//! with the capacity tariff's demand, month peak and peak history, and a
//! valid CRC-16/ARC.

use super::clock::LocalTime;
use super::household::Sample;
use super::peaks::{Demand, MonthPeak};
use super::text::{hex, kw, phase_powers, total_power, voltages, Mbus, Registers, TelegramText};
use std::fmt::Write as _;

/// The Belgian demo's header line.
pub const HEADER_BE: &str = "/XDM5DEMO-METER-BE";

/// The Belgian meter's M-Bus lines, as Fluvius e-MUCS meters write them:
/// ids on `96.1.1`, gas on `24.2.3` after its valve state.
const EMUCS_MBUS: Mbus = Mbus {
    id_code: "96.1.1",
    ids: ["GBE0099000000001", "WBE0099000000001"],
    readings: ["24.2.3", "24.2.1"],
    gas_valve: true,
};

/// A month peak as `(time)(kW)`; none yet is the placeholder e-MUCS
/// meters write.
fn peak(p: Option<MonthPeak>) -> String {
    match p {
        Some(p) => format!(
            "({})({}*kW)",
            LocalTime::from_unix(p.at).tst(),
            kw(p.watts as i64)
        ),
        None => "(632525252525W)(00.000*kW)".to_owned(),
    }
}

/// `0-0:98.1.0`: the count, the two buffer codes, then per month the end
/// of its billing period (the 1st of the next month), its peak's time and
/// value, newest first.
fn history(d: &Demand) -> String {
    let mut o = format!("0-0:98.1.0({})(1-0:1.6.0)(1-0:1.6.0)", d.history.len());
    for (month, p) in &d.history {
        let end = LocalTime::from_unix(LocalTime::month_start(month + 1)).tst();
        let _ = write!(o, "({end}){}", peak(*p));
    }
    o
}

impl Registers {
    /// The Belgian telegram at local time `t`.
    pub(super) fn render_be(&self, t: &LocalTime, s: &Sample, tariff: u8, d: &Demand) -> String {
        let mut w = TelegramText::new(HEADER_BE, 2000);
        w.line(format_args!("0-0:96.1.4(50217)"));
        w.line(format_args!("0-0:96.1.1({})", hex("1SAG0099000000001")));
        w.line(format_args!("0-0:1.0.0({})", t.tst()));
        self.energy(&mut w, tariff);
        w.line(format_args!(
            "1-0:1.4.0({}*kW)",
            kw(d.demand_watts() as i64)
        ));
        w.line(format_args!("1-0:1.6.0{}", peak(d.peak)));
        w.line(format_args!("{}", history(d)));
        total_power(&mut w, s);
        phase_powers(&mut w, s);
        voltages(&mut w, s);
        for ((code, p), dv) in [31, 51, 71].iter().zip(s.net).zip(s.volts_dv) {
            let ca = (p.unsigned_abs() as f64 * 1000.0 / dv as f64).round() as u64;
            let ca = ca.min(99_999);
            w.line(format_args!(
                "1-0:{code}.7.0({:03}.{:02}*A)",
                ca / 100,
                ca % 100
            ));
        }
        w.line(format_args!("0-0:96.3.10(1)"));
        w.line(format_args!("0-0:17.0.0(999.9*kW)"));
        w.line(format_args!("1-0:31.4.0(999*A)"));
        w.line(format_args!("0-0:96.13.0()"));
        self.mbus(&mut w, &EMUCS_MBUS);
        w.finish()
    }
}
