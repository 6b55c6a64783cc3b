//! The built binary: flags, environment variables, exit codes, and one
//! end-to-end run (replay, scrape, SIGTERM).

mod common;
use common::bin::{cmd, parse_stdin, run, scrape_until, start, telegrams, text};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FLAGS: &[(&str, &str)] = &[
    ("--serial", "DSMR_EXPORTER_SERIAL"),
    ("--tcp", "DSMR_EXPORTER_TCP"),
    ("--replay", "DSMR_EXPORTER_REPLAY"),
    ("--replay-interval", "DSMR_EXPORTER_REPLAY_INTERVAL"),
    ("--replay-loop", "DSMR_EXPORTER_REPLAY_LOOP"),
    ("--demo", "DSMR_EXPORTER_DEMO"),
    ("--meter", "DSMR_EXPORTER_METER"),
    ("--stale-after", "DSMR_EXPORTER_STALE_AFTER"),
    ("--timezone", "DSMR_EXPORTER_TIMEZONE"),
    ("--baud", "DSMR_EXPORTER_BAUD"),
    ("--data-bits", "DSMR_EXPORTER_DATA_BITS"),
    ("--parity", "DSMR_EXPORTER_PARITY"),
    ("--stop-bits", "DSMR_EXPORTER_STOP_BITS"),
    ("--web.listen-address", "DSMR_EXPORTER_WEB_LISTEN_ADDRESS"),
    ("--web.telemetry-path", "DSMR_EXPORTER_WEB_TELEMETRY_PATH"),
    ("--web.config.file", "DSMR_EXPORTER_WEB_CONFIG_FILE"),
    (
        "--metrics.expose-equipment-ids",
        "DSMR_EXPORTER_METRICS_EXPOSE_EQUIPMENT_IDS",
    ),
    ("--log-format", "DSMR_EXPORTER_LOG_FORMAT"),
    ("--log-level", "DSMR_EXPORTER_LOG_LEVEL"),
    ("--check-config", "DSMR_EXPORTER_CHECK_CONFIG"),
];

#[test]
fn help_lists_every_flag_with_its_env_var_in_groups() {
    let out = run(cmd().arg("--help"));
    assert!(out.status.success());
    let help = text(&out.stdout);
    for (flag, env) in FLAGS {
        assert!(help.contains(flag), "--help lacks {flag}");
        assert!(help.contains(env), "--help lacks {env}");
    }
    for group in ["Source:", "Serial:", "Web:", "Metrics:", "Logging:"] {
        assert!(help.contains(group), "--help lacks the {group} group");
    }
    assert!(help.contains("parse"), "--help lacks the parse command");
}

