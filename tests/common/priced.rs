//! A priced meter's telegrams: a DSMR 5 meter whose registers the test
//! chooses, at a time it chooses (tests of cost and prices).

use super::clock::meter_time;
use dsmr_engine::crc::crc16_arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC hour three hours ago: recent, so fetched prices are not pruned.
pub fn base() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now / 3_600 * 3_600 - 3 * 3_600
}

/// A DSMR 5 telegram with a CRC: import tariffs 1 and 2, export tariff
/// 1 and gas, in Wh and litres.
pub fn telegram(at: i64, t1: u64, t2: u64, export: u64, gas_l: u64) -> String {
    let kwh = |wh: u64| format!("{:06}.{:03}", wh / 1000, wh % 1000);
    let body = format!(
        "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0({ts})\r\n\
         0-0:96.1.1(4530303034303031353934373534343134)\r\n\
         1-0:1.8.1({}*kWh)\r\n1-0:1.8.2({}*kWh)\r\n1-0:2.8.1({}*kWh)\r\n1-0:2.8.2(000000.000*kWh)\r\n\
         0-0:96.14.0(0002)\r\n1-0:1.7.0(00.500*kW)\r\n1-0:2.7.0(00.000*kW)\r\n\
         0-1:24.1.0(003)\r\n0-1:24.2.1({ts})({:05}.{:03}*m3)\r\n!",
        kwh(t1),
        kwh(t2),
        kwh(export),
        gas_l / 1000,
        gas_l % 1000,
        ts = meter_time(at),
    );
    format!("{body}{:04X}\r\n", crc16_arc(body.as_bytes()))
}
