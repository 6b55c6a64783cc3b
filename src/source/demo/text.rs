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
        let mut w = TelegramText::new(HEADER, 1200);
        w.line(format_args!("1-3:0.2.8(50)"));
        w.line(format_args!("0-0:1.0.0({})", t.tst()));
        w.line(format_args!("0-0:96.1.1({})", hex("E0099000000000001")));
        self.energy(&mut w, tariff);
        total_power(&mut w, s);
        w.line(format_args!("0-0:96.7.21({:05})", self.power_failures));
        w.line(format_args!("0-0:96.7.9({:05})", self.failure_log.len()));
        let mut log = format!("1-0:99.97.0({})(0-0:96.7.19)", self.failure_log.len());
        for (end, secs) in self.failure_log {
            let _ = write!(log, "({})({secs:010}*s)", LocalTime::from_unix(end).tst());
        }
        w.line(format_args!("{log}"));
        for (code, n) in [32, 52, 72].iter().zip(self.sags) {
            w.line(format_args!("1-0:{code}.32.0({n:05})"));
        }
        for (code, n) in [32, 52, 72].iter().zip(self.swells) {
            w.line(format_args!("1-0:{code}.36.0({n:05})"));
        }
        w.line(format_args!("0-0:96.13.0()"));
        voltages(&mut w, s);
        for ((code, p), dv) in [31, 51, 71].iter().zip(s.net).zip(s.volts_dv) {
            let amps = (p.unsigned_abs() as f64 * 10.0 / dv as f64).round() as u64;
            w.line(format_args!("1-0:{code}.7.0({:03}*A)", amps.min(999)));
        }
        phase_powers(&mut w, s);
        self.mbus(&mut w, &DSMR5_MBUS);
        w.finish()
    }

    /// The energy registers (import and export, tariffs 1 and 2) and the
    /// active tariff, as both meters write them.
    pub(super) fn energy(&self, w: &mut TelegramText, tariff: u8) {
        w.line(format_args!("1-0:1.8.1({}*kWh)", kwh(self.import_mj[0])));
        w.line(format_args!("1-0:1.8.2({}*kWh)", kwh(self.import_mj[1])));
        w.line(format_args!("1-0:2.8.1({}*kWh)", kwh(self.export_mj[0])));
        w.line(format_args!("1-0:2.8.2({}*kWh)", kwh(self.export_mj[1])));
        w.line(format_args!("0-0:96.14.0({tariff:04})"));
    }

    /// Gas (channel 1) and water (channel 2) with their latest 5-minute
    /// capture, as `mbus` says the meter writes them.
    pub(super) fn mbus(&self, w: &mut TelegramText, mbus: &Mbus) {
        let capture = LocalTime::from_unix(self.capture_slot * 300).tst();
        let devices = [(1, 3, self.gas_capture), (2, 7, self.water_capture)];
        for (((channel, kind, ul), id), reading) in
            devices.into_iter().zip(mbus.ids).zip(mbus.readings)
        {
            w.line(format_args!("0-{channel}:24.1.0({kind:03})"));
            w.line(format_args!("0-{channel}:{}({})", mbus.id_code, hex(id)));
            if channel == 1 && mbus.gas_valve {
                w.line(format_args!("0-1:24.4.0(1)"));
            }
            w.line(format_args!(
                "0-{channel}:{reading}({capture})({}*m3)",
                m3(ul)
            ));
        }
    }
}