#[test]
fn version() {
    let out = run(cmd().arg("--version"));
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).trim(),
        format!("dsmr-exporter {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn no_source_is_a_usage_error_that_suggests_demo() {
    let out = run(&mut cmd());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--demo"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn two_sources_are_refused() {
    let out = run(cmd().args(["--demo", "--serial", "/dev/ttyUSB0"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("only one source"), "{err}");
    assert!(err.contains("--serial and --demo"), "{err}");

    // Also when one of them comes from the environment.
    let out = run(cmd().arg("--demo").env("DSMR_EXPORTER_TCP", "dongle:2001"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--tcp and --demo"));
}

#[test]
fn bad_values_name_the_flag() {
    for (args, flag) in [
        (&["--demo", "--stale-after", "10x"][..], "--stale-after"),
        (
            &["--replay", "f.txt", "--replay-interval", "soon"],
            "--replay-interval",
        ),
        (
            &["--serial", "/dev/ttyUSB0", "--data-bits", "9"],
            "--data-bits",
        ),
        (
            &["--demo", "--web.telemetry-path", "metrics"],
            "--web.telemetry-path",
        ),
        (&["--demo", "--parity", "mark"], "--parity"),
    ] {
        let out = run(cmd().args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    let out = run(cmd()
        .arg("--demo")
        .env("DSMR_EXPORTER_STALE_AFTER", "1 minute"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--stale-after"));
}

#[test]
fn env_vars_configure_the_exporter_and_flags_win() {
    let out = run(cmd()
        .env("DSMR_EXPORTER_DEMO", "true")
        .env("DSMR_EXPORTER_WEB_LISTEN_ADDRESS", "127.0.0.1:9999")
        .env("DSMR_EXPORTER_WEB_TELEMETRY_PATH", "/p1")
        .env("DSMR_EXPORTER_STALE_AFTER", "5m")
        .env("DSMR_EXPORTER_METER", "from-env")
        .env("DSMR_EXPORTER_METRICS_EXPOSE_EQUIPMENT_IDS", "yes")
        .env("DSMR_EXPORTER_CHECK_CONFIG", "1")
        .args(["--meter", "from-flag"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cfg = text(&out.stdout);
    for line in [
        "meter: from-flag",
        "source: demo",
        "stale after: 5m",
        "metrics: http://127.0.0.1:9999/p1",
        "expose equipment ids: true",
    ] {
        assert!(cfg.contains(line), "{line:?} missing from:\n{cfg}");
    }

    let out = run(cmd()
        .env("DSMR_EXPORTER_SERIAL", "/dev/ttyUSB0")
        .env("DSMR_EXPORTER_BAUD", "9600")
        .env("DSMR_EXPORTER_DATA_BITS", "7")
        .env("DSMR_EXPORTER_PARITY", "even")
        .arg("--check-config"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("source: serial /dev/ttyUSB0 9600 7E1"));

    // A boolean set to false in the environment is off.
    let out = run(cmd()
        .env("DSMR_EXPORTER_DEMO", "false")
        .arg("--check-config"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn parse_command_reads_a_file_or_stdin() {
    let fixture = "fixtures/nl_dsmr50_iskra_am550t_two_mbus.txt";
    let out = run(cmd().args(["parse", fixture]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!out.stdout.is_empty());

    let mut child = cmd()
        .arg("parse")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture)).expect("fixture");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!out.stdout.is_empty());

    let out = run(cmd().args(["parse", "fixtures/no-such-file.txt"]));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no-such-file.txt"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
}

#[test]
fn parse_prints_the_decoded_values_and_says_why_nothing_is_valid() {
    // A valid telegram: its exact values, as JSON, and exit 0.
    let out = run(cmd().args(["parse", "fixtures/nl_dsmr50_iskra_am550t_two_mbus.txt"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json = text(&out.stdout);
    assert_eq!(json.lines().count(), 1, "one JSON object per telegram");
    assert!(
        json.contains(r#""crc":{"status":"valid","sent":"56DD"}"#),
        "{json}"
    );
    assert!(
        json.contains(r#""imported_tariff_1":{"value":2130.115,"unit":"kWh","base_value":7668414000,"base_unit":"J"}"#),
        "{json}"
    );
    // Only CRC mismatches: non-zero, and the message names both CRCs.
    let out = run(cmd().args(["parse", "fixtures/nl_dsmr50_spec_example.txt"]));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("CRC mismatch") && err.contains("EF2F") && err.contains("E47C"),
        "{err}"
    );
    assert!(text(&out.stdout).contains(r#""status":"mismatch""#));
    // No header at all.
    let out = parse_stdin(b"garbage at the wrong baud rate\r\n\xff\xfe".to_vec());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no '/' header"),
        "{}",
        text(&out.stderr)
    );
    // A capture cut off before its '!' line.
    let out = run(cmd().args([
        "parse",
        "fixtures/nl_dsmr50_landisgyr_e360_corrupted_truncated_issue1408.txt",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("input ended inside a telegram"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn backfill_command_writes_timestamped_openmetrics() {
    let out = run(cmd().args([
        "backfill",
        "--meter",
        "house",
        "fixtures/nl_dsmr50_iskra_am550t_two_mbus.txt",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let om = text(&out.stdout);
    assert!(
        om.contains(
            "dsmr_electricity_imported_joules_total{meter=\"house\",tariff=\"1\"} 7668414000 1587933205"
        ),
        "{om}"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(
        text(&out.stderr).contains("written: 1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_web_config_file_is_refused_at_start_with_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("web.yml");
    std::fs::write(&file, "basic_auth_users:\n  alice: not-a-bcrypt-hash\n").expect("write");
    let out = run(cmd()
        .args([
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
        ])
        .arg(&file));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("web.yml") && err.contains("line 2"), "{err}");
}

#[test]
fn missing_replay_file_fails_at_start_with_one_line() {
    let out = run(cmd().args([
        "--replay",
        "fixtures/no-such-file.txt",
        "--web.listen-address",
        "127.0.0.1:0",
        "--log-level",
        "error",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no-such-file.txt"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
}

#[test]
fn end_to_end_replay_scrape_and_sigterm() {
    // Port 0 picks a free one; `start` reads it from the first log line.
    let (mut child, addr, rx) = start(cmd().args([
        "--replay",
        "fixtures/nl_dsmr50_iskra_am550t_two_mbus.txt",
        "--replay-loop",
        "--replay-interval",
        "100ms",
        "--web.listen-address",
        "127.0.0.1:0",
    ]));
    scrape_until(&addr, "an ok telegram", |b| {
        telegrams(b, "main", "ok").is_some_and(|n| n > 0.0)
    });

    let pid = child.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 5 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // The reader thread ends at EOF, which closes the channel.
    let mut rest = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
        rest.push(line);
    }
    assert!(
        rest.iter().any(|l| l.contains("SIGTERM")),
        "no shutdown line in {rest:#?}"
    );
}

/// Ids of the Fluvius fixture: equipment id, header serial, gas and water ids.
const FLUVIUS_IDS: [&str; 4] = [
    "3153414733313030373231333236",
    "253769484",
    "37464C4F32313233303838303237",
    "3853455430303030393631313733",
];

#[test]
fn parse_mask_ids_masks_the_json_and_the_raw_telegram_which_replays() {
    for fixture in [
        "fixtures/be_fluvius_v171_peak_history_water.txt",
        "fixtures/hu_holley_dtsd545_crc_x25.txt",
    ] {
        let plain = run(cmd().args(["parse", fixture]));
        let json = run(cmd().args(["parse", "--mask-ids", fixture]));
        let raw = run(cmd().args(["parse", "--mask-ids", "--raw", fixture]));
        for out in [&plain, &json, &raw] {
            assert!(out.status.success(), "{fixture}: {}", text(&out.stderr));
        }
        let (plain, json, raw) = (text(&plain.stdout), text(&json.stdout), raw.stdout);
        assert!(json.contains(r#""status":"valid""#), "{json}");
        // The masked text is a telegram with a valid CRC that decodes to
        // exactly the JSON `--mask-ids` shows.
        assert!(raw.starts_with(b"/") && raw.ends_with(b"\r\n"));
        let replayed = parse_stdin(raw.clone());
        assert!(replayed.status.success(), "{}", text(&replayed.stderr));
        assert_eq!(text(&replayed.stdout), json, "{fixture}");
        assert_eq!(raw.len(), std::fs::read(fixture).expect("fixture").len());
        if fixture.contains("fluvius") {
            for id in FLUVIUS_IDS {
                assert!(plain.contains(id), "{id} not in the unmasked output");
                assert!(!json.contains(id), "{id} left in {json}");
                assert!(!text(&raw).contains(id), "{id} left in the raw telegram");
            }
            // Length, first and last characters kept; hex ids stay hex.
            assert!(json.contains(r#""equipment_id":"3158585858585858585858585836""#));
            assert!(json.contains(r#""header":"FLU5\\2XXXXXXX4_A""#), "{json}");
        } else {
            assert!(json.contains(r#""algorithm":"x25""#), "{json}");
            assert!(
                json.contains(r#""serial":"3158585858585858585836""#),
                "{json}"
            );
        }
    }
}

#[test]
fn tariffs_above_4_on_metrics_and_api_and_x25_counted() {
    let (_child, addr, _rx) = start(cmd().args([
        "--replay",
        "fixtures/il_tou_tariffs_11_13.txt",
        "--replay-loop",
        "--replay-interval",
        "100ms",
        "--web.listen-address",
        "127.0.0.1:0",
    ]));
    let body = scrape_until(&addr, "an ok telegram", |b| {
        telegrams(b, "main", "ok").is_some_and(|n| n > 0.0)
    });
    for line in [
        // 6012.345 kWh and 62.001 kWh in joules.
        r#"dsmr_electricity_imported_joules_total{meter="main",tariff="11"} 21644442000"#,
        r#"dsmr_electricity_exported_joules_total{meter="main",tariff="13"} 223203600"#,
    ] {
        assert!(body.lines().any(|l| l == line), "no {line} in\n{body}");
    }
    // Only a meter that sent an X25 telegram has the counter.
    assert!(!body.contains("dsmr_telegrams_crc_x25_total{"), "{body}");
    let api = common::bin::scrape(&addr, "/api/v1/meters").expect("the API answers");
    assert!(api.contains(r#""tariff_11":{"value":6012.345"#), "{api}");
    assert!(api.contains(r#""tariff_13":{"value":62.001"#), "{api}");

    let (_child, addr, _rx) = start(cmd().args([
        "--replay",
        "fixtures/hu_holley_dtsd545_crc_x25.txt",
        "--replay-loop",
        "--replay-interval",
        "100ms",
        "--web.listen-address",
        "127.0.0.1:0",
    ]));
    let x25 = |b: &str| {
        b.lines()
            .find_map(|l| l.strip_prefix(r#"dsmr_telegrams_crc_x25_total{meter="main"} "#))
            .and_then(|v| v.parse::<f64>().ok())
    };
    let body = scrape_until(&addr, "an X25 telegram counted", |b| {
        x25(b).is_some_and(|n| n > 0.0)
    });
    assert!(
        telegrams(&body, "main", "crc_mismatch") == Some(0.0),
        "{body}"
    );
}
