//! The Belgian capacity tariff through the real binary: replayed
//! e-MUCS telegrams (fixtures/capacity/ and a real Fluvius telegram with
//! peak history) and `--demo be`, scraped over HTTP, with the projected
//! quarter, the month peak, the rolling average (floor and history) and the
//! cost checked to the digit; the state file carries the recorded peaks
//! across a restart.

mod common;

use common::bin::{cmd, scrape, scrape_until, start};
use common::TempDir;
use std::path::Path;

/// The sample of `name` for `meter`, as written (`None` when absent).
fn sample<'a>(body: &'a str, name: &str, meter: &str) -> Option<&'a str> {
    let prefix = format!("{name}{{meter=\"{meter}\"}} ");
    body.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

/// A config file with one replayed meter per `(name, fixture, capacity table)`.
fn config(dir: &TempDir, meters: &[(&str, &str, &str)]) -> String {
    let mut text = String::from("[web]\nlisten_address = \"127.0.0.1:0\"\n");
    for (name, file, capacity) in meters {
        text.push_str(&format!(
            "\n[[meter]]\nname = \"{name}\"\nreplay = {{ file = {:?}, interval = \"0s\" }}\n{capacity}\n",
            fixture(file)
        ));
    }
    dir.write("dsmr.toml", text).display().to_string()
}

#[test]
fn replayed_meters_show_the_projection_floor_history_and_cost_exactly() {
    let dir = TempDir::new("capacity");
    let cfg = config(
        &dir,
        &[
            (
                "quarter",
                "capacity/be_quarter_from_start.txt",
                "[meter.capacity]\nprice_per_kw_year = \"40\"",
            ),
            (
                "history",
                "be_fluvius_v171_peak_history_water.txt",
                "[meter.capacity]\nprice_per_kw_year = \"53.2645\"",
            ),
            ("dutch", "nl_dsmr50_iskra_am550t_3phase_issue91.txt", ""),
            ("lapsed", "capacity/be_port_lapsed.txt", ""),
        ],
    );
    let (_child, addr, _log) = start(cmd().args(["--config", &cfg]));
    let body = scrape_until(&addr, "both Belgian meters' capacity", |b| {
        sample(b, "dsmr_capacity_quarter_projected_watts", "quarter") == Some("2200")
            && sample(b, "dsmr_capacity_rolling_average_watts", "history").is_some()
            && sample(b, "dsmr_electricity_import_watts", "dutch").is_some()
            && sample(b, "dsmr_capacity_meter_values_sent", "lapsed") == Some("0")
    });
    let q = |name| sample(&body, name, "quarter");
    // 12:30:00 the register at the quarter's start, 12:35:00 150 Wh more and
    // 2.4 kW now: (540 000 J + 2 400 W × 600 s) / 900 s = 2 200 W.
    assert_eq!(q("dsmr_capacity_quarter_projected_watts"), Some("2200"));
    assert_eq!(
        q("dsmr_capacity_quarter_start_timestamp_seconds"),
        Some("1698924600")
    );
    assert_eq!(q("dsmr_capacity_month_peak_watts"), Some("1800"));
    // One month known, below the floor: 2.5 kW, at 40 a kW: 100 a year.
    assert_eq!(q("dsmr_capacity_rolling_average_watts"), Some("2500"));
    assert_eq!(q("dsmr_capacity_rolling_average_months"), Some("1"));
    assert_eq!(q("dsmr_capacity_cost_euros_per_year"), Some("100"));
    assert_eq!(q("dsmr_capacity_meter_values_sent"), Some("1"));

    let h = |name| sample(&body, name, "history");
    // November 3.064 kW, October 4.927, September 4.229, August 1.862 and
    // July's placeholder (0) both raised to 2.5: 17.22 kW / 5 = 3.444 kW.
    assert_eq!(h("dsmr_capacity_rolling_average_watts"), Some("3444"));
    assert_eq!(h("dsmr_capacity_rolling_average_months"), Some("5"));
    // 3.444 kW × 53.2645 = 183.442938 exactly.
    assert_eq!(h("dsmr_capacity_cost_euros_per_year"), Some("183.442938"));
    assert_eq!(h("dsmr_capacity_month_peak_watts"), Some("3064"));
    // 48 s into the quarter (not seen from its start): from 1-0:1.4.0,
    // 52 W × 900 s + 338 W × 852 s over 900 s = 371.973 W.
    assert_eq!(h("dsmr_capacity_quarter_projected_watts"), Some("371.973"));

    // A Dutch meter has no capacity series at all.
    assert!(
        !body
            .lines()
            .any(|l| l.starts_with("dsmr_capacity_") && l.contains("meter=\"dutch\"")),
        "{body}"
    );

    // Its second telegram lacks 1-0:1.4.0 and 1-0:1.6.0 (the port's opening
    // lapsed): the flag drops, the month's peak stays, and the projection
    // counts from the register (13:00:00 to 13:05:00, 50 Wh, 0.8 kW now:
    // (180 000 J + 800 W × 600 s) / 900 s = 733.333 W).
    let l = |name| sample(&body, name, "lapsed");
    assert_eq!(l("dsmr_capacity_meter_values_sent"), Some("0"));
    assert_eq!(l("dsmr_capacity_month_peak_watts"), Some("1800"));
    assert_eq!(l("dsmr_capacity_quarter_projected_watts"), Some("733.333"));
    assert_eq!(l("dsmr_electricity_month_peak_watts"), None);

    let api = scrape(&addr, "/api/v1/meters").expect("api");
    let doc: serde_json::Value = serde_json::from_str(&api).expect("json");
    let meters = doc["meters"].as_array().expect("meters");
    let cap = &meters[0]["capacity"];
    assert_eq!(cap["projected_from"], "register");
    assert_eq!(cap["projected"]["base_value"].to_string(), "2200");
    assert_eq!(cap["cost_per_year"].to_string(), "100");
    assert_eq!(meters[1]["capacity"]["from_history"], true);
    assert!(meters[2].get("capacity").is_none(), "{api}");
}

