//! Issue #12's glitch sequences as telegrams with valid CRCs: a Dutch DSMR 5
//! meter with a gas meter, one telegram every 10 s of meter time, whose
//! dongle now and then sends a wrong register. Shared by tests/metrics.rs
//! (through the pipeline) and tests/prometheus_e2e.rs (through `--replay`
//! and a real Prometheus).

use dsmr_engine::crc::crc16_arc;

/// How many telegrams the sequence has.
pub const TELEGRAMS: u32 = 80;

/// The true registers of telegram `i`: import tariff 1 and export tariff 1
/// in Wh, gas in dm³, power failures.
pub fn truth(i: u32) -> (i64, i64, i64, u64) {
    let i = i64::from(i);
    (2_130_000 + 5 * i, 95_000 + 2 * i, 1_234_567 + i, 7)
}

/// What the dongle sends instead at telegram `i`, when it glitches:
/// - 30: import 2130 -> 10 -> 2130 kWh (the 2130 -> 10 -> 2131);
/// - 40: export 95 -> 33 -> 95 kWh;
/// - 50: import at a tenth;
/// - 55: power failures 7 -> 3;
/// - 60: gas at a tenth;
/// - 65: import ten times too high (a jump);
/// - 70: no import line (carried);
/// - 72: a negative import (a field error, carried).
pub fn sent(i: u32) -> (Option<i64>, i64, i64, u64) {
    let (imp, exp, gas, failures) = truth(i);
    match i {
        30 => (Some(10_000), exp, gas, failures),
        40 => (Some(imp), 33_000, gas, failures),
        50 => (Some(imp / 10), exp, gas, failures),
        55 => (Some(imp), exp, gas, 3),
        60 => (Some(imp), exp, gas / 10, failures),
        65 => (Some(imp * 10), exp, gas, failures),
        70 => (None, exp, gas, failures),
        72 => (Some(-imp), exp, gas, failures),
        _ => (Some(imp), exp, gas, failures),
    }
}

/// Rejections the guard counts over the whole sequence:
/// (register, reason, count).
pub const REJECTED: &[(&str, &str, u64)] = &[
    ("1-0:1.8.1", "backwards", 2),
    ("1-0:1.8.1", "jump", 1),
    ("1-0:2.8.1", "backwards", 1),
    ("0-0:96.7.21", "backwards", 1),
    ("0-1:24.2.1", "backwards", 1),
];

/// Field errors over the whole sequence (the negative import).
pub const FIELD_ERRORS: u64 = 1;

/// Joules of a Wh value.
pub fn joules(wh: i64) -> i64 {
    wh * 3_600
}

fn kwh(wh: i64) -> String {
    let sign = if wh < 0 { "-" } else { "" };
    format!("{sign}{:06}.{:03}", wh.abs() / 1_000, wh.abs() % 1_000)
}

/// Telegram `i` with its CRC, meter time 2023-01-15 10:00:00 + 10 s x `i`.
pub fn telegram(i: u32) -> String {
    let (imp, exp, gas, failures) = sent(i);
    let s = 10 * i;
    let time = format!("2301151{}{:02}{:02}W", s / 3_600, s / 60 % 60, s % 60);
    let import = imp.map_or(String::new(), |wh| {
        format!("1-0:1.8.1({}*kWh)\r\n", kwh(wh))
    });
    let body = format!(
        "/XMX5LGBBFFB231216240\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0({time})\r\n\
         0-0:96.1.1(4530303034303031353934373534343134)\r\n{import}\
         1-0:1.8.2(000500.000*kWh)\r\n1-0:2.8.1({})\r\n1-0:2.8.2(000000.000*kWh)\r\n\
         0-0:96.14.0(0001)\r\n1-0:1.7.0(01.800*kW)\r\n1-0:2.7.0(00.000*kW)\r\n\
         0-0:96.7.21({failures:05})\r\n0-1:24.1.0(003)\r\n\
         0-1:24.2.1({time})({:05}.{:03}*m3)\r\n!",
        kwh(exp) + "*kWh",
        gas / 1_000,
        gas % 1_000
    );
    format!("{body}{:04X}\r\n", crc16_arc(body.as_bytes()))
}
