//! The operations files: Prometheus rules and their unit tests, the Prometheus and
//! docker compose configurations, and the Grafana dashboards.
//!
//! These tests run external tools (promtool, docker-compose, python3). A missing tool is a
//! failure, never a skip: `bash scripts/test.sh` installs them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every metric name the exporter publishes: the metrics contract, the exporter's own
/// series, and the extra series src/metrics.rs writes (reactive and apparent power, power
/// factor, kVA threshold, M-Bus valve). Dashboards and rules may use only these, which
/// catches a misspelt name that would otherwise just show "no data".
const KNOWN_METRICS: &[&str] = &[
    "dsmr_electricity_imported_joules_total",
    "dsmr_electricity_exported_joules_total",
    "dsmr_electricity_total_imported_joules_total",
    "dsmr_electricity_total_exported_joules_total",
    "dsmr_electricity_import_watts",
    "dsmr_electricity_export_watts",
    "dsmr_phase_import_watts",
    "dsmr_phase_export_watts",
    "dsmr_phase_voltage_volts",
    "dsmr_phase_current_amperes",
    "dsmr_phase_current_limit_amperes",
    "dsmr_phase_voltage_sags_total",
    "dsmr_phase_voltage_swells_total",
    "dsmr_power_failures_total",
    "dsmr_long_power_failures_total",
    "dsmr_long_power_failure_last_end_timestamp_seconds",
    "dsmr_long_power_failure_last_duration_seconds",
    "dsmr_electricity_tariff",
    "dsmr_electricity_threshold_watts",
    "dsmr_electricity_threshold_amperes",
    "dsmr_electricity_frequency_hertz",
    "dsmr_breaker_state",
    "dsmr_meter_timestamp_seconds",
    "dsmr_electricity_demand_watts",
    "dsmr_electricity_month_peak_watts",
    "dsmr_electricity_month_peak_timestamp_seconds",
    "dsmr_capacity_quarter_projected_watts",
    "dsmr_capacity_quarter_start_timestamp_seconds",
    "dsmr_capacity_month_peak_watts",
    "dsmr_capacity_rolling_average_watts",
    "dsmr_capacity_rolling_average_months",
    "dsmr_capacity_cost_euros_per_year",
    "dsmr_capacity_meter_values_sent",
    "dsmr_meter_info",
    "dsmr_gas_cubic_meters_total",
    "dsmr_water_cubic_meters_total",
    "dsmr_heat_joules_total",
    "dsmr_mbus_reading_timestamp_seconds",
    "dsmr_mbus_device_info",
    "dsmr_telegrams_total",
    "dsmr_last_telegram_timestamp_seconds",
    "dsmr_source_up",
    "dsmr_source_reconnects_total",
    "dsmr_field_errors_total",
    "dsmr_exporter_build_info",
    "dsmr_scrape_duration_seconds",
    "dsmr_config_last_reload_successful",
    "dsmr_config_last_reload_success_timestamp_seconds",
    "dsmr_electricity_reactive_imported_varh_total",
    "dsmr_electricity_reactive_exported_varh_total",
    "dsmr_electricity_total_reactive_imported_varh_total",
    "dsmr_electricity_total_reactive_exported_varh_total",
    "dsmr_electricity_reactive_import_var",
    "dsmr_electricity_reactive_export_var",
    "dsmr_electricity_apparent_import_voltamperes",
    "dsmr_electricity_apparent_export_voltamperes",
    "dsmr_electricity_power_factor",
    "dsmr_electricity_threshold_voltamperes",
    "dsmr_phase_reactive_import_var",
    "dsmr_phase_reactive_export_var",
    "dsmr_phase_power_factor",
    "dsmr_mbus_valve_state",
    // Cost (docs/cost.md).
    "dsmr_cost_total",
    "dsmr_earnings_total",
    "dsmr_price",
    "dsmr_price_available",
    "dsmr_price_ahead",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs `tool args…` in the repository; a tool that is not installed fails the test.
fn run(tool: &str, args: &[&str]) -> Output {
    match Command::new(tool).args(args).current_dir(repo()).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && tool == "python3" => {
            panic!("`python3` is not installed (or not on PATH); these tests need it.")
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed (or not on PATH). Run `bash scripts/test.sh`, which \
             installs it (Debian packages prometheus and docker-compose)."
        ),
        Err(e) => panic!("cannot run `{tool}`: {e}"),
    }
}

