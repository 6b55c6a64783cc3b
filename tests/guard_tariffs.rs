//! The register guard on a tariff above 4, through the built binary: a
//! replayed Belgian Iskra IE.5 whose `1-0:1.8.5` register glitches (a tenth
//! once, ten times once, a missing line once), scraped all along. The
//! series never goes backwards, never shows a glitch, never vanishes, and
//! the two rejections are counted by register and reason; the JSON API's
//! "today" counts it from the first telegram.

mod common;

use common::bin::{cmd, scrape, start, telegrams};
use common::fixture;
use dsmr_engine::crc::crc16_arc;
use std::time::{Duration, Instant};

const FIXTURE: &str = "guard/be_iskra_ie5t_tariff5_glitch.txt";

/// Telegrams in the fixture, one per 10 s of meter time.
const TELEGRAMS: usize = 20;

/// What the series must show after telegram `i`, in Wh: the true register
/// (3221 Wh + 1 Wh per telegram), and the last good value where the
/// fixture glitches: 8 at a tenth, 12 ten times too high, 15 no line.
fn shown_wh(i: usize) -> i64 {
    let held = match i {
        8 | 12 | 15 => i - 1,
        _ => i,
    };
    3_221 + held as i64
}

/// `name{…}` with all of `labels`, as a number.
fn sample(body: &str, name: &str, labels: &[&str]) -> Option<f64> {
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn the_fixture_is_whole_telegrams_with_valid_crcs() {
    let text = fixture(FIXTURE);
    let mut rest = &text[..];
    let mut n = 0;
    while !rest.is_empty() {
        let bang = rest.iter().position(|&b| b == b'!').expect("a '!'");
        let crc = std::str::from_utf8(&rest[bang + 1..bang + 5]).expect("ASCII");
        let want = format!("{:04X}", crc16_arc(&rest[..=bang]));
        assert_eq!(crc, want, "telegram {n}");
        assert_eq!(&rest[bang + 5..bang + 7], b"\r\n", "telegram {n}");
        rest = &rest[bang + 7..];
        n += 1;
    }
    assert_eq!(n, TELEGRAMS);
}

#[test]
fn a_glitching_tariff_5_register_never_goes_backwards_and_is_counted() {
    let (_child, addr, _log) = start(cmd().args([
        "--web.listen-address",
        "127.0.0.1:0",
        "--meter",
        "be",
        "--replay",
        &format!("fixtures/{FIXTURE}"),
        "--replay-interval",
        "250ms",
    ]));
    let series = ["meter=\"be\"", "tariff=\"5\""];
    let import = "dsmr_electricity_imported_joules_total";
    let deadline = Instant::now() + Duration::from_secs(25);
    let mut seen = vec![false; TELEGRAMS];
    let body = loop {
        let body = scrape(&addr, "/metrics").unwrap_or_default();
        let ok = telegrams(&body, "be", "ok").unwrap_or(0.0) as usize;
        if (1..=TELEGRAMS).contains(&ok) {
            let i = ok - 1;
            let got = sample(&body, import, &series);
            let want = (shown_wh(i) * 3_600) as f64;
            assert_eq!(got, Some(want), "after telegram {i}:\n{body}");
            seen[i] = true;
        }
        if ok == TELEGRAMS {
            break body;
        }
        assert!(Instant::now() < deadline, "replay not done:\n{body}");
        std::thread::sleep(Duration::from_millis(20));
    };
    for glitch in [8, 12, 15] {
        assert!(seen[glitch], "no scrape saw telegram {glitch}: {seen:?}");
    }
    let rejections = "dsmr_register_rejections_total";
    let counted = |register: &str, reason: &str| {
        let labels = [
            "meter=\"be\"",
            &format!("register=\"{register}\"") as &str,
            &format!("reason=\"{reason}\""),
        ];
        sample(&body, rejections, &labels)
    };
    assert_eq!(counted("1-0:1.8.5", "backwards"), Some(1.0), "{body}");
    assert_eq!(counted("1-0:1.8.5", "jump"), Some(1.0), "{body}");
    assert_eq!(counted("1-0:2.8.5", "backwards"), Some(0.0), "{body}");
    let exported = "dsmr_electricity_exported_joules_total";
    assert_eq!(sample(&body, exported, &series), Some(417.0 * 3_600.0));
    let field_errors = sample(&body, "dsmr_field_errors_total", &["meter=\"be\""]);
    assert_eq!(field_errors, Some(0.0), "{body}");
    // "Today" counts tariff 5 from the first telegram: 19 Wh, exactly.
    let api = scrape(&addr, "/api/v1/meters").expect("the API answers");
    let doc: serde_json::Value = serde_json::from_str(&api).expect("JSON");
    let today = &doc["meters"][0]["today"];
    let t5 = &today["imported"]["tariff_5"];
    assert_eq!(t5["value"].to_string(), "0.019", "{api}");
    assert_eq!(t5["base_value"].to_string(), "68400", "{api}");
    assert_eq!(today["exported"]["tariff_5"]["base_value"].to_string(), "0");
}
