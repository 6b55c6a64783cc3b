//! Backfill end to end: fixture and generated telegram logs to OpenMetrics
//! files with exact lines, loaded by the real `promtool tsdb
//! create-blocks-from openmetrics` and queried from a real Prometheus.

use dsmr_engine::crc::crc16_arc;
use dsmr_engine::Zone;
use dsmr_exporter::cmd::backfill::{run, BackfillOptions, BackfillStats};
use dsmr_exporter::metrics::{render, Format, MetricsOptions};
use dsmr_exporter::source::Pipeline;
use dsmr_exporter::state::{Meter, Meters};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A directory removed when the test ends, pass or fail.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("dsmr-backfill-test-{name}-"))
        .tempdir()
        .expect("creating a temp dir")
}

fn opts() -> BackfillOptions {
    BackfillOptions {
        meter: "main".to_owned(),
        zone: Zone::CET,
        expose_equipment_ids: false,
    }
}

/// Backfills `log` into a file of `dir`; returns the file's text and the stats.
fn backfill_to_file(
    dir: &tempfile::TempDir,
    log: &[u8],
    opts: &BackfillOptions,
) -> (String, BackfillStats) {
    let path = dir.path().join("backfill.om");
    let mut file = std::fs::File::create(&path).expect("creating the output file");
    let stats = run(&mut &log[..], &mut file, opts).expect("backfill");
    drop(file);
    let text = std::fs::read_to_string(&path).expect("reading the output back");
    (text, stats)
}

fn backfill(log: &[u8]) -> (String, BackfillStats) {
    let mut out = Vec::new();
    let stats = run(&mut &log[..], &mut out, &opts()).expect("backfill");
    (String::from_utf8(out).expect("UTF-8 output"), stats)
}

#[track_caller]
fn assert_line(out: &str, line: &str) {
    assert!(out.lines().any(|l| l == line), "no line\n{line}\nin\n{out}");
}

/// The OpenMetrics rules promtool relies on: `# EOF` last, every family
/// described once with its samples right after, each series in time order.
#[track_caller]
fn assert_well_formed(out: &str) {
    assert!(out.ends_with("# EOF\n"), "no # EOF at the end");
    let mut described = std::collections::HashSet::new();
    let mut family = String::new();
    let mut last_time: HashMap<&str, i64> = HashMap::new();
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(described.insert(name.to_owned()), "{name} described twice");
            family = match kind {
                "counter" => format!("{name}_total"),
                "gauge" => name.to_owned(),
                other => panic!("unexpected type {other}"),
            };
        } else if line.starts_with('#') {
            continue;
        } else {
            let (series, rest) = line.rsplit_once('}').expect("series with labels");
            let name = series.split('{').next().unwrap_or_default();
            assert_eq!(name, family, "sample outside its family: {line}");
            let time: i64 = rest
                .rsplit(' ')
                .next()
                .and_then(|t| t.parse().ok())
                .expect("a timestamp");
            if let Some(prev) = last_time.insert(series, time) {
                assert!(prev < time, "{series}: {time} after {prev}");
            }
        }
    }
}