/// Runs the command and fails the test, with its output, unless it exits successfully.
fn run_ok(tool: &str, args: &[&str]) -> String {
    let out = run(tool, args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "`{tool} {}` failed ({}):\n{stdout}\n{stderr}",
        args.join(" "),
        out.status
    );
    stdout + &stderr
}

/// The rule files (the unit test file lives in the same directory but is no rule file).
fn rule_files() -> Vec<String> {
    let dir = repo().join("prometheus/rules");
    let mut files: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yml") && !name.ends_with(".test.yml"))
        .map(|name| format!("prometheus/rules/{name}"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no rule files in prometheus/rules");
    files
}

#[test]
fn promtool_check_rules() {
    let files = rule_files();
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = run_ok("promtool", &args);
    assert!(
        out.contains("SUCCESS"),
        "unexpected promtool output:\n{out}"
    );
}

#[test]
fn promtool_test_rules() {
    let out = run_ok(
        "promtool",
        &["test", "rules", "prometheus/rules/dsmr.rules.test.yml"],
    );
    assert!(
        out.contains("SUCCESS"),
        "unexpected promtool output:\n{out}"
    );
}

/// Every alert of the rule files has a unit test where it fires and one where it does not.
#[test]
fn every_alert_is_tested_firing_and_not_firing() {
    let mut alerts = BTreeSet::new();
    for file in rule_files() {
        for line in read(&file).lines() {
            if let Some(name) = line.trim().strip_prefix("- alert:") {
                alerts.insert(name.trim().to_string());
            }
        }
    }
    assert!(alerts.len() >= 10, "too few alerts found: {alerts:?}");

    let tests = read("prometheus/rules/dsmr.rules.test.yml");
    let lines: Vec<&str> = tests.lines().map(str::trim).collect();
    let (mut firing, mut quiet) = (BTreeSet::new(), BTreeSet::new());
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line.strip_prefix("alertname:") else {
            continue;
        };
        let name = name.trim().to_string();
        let next = lines[i + 1..]
            .iter()
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .copied()
            .unwrap_or("");
        match next {
            "exp_alerts: []" => quiet.insert(name),
            "exp_alerts:" => firing.insert(name),
            other => panic!("alertname {name} is followed by {other:?}, not exp_alerts"),
        };
    }
    let untested_firing: Vec<_> = alerts.difference(&firing).collect();
    let untested_quiet: Vec<_> = alerts.difference(&quiet).collect();
    assert!(
        untested_firing.is_empty() && untested_quiet.is_empty(),
        "alerts without a firing test: {untested_firing:?}; without a not-firing test: {untested_quiet:?}"
    );
    let unknown: Vec<_> = firing
        .union(&quiet)
        .filter(|a| !alerts.contains(*a))
        .collect();
    assert!(
        unknown.is_empty(),
        "tests for alerts that do not exist: {unknown:?}"
    );
}

/// Every alert carries a severity and annotations that name the meter (or, for the
/// exporter itself, the instance) and the value.
#[test]
fn every_alert_has_severity_and_annotations() {
    for file in rule_files() {
        let text = read(&file);
        let mut blocks = text.split("- alert:").skip(1).peekable();
        assert!(blocks.peek().is_some(), "{file}: no alerts");
        for block in blocks {
            // a block ends where the next rule starts
            let block = block.split("- record:").next().unwrap();
            let name = block.lines().next().unwrap().trim();
            for needle in ["severity:", "summary:", "description:", "$value"] {
                assert!(
                    block.contains(needle),
                    "{file}: alert {name} lacks {needle}"
                );
            }
            assert!(
                block.contains("$labels.meter") || block.contains("$labels.instance"),
                "{file}: alert {name} names neither the meter nor the instance"
            );
        }
    }
}

#[test]
fn promtool_check_config() {
    let out = run_ok(
        "promtool",
        &["check", "config", "prometheus/prometheus.yml"],
    );
    // The rule_files glob is resolved relative to prometheus.yml: it must find the rules.
    assert!(
        out.contains("dsmr.rules.yml") && !out.contains(" 0 rule files found"),
        "prometheus.yml does not load prometheus/rules/dsmr.rules.yml:\n{out}"
    );
    assert!(
        read("prometheus/prometheus.yml").contains("job_name: dsmr"),
        "the scrape job must be called dsmr (DsmrExporterDown matches on it)"
    );
}

#[test]
fn docker_compose_config() {
    run_ok(
        "docker-compose",
        &["-f", "docker-compose.yml", "config", "-q"],
    );
}

/// Host paths that docker-compose.yml mounts (short `./src:/dst` and long `source: ./src`
/// syntax, comments skipped) and its build context.
fn compose_host_paths() -> Vec<String> {
    let mut paths = Vec::new();
    for line in read("docker-compose.yml").lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let spec = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("source:"))
            .or_else(|| line.strip_prefix("build:"))
            .or_else(|| line.strip_prefix("context:"))
            .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\''));
        if let Some(spec) = spec {
            if spec.starts_with("./") || spec.starts_with("../") || spec == "." {
                paths.push(spec.split(':').next().unwrap().to_string());
            }
        }
    }
    paths
}

