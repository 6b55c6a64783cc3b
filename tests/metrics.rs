//! The exposition, end to end: fixture telegrams through the real
//! `Pipeline` into a `Meter`, rendered, with values checked exactly.

use dsmr_engine::crc::crc16_arc;
use dsmr_engine::Zone;
use dsmr_exporter::metrics::{render, Format, MetricsOptions};
use dsmr_exporter::source::Pipeline;
use dsmr_exporter::state::{Meter, Meters};
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A meter fed one fixture through the real pipeline.
fn meter(name: &str, file: &str) -> Arc<Meter> {
    let m = Meter::new(name, Zone::CET);
    let mut p = Pipeline::new(m.clone());
    p.feed(&fixture(file));
    p.finish();
    m
}

/// The Warmtelink heat meter telegram. This branch's framer wants a digit
/// after the manufacturer code (`/NWA-WARMTELINK` has a `-`), so the header
/// becomes `/NWA5WARMTELINK` and the CRC is recomputed over the new text.
fn heat_meter(name: &str) -> Arc<Meter> {
    let raw = fixture("nl_warmtelink_heat_gj_unpadded_crc.txt");
    let text = String::from_utf8(raw).expect("ASCII fixture");
    let text = text.replacen("/NWA-", "/NWA5", 1);
    let bang = text.find("\r\n!").expect("a '!' line") + 3;
    let body = &text[..bang];
    let frame = format!("{body}{:04X}\r\n", crc16_arc(body.as_bytes()));
    let m = Meter::new(name, Zone::CET);
    let mut p = Pipeline::new(m.clone());
    p.feed(frame.as_bytes());
    assert_eq!(m.lock().ok, 1);
    m
}

fn opts() -> MetricsOptions {
    MetricsOptions {
        stale_after: Duration::from_secs(3600),
        expose_equipment_ids: false,
    }
}

fn text(meters: &[Arc<Meter>], opts: &MetricsOptions) -> String {
    render(&Meters::new(meters.to_vec()), opts, Format::Text004)
}

/// The value of one series, by its exact name and labels.
fn value<'a>(out: &'a str, series: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
}

#[track_caller]
fn assert_series(out: &str, series: &str, expected: &str) {
    assert_eq!(value(out, series), Some(expected), "{series} in\n{out}");
}

#[track_caller]
fn assert_no_family(out: &str, family: &str) {
    let found: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(family))
        .collect();
    assert!(found.is_empty(), "{family} should be absent: {found:?}");
}

fn ids() -> MetricsOptions {
    MetricsOptions {
        expose_equipment_ids: true,
        ..opts()
    }
}

/// Runs `promtool check metrics` on an exposition; it must print nothing.
#[track_caller]
fn promtool_check(exposition: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run promtool ({e}): run the tests with `bash scripts/test.sh`, \
             which installs it (Debian package `prometheus`)"
        ),
    };
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(exposition.as_bytes())
            .expect("writing to promtool");
    }
    let out = child.wait_with_output().expect("waiting for promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.is_empty(),
        "promtool check metrics: {}\n{said}\non\n{exposition}",
        out.status
    );
}

