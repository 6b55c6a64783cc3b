//! The engine against the public corpus in the workspace's fixtures/: one
//! test per field quirk, with exact values. (The golden JSON of every fixture
//! is the exporter's `parse` test.)

use dsmr_engine::telegram::{CrcStatus, FieldErrorKind, ReadingKind};
use dsmr_engine::time::Dst;
use dsmr_engine::value::Fixed;
use dsmr_engine::{
    FrameError, FrameEvent, Framer, Obis, Quantity, Telegram, Timestamp, Unit, Zone,
};

mod common;

use common::fixture;

/// Frames and decodes a whole capture: (telegrams, discarded fragments).
fn decode_all(bytes: &[u8]) -> (Vec<Telegram>, Vec<FrameError>) {
    let mut f = Framer::new();
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let mut h = |e: FrameEvent<'_>| match e {
        FrameEvent::Telegram(t) => out.push(Telegram::decode(t).expect("framed telegram decodes")),
        FrameEvent::Discarded(e) => bad.push(e),
    };
    f.feed(bytes, &mut h);
    f.finish(&mut h);
    (out, bad)
}

fn one(name: &str) -> Telegram {
    let (mut t, bad) = decode_all(&fixture(name));
    assert!(bad.is_empty(), "{name}: {bad:?}");
    assert_eq!(t.len(), 1, "{name}");
    t.remove(0)
}

fn q(v: i64, scale: u8, unit: Unit) -> Option<Quantity> {
    Some(Quantity {
        value: Fixed::new(v, scale),
        unit,
    })
}

#[test]
fn dsmr50_three_phase_exact_values() {
    let t = one("nl_dsmr50_iskra_am550t_3phase_issue91.txt");
    assert_eq!(t.crc, CrcStatus::Valid(0x73A4));
    assert_eq!(t.manufacturer(), "ISK");
    assert_eq!(t.declared_version(), Some("50"));
    assert_eq!(t.imported[1], q(9_418_807, 3, Unit::KWh));
    assert_eq!(
        t.imported[1].and_then(|q| q.base()),
        Some(Fixed::new(33_907_705_200, 0))
    );
    assert_eq!(t.exported[2], q(1_332_223, 3, Unit::KWh));
    assert_eq!(t.power_import, q(196, 3, Unit::KW));
    assert_eq!(t.power_import.and_then(|q| q.base_f64()), Some(196.0));
    assert_eq!(t.phases[0].voltage, q(2369, 1, Unit::V));
    assert_eq!(t.phases[1].current, q(1, 0, Unit::A));
    assert_eq!(t.tariff, Some(2));
    assert_eq!(t.power_failures, Some(5));
    assert_eq!(t.long_power_failures, Some(3));
    let gas = t.mbus[0].reading.expect("gas reading");
    assert_eq!(t.mbus[0].device_type, Some(3));
    assert_eq!(
        gas.value,
        Quantity {
            value: Fixed::new(9_916_665, 3),
            unit: Unit::M3
        }
    );
    assert_eq!(gas.time.to_unix(&Zone::CET), 1_643_277_604); // 2022-01-27 11:00:04 +01:00
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    assert!(t.unknown.is_empty());
    assert_eq!(t.verify(false), Ok(()));
}

#[test]
fn lower_case_units_are_read() {
    let text = b"/ISK5\\2M550E-1012\r\n\r\n1-3:0.2.8(50)\r\n1-0:1.8.1(000576.239*kwh)\r\n1-0:1.7.0(00.193*kw)\r\n1-0:32.7.0(236.1*v)\r\n1-0:31.7.0(001*a)\r\n0-1:24.2.1(190320181003W)(00304.089*M3)\r\n!";
    let t = Telegram::decode(text).expect("decodes");
    assert_eq!(t.imported[1], q(576_239, 3, Unit::KWh));
    assert_eq!(t.power_import, q(193, 3, Unit::KW));
    assert_eq!(t.phases[0].voltage, q(2361, 1, Unit::V));
    assert_eq!(t.phases[0].current, q(1, 0, Unit::A));
    assert_eq!(t.mbus[0].reading.map(|r| r.value.unit), Some(Unit::M3));
    assert!(t.errors.is_empty());
}