#[test]
fn compose_mounts_exist() {
    let paths = compose_host_paths();
    assert!(
        paths.len() >= 6,
        "expected the build context and at least five bind mounts, found {paths:?}"
    );
    for path in &paths {
        let full = repo().join(path);
        assert!(
            full.exists(),
            "docker-compose.yml mounts {path}, which does not exist"
        );
    }
    assert!(paths.iter().any(|p| p == "."), "no `build: .` found");
    assert!(repo().join("Dockerfile").is_file(), "no Dockerfile");
    for must in [
        "./prometheus/prometheus.yml",
        "./prometheus/rules",
        "./alertmanager/alertmanager.yml",
        "./grafana/provisioning",
        "./grafana/dashboards",
    ] {
        assert!(paths.iter().any(|p| p == must), "{must} is not mounted");
    }
}

/// Checks each dashboard JSON (python3 parses it; the check itself is below).
const DASHBOARD_CHECK: &str = r#"
import json, re, sys

DS_REF = ("${datasource}", "$datasource")
problems = []

def ds_ok(ds):
    # a panel/target/variable may omit its datasource (then the panel's applies),
    # but it may never name a data source by a fixed uid
    if ds is None:
        return True
    if isinstance(ds, str):
        return ds in DS_REF
    return ds.get("uid") in DS_REF