#[test]
fn dsmr50_two_mbus_values_are_exact() {
    let out = text(
        &[meter("main", "nl_dsmr50_iskra_am550t_two_mbus.txt")],
        &opts(),
    );
    let m = "meter=\"main\"";
    // Each series with the value it must have, written exactly.
    for (series, expected) in [
        // 002130.115 kWh and 000245.467 kWh, converted exactly.
        (
            "dsmr_electricity_imported_joules_total{meter=\"main\",tariff=\"1\"}",
            "7668414000",
        ),
        (
            "dsmr_electricity_imported_joules_total{meter=\"main\",tariff=\"2\"}",
            "883681200",
        ),
        (
            "dsmr_electricity_exported_joules_total{meter=\"main\",tariff=\"1\"}",
            "0",
        ),
        ("dsmr_electricity_import_watts{meter=\"main\"}", "111"),
        ("dsmr_electricity_export_watts{meter=\"main\"}", "0"),
        ("dsmr_electricity_tariff{meter=\"main\"}", "1"),
        (
            "dsmr_phase_voltage_volts{meter=\"main\",phase=\"l1\"}",
            "229.9",
        ),
        (
            "dsmr_phase_voltage_volts{meter=\"main\",phase=\"l3\"}",
            "222.9",
        ),
        (
            "dsmr_phase_current_amperes{meter=\"main\",phase=\"l3\"}",
            "1",
        ),
        ("dsmr_phase_import_watts{meter=\"main\",phase=\"l1\"}", "56"),
        (
            "dsmr_phase_voltage_sags_total{meter=\"main\",phase=\"l3\"}",
            "192",
        ),
        (
            "dsmr_phase_voltage_swells_total{meter=\"main\",phase=\"l2\"}",
            "1",
        ),
        ("dsmr_power_failures_total{meter=\"main\"}", "5"),
        ("dsmr_long_power_failures_total{meter=\"main\"}", "3"),
        // 190326095015W: 2019-03-26 09:50:15 UTC+1.
        (
            "dsmr_long_power_failure_last_end_timestamp_seconds{meter=\"main\"}",
            "1553590215",
        ),
        (
            "dsmr_long_power_failure_last_duration_seconds{meter=\"main\"}",
            "2014",
        ),
        // 200426223325S: 2020-04-26 22:33:25 UTC+2.
        ("dsmr_meter_timestamp_seconds{meter=\"main\"}", "1587933205"),
        (
            "dsmr_meter_info{meter=\"main\",version=\"50\",manufacturer=\"ISK\"}",
            "1",
        ),
    ] {
        assert_series(&out, series, expected);
    }
    // Channel 1 is a dead placeholder: announced, but no reading.
    assert_series(
        &out,
        &format!("dsmr_gas_cubic_meters_total{{{m},channel=\"2\"}}"),
        "246.138",
    );
    assert_eq!(
        value(
            &out,
            &format!("dsmr_gas_cubic_meters_total{{{m},channel=\"1\"}}")
        ),
        None
    );
    assert_eq!(out.matches("dsmr_gas_cubic_meters_total{").count(), 1);
    assert_series(
        &out,
        &format!("dsmr_mbus_reading_timestamp_seconds{{{m},channel=\"2\"}}"),
        "1587933001",
    );
    assert_eq!(
        out.matches("dsmr_mbus_reading_timestamp_seconds{").count(),
        1
    );
    assert_series(
        &out,
        &format!("dsmr_mbus_device_info{{{m},channel=\"1\",device_type=\"gas\"}}"),
        "1",
    );
    assert_series(
        &out,
        &format!("dsmr_mbus_device_info{{{m},channel=\"2\",device_type=\"gas\"}}"),
        "1",
    );
    // Not in this telegram: absent, not 0.
    for family in [
        "dsmr_electricity_total_imported_joules_total",
        "dsmr_electricity_demand_watts",
        "dsmr_electricity_threshold_watts",
        "dsmr_breaker_state",
        "dsmr_water_cubic_meters_total",
        "dsmr_heat_joules_total",
        "dsmr_electricity_frequency_hertz",
        "dsmr_mbus_valve_state",
    ] {
        assert_no_family(&out, family);
    }
    assert!(!out.contains("equipment_id"));
    assert_series(
        &out,
        &format!("dsmr_telegrams_total{{{m},result=\"ok\"}}"),
        "1",
    );
    assert_series(
        &out,
        &format!("dsmr_telegrams_total{{{m},result=\"crc_mismatch\"}}"),
        "0",
    );
    assert_series(&out, &format!("dsmr_field_errors_total{{{m}}}"), "0");
    assert_series(&out, &format!("dsmr_source_up{{{m}}}"), "0");
    assert_series(&out, "dsmr_exporter_build_info{version=\"0.1.0\"}", "1");
}