#[test]
fn empty_power_failure_log_and_unset_clock() {
    let t = one("nl_dsmr40_landisgyr_xmx_e350.txt");
    assert!(t.has_power_failure_log);
    assert!(t.power_failure_log.is_empty());
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    // A clock that was never set decodes as it is.
    let ts = t.timestamp.expect("timestamp");
    assert_eq!((ts.year, ts.month, ts.day, ts.hour), (2000, 1, 1, 1));
    assert_eq!(ts.to_unix(&Zone::CET), 946_684_800);
    let t = Telegram::decode(b"/XMX5LG\r\n\r\n1-0:99.97.0()\r\n!").expect("decodes");
    assert!(t.power_failure_log.is_empty());
    assert!(t.errors.is_empty());
}

#[test]
fn power_failure_log_with_overflowing_durations() {
    let t = one("nl_dsmr42_kaifa_kfm_overflow_powerfail.txt");
    let d: Vec<Option<u64>> = t.power_failure_log.iter().map(|p| p.duration).collect();
    assert_eq!(
        d,
        vec![Some(237_126), Some(2_147_583_646), Some(2_317_482_647)]
    );
    let t = one("nl_dsmr50_sagemcom_t210d_9powerfail.txt");
    assert_eq!(t.power_failure_log.len(), 9);
    // MCS: durations without a unit.
    let t = one("nl_dsmr50_mcs_empty_mbus_unitless_powerfail.txt");
    assert_eq!(t.power_failure_log.len(), 4);
    assert_eq!(t.power_failure_log[0].duration, Some(23));
}

#[test]
fn mbus_placeholder_is_absent_not_zero() {
    let t = Telegram::decode(
        b"/FLU5\\253769484_A\r\n\r\n0-2:24.1.0(007)\r\n0-2:24.2.1(632525252525S)(00000.000)\r\n!",
    )
    .expect("decodes");
    assert_eq!(t.mbus[1].device_type, Some(7));
    assert_eq!(t.mbus[1].reading, None);
    assert!(t.mbus[1].placeholder);
    assert!(t.errors.is_empty());
    // Iskra's dead channel 1: the epoch and zero.
    let t = one("nl_dsmr50_iskra_am550t_two_mbus.txt");
    assert_eq!(t.mbus[0].reading, None);
    assert!(t.mbus[0].placeholder);
    assert_eq!(
        t.mbus[1].reading.map(|r| r.value),
        Some(Quantity {
            value: Fixed::new(246_138, 3),
            unit: Unit::M3
        })
    );
}

#[test]
fn empty_equipment_id_and_device_type() {
    let t = one("nl_dsmr50_mcs_empty_mbus_unitless_powerfail.txt");
    assert_eq!(t.mbus[0].device_type, None);
    assert_eq!(t.mbus[0].reading, None);
    let t = one("lu_smarty_spec_example_4mbus.txt");
    assert_eq!(t.mbus[1].equipment_id, None);
    assert!(t.mbus[1].placeholder);
}

#[test]
fn devices_are_known_by_type_not_channel() {
    // Luxembourg: gas on 1 and 4, water on 2 and 3.
    let t = one("lu_smarty_spec_example_4mbus.txt");
    let types: Vec<Option<u16>> = t.mbus.iter().map(|m| m.device_type).collect();
    assert_eq!(types, vec![Some(3), Some(7), Some(7), Some(3)]);
    assert_eq!(
        t.mbus[3].reading.map(|r| r.value.value),
        Some(Fixed::new(28_103, 3))
    );
    // DSMR 3.0 with gas on channel 2 in the two-line 24.3.0 form.
    let t = one("nl_dsmr30_iskra_mt382_gas_bus2_issue54.txt");
    assert_eq!(t.mbus[0].device_type, None);
    let gas = t.mbus[1].reading.expect("gas on channel 2");
    assert_eq!(gas.kind, ReadingKind::Profile);
    assert_eq!(
        gas.value,
        Quantity {
            value: Fixed::new(13_376_292, 3),
            unit: Unit::M3
        }
    );
    assert_eq!(gas.time.dst, Dst::Unknown);
    // Belgium: water on channel 2 via 24.2.1, gas uncorrected via 24.2.3.
    let t = one("be_fluvius_v171_peak_history_water.txt");
    assert_eq!(
        t.mbus[0].reading.map(|r| r.kind),
        Some(ReadingKind::Uncorrected)
    );
    assert_eq!(t.mbus[1].device_type, Some(7));
    assert_eq!(
        t.mbus[1].reading.map(|r| r.value.value),
        Some(Fixed::new(8_579, 3))
    );
    // Heat in GJ, converted exactly to joules.
    let t = one("nl_warmtelink_heat_gj_unpadded_crc.txt");
    assert!(matches!(t.crc, CrcStatus::Valid(0x0B9F)));
    let heat = t.mbus[0].reading.expect("heat");
    assert_eq!(t.mbus[0].device_type, Some(4));
    assert_eq!(heat.value.unit, Unit::GJ);
    assert_eq!(
        heat.value.base().and_then(|b| b.as_integer()),
        Some(heat.value.value.mantissa * 1_000_000_000 / 10i64.pow(heat.value.value.scale as u32))
    );
}

