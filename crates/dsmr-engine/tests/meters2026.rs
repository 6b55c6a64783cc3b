//! What meters changed lately (issue 14): the Iskra IE.5 2026 firmware's
//! month peak written value first and its tariff 5, Israeli tariffs 11 to
//! 13, Fluvius' 13 months of peak history, Holley's CRC-16/X25 and the
//! Smarty text lines 96.13.2 to 96.13.5. Each on a telegram as the meter
//! sends it (fixtures/), with its real CRC.

mod common;

use common::fixture;
use dsmr_engine::crc::{crc16_arc, crc16_x25};
use dsmr_engine::telegram::{CrcStatus, TariffRegister};
use dsmr_engine::time::Dst;
use dsmr_engine::value::Fixed;
use dsmr_engine::{Acceptance, CrcAlgorithm, Error, Quantity, Telegram, Unit, Zone};

fn one(name: &str) -> Telegram {
    Telegram::decode(&fixture(name)).expect("the fixture decodes")
}

fn kwh(v: i64) -> Quantity {
    Quantity {
        value: Fixed::new(v, 3),
        unit: Unit::KWh,
    }
}

fn tariff(tariff: u8, v: i64) -> TariffRegister {
    TariffRegister {
        tariff,
        value: kwh(v),
    }
}

/// `lines` (CRLF between them, header first) as a meter sends them, closed
/// by `!` and the CRC `crc` gives.
fn telegram(lines: &[&str], crc: fn(&[u8]) -> u16) -> Vec<u8> {
    let mut text = lines.join("\r\n").into_bytes();
    text.extend_from_slice(b"\r\n!");
    let c = crc(&text);
    text.extend_from_slice(format!("{c:04X}\r\n").as_bytes());
    text
}

#[test]
fn iskra_2026_month_peak_value_first_without_flag_and_tariff_5() {
    let t = one("be_iskra_ie5t_2026fw_peak_value_first_tariff5.txt");
    assert_eq!(t.crc, CrcStatus::Valid(0xBFEE));
    assert_eq!(t.verify(false), Ok(()));
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    assert!(t.unknown.is_empty(), "{:?}", t.unknown);
    let peak = t.month_peak.expect("the month peak");
    assert_eq!(
        peak.value,
        Quantity {
            value: Fixed::new(8_796, 3),
            unit: Unit::KW
        }
    );
    let time = peak.time.expect("the peak's time");
    assert_eq!(time.dst, Dst::Unknown);
    // 2026-01-02 01:00 in Brussels (winter, UTC+1), the meter's zone.
    assert_eq!(time.to_unix(&Zone::CET), 1_767_312_000);
    assert_eq!(time.to_unix(&Zone::UTC), 1_767_315_600);
    assert_eq!(t.imported[4], Some(kwh(12_004)));
    assert_eq!(t.imported_more, [tariff(5, 3_221)]);
    assert_eq!(t.exported_more, [tariff(5, 417)]);
    let imported: Vec<u8> = t.imported_tariffs().map(|r| r.tariff).collect();
    assert_eq!(imported, [1, 2, 3, 4, 5]);
    assert_eq!(t.tariff, Some(5));
}