#[test]
fn the_state_file_keeps_the_recorded_peaks_across_a_restart() {
    let dir = TempDir::new("capacity-state");
    let state = dir.0.join("peaks.state");
    let table = format!(
        "[meter.capacity]\nstate_file = {:?}",
        state.display().to_string()
    );
    let average = |cfg: &str, want: &str| {
        let (child, addr, _log) = start(cmd().args(["--config", cfg]));
        let body = scrape_until(&addr, want, |b| {
            sample(b, "dsmr_capacity_rolling_average_watts", "be") == Some(want)
        });
        drop(child);
        body
    };
    // October's peak 4 kW, then November 1 kW (raised to 2.5): 3.25 kW.
    let two = config(&dir, &[("be", "capacity/be_two_months.txt", &table)]);
    let body = average(&two, "3250");
    assert_eq!(
        sample(&body, "dsmr_capacity_rolling_average_months", "be"),
        Some("2")
    );
    let text = std::fs::read_to_string(&state).expect("the state file");
    assert!(
        text.contains("\n2023-10 4000000\n2023-11 1000000\n"),
        "{text}"
    );
    assert!(!dir.0.join("peaks.state.tmp").exists());

    // Spawned again with November's telegram only: October comes from the
    // state file, so the average is the same.
    std::fs::rename(dir.0.join("dsmr.toml"), dir.0.join("two.toml")).expect("rename");
    let nov = config(&dir, &[("be", "capacity/be_november.txt", &table)]);
    average(&nov, "3250");
    // Without the state file the same telegram knows November only.
    let bare = TempDir::new("capacity-bare");
    let alone = config(&bare, &[("be", "capacity/be_november.txt", "")]);
    average(&alone, "2500");

    // A damaged state file stops the start, naming it and the line.
    std::fs::write(&state, "not ours\n").expect("write");
    let out = cmd().args(["--config", &nov]).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("peaks.state") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn the_belgian_demo_sends_the_capacity_values_and_the_dutch_one_does_not() {
    let (_be, addr, _log) =
        start(cmd().args(["--demo", "be", "--web.listen-address", "127.0.0.1:0"]));
    let body = scrape_until(&addr, "the demo's capacity series", |b| {
        sample(b, "dsmr_capacity_quarter_projected_watts", "main").is_some()
    });
    let s = |name| sample(&body, name, "main");
    assert!(s("dsmr_electricity_demand_watts").is_some());
    assert!(s("dsmr_capacity_month_peak_watts").is_some());
    // 13 months of history: this month and the 11 before it count.
    assert_eq!(s("dsmr_capacity_rolling_average_months"), Some("12"));
    assert!(s("dsmr_capacity_cost_euros_per_year").is_some());
    assert!(body.contains("dsmr_gas_cubic_meters_total{meter=\"main\",channel=\"1\"}"));
    assert!(body.contains("dsmr_water_cubic_meters_total{meter=\"main\",channel=\"2\"}"));
    assert!(body.contains("dsmr_telegrams_total{meter=\"main\",result=\"crc_mismatch\"} 0"));

    let (_nl, addr, _log) = start(cmd().args(["--demo", "--web.listen-address", "127.0.0.1:0"]));
    let body = scrape_until(&addr, "the Dutch demo", |b| {
        sample(b, "dsmr_electricity_import_watts", "main").is_some()
    });
    assert!(!body.contains("dsmr_capacity_"), "{body}");
    assert!(
        !body.contains("dsmr_electricity_month_peak_watts"),
        "{body}"
    );
}
