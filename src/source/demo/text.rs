//! What the demo meter shows: its registers, and the DSMR 5.0 telegram
//! text they are written as (CRLF lines, DSMR 5 number formats, a valid
//! CRC-16/ARC), so the pipeline checks the demo like any meter.

use super::clock::LocalTime;
use super::household::Sample;
use dsmr_engine::crc::crc16_arc;
use std::fmt::Write as _;

/// The header line: `/`, a three-letter manufacturer code, a digit.
pub const HEADER: &str = "/XDM5DEMO-METER";

/// Millijoules per watt-hour.
pub(super) const MJ_PER_WH: u64 = 3_600_000;

/// The registers and logs the meter writes in every telegram.
#[derive(Debug, Clone)]
pub(super) struct Registers {
    /// Imported / exported energy per tariff (index 0 = tariff 1), in mJ.
    pub(super) import_mj: [u64; 2],
    pub(super) export_mj: [u64; 2],
    /// The 5-minute slot of the latest M-Bus capture, and what it captured
    /// (gas and water in microlitres).
    pub(super) capture_slot: i64,
    pub(super) gas_capture: u64,
    pub(super) water_capture: u64,
    pub(super) power_failures: u32,
    /// End time (unix s) and duration (s) of the long power failures.
    pub(super) failure_log: [(i64, u32); 2],
    pub(super) sags: [u32; 3],
    pub(super) swells: [u32; 3],
}

impl Registers {
    /// The telegram at local time `t` with the instant values `s`, from
    /// the header to the CRC and its CRLF.
    pub(super) fn render(&self, t: &LocalTime, s: &Sample, tariff: u8) -> String {
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

/// `000123.456` (kWh with Wh resolution) from millijoules.
pub(super) fn kwh(mj: u64) -> String {
    let wh = mj / MJ_PER_WH;
    format!("{:06}.{:03}", (wh / 1000) % 1_000_000, wh % 1000)
}

/// `01.193` (kW with W resolution).
pub(super) fn kw(w: i64) -> String {
    let w = w.clamp(0, 99_999);
    format!("{:02}.{:03}", w / 1000, w % 1000)
}

/// `01234.567` (m³ with litre resolution) from microlitres.
pub(super) fn m3(ul: u64) -> String {
    let l = ul / 1_000_000;
    format!("{:05}.{:03}", (l / 1000) % 100_000, l % 1000)
}

/// Equipment ids are sent as hex-encoded ASCII (`metrics` decodes them
/// for the `equipment_id` label).
pub(super) fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats_are_dsmr5() {
        assert_eq!(kwh(1_234_567 * MJ_PER_WH + 5), "001234.567");
        assert_eq!(kw(1193), "01.193");
        assert_eq!(m3(1_234_567_000_000), "01234.567");
        assert_eq!(hex("E0"), "4530");
    }
}
