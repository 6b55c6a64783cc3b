//! The Belgian demo's telegram: the registers as a Fluvius e-MUCS meter
//! writes them (its number formats, gas on `24.2.3`, water on `24.2.1`),
//! with the capacity tariff's demand, month peak and peak history, and a
//! valid CRC-16/ARC.

use super::clock::LocalTime;
use super::household::Sample;
use super::peaks::{Demand, MonthPeak};
use super::text::{hex, kw, kwh, m3, Registers};
use dsmr_engine::crc::crc16_arc;
use std::fmt::Write as _;

/// The Belgian demo's header line.
pub const HEADER_BE: &str = "/XDM5DEMO-METER-BE";

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
        let mut o = String::with_capacity(2000);
        let mut line = |text: std::fmt::Arguments<'_>| {
            let _ = o.write_fmt(text);
            o.push_str("\r\n");
        };
        line(format_args!("{HEADER_BE}"));
        line(format_args!(""));
        line(format_args!("0-0:96.1.4(50217)"));
        line(format_args!("0-0:96.1.1({})", hex("1SAG0099000000001")));
        line(format_args!("0-0:1.0.0({})", t.tst()));
        line(format_args!("1-0:1.8.1({}*kWh)", kwh(self.import_mj[0])));
        line(format_args!("1-0:1.8.2({}*kWh)", kwh(self.import_mj[1])));
        line(format_args!("1-0:2.8.1({}*kWh)", kwh(self.export_mj[0])));
        line(format_args!("1-0:2.8.2({}*kWh)", kwh(self.export_mj[1])));
        line(format_args!("0-0:96.14.0({tariff:04})"));
        line(format_args!(
            "1-0:1.4.0({}*kW)",
            kw(d.demand_watts() as i64)
        ));
        line(format_args!("1-0:1.6.0{}", peak(d.peak)));
        line(format_args!("{}", history(d)));
        let net: i64 = s.net.iter().sum();
        line(format_args!("1-0:1.7.0({}*kW)", kw(net.max(0))));
        line(format_args!("1-0:2.7.0({}*kW)", kw((-net).max(0))));
        for (code, p) in [21, 41, 61].iter().zip(s.net) {
            line(format_args!("1-0:{code}.7.0({}*kW)", kw(p.max(0))));
        }
        for (code, p) in [22, 42, 62].iter().zip(s.net) {
            line(format_args!("1-0:{code}.7.0({}*kW)", kw((-p).max(0))));
        }
        for (code, dv) in [32, 52, 72].iter().zip(s.volts_dv) {
            line(format_args!("1-0:{code}.7.0({:03}.{}*V)", dv / 10, dv % 10));
        }
        for ((code, p), dv) in [31, 51, 71].iter().zip(s.net).zip(s.volts_dv) {
            let ca = (p.unsigned_abs() as f64 * 1000.0 / dv as f64).round() as u64;
            let ca = ca.min(99_999);
            line(format_args!(
                "1-0:{code}.7.0({:03}.{:02}*A)",
                ca / 100,
                ca % 100
            ));
        }
        line(format_args!("0-0:96.3.10(1)"));
        line(format_args!("0-0:17.0.0(999.9*kW)"));
        line(format_args!("1-0:31.4.0(999*A)"));
        line(format_args!("0-0:96.13.0()"));
        let capture = LocalTime::from_unix(self.capture_slot * 300).tst();
        line(format_args!("0-1:24.1.0(003)"));
        line(format_args!("0-1:96.1.1({})", hex("GBE0099000000001")));
        line(format_args!("0-1:24.4.0(1)"));
        line(format_args!(
            "0-1:24.2.3({capture})({}*m3)",
            m3(self.gas_capture)
        ));
        line(format_args!("0-2:24.1.0(007)"));
        line(format_args!("0-2:96.1.1({})", hex("WBE0099000000001")));
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
