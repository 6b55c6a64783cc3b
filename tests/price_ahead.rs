//! The prices known ahead, end to end: the real binary reads a price file
//! that reaches three days into the future and bills a meter whose clock is
//! now; its `/metrics` show `dsmr_price_ahead` for each interval from the
//! one in force to two days later, import and export each through their
//! own mark-up, tax and VAT, exactly; promtool has nothing to say.

mod common;
use common::clock::{meter_time, rfc3339};

use common::bin::{cmd, scrape_until, start, telegrams};
use common::TempDir;
use dsmr_engine::crc::crc16_arc;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A DSMR 5 telegram with a CRC at meter time `at`.
fn telegram(at: i64, wh: u64) -> String {
    let body = format!(
        "/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n0-0:1.0.0({})\r\n\
         0-0:96.1.1(4530303034303031353934373534343134)\r\n\
         1-0:1.8.1({:06}.{:03}*kWh)\r\n1-0:1.8.2(000000.000*kWh)\r\n\
         1-0:2.8.1(000000.000*kWh)\r\n1-0:2.8.2(000000.000*kWh)\r\n\
         0-0:96.14.0(0001)\r\n1-0:1.7.0(00.500*kW)\r\n1-0:2.7.0(00.000*kW)\r\n!",
        meter_time(at),
        wh / 1000,
        wh % 1000,
    );
    format!("{body}{:04X}\r\n", crc16_arc(body.as_bytes()))
}

/// The spot price of quarter `i` in nanos of a euro: up and down, below
/// zero at times, with eight decimals (finer than any supplier writes),
/// so the VAT of 9.5 % has to round.
fn spot(i: i64) -> i64 {
    (i * 7_919 % 41 - 12) * 1_013_370
}

/// `(spot + markup + tax) * (1 + vat_ppm / 10^6)`, rounded half away from
/// zero to a nano, in integers: what the docs promise.
fn all_in(spot: i64, markup: i64, tax: i64, vat_ppm: i64) -> i64 {
    let num = i128::from(spot + markup + tax) * i128::from(1_000_000 + vat_ppm);
    let (q, r) = (num / 1_000_000, num % 1_000_000);
    (if r.abs() * 2 >= 1_000_000 {
        q + num.signum()
    } else {
        q
    }) as i64
}

/// `nanos` written as a decimal of nine places.
fn decimal(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let a = nanos.unsigned_abs();
    format!("{sign}{}.{:09}", a / 1_000_000_000, a % 1_000_000_000)
}

/// Every `dsmr_price_ahead` sample of `direction`: start label to value.
fn ahead(body: &str, direction: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| l.starts_with("dsmr_price_ahead{"))
        .filter(|l| l.contains(&format!("direction=\"{direction}\"")))
        .map(|l| {
            let start = l
                .split("start=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let v: f64 = l.rsplit(' ').next().unwrap().parse().unwrap();
            (start.to_owned(), v)
        })
        .collect()
}

#[test]
fn prices_ahead_are_the_files_prices_through_each_sides_formula_exactly() {
    let dir = TempDir::new("price-ahead");
    let t = now();
    let quarter = t / 900 * 900;
    // An hour of the past and three days ahead.
    let first = quarter - 3_600;
    let rows: Vec<String> = (0..4 + 3 * 96)
        .map(|i| format!("{},{}\n", rfc3339(first + i * 900), decimal(spot(i))))
        .collect();
    dir.write("prices.csv", format!("start,price\n{}", rows.concat()));
    dir.write(
        "t.txt",
        [telegram(t - 1, 1_000_000), telegram(t, 1_000_100)].concat(),
    );
    let config = dir.write(
        "c.toml",
        "[web]\nlisten_address = \"127.0.0.1:0\"\n\n[[meter]]\nname = \"house\"\n\
         replay = { file = \"t.txt\", interval = \"20ms\" }\n\
         [meter.prices.electricity.import]\nfile = \"prices.csv\"\n\
         markup = \"0.0182\"\ntax = \"0.10154\"\nvat = 21\n\
         [meter.prices.electricity.export]\nfile = \"prices.csv\"\nmarkup = \"-0.0215\"\nvat = \"9.5\"\n",
    );
    let (_child, addr, _log) = start(cmd().arg("--config").arg(&config));
    let body = scrape_until(&addr, "both telegrams", |b| {
        telegrams(b, "house", "ok") == Some(2.0)
    });

    for (direction, markup, tax, vat) in [
        ("import", 18_200_000, 101_540_000, 210_000),
        ("export", -21_500_000, 0, 95_000),
    ] {
        let got = ahead(&body, direction);
        // From the quarter in force (index 4) to two days after the meter's
        // time: the quarters that start before t + 2 days.
        let expected: BTreeMap<String, f64> = (4..4 + 3 * 96)
            .filter(|i| first + i * 900 < t + 2 * 86_400)
            .map(|i| {
                let p = all_in(spot(i), markup, tax, vat);
                (rfc3339(first + i * 900), p as f64 / 1e9)
            })
            .collect();
        assert_eq!(expected.len(), 192 + usize::from(t % 900 != 0));
        let firsts: Vec<_> = got.keys().take(2).collect();
        assert_eq!(
            firsts,
            expected.keys().take(2).collect::<Vec<_>>(),
            "{direction}"
        );
        assert_eq!(got, expected, "{direction}\n{body}");
    }
    // The labels: meter, commodity, direction, currency, start; no more.
    let line = body
        .lines()
        .find(|l| l.starts_with("dsmr_price_ahead{"))
        .expect("a sample");
    assert!(
        line.starts_with(&format!(
            "dsmr_price_ahead{{meter=\"house\",commodity=\"electricity\",direction=\"import\",currency=\"EUR\",start=\"{}\"}}",
            rfc3339(quarter)
        )),
        "{line}"
    );
    assert!(body.contains("# TYPE dsmr_price_ahead gauge"), "{body}");
    promtool_check_metrics(&body);
}

/// `promtool check metrics` has nothing to say about the exposition.
fn promtool_check_metrics(body: &str) {
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (bash scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{body}"
    );
}