#[test]
fn belgian_capacity_tariff() {
    let t = one("be_fluvius_v171_peak_history_water.txt");
    assert_eq!(t.demand, q(52, 3, Unit::KW));
    let peak = t.month_peak.expect("peak");
    assert_eq!(
        peak.value,
        Quantity {
            value: Fixed::new(3_064, 3),
            unit: Unit::KW
        }
    );
    assert_eq!(
        peak.time.map(|t| t.to_unix(&Zone::CET)),
        Some(1_698_921_900)
    ); // 2023-11-02 11:45 +01:00
    assert_eq!(t.peak_history.len(), 4);
    assert_eq!(t.peak_history[0].time, None); // placeholder 632525252525W
    assert_eq!(t.peak_history[3].value.value, Fixed::new(4_927, 3));
    assert_eq!(t.emucs_version.map(|s| t.str(s)), Some("50217"));
    assert_eq!(t.phases[2].current, q(52, 2, Unit::A));
    assert_eq!(t.phases[0].current_limit, q(999, 0, Unit::A));
    assert!(t.errors.is_empty());
}

#[test]
fn long_belgian_telegram_with_13_months() {
    let mut text =
        b"/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n0-0:98.1.0(13)(1-0:1.6.0)(1-0:1.6.0)"
            .to_vec();
    for m in 0..13 {
        text.extend_from_slice(
            format!(
                "(23{:02}01000000W)(2301{:02}120000W)(0{}.{:03}*kW)",
                m % 12 + 1,
                m % 28 + 1,
                m % 10,
                m
            )
            .as_bytes(),
        );
    }
    text.extend_from_slice(b"\r\n");
    for i in 0..60 {
        text.extend_from_slice(format!("0-0:96.13.0({:040})\r\n", i).as_bytes());
    }
    text.extend_from_slice(b"1-0:1.8.1(000301.548*kWh)\r\n!");
    let crc = dsmr_engine::crc::crc16_arc(&text);
    text.extend_from_slice(format!("{crc:04X}\r\n").as_bytes());
    assert!(text.len() > 3000);
    let (t, bad) = decode_all(&text);
    assert!(bad.is_empty());
    assert_eq!(t[0].peak_history.len(), 13);
    assert_eq!(t[0].imported[1], q(301_548, 3, Unit::KWh));
    assert_eq!(t[0].verify(false), Ok(()));
}

