//! What the energy costs, end to end: the real binary with `--config`
//! replays telegrams across price changes and its `/metrics` are checked
//! to the cent, for fixed prices, a CSV price file and an ENTSO-E
//! stand-in server (with the store kept across a restart), and a missing
//! price stops the cost and sets `dsmr_price_available` to 0.

mod common;
use common::clock::rfc3339;
use common::priced::{base, telegram};

use common::bin::{cmd, scrape_until, start, telegrams};
use common::prometheus::assert_promtool_silent;
use common::TempDir;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

/// The value of the first sample of `name` whose labels contain all of
/// `labels`.
fn value(body: &str, name: &str, labels: &[&str]) -> Option<f64> {
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|x| l.contains(x)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Cents, rounded: what a bill shows.
fn cents(v: Option<f64>) -> Option<i64> {
    v.map(|v| (v * 100.0).round() as i64)
}

/// Runs the exporter on `config` (written into `dir` with the replay of
/// `telegrams`) until all telegrams are in; the scrape then.
fn run(dir: &TempDir, config: &str, lines: &[String], env: &[(&str, &str)]) -> String {
    dir.write("t.txt", lines.concat());
    let path = dir.write(
        "c.toml",
        format!(
            "[web]\nlisten_address = \"127.0.0.1:0\"\n\n[[meter]]\nname = \"house\"\n\
             replay = {{ file = \"t.txt\", interval = \"20ms\" }}\n{config}"
        ),
    );
    let mut c = cmd();
    c.arg("--config").arg(&path);
    for (k, v) in env {
        c.env(k, v);
    }
    let (_child, addr, _log) = start(&mut c);
    let n = lines.len() as f64;
    scrape_until(&addr, "every telegram", |b| {
        telegrams(b, "house", "ok") == Some(n)
    })
}

const EUR: &str = "currency=\"EUR\"";

#[test]
fn fixed_prices_bill_each_tariff_gas_export_and_standing_charges_to_the_cent() {
    let dir = TempDir::new("cost-fixed");
    let b = base();
    let lines = [
        telegram(b, 1_000_000, 2_000_000, 500_000, 100_000),
        telegram(b + 900, 1_000_000, 2_001_234, 500_500, 100_250),
        // Tariff 2 glitches backwards: held by the guard, never billed.
        telegram(b + 1_800, 1_000_000, 200_000, 500_500, 100_250),
        telegram(b + 2_700, 1_000_000, 2_002_000, 500_500, 100_250),
    ];
    let config = "[meter.prices]\nfixed_per_day = \"0.864\"\n\
                  [meter.prices.electricity.import]\ntariff1 = \"0.20\"\ntariff2 = 0.30\n\
                  [meter.prices.electricity.export]\nprice = \"0.07\"\n\
                  [meter.prices.gas]\nprice = \"1.40\"\n";
    let body = run(&dir, config, &lines, &[]);
    let cost = |c: &str| {
        value(
            &body,
            "dsmr_cost_total",
            &[&format!("commodity=\"{c}\""), EUR],
        )
    };
    // 2.000 kWh at 0.30.
    assert_eq!(cost("electricity"), Some(0.6), "{body}");
    // 0.25 m3 at 1.40.
    assert_eq!(cents(cost("gas")), Some(35));
    // 45 minutes of 0.864 a day: 0.027.
    assert_eq!(cost("fixed"), Some(0.027));
    // 0.5 kWh at 0.07.
    assert_eq!(value(&body, "dsmr_earnings_total", &[EUR]), Some(0.035));
    let price = value(
        &body,
        "dsmr_price",
        &[
            "commodity=\"electricity\"",
            "direction=\"import\"",
            "unit=\"kWh\"",
        ],
    );
    assert_eq!(price, Some(0.3), "the active tariff is 2");
    let available = value(&body, "dsmr_price_available", &["commodity=\"gas\""]);
    assert_eq!(available, Some(1.0));
    assert_promtool_silent(&body);
}

#[test]
fn a_csv_price_file_bills_each_quarter_hour_and_a_missing_price_stops_the_cost() {
    let dir = TempDir::new("cost-csv");
    let b = base();
    dir.write(
        "prices.csv",
        format!(
            "start,price\n{},0.10\n{},0.20\n",
            rfc3339(b),
            rfc3339(b + 900)
        ),
    );
    let lines = [
        telegram(b + 300, 1_000_000, 2_000_000, 0, 0),
        telegram(b + 600, 1_000_000, 2_001_000, 0, 0),
        telegram(b + 1_200, 1_000_000, 2_003_000, 0, 0),
        // After the file's last quarter hour: no price.
        telegram(b + 2_400, 1_000_000, 2_004_000, 0, 0),
    ];
    let config = "[meter.prices.electricity.import]\nfile = \"prices.csv\"\n\
                  markup = \"0.01\"\ntax = \"0.10\"\nvat = 21\n";
    let body = run(&dir, config, &lines, &[]);
    // (0.10 + 0.11) * 1.21 = 0.2541 for 1 kWh, (0.20 + 0.11) * 1.21 =
    // 0.3751 for 2 kWh: 1.0043; the last kWh has no price.
    let cost = value(&body, "dsmr_cost_total", &["commodity=\"electricity\""]);
    assert_eq!(cost, Some(1.0043), "{body}");
    let available = value(&body, "dsmr_price_available", &["direction=\"import\""]);
    assert_eq!(available, Some(0.0));
    assert_eq!(value(&body, "dsmr_price", &["direction=\"import\""]), None);
}

/// A stand-in for ENTSO-E: answers every GET with `xml` and sends each
/// request line.
fn entsoe_stand_in(xml: String) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) <= 2 {
                    break;
                }
            }
            let _ = tx.send(request);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
        }
    });
    (format!("http://{addr}/api"), rx)
}