#[test]
fn fluvius_water_demand_and_month_peak() {
    let out = text(
        &[meter("be", "be_fluvius_v171_peak_history_water.txt")],
        &opts(),
    );
    let m = "meter=\"be\"";
    assert_series(
        &out,
        &format!("dsmr_water_cubic_meters_total{{{m},channel=\"2\"}}"),
        "8.579",
    );
    assert_series(
        &out,
        &format!("dsmr_gas_cubic_meters_total{{{m},channel=\"1\"}}"),
        "92.287",
    );
    assert_eq!(out.matches("dsmr_water_cubic_meters_total{").count(), 1);
    assert_eq!(out.matches("dsmr_gas_cubic_meters_total{").count(), 1);
    assert_series(
        &out,
        &format!("dsmr_mbus_device_info{{{m},channel=\"2\",device_type=\"water\"}}"),
        "1",
    );
    assert_series(
        &out,
        &format!("dsmr_mbus_valve_state{{{m},channel=\"1\"}}"),
        "1",
    );
    // 231102121532W
    assert_series(
        &out,
        &format!("dsmr_mbus_reading_timestamp_seconds{{{m},channel=\"2\"}}"),
        "1698923732",
    );
    assert_series(&out, &format!("dsmr_electricity_demand_watts{{{m}}}"), "52");
    assert_series(
        &out,
        &format!("dsmr_electricity_month_peak_watts{{{m}}}"),
        "3064",
    );
    // 231102114500W: 2023-11-02 11:45:00 UTC+1.
    assert_series(
        &out,
        &format!("dsmr_electricity_month_peak_timestamp_seconds{{{m}}}"),
        "1698921900",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_threshold_watts{{{m}}}"),
        "999900",
    );
    assert_series(
        &out,
        &format!("dsmr_phase_current_limit_amperes{{{m},phase=\"l1\"}}"),
        "999",
    );
    assert_series(
        &out,
        &format!("dsmr_phase_current_amperes{{{m},phase=\"l1\"}}"),
        "0.27",
    );
    assert_series(
        &out,
        &format!("dsmr_phase_current_amperes{{{m},phase=\"l2\"}}"),
        "0.88",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_exported_joules_total{{{m},tariff=\"1\"}}"),
        "18000",
    );
    assert_series(&out, &format!("dsmr_breaker_state{{{m}}}"), "1");
    assert_series(
        &out,
        &format!("dsmr_meter_info{{{m},version=\"50217\",manufacturer=\"FLU\"}}"),
        "1",
    );
    assert_no_family(&out, "dsmr_electricity_threshold_amperes");
}

#[test]
fn luxembourg_totals_reactive_energy_and_kva_threshold() {
    let out = text(&[meter("lu", "lu_smarty_spec_example_4mbus.txt")], &opts());
    let m = "meter=\"lu\"";
    assert_series(
        &out,
        &format!("dsmr_electricity_total_imported_joules_total{{{m}}}"),
        "92350800",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_total_exported_joules_total{{{m}}}"),
        "144000",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_total_reactive_imported_varh_total{{{m}}}"),
        "835",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_total_reactive_exported_varh_total{{{m}}}"),
        "63781",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_threshold_voltamperes{{{m}}}"),
        "69000",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_apparent_import_voltamperes{{{m}}}"),
        "21",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_reactive_export_var{{{m}}}"),
        "0",
    );
    assert_series(
        &out,
        &format!("dsmr_phase_reactive_import_var{{{m},phase=\"l2\"}}"),
        "0",
    );
    assert_series(
        &out,
        &format!("dsmr_phase_current_limit_amperes{{{m},phase=\"l1\"}}"),
        "100",
    );
    assert_series(
        &out,
        &format!("dsmr_gas_cubic_meters_total{{{m},channel=\"1\"}}"),
        "0.006",
    );
    assert_series(
        &out,
        &format!("dsmr_gas_cubic_meters_total{{{m},channel=\"4\"}}"),
        "28.103",
    );
    // Channels 2 and 3 are water meters that sent only placeholders.
    assert_series(
        &out,
        &format!("dsmr_mbus_device_info{{{m},channel=\"3\",device_type=\"water\"}}"),
        "1",
    );
    assert_no_family(&out, "dsmr_water_cubic_meters_total");
    assert_series(
        &out,
        &format!("dsmr_mbus_valve_state{{{m},channel=\"1\"}}"),
        "0",
    );
    assert_series(
        &out,
        &format!("dsmr_mbus_valve_state{{{m},channel=\"4\"}}"),
        "1",
    );
    // The tariff-less totals never appear as tariff "0".
    assert!(!out.contains("tariff=\"0\""));
    assert_no_family(&out, "dsmr_electricity_imported_joules_total");
    assert_no_family(&out, "dsmr_electricity_threshold_watts");
}

#[test]
fn hungarian_four_tariffs_frequency_and_power_factor() {
    let out = text(&[meter("hu", "hu_eon_sagemcom_sag5.txt")], &opts());
    let m = "meter=\"hu\"";
    assert_series(
        &out,
        &format!("dsmr_electricity_total_imported_joules_total{{{m}}}"),
        "625104000",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_imported_joules_total{{{m},tariff=\"1\"}}"),
        "171788400",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_imported_joules_total{{{m},tariff=\"4\"}}"),
        "0",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_exported_joules_total{{{m},tariff=\"2\"}}"),
        "811252800",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_frequency_hertz{{{m}}}"),
        "50",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_power_factor{{{m}}}"),
        "4.556",
    );
    assert_series(
        &out,
        &format!("dsmr_phase_power_factor{{{m},phase=\"l3\"}}"),
        "4.552",
    );
    assert_series(
        &out,
        &format!("dsmr_phase_current_limit_amperes{{{m},phase=\"l2\"}}"),
        "200",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_export_watts{{{m}}}"),
        "2601",
    );
    assert_series(
        &out,
        &format!("dsmr_electricity_threshold_watts{{{m}}}"),
        "90000",
    );
    // No 1-3:0.2.8: the version label is empty, the manufacturer is there.
    assert_series(
        &out,
        &format!("dsmr_meter_info{{{m},version=\"\",manufacturer=\"SAG\"}}"),
        "1",
    );
}

#[test]
fn heat_meter_in_joules() {
    let out = text(&[heat_meter("heat")], &opts());
    let m = "meter=\"heat\"";
    // 240.860 GJ.
    assert_series(
        &out,
        &format!("dsmr_heat_joules_total{{{m},channel=\"1\"}}"),
        "240860000000",
    );
    assert_series(
        &out,
        &format!("dsmr_mbus_device_info{{{m},channel=\"1\",device_type=\"heat\"}}"),
        "1",
    );
    // 260215200523W
    assert_series(
        &out,
        &format!("dsmr_mbus_reading_timestamp_seconds{{{m},channel=\"1\"}}"),
        "1771182323",
    );
    assert_no_family(&out, "dsmr_gas_cubic_meters_total");
    assert_no_family(&out, "dsmr_electricity_");
    assert_no_family(&out, "dsmr_phase_");
}

#[test]
fn old_meters_without_voltage_have_no_voltage_series() {
    let out = text(&[meter("old", "nl_dsmr22_iskra_mt382.txt")], &opts());
    let m = "meter=\"old\"";
    assert_no_family(&out, "dsmr_phase_voltage_volts");
    assert_no_family(&out, "dsmr_phase_current_amperes");
    assert_no_family(&out, "dsmr_meter_timestamp_seconds");
    assert_series(
        &out,
        &format!("dsmr_electricity_threshold_watts{{{m}}}"),
        "999000",
    );
    // DSMR 2.2 gas: the 0-1:24.3.0 profile with its value on the next line.
    assert_series(
        &out,
        &format!("dsmr_gas_cubic_meters_total{{{m},channel=\"1\"}}"),
        "1.001",
    );
    assert_series(
        &out,
        &format!("dsmr_mbus_valve_state{{{m},channel=\"1\"}}"),
        "1",
    );

    let out = text(&[meter("dsmr3", "nl_dsmr30_iskra_mt382_spec.txt")], &opts());
    assert_series(
        &out,
        "dsmr_electricity_threshold_amperes{meter=\"dsmr3\"}",
        "16",
    );
    assert_no_family(&out, "dsmr_electricity_threshold_watts");
    assert_no_family(&out, "dsmr_phase_voltage_volts");
}

#[test]
fn stale_meters_keep_only_the_exporter_series() {
    let fresh = meter("fresh", "nl_dsmr50_iskra_am550t_two_mbus.txt");
    let stale = meter("stale", "be_fluvius_v171_peak_history_water.txt");
    stale.set_source_up(true);
    stale.record_reconnect();
    let opts = MetricsOptions {
        stale_after: Duration::from_millis(50),
        expose_equipment_ids: false,
    };
    std::thread::sleep(Duration::from_millis(120));
    // Only `fresh` gets a new telegram within stale_after.
    let mut p = Pipeline::new(fresh.clone());
    p.feed(&fixture("nl_dsmr50_iskra_am550t_two_mbus.txt"));
    let out = text(&[fresh, stale], &opts);

    let measurement_lines = |meter: &str| {
        out.lines()
            .filter(|l| !l.starts_with('#') && l.contains(&format!("meter=\"{meter}\"")))
            .map(|l| l.split('{').next().unwrap_or_default().to_owned())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let exporter: std::collections::BTreeSet<String> = [
        "dsmr_telegrams_total",
        "dsmr_last_telegram_timestamp_seconds",
        "dsmr_source_up",
        "dsmr_source_reconnects_total",
        "dsmr_field_errors_total",
        "dsmr_register_rejections_total",
        "dsmr_scrape_duration_seconds",
    ]
    .map(String::from)
    .into();
    assert_eq!(measurement_lines("stale"), exporter);
    assert!(measurement_lines("fresh").len() > exporter.len() + 10);
    assert_series(&out, "dsmr_source_up{meter=\"stale\"}", "1");
    assert_series(&out, "dsmr_source_reconnects_total{meter=\"stale\"}", "1");
    assert_series(
        &out,
        "dsmr_telegrams_total{meter=\"stale\",result=\"ok\"}",
        "1",
    );
    assert_series(
        &out,
        "dsmr_telegrams_total{meter=\"fresh\",result=\"ok\"}",
        "2",
    );
    assert_series(&out, "dsmr_exporter_build_info{version=\"0.1.0\"}", "1");
    promtool_check(&out);
}

#[test]
fn a_meter_without_valid_telegrams_shows_its_counts_only() {
    // The DSMR 5 spec example's printed CRC does not match its text.
    let bad = meter("bad", "nl_dsmr50_spec_example.txt");
    let silent = Meter::new("silent", Zone::CET);
    let out = text(&[bad, silent], &opts());
    assert_series(
        &out,
        "dsmr_telegrams_total{meter=\"bad\",result=\"crc_mismatch\"}",
        "1",
    );
    assert_series(
        &out,
        "dsmr_telegrams_total{meter=\"bad\",result=\"ok\"}",
        "0",
    );
    assert_series(
        &out,
        "dsmr_telegrams_total{meter=\"silent\",result=\"malformed\"}",
        "0",
    );
    assert_no_family(&out, "dsmr_last_telegram_timestamp_seconds");
    assert_no_family(&out, "dsmr_meter_info");
    assert_series(&out, "dsmr_source_up{meter=\"silent\"}", "0");
    promtool_check(&out);
}

#[test]
fn the_last_telegram_time_is_the_arrival_time() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs_f64();
    let out = text(
        &[meter("main", "nl_dsmr50_iskra_am550t_two_mbus.txt")],
        &opts(),
    );
    let at: f64 = value(&out, "dsmr_last_telegram_timestamp_seconds{meter=\"main\"}")
        .and_then(|v| v.parse().ok())
        .expect("a timestamp");
    assert!(
        at >= before.floor() && at < before + 60.0,
        "{at} vs {before}"
    );
}

#[test]
fn equipment_ids_appear_only_when_asked_for() {
    let meters = [
        meter("main", "nl_dsmr50_iskra_am550t_two_mbus.txt"),
        meter("be", "be_fluvius_v171_peak_history_water.txt"),
        heat_meter("heat"),
    ];
    let without = text(&meters, &opts());
    assert!(!without.contains("equipment_id"), "{without}");

    let with = text(&meters, &ids());
    assert_series(
        &with,
        "dsmr_meter_info{meter=\"main\",version=\"50\",manufacturer=\"ISK\",equipment_id=\"E0044007382246019\"}",
        "1",
    );
    assert_series(
        &with,
        "dsmr_mbus_device_info{meter=\"main\",channel=\"2\",device_type=\"gas\",equipment_id=\"G0039001936990619\"}",
        "1",
    );
    // Channel 1 announced an empty id: no label rather than an empty one.
    assert_series(
        &with,
        "dsmr_mbus_device_info{meter=\"main\",channel=\"1\",device_type=\"gas\"}",
        "1",
    );
    assert_series(
        &with,
        "dsmr_meter_info{meter=\"be\",version=\"50217\",manufacturer=\"FLU\",equipment_id=\"1SAG3100721326\"}",
        "1",
    );
    assert_series(
        &with,
        "dsmr_mbus_device_info{meter=\"be\",channel=\"2\",device_type=\"water\",equipment_id=\"8SET0000961173\"}",
        "1",
    );
    // Not hex-encoded ASCII: shown as written.
    assert_series(
        &with,
        "dsmr_meter_info{meter=\"heat\",version=\"50\",manufacturer=\"NWA\",equipment_id=\"ADC3100000158491\"}",
        "1",
    );
    promtool_check(&with);
}

#[test]
fn openmetrics_when_asked() {
    let meters = Meters::new(vec![meter("main", "nl_dsmr50_iskra_am550t_two_mbus.txt")]);
    let out = render(&meters, &opts(), Format::OpenMetrics);
    assert!(out.ends_with("# EOF\n"), "{out}");
    assert!(out.contains("# TYPE dsmr_electricity_imported_joules counter\n"));
    assert_series(
        &out,
        "dsmr_electricity_imported_joules_total{meter=\"main\",tariff=\"1\"}",
        "7668414000",
    );
    let text = render(&meters, &opts(), Format::Text004);
    assert!(text.contains("# TYPE dsmr_electricity_imported_joules_total counter\n"));
    assert!(!text.contains("# EOF"));
    assert_eq!(
        Format::Text004.content_type(),
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(Format::OpenMetrics
        .content_type()
        .starts_with("application/openmetrics-text; version=1.0.0"));
}

#[test]
fn every_family_is_described_once_for_many_meters() {
    let meters = [
        meter("a", "nl_dsmr50_iskra_am550t_two_mbus.txt"),
        meter("b", "nl_dsmr50_iskra_am550t_two_mbus.txt"),
    ];
    let out = text(&meters, &opts());
    let mut seen = std::collections::HashSet::new();
    for l in out.lines().filter(|l| l.starts_with("# TYPE ")) {
        assert!(seen.insert(l), "{l} twice");
    }
    assert_series(&out, "dsmr_electricity_import_watts{meter=\"b\"}", "111");
    promtool_check(&out);
}

/// Every fixture that decodes, each as its own meter in one exposition,
/// passes promtool's linter, with and without equipment ids.
#[test]
fn promtool_accepts_the_exposition_of_every_fixture() {
    let dir = format!("{}/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    let meters: Vec<Arc<Meter>> = names
        .iter()
        .map(|n| meter(n.trim_end_matches(".txt"), n))
        .collect();
    let valid = meters
        .iter()
        .filter(|m| m.lock().telegram.is_some())
        .count();
    assert!(valid >= 20, "only {valid} fixtures decoded");
    promtool_check(&text(&meters, &opts()));
    promtool_check(&text(&meters, &ids()));
    for m in &meters {
        promtool_check(&text(std::slice::from_ref(m), &ids()));
    }
}

#[path = "support/glitch.rs"]
mod glitch;

/// Issue #12: the glitch sequences through the real pipeline. Every
/// telegram's exposition shows the true registers (held at the last good
/// value while the dongle is wrong, never below it), the rejections are
/// counted by register and reason, the negative import as a field error.
#[test]
fn glitching_registers_are_held_and_counted() {
    let m = Meter::new("glitch", Zone::CET);
    let mut p = Pipeline::new(m.clone());
    let imported = "dsmr_electricity_imported_joules_total{meter=\"glitch\",tariff=\"1\"}";
    let exported = "dsmr_electricity_exported_joules_total{meter=\"glitch\",tariff=\"1\"}";
    let gas = "dsmr_gas_cubic_meters_total{meter=\"glitch\",channel=\"1\"}";
    let failures = "dsmr_power_failures_total{meter=\"glitch\"}";
    let mut good = glitch::truth(0);
    for i in 0..glitch::TELEGRAMS {
        p.feed(glitch::telegram(i).as_bytes());
        let out = text(std::slice::from_ref(&m), &opts());
        // The true value, or the last good one where the dongle was wrong.
        let (imp, exp, g, f) = glitch::sent(i);
        let t = glitch::truth(i);
        if imp == Some(t.0) {
            good.0 = t.0;
        }
        if exp == t.1 {
            good.1 = t.1;
        }
        if g == t.2 {
            good.2 = t.2;
        }
        if f == t.3 {
            good.3 = t.3;
        }
        let at = format!("telegram {i}");
        assert_eq!(
            value(&out, imported),
            Some(&*glitch::joules(good.0).to_string()),
            "{at}"
        );
        assert_eq!(
            value(&out, exported),
            Some(&*glitch::joules(good.1).to_string()),
            "{at}"
        );
        let gas_text = format!("{}.{:03}", good.2 / 1_000, good.2 % 1_000);
        let gas_text = gas_text.trim_end_matches('0').trim_end_matches('.');
        assert_eq!(value(&out, gas), Some(gas_text), "{at}");
        assert_eq!(value(&out, failures), Some(&*good.3.to_string()), "{at}");
    }
    assert_eq!(m.lock().ok, u64::from(glitch::TELEGRAMS));
    let out = text(std::slice::from_ref(&m), &opts());
    for &(register, reason, n) in glitch::REJECTED {
        let series = format!(
            "dsmr_register_rejections_total{{meter=\"glitch\",register=\"{register}\",reason=\"{reason}\"}}"
        );
        assert_series(&out, &series, &n.to_string());
    }
    assert_series(
        &out,
        "dsmr_register_rejections_total{meter=\"glitch\",register=\"1-0:1.8.2\",reason=\"backwards\"}",
        "0",
    );
    assert_series(
        &out,
        "dsmr_field_errors_total{meter=\"glitch\"}",
        &glitch::FIELD_ERRORS.to_string(),
    );
    promtool_check(&out);
}