/// Unix seconds to `YYMMDDhhmmssW` (UTC+1 wall time, the `W` flag).
fn dsmr_time(unix: i64) -> String {
    let t = unix + 3_600;
    let (d, s) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = d + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{:02}{m:02}{day:02}{:02}{:02}{:02}W",
        y % 100,
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Where the generated telegrams start: 2021-01-01 00:00:00 UTC.
const T0: i64 = 1_609_459_200;

/// The two-M-Bus DSMR 5 fixture at `unix` with its tariff 1 register at
/// `wh` Wh, CRC recomputed.
fn telegram(unix: i64, wh: u64) -> String {
    let text = String::from_utf8(fixture("nl_dsmr50_iskra_am550t_two_mbus.txt")).expect("ASCII");
    let text = text
        .replace(
            "0-0:1.0.0(200426223325S)",
            &format!("0-0:1.0.0({})", dsmr_time(unix)),
        )
        .replace(
            "1-0:1.8.1(002130.115*kWh)",
            &format!("1-0:1.8.1({:06}.{:03}*kWh)", wh / 1000, wh % 1000),
        );
    let bang = text.find("\r\n!").expect("a '!' line") + 3;
    let body = &text[..bang];
    format!("{body}{:04X}\r\n", crc16_arc(body.as_bytes()))
}

#[test]
fn a_dsmr5_telegram_becomes_exact_timestamped_lines() {
    let dir = temp_dir("exact");
    let (out, stats) = backfill_to_file(
        &dir,
        &fixture("nl_dsmr50_iskra_am550t_two_mbus.txt"),
        &opts(),
    );
    // 2020-04-26 22:33:25 summer time is 20:33:25 UTC.
    for line in [
        "# HELP dsmr_electricity_imported_joules Electricity taken from the grid per tariff: the meter's register (1-0:1.8.t).",
        "# TYPE dsmr_electricity_imported_joules counter",
        r#"dsmr_electricity_imported_joules_total{meter="main",tariff="1"} 7668414000 1587933205"#,
        r#"dsmr_electricity_imported_joules_total{meter="main",tariff="2"} 883681200 1587933205"#,
        r#"dsmr_electricity_exported_joules_total{meter="main",tariff="1"} 0 1587933205"#,
        "# TYPE dsmr_electricity_import_watts gauge",
        r#"dsmr_electricity_import_watts{meter="main"} 111 1587933205"#,
        r#"dsmr_phase_voltage_volts{meter="main",phase="l1"} 229.9 1587933205"#,
        r#"dsmr_phase_voltage_sags_total{meter="main",phase="l3"} 192 1587933205"#,
        r#"dsmr_gas_cubic_meters_total{meter="main",channel="2"} 246.138 1587933205"#,
        r#"dsmr_mbus_reading_timestamp_seconds{meter="main",channel="2"} 1587933001 1587933205"#,
        r#"dsmr_meter_timestamp_seconds{meter="main"} 1587933205 1587933205"#,
        r#"dsmr_meter_info{meter="main",version="50",manufacturer="ISK"} 1 1587933205"#,
        r#"dsmr_long_power_failure_last_duration_seconds{meter="main"} 2014 1587933205"#,
    ] {
        assert_line(&out, line);
    }
    // The exporter's own series describe a running process, not history.
    assert!(!out.contains("dsmr_telegrams_total") && !out.contains("dsmr_source_up"));
    assert_well_formed(&out);
    assert_eq!(stats.written, 1);
    assert_eq!(stats.skipped(), 0);
    assert_eq!(stats.series, 35);
    assert_eq!(stats.samples, 35);
    assert_eq!(stats.first_time, Some(1_587_933_205));
}

#[test]
fn other_meters_zones_and_labels() {
    // Flagless clock 230404213104 in April: summer time in CET, 19:31:04 UTC.
    let (out, stats) = backfill(&fixture("be_iskra_ie5t_no_dst_flag_issue90797.txt"));
    assert_eq!(stats.written, 1, "{stats:?}");
    assert_line(
        &out,
        r#"dsmr_meter_timestamp_seconds{meter="main"} 1680636664 1680636664"#,
    );
    // The same clock read as UTC.
    let mut utc = opts();
    utc.zone = Zone::UTC;
    utc.meter = "garage \"2\"".to_owned();
    let mut o = Vec::new();
    run(
        &mut &fixture("be_iskra_ie5t_no_dst_flag_issue90797.txt")[..],
        &mut o,
        &utc,
    )
    .expect("backfill");
    let o = String::from_utf8(o).expect("UTF-8");
    assert_line(
        &o,
        r#"dsmr_meter_timestamp_seconds{meter="garage \"2\""} 1680643864 1680643864"#,
    );
    assert_well_formed(&o);

    // Fluvius: water register, month peak with its own time.
    let (out, stats) = backfill(&fixture("be_fluvius_v171_peak_history_water.txt"));
    assert_eq!(stats.written, 1, "{stats:?}");
    assert_well_formed(&out);
    let t = stats.first_time.expect("a time");
    // 231102121548W is 11:15:48 UTC; the peak 231102114500W is 10:45 UTC.
    assert_eq!(t, 1_698_923_748);
    for line in [
        r#"dsmr_water_cubic_meters_total{meter="main",channel="2"} 8.579 1698923748"#,
        r#"dsmr_electricity_month_peak_watts{meter="main"} 3064 1698923748"#,
        r#"dsmr_electricity_month_peak_timestamp_seconds{meter="main"} 1698921900 1698923748"#,
        r#"dsmr_electricity_demand_watts{meter="main"} 52 1698923748"#,
    ] {
        assert_line(&out, line);
    }
    assert!(out
        .lines()
        .filter(|l| !l.starts_with('#'))
        .all(|l| l.ends_with(&format!(" {t}"))));

    // Equipment ids only when asked for.
    let mut ids = opts();
    ids.expose_equipment_ids = true;
    let mut o = Vec::new();
    run(
        &mut &fixture("nl_dsmr50_iskra_am550t_two_mbus.txt")[..],
        &mut o,
        &ids,
    )
    .expect("backfill");
    let o = String::from_utf8(o).expect("UTF-8");
    assert_line(
        &o,
        r#"dsmr_meter_info{meter="main",version="50",manufacturer="ISK",equipment_id="E0044007382246019"} 1 1587933205"#,
    );
}

#[test]
fn unusable_telegrams_are_counted_not_written() {
    // No 0-0:1.0.0 at all (DSMR 2.2).
    let (out, stats) = backfill(&fixture("nl_dsmr22_iskra_mt382.txt"));
    assert_eq!((stats.written, stats.no_timestamp), (0, 1), "{stats:?}");
    assert_eq!(out, "# EOF\n");
    // An unset clock (2000-01-01) is not history.
    let (_, stats) = backfill(&fixture("nl_dsmr40_landisgyr_xmx_e350.txt"));
    assert_eq!((stats.written, stats.no_timestamp), (0, 1), "{stats:?}");
    // The DSMR 5.0 spec example's printed CRC does not match its text.
    let (_, stats) = backfill(&fixture("nl_dsmr50_spec_example.txt"));
    assert_eq!((stats.written, stats.crc_mismatch), (0, 1), "{stats:?}");
    // Cut off and damaged captures.
    let (out, stats) = backfill(&fixture("nl_dsmr50_iskra_overflow_garbage_stream.txt"));
    assert_eq!(stats.written, 0, "{stats:?}");
    assert!(stats.malformed + stats.crc_mismatch >= 7, "{stats:?}");
    assert_eq!(out, "# EOF\n");
}

#[test]
fn lf_logs_give_the_same_output_as_crlf_logs() {
    let crlf = fixture("nl_dsmr50_iskra_am550t_two_mbus.txt");
    let lf: Vec<u8> = crlf.iter().copied().filter(|&b| b != b'\r').collect();
    let (a, sa) = backfill(&crlf);
    let (b, sb) = backfill(&lf);
    assert_eq!(sa.written, 1);
    assert_eq!(sa, sb);
    assert_eq!(a, b);
}

/// Backfill and the scrape share one source of names and values: every
/// backfilled line, without its time, is a line of the live exposition.
#[test]
fn every_backfilled_sample_is_what_the_scrape_shows() {
    let mut checked = 0;
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")).expect("fixtures dir")
    {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let log = std::fs::read(&path).expect("fixture");
        let (out, stats) = backfill(&log);
        assert_well_formed(&out);
        if stats.written == 0 {
            continue;
        }
        let meter = Meter::new("main", Zone::CET);
        let mut p = Pipeline::new(meter.clone());
        p.feed(&log);
        p.finish();
        let scrape = render(
            &Meters::new(vec![meter]),
            &MetricsOptions {
                stale_after: Duration::from_secs(3600),
                expose_equipment_ids: false,
            },
            Format::Text004,
        );
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            let (sample, _time) = line.rsplit_once(' ').expect("a time");
            assert!(
                scrape.lines().any(|l| l == sample),
                "{}: {sample} is not in the scrape:\n{scrape}",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} fixtures backfilled");
}

/// `telegram(T0, 7)` with its clock set to `clock`, CRC recomputed.
fn telegram_with_clock(clock: &str) -> String {
    let text = telegram(T0, 7).replace(&dsmr_time(T0), clock);
    let bang = text.find("\r\n!").expect("'!'") + 3;
    format!(
        "{}{:04X}\r\n",
        &text[..bang],
        crc16_arc(&text.as_bytes()[..bang])
    )
}

/// A log of `n` telegrams 10 s apart from `T0` with damage spread through it.
struct DamagedLog {
    log: Vec<u8>,
    /// Telegrams whose CRC no longer matches.
    crc_mismatch: u64,
    /// Telegrams cut off by the next header.
    malformed: u64,
    /// The time of the last telegram.
    last: i64,
}

fn damaged_log(n: u64) -> DamagedLog {
    // Halfway, a clock gone wrong (2066): skipped, the rest still written.
    let future = telegram_with_clock("660101000000W");
    let mut log = Vec::new();
    let mut crc_mismatch = 0;
    let mut malformed = 0;
    for i in 0..n {
        let t = telegram(T0 + i as i64 * 10, 1_000_000 + i);
        if i % 97 == 5 {
            // A bit error in a value: the CRC no longer matches.
            log.extend_from_slice(t.replacen("229.9*V", "229.8*V", 1).as_bytes());
            crc_mismatch += 1;
        } else if i % 1000 == 999 {
            // Line ends as an archive that stored LF may have them.
            log.extend_from_slice(t.replace("\r\n", "\n").as_bytes());
        } else {
            log.extend_from_slice(t.as_bytes());
        }
        if i == n / 2 {
            log.extend_from_slice(future.as_bytes());
        }
        if i % 500 == 7 {
            log.extend_from_slice(b"***NO CARRIER***\r\n");
        }
        if i % 4000 == 11 {
            // Cut off by the next header.
            log.extend_from_slice(&t.as_bytes()[..300]);
            malformed += 1;
        }
    }
    // The meter repeats its clock, then a telegram from the past, then an
    // unset clock: one repeated, one out of order, one more without time.
    let last = T0 + (n as i64 - 1) * 10;
    log.extend_from_slice(telegram(last, 1_000_000 + n - 1).as_bytes());
    log.extend_from_slice(telegram(T0 + 100, 5).as_bytes());
    log.extend_from_slice(telegram_with_clock("000101000000W").as_bytes());
    DamagedLog {
        log,
        crc_mismatch,
        malformed,
        last,
    }
}

/// A long log with damage spread through it: the counts are exact, the
/// output is well formed, and a repeated meter time is written once.
#[test]
fn a_long_damaged_log_keeps_working() {
    const N: u64 = 20_000;
    let DamagedLog {
        log,
        crc_mismatch: expect_crc,
        malformed: expect_malformed,
        last,
    } = damaged_log(N);

    let dir = temp_dir("long");
    let (out, stats) = backfill_to_file(&dir, &log, &opts());
    assert_eq!(stats.written, N - expect_crc, "{stats:?}");
    assert_eq!(stats.crc_mismatch, expect_crc, "{stats:?}");
    assert_eq!(stats.malformed, expect_malformed, "{stats:?}");
    assert_eq!(stats.repeated_timestamp, 1, "{stats:?}");
    assert_eq!(stats.out_of_order, 1, "{stats:?}");
    assert_eq!(stats.no_timestamp, 2, "{stats:?}");
    assert_eq!(stats.series, 35);
    assert_eq!(stats.samples, 35 * stats.written);
    assert_eq!((stats.first_time, stats.last_time), (Some(T0), Some(last)));
    assert_well_formed(&out);
    let imported: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.starts_with(r#"dsmr_electricity_imported_joules_total{meter="main",tariff="1"}"#)
        })
        .collect();
    assert_eq!(imported.len() as u64, stats.written);
    // Exact joules at the exact time, for the first and the last telegram.
    assert_eq!(
        imported[0],
        format!(
            r#"dsmr_electricity_imported_joules_total{{meter="main",tariff="1"}} 3600000000 {T0}"#
        )
    );
    assert_eq!(
        imported[imported.len() - 1],
        format!(
            r#"dsmr_electricity_imported_joules_total{{meter="main",tariff="1"}} {} {last}"#,
            (1_000_000 + N - 1) * 3600
        )
    );
}

/// Runs a tool the tests need; a missing tool fails the test with the fix.
fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    assert!(
        found,
        "{name} is not installed: run the tests with `bash scripts/test.sh`, \
         which installs it (Debian package `prometheus`)"
    );
    Command::new(name)
}