/// How a meter writes its M-Bus devices, gas on channel 1 and water on 2.
pub(super) struct Mbus {
    /// The OBIS code (after `0-n:`) of the equipment ids.
    pub(super) id_code: &'static str,
    /// The equipment ids, gas's and water's.
    pub(super) ids: [&'static str; 2],
    /// The OBIS codes of the readings, gas's and water's.
    pub(super) readings: [&'static str; 2],
    /// A gas valve state (`0-1:24.4.0`, open) before the gas reading.
    pub(super) gas_valve: bool,
}

/// The Dutch meter's M-Bus lines, as DSMR 5.0 writes them.
const DSMR5_MBUS: Mbus = Mbus {
    id_code: "96.1.0",
    ids: ["G0099000000000001", "W0099000000000001"],
    readings: ["24.2.1", "24.2.1"],
    gas_valve: false,
};

/// The total power imported and exported (`1.7.0`, `2.7.0`).
pub(super) fn total_power(w: &mut TelegramText, s: &Sample) {
    let net: i64 = s.net.iter().sum();
    w.line(format_args!("1-0:1.7.0({}*kW)", kw(net.max(0))));
    w.line(format_args!("1-0:2.7.0({}*kW)", kw((-net).max(0))));
}

/// The power imported and exported per phase.
pub(super) fn phase_powers(w: &mut TelegramText, s: &Sample) {
    for (code, p) in [21, 41, 61].iter().zip(s.net) {
        w.line(format_args!("1-0:{code}.7.0({}*kW)", kw(p.max(0))));
    }
    for (code, p) in [22, 42, 62].iter().zip(s.net) {
        w.line(format_args!("1-0:{code}.7.0({}*kW)", kw((-p).max(0))));
    }
}

/// The voltage per phase, `230.1*V`.
pub(super) fn voltages(w: &mut TelegramText, s: &Sample) {
    for (code, dv) in [32, 52, 72].iter().zip(s.volts_dv) {
        w.line(format_args!("1-0:{code}.7.0({:03}.{}*V)", dv / 10, dv % 10));
    }
}

/// A telegram being written: the header and the empty line, CRLF-ended
/// lines, then `!`, the CRC-16/ARC of everything before it, and a CRLF.
pub(super) struct TelegramText(String);

impl TelegramText {
    /// A telegram that starts with `header`, with room for `capacity` bytes.
    pub(super) fn new(header: &str, capacity: usize) -> TelegramText {
        let mut w = TelegramText(String::with_capacity(capacity));
        w.line(format_args!("{header}"));
        w.line(format_args!(""));
        w
    }

    /// One line; its CRLF is added.
    pub(super) fn line(&mut self, text: std::fmt::Arguments<'_>) {
        let _ = self.0.write_fmt(text);
        self.0.push_str("\r\n");
    }

    /// The trailer: `!`, the CRC and a CRLF.
    pub(super) fn finish(mut self) -> String {
        self.0.push('!');
        let crc = crc16_arc(self.0.as_bytes());
        let _ = write!(self.0, "{crc:04X}\r\n");
        self.0
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
    use super::super::peaks::Demand;
    use super::*;
    use crate::source::random::SplitMix64;

    /// Registers, instant values and a time with every field set, so the
    /// pinned telegrams below show every line each meter writes.
    fn pinned() -> (Registers, Sample, LocalTime) {
        // 2026-06-17 03:02:03 CEST.
        let t = LocalTime::from_unix(1_781_654_400 + 3_723);
        let registers = Registers {
            import_mj: [1_234_567 * MJ_PER_WH + 5, 2_345_678 * MJ_PER_WH],
            export_mj: [345_678 * MJ_PER_WH, 456_789 * MJ_PER_WH + 999],
            capture_slot: (t.unix - 200).div_euclid(300),
            gas_capture: 4_567_890_123_456,
            water_capture: 123_456_789_012,
            power_failures: 7,
            failure_log: [(t.unix - 86_400 * 90, 4_321), (t.unix - 86_400 * 30, 181)],
            sags: [1, 0, 3],
            swells: [0, 2, 0],
        };
        let sample = Sample {
            net: [1_234, -567, 89],
            volts_dv: [2_301, 2_298, 2_312],
            gas_m3_per_h: 0.0,
            water_l_per_min: 0.0,
        };
        (registers, sample, t)
    }

    /// A telegram written with `\n` line ends in the source, CRLF on the wire.
    fn crlf(text: &str) -> String {
        text.replace('\n', "\r\n")
    }

    #[test]
    fn the_dutch_telegram_is_pinned_byte_for_byte() {
        let (r, s, t) = pinned();
        assert_eq!(r.render(&t, &s, 2), crlf(PINNED_NL));
    }

    #[test]
    fn the_pinned_telegrams_are_valid_telegrams() {
        for pinned in [PINNED_NL, PINNED_BE] {
            let text = crlf(pinned);
            let t = dsmr_engine::Telegram::decode(text.as_bytes()).expect("a telegram");
            assert!(matches!(t.crc, dsmr_engine::CrcStatus::Valid(_)), "{text}");
            assert!(t.errors.is_empty(), "{:?}", t.errors);
        }
    }

    #[test]
    fn the_belgian_telegram_is_pinned_byte_for_byte() {
        let (r, s, t) = pinned();
        let d = Demand::new(&t, &mut SplitMix64::new(7));
        assert_eq!(r.render_be(&t, &s, 1, &d), crlf(PINNED_BE));
    }

    const PINNED_NL: &str = "/XDM5DEMO-METER

1-3:0.2.8(50)
0-0:1.0.0(260617030203S)
0-0:96.1.1(4530303939303030303030303030303031)
1-0:1.8.1(001234.567*kWh)
1-0:1.8.2(002345.678*kWh)
1-0:2.8.1(000345.678*kWh)
1-0:2.8.2(000456.789*kWh)
0-0:96.14.0(0002)
1-0:1.7.0(00.756*kW)
1-0:2.7.0(00.000*kW)
0-0:96.7.21(00007)
0-0:96.7.9(00002)
1-0:99.97.0(2)(0-0:96.7.19)(260319020203W)(0000004321*s)(260518030203S)(0000000181*s)
1-0:32.32.0(00001)
1-0:52.32.0(00000)
1-0:72.32.0(00003)
1-0:32.36.0(00000)
1-0:52.36.0(00002)
1-0:72.36.0(00000)
0-0:96.13.0()
1-0:32.7.0(230.1*V)
1-0:52.7.0(229.8*V)
1-0:72.7.0(231.2*V)
1-0:31.7.0(005*A)
1-0:51.7.0(002*A)
1-0:71.7.0(000*A)
1-0:21.7.0(01.234*kW)
1-0:41.7.0(00.000*kW)
1-0:61.7.0(00.089*kW)
1-0:22.7.0(00.000*kW)
1-0:42.7.0(00.567*kW)
1-0:62.7.0(00.000*kW)
0-1:24.1.0(003)
0-1:96.1.0(4730303939303030303030303030303031)
0-1:24.2.1(260617025500S)(04567.890*m3)
0-2:24.1.0(007)
0-2:96.1.0(5730303939303030303030303030303031)
0-2:24.2.1(260617025500S)(00123.456*m3)
!E3AC
";

    const PINNED_BE: &str = "/XDM5DEMO-METER-BE

0-0:96.1.4(50217)
0-0:96.1.1(3153414730303939303030303030303031)
0-0:1.0.0(260617030203S)
1-0:1.8.1(001234.567*kWh)
1-0:1.8.2(002345.678*kWh)
1-0:2.8.1(000345.678*kWh)
1-0:2.8.2(000456.789*kWh)
0-0:96.14.0(0001)
1-0:1.4.0(00.061*kW)
1-0:1.6.0(260605163000S)(03.039*kW)
0-0:98.1.0(13)(1-0:1.6.0)(1-0:1.6.0)(260601000000S)(260527153000S)(03.004*kW)(260501000000S)(260419040000S)(03.403*kW)(260401000000S)(260326100000W)(03.105*kW)(260301000000W)(260228161500W)(04.782*kW)(260201000000W)(260127011500W)(04.425*kW)(260101000000W)(251228091500W)(03.516*kW)(251201000000W)(251120030000W)(05.744*kW)(251101000000W)(251022020000S)(04.280*kW)(251001000000S)(250909234500S)(04.791*kW)(250901000000S)(250817041500S)(02.600*kW)(250801000000S)(250716133000S)(03.549*kW)(250701000000S)(250610164500S)(02.815*kW)(250601000000S)(250511231500S)(02.105*kW)
1-0:1.7.0(00.756*kW)
1-0:2.7.0(00.000*kW)
1-0:21.7.0(01.234*kW)
1-0:41.7.0(00.000*kW)
1-0:61.7.0(00.089*kW)
1-0:22.7.0(00.000*kW)
1-0:42.7.0(00.567*kW)
1-0:62.7.0(00.000*kW)
1-0:32.7.0(230.1*V)
1-0:52.7.0(229.8*V)
1-0:72.7.0(231.2*V)
1-0:31.7.0(005.36*A)
1-0:51.7.0(002.47*A)
1-0:71.7.0(000.38*A)
0-0:96.3.10(1)
0-0:17.0.0(999.9*kW)
1-0:31.4.0(999*A)
0-0:96.13.0()
0-1:24.1.0(003)
0-1:96.1.1(47424530303939303030303030303031)
0-1:24.4.0(1)
0-1:24.2.3(260617025500S)(04567.890*m3)
0-2:24.1.0(007)
0-2:96.1.1(57424530303939303030303030303031)
0-2:24.2.1(260617025500S)(00123.456*m3)
!7C59
";

    #[test]
    fn number_formats_are_dsmr5() {
        assert_eq!(kwh(1_234_567 * MJ_PER_WH + 5), "001234.567");
        assert_eq!(kw(1193), "01.193");
        assert_eq!(m3(1_234_567_000_000), "01234.567");
        assert_eq!(hex("E0"), "4530");
    }
}