#[test]
fn other_countries_registers() {
    let t = one("hu_eon_sagemcom_sag5.txt");
    assert_eq!(t.imported[0], q(173_640, 3, Unit::KWh));
    assert_eq!(t.imported[3], q(0, 3, Unit::KWh));
    assert_eq!(t.reactive_imported[0], q(123, 3, Unit::KVarh));
    assert_eq!(t.reactive_quadrants[2], q(160_487, 3, Unit::KVarh));
    assert_eq!(t.absolute_energy, q(800_817, 3, Unit::KWh));
    assert_eq!(t.frequency, q(5000, 2, Unit::Hz));
    assert!(t.power_factor.is_some());
    assert!(t.phases[0].power_factor.is_some());
    assert!(t.phases[0].current_limit.is_some());
    // HU's 98.1.0 is a billing snapshot, not a peak history: kept as unknown.
    assert!(t.peak_history.is_empty());
    assert!(t
        .unknown
        .iter()
        .any(|u| u.obis == Obis::new(0, 0, 98, 1, 0)));
    let t = one("lu_smarty_spec_example_4mbus.txt");
    assert_eq!(
        t.logical_name.map(|s| t.str(s)),
        Some("53414731303330373930303032353734")
    );
    assert_eq!(t.threshold, q(690, 1, Unit::KVA));
    assert_eq!(t.reactive_power_import, q(0, 3, Unit::KVar));
    assert_eq!(t.apparent_power_import, q(21, 3, Unit::KVA));
    assert_eq!(t.phases[0].current_limit, q(100, 0, Unit::A));
    assert_eq!(t.phases[0].reactive_power_import, q(0, 3, Unit::KVar));
    // Austria: integer Wh and W.
    let t = one("at_sagemcom_t210dr_est5.txt");
    assert_eq!(
        t.imported[0].and_then(|q| q.base()),
        Some(Fixed::new(6_545_766 * 3600, 0))
    );
    assert_eq!(t.power_import, q(286, 0, Unit::W));
    // Germany (EasyMeter): *255 suffixes, 7 decimals, no CRC.
    let t = one("de_easymeter_q3d_b1024_gateway_trailer.txt");
    assert_eq!(t.crc, CrcStatus::Missing);
    assert_eq!(t.imported[0], q(521_857_825_309, 7, Unit::KWh));
    assert_eq!(
        t.imported[0].and_then(|q| q.base()),
        Some(Fixed::new(18_786_881_711_124, 2))
    );
    // XT211: electricity on channel 1-1.
    let t = one("xx_sagemcom_xt211_gre5_1-1_channel.txt");
    assert_eq!(t.imported[1], q(1_595_070, 3, Unit::KWh));
    assert_eq!(
        t.month_peak.map(|p| p.value.value),
        Some(Fixed::new(15_206, 3))
    );
}

#[test]
fn dsmr22_and_30() {
    let t = one("nl_dsmr22_kaifa_kfm.txt");
    assert_eq!(t.crc, CrcStatus::Missing);
    assert_eq!(t.verify(false), Ok(()));
    assert_eq!(t.imported[1], q(185_000, 3, Unit::KWh));
    assert_eq!(t.threshold, q(999, 0, Unit::A));
    assert_eq!(t.mbus[0].device_type, Some(3));
    let gas = t.mbus[0].reading.expect("gas");
    assert_eq!(gas.value.value, Fixed::new(124_477, 3));
    // Flagless time in Europe/Amsterdam: 2012-05-17 02:00 CEST.
    assert_eq!(gas.time.to_unix(&Zone::CET), 1_337_212_800);
    let t = one("nl_dsmr30_iskra_mt382_spec.txt");
    assert_eq!(t.threshold, q(16, 0, Unit::A));
    assert_eq!(t.power_import, q(119, 2, Unit::KW));
    assert!(t.text_message.is_some());
}

#[test]
fn text_message_with_slash_does_not_cut_the_telegram() {
    // The capture lacks its final "!" line; a meter sends one.
    let mut input = fixture("nl_dsmr30_iskra_mt382_textmsg_nocrc.txt");
    input.extend_from_slice(b"!\r\n");
    let (t, bad) = decode_all(&input);
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].text_message.map(|s| t[0].str(s)), Some("test-/-test"));
    assert!(t[0].mbus[0].reading.is_some());
    // Without the "!" line the capture is reported incomplete, not decoded.
    let (t, bad) = decode_all(&fixture("nl_dsmr30_iskra_mt382_textmsg_nocrc.txt"));
    assert!(t.is_empty());
    assert!(matches!(bad[..], [FrameError::Incomplete { .. }]));
}

#[test]
fn spec_typos_and_obis_255() {
    let t = one("nl_dsmr40_iskra_mt382_spec_typos.txt");
    assert_eq!(t.power_failure_log.len(), 2);
    assert!(t.phases[2].voltage_sags.is_some()); // 1-0:72:32.0
    assert!(matches!(
        t.crc,
        CrcStatus::Mismatch {
            sent: 0x522B,
            computed: 0xF46A
        }
    ));
    let t = one("nl_dsmr422_iskra_spec_obis255.txt");
    assert_eq!(t.phases[0].current, q(1, 0, Unit::A)); // 1-0:31.7.0.255
}