#[test]
fn entsoe_prices_fill_left_out_positions_and_are_kept_across_a_restart() {
    let dir = TempDir::new("cost-entsoe");
    let b = base();
    // Four quarter hours; position 2 left out (A03): it repeats 100.
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Publication_MarketDocument xmlns=\"urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3\">\
         <TimeSeries><currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH</price_Measure_Unit.name>\
         <curveType>A03</curveType><Period><timeInterval><start>{}</start><end>{}</end></timeInterval>\
         <resolution>PT15M</resolution>\
         <Point><position>1</position><price.amount>100</price.amount></Point>\
         <Point><position>3</position><price.amount>200.5</price.amount></Point>\
         <Point><position>4</position><price.amount>-50</price.amount></Point>\
         </Period></TimeSeries></Publication_MarketDocument>",
        rfc3339(b).replace(":00Z", "Z"),
        rfc3339(b + 3_600).replace(":00Z", "Z"),
    );
    let (url, requests) = entsoe_stand_in(xml);
    let lines = [
        telegram(b + 300, 0, 1_000_000, 500_000, 0),
        // +1 kWh in quarter 2 (100 EUR/MWh), +1 kWh export.
        telegram(b + 1_200, 0, 1_001_000, 501_000, 0),
        // +2 kWh in quarter 3 (200.5 EUR/MWh).
        telegram(b + 2_100, 0, 1_003_000, 501_000, 0),
    ];
    let config = |url: &str| {
        format!(
            "[meter.prices.electricity.import]\nentsoe = \"10YNL----------L\"\n\
             [meter.prices.electricity.export]\nentsoe = \"10YNL----------L\"\nmarkup = \"-0.01\"\n\n\
             [prices]\nentsoe_url = \"{url}\"\nstate_dir = \"state\"\n"
        )
    };
    std::fs::create_dir_all(dir.0.join("state")).unwrap();
    let token = [("DSMR_EXPORTER_ENTSOE_TOKEN", "test-token")];
    let body = run(&dir, &config(&url), &lines, &token);
    // 0.100 + 2 * 0.2005 = 0.501; export: 1 kWh at 0.100 - 0.01.
    let cost = value(&body, "dsmr_cost_total", &["commodity=\"electricity\""]);
    assert_eq!(cost, Some(0.501), "{body}");
    assert_eq!(value(&body, "dsmr_earnings_total", &[]), Some(0.09));
    let request = requests.try_recv().expect("one query");
    for part in [
        "GET /api?securityToken=test-token&documentType=A44",
        "in_Domain=10YNL----------L&out_Domain=10YNL----------L",
        "periodStart=",
    ] {
        assert!(request.contains(part), "{request}");
    }
    assert!(
        requests.try_recv().is_err(),
        "one query for import and export"
    );
    let kept =
        std::fs::read_to_string(dir.0.join("state/prices-entsoe-10YNL----------L.csv")).unwrap();
    assert_eq!(kept.lines().count(), 5, "{kept}");
    // Restarted with the platform out of reach: the kept prices bill.
    // Port 1: nothing listens there (a freed ephemeral port could be taken
    // by another test's exporter, which answers only after its own start).
    // The meter's cost file is removed, so the same replay bills from zero
    // on the kept prices alone (tests/cost_restart.rs keeps it).
    let _ = std::fs::remove_file(dir.0.join("state/cost-house.txt"));
    let gone = "http://127.0.0.1:1/api";
    let body = run(&dir, &config(gone), &lines, &token);
    let cost = value(&body, "dsmr_cost_total", &["commodity=\"electricity\""]);
    assert_eq!(cost, Some(0.501), "{body}");
}

#[test]
fn the_prices_example_checks_and_prints_its_prices() {
    let out = common::bin::run(cmd().args(["--config", "examples/prices.toml", "--check-config"]));
    let said = common::bin::text(&out.stdout);
    assert!(out.status.success(), "{}", common::bin::text(&out.stderr));
    for part in [
        "electricity import per kWh: tariff 1: 0.2612, tariff 2: 0.2844",
        "entsoe 10YNL----------L + markup 0.0182 + tax 0.1016, VAT 21%",
        "entsoe token: not set",
    ] {
        assert!(said.contains(part), "{part}:\n{said}");
    }
}
