//! Issue #12 end to end: `dsmr-exporter parse` of noise (a wrong baud rate,
//! an uninverted cable) exits non-zero and says why, and a meter's pipeline
//! keeps its telegram when noise frames after it.

mod common;

use common::bin::{parse_stdin, text};
use dsmr_engine::Zone;
use dsmr_exporter::source::Pipeline;
use dsmr_exporter::state::Meter;

/// SplitMix64 bytes: deterministic noise without a dependency.
fn noise(seed: u64, len: usize, map: impl Fn(u8) -> u8) -> Vec<u8> {
    let mut s = seed;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        v.extend((z ^ (z >> 31)).to_le_bytes().map(&map));
    }
    v.truncate(len);
    v
}

/// Noise of P1 characters with even parity: it frames often.
fn p1_noise(seed: u64, len: usize) -> Vec<u8> {
    const A: &[u8] =
        b"0123456789ABCDEFKMWXZabcdefhkmsvw-:.()*/!\\ \r\n\r\n\r\n(((((()))))))!!!!////";
    noise(seed, len, |b| {
        let c = A[b as usize % A.len()];
        c | (((c.count_ones() & 1) as u8) << 7)
    })
}

/// A `parse` line of a refused frame: dropped with its reason, or shown
/// with a CRC that does not match (as a damaged meter telegram is).
fn refused(line: &str) -> bool {
    line.starts_with(r#"{"discarded":"#) || line.starts_with(r#"{"crc":{"status":"mismatch""#)
}

#[test]
fn parse_of_noise_exits_non_zero_and_says_why() {
    let inputs = [
        ("uniform", noise(1, 256 << 10, |b| b)),
        ("high bit set", noise(2, 256 << 10, |b| b | 0x80)),
        ("high bit cleared", noise(3, 256 << 10, |b| b & 0x7f)),
        ("P1 characters, 7E1", p1_noise(4, 256 << 10)),
    ];
    for (what, input) in inputs {
        let out = parse_stdin(input);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(
            err.contains("none is valid") || err.contains("no '/' header"),
            "{what}: {err}"
        );
        for line in text(&out.stdout).lines() {
            assert!(refused(line), "{what}: {line}");
        }
    }
    // The P1-character noise frames, and is refused as noise.
    let out = parse_stdin(p1_noise(5, 256 << 10));
    assert!(
        text(&out.stderr).contains("refused as noise") || text(&out.stdout).contains("as noise"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn parse_of_a_meter_and_then_noise_shows_the_meter_and_exits_zero() {
    let mut input = common::fixture("nl_dsmr50_iskra_am550t_two_mbus.txt");
    input.extend_from_slice(b"\r\n/ABC5\r\n\r\n!\r\n");
    input.extend(p1_noise(6, 64 << 10));
    let out = parse_stdin(input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let mut lines = stdout.lines();
    assert!(lines
        .next()
        .is_some_and(|l| l.contains(r#""status":"valid""#)));
    assert!(lines.all(refused), "{stdout}");
}

#[test]
fn noise_after_a_meter_never_replaces_its_telegram() {
    for (fixture, crc) in [
        ("nl_dsmr50_iskra_am550t_two_mbus.txt", true),
        ("nl_dsmr22_kaifa_kfm.txt", false),
        ("nl_dsmr30_iskra_mt382_spec.txt", false),
    ] {
        let meter = Meter::new("main", Zone::CET);
        let mut p = Pipeline::new(meter.clone());
        p.feed(&common::fixture(fixture));
        p.feed(b"\r\n");
        let before = meter.lock().ok;
        assert!(before >= 1, "{fixture}");
        p.feed(b"/ABC5\r\n\r\n!\r\n");
        for seed in 0..4 {
            p.feed(&p1_noise(seed, 256 << 10));
            p.feed(&noise(seed, 256 << 10, |b| b));
        }
        p.finish();
        let st = meter.lock();
        assert_eq!(st.ok, before, "{fixture}");
        assert!(st.crc_mismatch + st.malformed > 10, "{fixture}");
        let t = st.telegram.as_ref().expect("the meter's telegram");
        assert_eq!(t.crc == dsmr_engine::CrcStatus::Missing, !crc, "{fixture}");
        assert!(
            t.imported.iter().any(Option::is_some),
            "{fixture}: its energy is still there"
        );
    }
}