#[test]
fn corrupted_telegrams_are_rejected_cleanly() {
    // Transmission damage: CRC mismatch; damaged lines are field errors.
    let t = one("nl_dsmr50_sagemcom_t210d_corrupted_issue483.txt");
    assert!(matches!(
        t.verify(false),
        Err(dsmr_engine::Error::CrcMismatch {
            sent: 0x6D8C,
            computed: 0x8BDC
        })
    ));
    assert!(t
        .errors
        .iter()
        .any(|e| e.kind == FieldErrorKind::MalformedLine));
    // Cut off, no "!" line: never decoded.
    let (t, bad) = decode_all(&fixture(
        "nl_dsmr50_landisgyr_e360_corrupted_truncated_issue1408.txt",
    ));
    assert!(t.is_empty());
    assert_eq!(bad.len(), 1);
    // Seven aborted telegrams and noise: six truncations and a CRC mismatch.
    let (t, bad) = decode_all(&fixture("nl_dsmr50_iskra_overflow_garbage_stream.txt"));
    assert_eq!(bad.len(), 6);
    assert!(bad
        .iter()
        .all(|e| matches!(e, FrameError::Truncated { .. })));
    assert_eq!(t.len(), 1);
    assert!(t[0].verify(false).is_err());
}

#[test]
fn one_bad_value_costs_only_that_field() {
    let text = b"/ISK5\\2M550E\r\n\r\n1-0:1.8.1(0005x6.239*kWh)\r\n1-0:1.8.2(000465.162*V)\r\n1-0:2.8.1(000001.000*kWh)\r\n0-0:1.0.0(191332181403W)\r\n0-0:96.99.9(hello)\r\ngarbage line\r\n!";
    let t = Telegram::decode(text).expect("decodes");
    assert_eq!(t.imported[1], None);
    assert_eq!(t.imported[2], None);
    assert_eq!(t.exported[1], q(1_000, 3, Unit::KWh));
    assert_eq!(t.timestamp, None);
    let kinds: Vec<(u32, FieldErrorKind)> = t.errors.iter().map(|e| (e.line, e.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (3, FieldErrorKind::BadNumber { group: 0 }),
            (
                4,
                FieldErrorKind::UnexpectedUnit {
                    group: 0,
                    unit: Unit::V
                }
            ),
            (6, FieldErrorKind::BadTimestamp { group: 0 }),
            (8, FieldErrorKind::MalformedLine),
        ]
    );
    assert_eq!(t.errors[0].obis, Some(Obis::new(1, 0, 1, 8, 1)));
    assert_eq!(
        t.errors[0].to_string(),
        "line 3 (1-0:1.8.1): value 0 is not a number"
    );
    assert_eq!(t.unknown.len(), 1);
    assert_eq!(t.str(t.unknown[0].value), "(hello)");
}

#[test]
fn crc_case_short_and_missing_on_dsmr5() {
    let body = b"/ISK5\\2M550E\r\n\r\n1-3:0.2.8(50)\r\n!".to_vec();
    let crc = dsmr_engine::crc::crc16_arc(&body);
    for digits in [format!("{crc:04X}"), format!("{crc:04x}")] {
        let mut t = body.clone();
        t.extend_from_slice(digits.as_bytes());
        assert_eq!(
            Telegram::decode(&t).expect("decodes").crc,
            CrcStatus::Valid(crc)
        );
    }
    // A DSMR 5 telegram without its CRC is refused unless the source allows it.
    let t = Telegram::decode(&body).expect("decodes");
    assert!(matches!(
        t.verify(false),
        Err(dsmr_engine::Error::MissingCrc { .. })
    ));
    assert_eq!(t.verify(true), Ok(()));
    assert_eq!(
        Telegram::decode(b"no header!").err(),
        Some(dsmr_engine::Error::NoHeader)
    );
    assert_eq!(
        Telegram::decode(b"/ISK5 x\r\n1-0:1.8.1(1)").err(),
        Some(dsmr_engine::Error::NoEnd)
    );
}

#[test]
fn flagless_belgian_timestamp_is_local_time() {
    let t = one("be_iskra_ie5t_no_dst_flag_issue90797.txt");
    let ts = t.timestamp.expect("ts");
    assert_eq!(ts.dst, Dst::Unknown);
    assert_eq!(ts.to_unix(&Zone::CET), 1_680_636_664); // 2023-04-04 21:31:04 CEST
    assert_eq!(ts.to_unix(&Zone::UTC), 1_680_643_864);
    assert_eq!(
        t.device_id.map(|s| t.str(s)).map(str::len),
        Some(t.device_id.map(|s| (s.end - s.start) as usize).unwrap_or(0))
    );
    assert_eq!(Timestamp::parse(b"230404213104"), Some(ts));
}