for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    name = path.split("/")[-1]
    if d.get("schemaVersion", 0) < 39:
        problems.append(f"{name}: schemaVersion {d.get('schemaVersion')} < 39")
    if "__inputs" in d:
        problems.append(f"{name}: has __inputs (import would ask for a data source)")
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append(f"{name}: no `datasource` variable of type datasource querying prometheus")
    for var in ("instance", "meter"):
        v = variables.get(var)
        if not v or v.get("type") != "query":
            problems.append(f"{name}: no `{var}` query variable")
            continue
        if not ds_ok(v.get("datasource")):
            problems.append(f"{name}: variable {var} has a fixed data source")
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        if "label_values" not in q:
            problems.append(f"{name}: variable {var} is not a label_values query")
        if not v.get("multi") or not v.get("includeAll"):
            problems.append(f"{name}: variable {var} must allow several values and All")
    panels = []
    for p in d.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []) or [])
    if not panels:
        problems.append(f"{name}: no panels")
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)):
        problems.append(f"{name}: duplicate panel ids")
    for p in panels:
        title = f"{name}: panel {p.get('title')!r}"
        if p.get("type") == "row":
            continue  # rows only group panels; they have no queries
        if not ds_ok(p.get("datasource")):
            problems.append(f"{title}: hard-coded data source {p.get('datasource')}")
        targets = p.get("targets") or []
        if not any((t.get("expr") or "").strip() for t in targets):
            problems.append(f"{title}: no target with an expr")
        for t in targets:
            if not ds_ok(t.get("datasource")):
                problems.append(f"{title}: target {t.get('refId')} has a hard-coded data source")
            expr = t.get("expr") or ""
            for sel in re.findall(r"\b(dsmr_[a-z0-9_]+)\{([^}]*)\}", expr):
                metric, matchers = sel
                # The exporter-wide series have no meter label.
                if metric in ("dsmr_exporter_build_info", "dsmr_config_last_reload_successful",
                              "dsmr_config_last_reload_success_timestamp_seconds"):
                    continue
                if '$meter' not in matchers or '$instance' not in matchers:
                    problems.append(f"{title}: selector {metric}{{{matchers}}} ignores $meter/$instance")
            if re.search(r"\bdsmr_[a-z0-9_]+\b(?![{(\[a-z0-9_])", expr):
                problems.append(f"{title}: a dsmr_ metric without a label selector in {expr!r}")
        if p.get("type") != "table":
            unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit")
            if not unit:
                problems.append(f"{title}: no unit")

for line in problems:
    print(line)
print(f"checked {len(sys.argv) - 1} dashboard(s), {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
"#;

fn dashboards() -> Vec<String> {
    let dir = repo().join("grafana/dashboards");
    let mut files: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

#[test]
fn dashboards_are_portable_and_complete() {
    let files = dashboards();
    let names: Vec<_> = files
        .iter()
        .map(|f| {
            Path::new(f)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for must in ["energy.json", "exporter-health.json"] {
        assert!(names.iter().any(|n| n == must), "missing dashboard {must}");
    }
    let mut args = vec!["-c", DASHBOARD_CHECK];
    args.extend(files.iter().map(String::as_str));
    run_ok("python3", &args);
}

/// scripts/dashboard-queries.py prints one query per line with every variable replaced.
#[test]
fn dashboard_queries_script() {
    let out = run(
        "python3",
        &["scripts/dashboard-queries.py", "--meter", "main"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "dashboard-queries.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let targets: usize = dashboards()
        .iter()
        .map(|f| fs::read_to_string(f).unwrap().matches("\"expr\":").count())
        .sum();
    assert_eq!(lines.len(), targets, "one line per panel query expected");
    for line in lines {
        assert!(
            line.starts_with("{\"dashboard\": ")
                && line.contains("\"panel\": ")
                && line.contains("\"expr\": "),
            "not a query object: {line}"
        );
        assert!(!line.contains('$'), "variable left in {line}");
    }
}

/// Dashboards and rules use only metric names the exporter publishes.
#[test]
fn only_known_metric_names() {
    let mut files: Vec<String> = dashboards();
    files.extend(
        rule_files()
            .iter()
            .map(|f| repo().join(f).to_string_lossy().into_owned()),
    );
    files.push(
        repo()
            .join("prometheus/rules/dsmr.rules.test.yml")
            .to_string_lossy()
            .into_owned(),
    );
    let mut unknown = BTreeSet::new();
    let mut seen = 0;
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let bytes = text.as_bytes();
        let mut from = 0;
        while let Some(pos) = text[from..].find("dsmr_") {
            let start = from + pos;
            let before_ok = start == 0 || {
                let b = bytes[start - 1];
                !(b.is_ascii_alphanumeric() || b == b'_' || b == b':')
            };
            let end = text[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(text.len(), |n| start + n);
            if before_ok {
                seen += 1;
                let name = &text[start..end];
                if !KNOWN_METRICS.contains(&name) {
                    unknown.insert(format!("{name} ({})", Path::new(file).display()));
                }
            }
            from = end;
        }
    }
    assert!(seen > 50, "found only {seen} metric references");
    assert!(unknown.is_empty(), "unknown metric names: {unknown:#?}");
}