/// A Prometheus started by a test, killed when the test ends, pass or fail.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(tsdb: &Path, config: &Path, log: &Path) -> Prometheus {
        // A free port: bound, read, released for Prometheus to take.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log_path = log;
        let log = std::fs::File::create(log_path).expect("prometheus log file");
        let child = tool("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", tsdb.display()))
            // Backfilled blocks are years old; the default 15 d retention,
            // counted from the newest block, could delete some.
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting prometheus");
        let mut p = Prometheus { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !p
            .get("/-/ready")
            .is_some_and(|r| r.starts_with("HTTP/1.1 200"))
        {
            let exited = p.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() > deadline {
                let said = std::fs::read_to_string(log_path).unwrap_or_default();
                panic!("prometheus not ready (exit: {exited:?}); its log:\n{said}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }

    /// A plain HTTP/1.1 GET; the whole response, or `None` if not connected.
    fn get(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    }

    /// The values of an instant query at `time`, as Prometheus prints them.
    fn query(&self, expr: &str, time: i64) -> Vec<String> {
        let enc: String = expr
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let resp = self
            .get(&format!("/api/v1/query?query={enc}&time={time}"))
            .expect("query answered");
        assert!(resp.contains(r#""status":"success""#), "{expr}: {resp}");
        resp.split(r#""value":["#)
            .skip(1)
            .map(|v| {
                let v = v.split_once(',').map_or("", |(_, v)| v);
                v.trim_start_matches('"')
                    .split('"')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

/// The real tools: promtool turns the backfill into blocks and Prometheus,
/// started on those blocks, answers queries at the telegrams' own times.
#[test]
fn promtool_loads_the_backfill_and_prometheus_answers() {
    let dir = temp_dir("promtool");
    // 1000 telegrams 10 s apart (under 3 h: two 2 h blocks) and the DSMR 5
    // fixture of 2020, one telegram long before them.
    let mut log = fixture("nl_dsmr50_iskra_am550t_two_mbus.txt");
    for i in 0..1000u64 {
        log.extend_from_slice(telegram(T0 + i as i64 * 10, 1_000_000 + i).as_bytes());
    }
    let (out, stats) = backfill_to_file(&dir, &log, &opts());
    assert_eq!(stats.written, 1001, "{stats:?}");
    assert_well_formed(&out);

    let tsdb = dir.path().join("data");
    let created = tool("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(dir.path().join("backfill.om"))
        .arg(&tsdb)
        .output()
        .expect("running promtool");
    assert!(
        created.status.success(),
        "promtool: {}\n{}{}",
        created.status,
        String::from_utf8_lossy(&created.stdout),
        String::from_utf8_lossy(&created.stderr)
    );
    let blocks = std::fs::read_dir(&tsdb)
        .expect("promtool's output dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("meta.json").is_file())
        .count();
    assert!(blocks >= 2, "promtool created {blocks} blocks");

    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        "global:\n  scrape_interval: 1m\nscrape_configs: []\n",
    )
    .expect("writing the config");
    let prom = Prometheus::start(&tsdb, &config, &dir.path().join("prometheus.log"));
    let imported = r#"dsmr_electricity_imported_joules_total{meter="main",tariff="1"}"#;
    // The 2020 fixture, at its own time.
    assert_eq!(prom.query(imported, 1_587_933_205), ["7668414000"]);
    assert_eq!(
        prom.query(r#"dsmr_phase_voltage_volts{phase="l1"}"#, 1_587_933_205),
        ["229.9"]
    );
    assert_eq!(
        prom.query(r#"dsmr_gas_cubic_meters_total{channel="2"}"#, 1_587_933_205),
        ["246.138"]
    );
    // Generated telegrams: telegram 500 holds 1 000 500 Wh.
    let t500 = T0 + 5000;
    assert_eq!(
        prom.query(imported, t500),
        [(1_000_500u64 * 3600).to_string()]
    );
    assert_eq!(
        prom.query("dsmr_meter_timestamp_seconds", t500),
        [t500.to_string()]
    );
    assert_eq!(prom.query(r#"count({meter="main"})"#, t500), ["35"]);
    // 1000 samples of one series across both blocks: increase works on them.
    assert_eq!(
        prom.query(&format!("count_over_time({imported}[3h])"), T0 + 9990),
        ["1000"]
    );
}

/// Reads `data`, then fails.
struct FailingReader<'a>(&'a [u8]);

impl Read for FailingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Err(std::io::Error::other("cable pulled"));
        }
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Accepts nothing.
struct FailingWriter;

impl Write for FailingWriter {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("disk full"))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn read_and_write_failures_are_errors_that_say_where() {
    let mut log = Vec::new();
    for i in 0..300 {
        log.extend_from_slice(telegram(T0 + i * 10, 1_000).as_bytes());
    }
    let err = run(&mut FailingReader(&log), &mut Vec::new(), &opts()).expect_err("read error");
    assert_eq!(
        err.to_string(),
        format!(
            "reading the telegram log at byte {}: cable pulled",
            log.len()
        )
    );
    let err = run(&mut &log[..], &mut FailingWriter, &opts()).expect_err("write error");
    assert_eq!(err.to_string(), "writing the OpenMetrics output: disk full");
}

// Backfill counts no field errors, so `FIELD_ERRORS` goes unused here.
#[allow(dead_code)]
#[path = "support/glitch.rs"]
mod glitch;

/// The values of one series in backfill output, in time order.
fn series_values(out: &str, series: &str) -> Vec<f64> {
    out.lines()
        .filter_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|rest| {
            let value = rest.split(' ').next().expect("a value");
            value.parse().expect("a number")
        })
        .collect()
}

/// Issue #12's glitches in a telegram log: the backfilled history holds
/// each glitching register at its last good value, as the live exporter
/// does, so `increase()` over the backfilled range is the true use; and a
/// telegram without CRC after the meter has sent CRCs is refused.
#[test]
fn backfill_holds_glitching_registers_as_the_live_exporter_does() {
    let mut log: String = (0..glitch::TELEGRAMS).map(glitch::telegram).collect();
    // The next telegram without its version line and CRC: valid on its own
    // (a DSMR 2.2 meter sends no CRC), but this meter has sent CRCs.
    let next = glitch::telegram(glitch::TELEGRAMS);
    let cut = next.rfind('!').expect("a '!' line") + 1;
    log.push_str(&next[..cut].replace("1-3:0.2.8(50)\r\n", ""));
    log.push_str("\r\n");
    let (out, stats) = backfill(log.as_bytes());

    assert_eq!(stats.written, u64::from(glitch::TELEGRAMS), "{stats:?}");
    assert_eq!(stats.crc_mismatch, 1, "{stats:?}");
    let held: u64 = glitch::REJECTED.iter().map(|r| r.2).sum();
    assert_eq!(stats.registers_held, held, "{stats:?}");

    // Held (or carried) at the previous telegram's value where it glitched.
    let good = |i: u32, glitches: &[u32]| if glitches.contains(&i) { i - 1 } else { i };
    let import = series_values(
        &out,
        "dsmr_electricity_imported_joules_total{meter=\"main\",tariff=\"1\"}",
    );
    let want: Vec<f64> = (0..glitch::TELEGRAMS)
        .map(|i| glitch::joules(glitch::truth(good(i, &[30, 50, 65, 70, 72])).0) as f64)
        .collect();
    assert_eq!(import, want);
    let gas = series_values(
        &out,
        "dsmr_gas_cubic_meters_total{meter=\"main\",channel=\"1\"}",
    );
    let want: Vec<f64> = (0..glitch::TELEGRAMS)
        .map(|i| glitch::truth(good(i, &[60])).2 as f64 / 1_000.0)
        .collect();
    assert_eq!(gas, want);
}