#[test]
fn month_peak_in_either_order_with_or_without_the_flag() {
    // Summer: 2026-07-02 03:00 CEST is 01:00 UTC, flag or not.
    for group in [
        "(260702030000S)(08.796*kW)",
        "(08.796*kW)(260702030000S)",
        "(260702030000)(08.796*kW)",
        "(08.796*kW)(260702030000)",
        "(260702030000S)(08.796)",
        "(08.796)(260702030000)",
    ] {
        let line = format!("1-0:1.6.0{group}");
        let raw = telegram(&["/ISk5\\2MIE5T-200", "", &line], crc16_arc);
        let t = Telegram::decode(&raw).expect("decodes");
        assert!(t.errors.is_empty(), "{group}: {:?}", t.errors);
        let peak = t.month_peak.expect(group);
        assert_eq!(peak.value.value, Fixed::new(8_796, 3), "{group}");
        assert_eq!(peak.value.unit, Unit::KW, "{group}");
        let at = peak.time.map(|t| t.to_unix(&Zone::CET));
        assert_eq!(at, Some(1_782_954_000), "{group}");
    }
    // A placeholder time keeps the value, in either order.
    for group in ["(632525252525W)(01.000*kW)", "(01.000*kW)(632525252525W)"] {
        let line = format!("1-0:1.6.0{group}");
        let raw = telegram(&["/ISk5\\2MIE5T-200", "", &line], crc16_arc);
        let t = Telegram::decode(&raw).expect("decodes");
        let peak = t.month_peak.expect(group);
        assert_eq!((peak.time, peak.value.value), (None, Fixed::new(1_000, 3)));
    }
}

#[test]
fn israeli_tariffs_11_to_13() {
    let t = one("il_tou_tariffs_11_13.txt");
    assert_eq!(t.verify(false), Ok(()));
    assert!(t.unknown.is_empty(), "{:?}", t.unknown);
    assert_eq!(t.imported[0], Some(kwh(12_345_678)));
    assert_eq!(t.imported[1..], [None; 4]);
    let imported: Vec<_> = t.imported_tariffs().collect();
    assert_eq!(
        imported,
        [
            tariff(11, 6_012_345),
            tariff(12, 4_210_002),
            tariff(13, 2_123_331)
        ]
    );
    let exported: Vec<u8> = t.exported_tariffs().map(|r| r.tariff).collect();
    assert_eq!(exported, [11, 12, 13]);
    assert_eq!(t.tariff, Some(12));
}

#[test]
fn tariffs_above_4_are_one_entry_each_in_tariff_order_and_make_a_telegram() {
    let raw = telegram(
        &[
            "/XYZ5 meter",
            "",
            "1-0:1.8.13(3.000*kWh)",
            "1-0:1.8.250(1.000*kWh)",
            "1-0:1.8.13(4.000*kWh)",
            "1-0:1.8.5()",
        ],
        crc16_arc,
    );
    let t = Telegram::decode(&raw).expect("decodes");
    assert_eq!(t.imported_more, [tariff(13, 4_000), tariff(250, 1_000)]);
    // A tariff above 4 is the register a telegram must hold (it has no other).
    assert_eq!(t.plausible_without_crc(), Ok(()));
    assert_eq!(t.verify(false), Ok(()));
}

#[test]
fn fluvius_13_months_of_peak_history() {
    let t = one("be_fluvius_2026_peak_history_13.txt");
    assert_eq!(t.verify(false), Ok(()));
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    assert_eq!(t.peak_history.len(), 13);
    let last = t.peak_history[12];
    assert_eq!(last.value.value, Fixed::new(5_266, 3));
    assert_eq!(
        last.period_start.map(|p| (p.year, p.month, p.day)),
        Some((2026, 1, 1))
    );
}

#[test]
fn peak_history_of_any_length_is_kept_whole() {
    // 100 entries: more than any cap the decoder had (64), far fewer than
    // the framer's size limit allows.
    let mut line = String::from("0-0:98.1.0(100)(1-0:1.6.0)(1-0:1.6.0)");
    for i in 0..100 {
        line.push_str(&format!(
            "({:02}{:02}01000000W)(632525252525W)({:02}.{:03}*kW)",
            i / 12,
            i % 12 + 1,
            i % 10,
            i
        ));
    }
    let raw = telegram(
        &["/FLU5\\253769484_A", "", "0-0:96.1.4(50221)", &line],
        crc16_arc,
    );
    let t = Telegram::decode(&raw).expect("decodes");
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    assert_eq!(t.peak_history.len(), 100);
    assert_eq!(t.peak_history[99].value.value, Fixed::new(9_099, 3));
}

#[test]
fn holley_dtsd545_crc_x25() {
    let t = one("hu_holley_dtsd545_crc_x25.txt");
    assert_eq!(t.crc, CrcStatus::Valid(0xBA0C));
    assert_eq!(t.crc_algorithm, CrcAlgorithm::X25);
    assert_eq!(t.verify(false), Ok(()));
    assert_eq!(t.manufacturer(), "HLY");
    assert_eq!(t.imported[0], Some(kwh(7_137_694)));
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    let mut a = Acceptance::new();
    assert_eq!(a.check(&t), Ok(()));
    assert_eq!(a.crc_algorithm(), Some(CrcAlgorithm::X25));
}

/// The Holley fixture's lines under another header, or with another CRC.
fn holley_lines(header: &'static str) -> Vec<&'static str> {
    let text = include_str!("../../../fixtures/hu_holley_dtsd545_crc_x25.txt");
    let mut lines: Vec<&str> = text
        .split("\r\n")
        .take_while(|l| !l.starts_with('!'))
        .collect();
    lines[0] = header;
    lines
}

#[test]
fn x25_only_for_a_holley_header() {
    // The same text under another maker's header with an X25 CRC: refused.
    let raw = telegram(&holley_lines("/SAG5SAG-METER"), crc16_x25);
    let t = Telegram::decode(&raw).expect("decodes");
    assert!(matches!(t.crc, CrcStatus::Mismatch { .. }), "{:?}", t.crc);
    assert_eq!(t.crc_algorithm, CrcAlgorithm::Arc);
    assert!(matches!(t.verify(false), Err(Error::CrcMismatch { .. })));
    // Lower-case third letter (IEC's reaction-time mark): still Holley.
    let raw = telegram(&holley_lines("/HLy5\\D545-METER"), crc16_x25);
    let t = Telegram::decode(&raw).expect("decodes");
    assert_eq!(t.crc_algorithm, CrcAlgorithm::X25);
    assert_eq!(t.verify(false), Ok(()));
}

#[test]
fn a_holley_meter_keeps_the_crc_it_started_with() {
    let x25 = telegram(&holley_lines("/HLY5\\D545-METER"), crc16_x25);
    let arc = telegram(&holley_lines("/HLY5\\D545-METER"), crc16_arc);
    let (tx, ta) = (
        Telegram::decode(&x25).expect("decodes"),
        Telegram::decode(&arc).expect("decodes"),
    );
    // A Holley that sends the DSMR CRC is accepted as such.
    assert_eq!(ta.crc_algorithm, CrcAlgorithm::Arc);
    assert_eq!(ta.verify(false), Ok(()));
    // After X25, a telegram that matches only ARC is damage, and the
    // reverse: the error gives the CRC of the meter's own algorithm.
    let mut a = Acceptance::new();
    assert_eq!(a.check(&tx), Ok(()));
    let want = crc16_x25(ta.crc_covered());
    assert!(matches!(
        a.check(&ta),
        Err(Error::CrcMismatch { computed, .. }) if computed == want
    ));
    let mut a = Acceptance::new();
    assert_eq!(a.check(&ta), Ok(()));
    assert!(matches!(a.check(&tx), Err(Error::CrcMismatch { .. })));
    assert_eq!(a.crc_algorithm(), Some(CrcAlgorithm::Arc));
    // And it must keep sending a CRC.
    let bang = x25.iter().rposition(|&b| b == b'!').expect("!");
    let cut = Telegram::decode(&x25[..=bang]).expect("decodes");
    let mut a = Acceptance::new();
    assert_eq!(a.check(&tx), Ok(()));
    assert_eq!(a.check(&cut), Err(Error::CrcDropped));
}

#[test]
fn a_damaged_holley_telegram_is_refused() {
    let raw = fixture("hu_holley_dtsd545_crc_x25.txt");
    let bang = raw.iter().rposition(|&b| b == b'!').expect("!");
    for at in 6..bang {
        if matches!(raw[at], b'\r' | b'\n' | b'!' | b'/') {
            continue;
        }
        let mut bad = raw.clone();
        bad[at] ^= 0x01;
        let t = Telegram::decode(&bad).expect("decodes");
        assert!(t.verify(false).is_err(), "byte {at} flipped was accepted");
    }
}

#[test]
fn smarty_text_lines_are_known() {
    let t = one("lu_smarty_spec_example_4mbus.txt");
    assert!(
        !t.unknown.iter().any(|u| (u.obis.c, u.obis.d) == (96, 13)),
        "{:?}",
        t.unknown
    );
    assert_eq!(t.text_messages_extra, [None; 4]);
    let raw = telegram(
        &[
            "/Lux5\\253694471_M",
            "",
            "1-3:0.2.8(42)",
            "0-0:96.13.2(4F6E6465726875640A)",
            "0-0:96.13.3()",
            "0-0:96.13.5(31)",
        ],
        crc16_arc,
    );
    let t = Telegram::decode(&raw).expect("decodes");
    assert!(t.unknown.is_empty(), "{:?}", t.unknown);
    let texts = t.text_messages_extra.map(|s| s.map(|s| t.str(s)));
    assert_eq!(texts, [Some("4F6E6465726875640A"), None, None, Some("31")]);
}

/// Every telegram of the corpus, masked: the same length, accepted as the
/// original was (its CRC computed again, X25 for the Holley), the same
/// values, and none of its identifiers left.
#[test]
fn masked_telegrams_keep_everything_but_the_ids() {
    let mut names: Vec<String> = std::fs::read_dir(common::fixtures_dir())
        .expect("fixtures/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    let mut masked_ids = 0;
    for name in &names {
        let Ok(t) = Telegram::decode(&fixture(name)) else {
            continue;
        };
        let m = Telegram::decode(&t.masked()).expect("the masked telegram decodes");
        assert_eq!(m.crc_covered().len(), t.crc_covered().len(), "{name}");
        if !matches!(t.crc, CrcStatus::Valid(_)) {
            assert_eq!(m.raw().len(), t.raw().len(), "{name}");
            let sent = |t: &Telegram| match t.crc {
                CrcStatus::Mismatch { sent, .. } => Some(sent),
                _ => None,
            };
            assert_eq!(sent(&m), sent(&t), "{name}");
        }
        assert_eq!(m.verify(true).is_ok(), t.verify(true).is_ok(), "{name}");
        assert_eq!(m.crc_algorithm, t.crc_algorithm, "{name}");
        assert_eq!(m.imported, t.imported, "{name}");
        assert_eq!(m.timestamp, t.timestamp, "{name}");
        assert_eq!(m.errors.len(), t.errors.len(), "{name}");
        let ids = |t: &Telegram| {
            [t.equipment_id, t.serial, t.ean, t.logical_name, t.device_id]
                .into_iter()
                .chain(t.mbus.iter().map(|m| m.equipment_id))
                .map(|s| s.map(|s| t.str(s).to_owned()))
                .collect::<Vec<_>>()
        };
        for (a, b) in ids(&t).into_iter().zip(ids(&m)) {
            let (Some(a), Some(b)) = (a, b) else { continue };
            assert_eq!(a.len(), b.len(), "{name}");
            if a.len() > 2 && a.bytes().any(|c| c != b'0') {
                assert_ne!(a, b, "{name}: {a} left as is");
                masked_ids += 1;
            }
            assert_eq!(
                (a.chars().next(), a.chars().last()),
                (b.chars().next(), b.chars().last())
            );
        }
    }
    assert!(masked_ids > 30, "only {masked_ids} ids masked");
    // The header's serial, and the CRC again.
    let t = one("be_fluvius_2026_peak_history_13.txt");
    let m = Telegram::decode(&t.masked()).expect("decodes");
    assert_eq!(m.header(), "FLU5\\2XXXXXXX4_A");
    assert_eq!(m.verify(false), Ok(()));
    assert!(matches!(m.crc, CrcStatus::Valid(c) if c != 0x88C9));
}
