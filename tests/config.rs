//! The built binary with `--config FILE` (many meters), the Smarty key
//! flags and environment variable, and `--homewizard`: what starts, what is
//! refused and how the errors read.

mod common;
use common::bin::{cmd, run, scrape_until, start, telegrams, text, Running};
use common::{fixture_path, hex_fixture, TempDir};
use std::process::{Command, Stdio};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const VECTOR_AUTH: &str = "ffeeddccbbaa99887766554433221100";

/// Refused with exit code 2 and one `error:` line; returns stderr.
fn refused(c: &mut Command) -> String {
    let out = run(c);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

#[test]
fn check_config_lists_every_meter_and_flags_override_web_settings() {
    let dir = TempDir::new("cfg-check");
    std::fs::write(dir.0.join("lu.key"), format!("{KEY}\n")).expect("key");
    let file = dir.write(
        "m.toml",
        r#"
[web]
listen_address = "127.0.0.1:9100"
telemetry_path = "/p1"

[[meter]]
name = "house"
timezone = "UTC"
serial = { path = "/dev/ttyUSB0", baud = 9600, data_bits = 7, parity = "even" }

[[meter]]
name = "garage"
stale_after = "5m"
tcp = { address = "192.168.1.50:2001" }
smarty = { key_file = "lu.key" }

[[meter]]
name = "hw"
homewizard = { host = "192.168.1.60", interval = "2s" }
"#,
    );
    let out = run(cmd().arg("--config").arg(&file).arg("--check-config"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cfg = text(&out.stdout);
    for line in [
        "meter: house",
        "source: serial /dev/ttyUSB0 9600 7E1",
        "timezone: UTC",
        "meter: garage",
        "source: tcp 192.168.1.50:2001, smarty-encrypted (default auth key)",
        "stale after: 5m",
        "source: homewizard http://192.168.1.60:80/api/v1/telegram every 2s",
        "metrics: http://127.0.0.1:9100/p1",
    ] {
        assert!(cfg.contains(line), "{line:?} missing from:\n{cfg}");
    }
    assert!(!cfg.contains("0123456789"), "keys never printed:\n{cfg}");

    // A web flag (or its variable) wins over the file.
    let out = run(cmd()
        .arg("--config")
        .arg(&file)
        .args(["--check-config", "--web.listen-address", ":9200"])
        .env("DSMR_EXPORTER_WEB_TELEMETRY_PATH", "/m"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("metrics: http://0.0.0.0:9200/m"));

    // The file's path can come from the environment too.
    let out = run(cmd()
        .env("DSMR_EXPORTER_CONFIG", &file)
        .arg("--check-config"));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn bad_files_are_refused_with_file_line_column_and_key() {
    let dir = TempDir::new("cfg-bad");
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "unknown.toml",
            "[[meter]]\nname = \"a\"\ndemo = true\nbaudrate = 9600\n",
            &["unknown.toml:4:1: ", "baudrate"],
        ),
        (
            "nested.toml",
            "[[meter]]\nname = \"a\"\n[meter.serial]\npath = \"/dev/x\"\nspeed = 9600\n",
            &["nested.toml:5:1: ", "speed"],
        ),
        (
            "dup.toml",
            "[[meter]]\nname = \"a\"\ndemo = true\n[[meter]]\nname = \"a\"\ndemo = true\n",
            &["dup.toml:5:8: ", "duplicate meter name \"a\""],
        ),
        (
            "two.toml",
            "[[meter]]\nname = \"a\"\ndemo = true\ntcp = { address = \"h:1\" }\n",
            &["two.toml:4:", "only one source"],
        ),
        (
            "syntax.toml",
            "[[meter]]\nname = \"a\ndemo = true\n",
            &["syntax.toml:2:"],
        ),
        (
            "dur.toml",
            "[[meter]]\nname = \"a\"\nreplay = { file = \"x\", interval = \"soon\" }\n",
            &["dur.toml:3:", "replay.interval \"soon\""],
        ),
        (
            "type.toml",
            "[metrics]\nexpose_equipment_ids = \"yes\"\n",
            &["type.toml:2:"],
        ),
    ];
    for (name, body, wanted) in cases {
        let file = dir.write(name, body);
        let err = refused(cmd().arg("--config").arg(&file).arg("--check-config"));
        for w in *wanted {
            assert!(err.contains(w), "{name}: {w:?} missing from {err}");
        }
    }
    let err = refused(cmd().args(["--config", "no-such.toml", "--check-config"]));
    assert!(
        err.contains("cannot read config file no-such.toml"),
        "{err}"
    );
}

/// A rule the flags and the file share refuses the same bad value for the
/// same reason, each path wording where it was written its own way.
#[test]
fn flags_and_file_refuse_a_bad_value_for_the_same_reason() {
    let dir = TempDir::new("cfg-shared");
    let cases: &[(&[&str], &str, &str, &str)] = &[
        (
            &["--demo", "--stale-after", "0"],
            "name = \"a\"\ndemo = true\nstale_after = \"0\"",
            "meter \"a\": stale_after ",
            "must be more than 0",
        ),
        (
            &["--serial", "/dev/x", "--baud", "10"],
            "name = \"a\"\nserial = { path = \"/dev/x\", baud = 10 }",
            "serial.baud: ",
            "expected a speed such as 115200 or 9600",
        ),
        (
            &["--serial", "/dev/x", "--data-bits", "9"],
            "name = \"a\"\nserial = { path = \"/dev/x\", data_bits = 9 }",
            "serial.data_bits ",
            "must be 7 or 8",
        ),
        (
            &["--serial", "/dev/x", "--stop-bits", "3"],
            "name = \"a\"\nserial = { path = \"/dev/x\", stop_bits = 3 }",
            "serial.stop_bits ",
            "must be 1 or 2",
        ),
        (
            &["--homewizard", "h", "--homewizard-interval", "10ms"],
            "name = \"a\"\nhomewizard = { host = \"h\", interval = \"10ms\" }",
            "homewizard.interval \"10ms\": ",
            "must be from 100ms to 60s",
        ),
        (
            &["--homewizard", "h/api"],
            "name = \"a\"\nhomewizard = { host = \"h/api\" }",
            "homewizard.host \"h/api\": ",
            "give only the host",
        ),
        (
            &["--tcp", "dongle"],
            "name = \"a\"\ntcp = { address = \"dongle\" }",
            "tcp.address \"dongle\": ",
            "expected HOST:PORT",
        ),
        (
            &["--demo", "--timezone", "Mars/Base"],
            "name = \"a\"\ndemo = true\ntimezone = \"Mars/Base\"",
            "timezone \"Mars/Base\": ",
            "expected Europe/<city>, UTC or a fixed offset",
        ),
        (
            &["--replay", "f", "--replay-interval", "soon"],
            "name = \"a\"\nreplay = { file = \"f\", interval = \"soon\" }",
            "replay.interval \"soon\": ",
            "'soon' is not a duration",
        ),
        (
            &["--demo", "--meter", "a b"],
            "name = \"a b\"\ndemo = true",
            "meter name \"a b\": ",
            "use 1 to 64 letters",
        ),
    ];
    for (i, (flags, table, file_words, reason)) in cases.iter().enumerate() {
        let err = refused(cmd().args(*flags));
        assert!(
            err.contains(reason),
            "{flags:?}: {reason:?} missing from {err}"
        );
        let file = dir.write(&format!("{i}.toml"), format!("[[meter]]\n{table}\n"));
        let err = refused(cmd().arg("--config").arg(&file).arg("--check-config"));
        let wanted = format!("{file_words}{reason}");
        assert!(
            err.contains(&wanted),
            "{table}: {wanted:?} missing from {err}"
        );
    }
}

#[test]
fn config_with_meter_flags_is_refused() {
    let dir = TempDir::new("cfg-flags");
    let file = dir.write("m.toml", "[[meter]]\nname = \"a\"\ndemo = true\n");
    let err = refused(cmd().arg("--config").arg(&file).args(["--tcp", "h:1"]));
    assert!(err.contains("--tcp cannot be combined"), "{err}");
    let err = refused(
        cmd()
            .arg("--config")
            .arg(&file)
            .env("DSMR_EXPORTER_SERIAL", "/dev/ttyUSB0")
            .args(["--meter", "x"]),
    );
    assert!(err.contains("--serial, --meter"), "{err}");
    let err = refused(
        cmd()
            .arg("--config")
            .arg(&file)
            .env("DSMR_EXPORTER_SMARTY_KEY", KEY),
    );
    assert!(err.contains("DSMR_EXPORTER_SMARTY_KEY"), "{err}");
}

#[test]
fn smarty_key_comes_from_a_file_or_the_environment_never_a_flag() {
    let dir = TempDir::new("smarty-flags");
    let key = dir.write("key", format!("{KEY}\n"));
    let out = run(cmd()
        .args(["--tcp", "h:1", "--check-config", "--smarty-key-file"])
        .arg(&key));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("tcp h:1, smarty-encrypted (default auth key)"));

    let out = run(cmd()
        .args(["--serial", "/dev/ttyUSB0", "--check-config"])
        .args(["--smarty-auth-key-file", "none"])
        .env("DSMR_EXPORTER_SMARTY_KEY", KEY));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("smarty-encrypted (no auth key)"));

    // A bad key names its source and never echoes the digits.
    let err = refused(
        cmd()
            .args(["--tcp", "h:1", "--check-config"])
            .env("DSMR_EXPORTER_SMARTY_KEY", "0123456789abcdef"),
    );
    assert!(
        err.contains("DSMR_EXPORTER_SMARTY_KEY: encryption key must be 32 hex digits"),
        "{err}"
    );
    assert!(!err.contains("0123456789abcdef"), "{err}");
    let err = refused(cmd().args([
        "--tcp",
        "h:1",
        "--smarty-key-file",
        "no-such.key",
        "--check-config",
    ]));
    assert!(
        err.contains("no-such.key") && err.contains("cannot read"),
        "{err}"
    );
    let err = refused(cmd().arg("--demo").arg("--smarty-key-file").arg(&key));
    assert!(err.contains("not --demo"), "{err}");
    let err = refused(cmd().args(["--tcp", "h:1", "--smarty-auth-key-file", "none"]));
    assert!(err.contains("needs the decryption key"), "{err}");
    // There is no flag that takes the key itself.
    let out = run(cmd().args(["--tcp", "h:1", "--smarty-key", KEY]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn homewizard_flags() {
    let out = run(cmd().args([
        "--homewizard",
        "p1meter.local",
        "--homewizard-interval",
        "500ms",
        "--check-config",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout)
        .contains("source: homewizard http://p1meter.local:80/api/v1/telegram every 500ms"));
    let err = refused(cmd().args(["--homewizard", "h", "--homewizard-interval", "10ms"]));
    assert!(err.contains("--homewizard-interval"), "{err}");
    let err = refused(cmd().args(["--homewizard", "h/api/v1/telegram"]));
    assert!(err.contains("--homewizard"), "{err}");
    let err = refused(cmd().args(["--homewizard", "h", "--demo"]));
    assert!(err.contains("--demo and --homewizard"), "{err}");
}

#[test]
fn config_runs_every_meter_into_one_exposition() {
    let dir = TempDir::new("cfg-run");
    dir.write("lu.bin", hex_fixture("lu_smarty_encrypted_with_aad.hex"));
    dir.write("lu.key", KEY);
    dir.write("lu.auth", VECTOR_AUTH);
    let telegram = fixture_path("nl_dsmr50_iskra_am550t_two_mbus.txt");
    let file = dir.write(
        "m.toml",
        format!(
            r#"
[web]
listen_address = "127.0.0.1:0"

[[meter]]
name = "nl"
replay = {{ file = "{}", interval = "100ms", loop = true }}

[[meter]]
name = "sim"
demo = true

[[meter]]
name = "lu"
replay = {{ file = "lu.bin", interval = "0s" }}
smarty = {{ key_file = "lu.key", auth_key_file = "lu.auth" }}
"#,
            telegram.display()
        ),
    );
    let (_child, addr, _) = start(cmd().arg("--config").arg(&file));
    let body = scrape_until(&addr, "all three meters", |b| {
        telegrams(b, "nl", "ok").is_some_and(|n| n > 0.0)
            && telegrams(b, "sim", "ok").is_some_and(|n| n > 0.0)
            && telegrams(b, "lu", "crc_mismatch") == Some(1.0)
    });
    // The published vector decrypts (no malformed); its plaintext lacks the
    // blank line its CRC covers, so the engine reports a CRC mismatch.
    assert_eq!(telegrams(&body, "lu", "malformed"), Some(0.0), "{body}");
}

#[test]
fn config_with_a_missing_replay_file_does_not_start_half_configured() {
    let dir = TempDir::new("cfg-half");
    let file = dir.write(
        "m.toml",
        "[web]\nlisten_address = \"127.0.0.1:0\"\n\n[[meter]]\nname = \"ok\"\ndemo = true\n\n\
         [[meter]]\nname = \"gone\"\nreplay = { file = \"missing.txt\" }\n",
    );
    let out = run(cmd()
        .arg("--config")
        .arg(&file)
        .args(["--log-level", "error"]));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("meter gone") && err.contains("missing.txt"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
}

#[test]
fn the_example_config_checks() {
    let out = run(cmd().args(["--config", "examples/dsmr-exporter.toml", "--check-config"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cfg = text(&out.stdout);
    for name in [
        "house",
        "old-meter",
        "garage",
        "homewizard",
        "replayed",
        "demo",
    ] {
        assert!(cfg.contains(&format!("meter: {name}\n")), "{name}: {cfg}");
    }

    // Its commented Smarty meter works once uncommented, with a key file.
    let dir = TempDir::new("cfg-example");
    std::fs::create_dir_all(dir.0.join("keys")).expect("keys dir");
    dir.write("keys/luxembourg.key", KEY);
    let example = std::fs::read_to_string("examples/dsmr-exporter.toml").expect("read the example");
    let smarty: String = example
        .lines()
        .skip_while(|l| *l != "# [[meter]]")
        .take_while(|l| l.starts_with('#'))
        .filter(|l| !l.starts_with("# #"))
        .map(|l| format!("{}\n", l.trim_start_matches('#').trim_start()))
        .collect();
    assert!(smarty.contains("smarty = { key_file"), "{smarty}");
    let file = dir.write("lu.toml", smarty);
    let out = run(cmd().arg("--config").arg(&file).arg("--check-config"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("smarty-encrypted (default auth key)"));
}

/// Logging to a closed pipe must not stop the sources: tracing reports a
/// failed write with `eprintln!`, which panics inside the task that logged.
#[test]
fn a_closed_stderr_does_not_stop_the_sources() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let dir = TempDir::new("cfg-epipe");
    let file = dir.write(
        "m.toml",
        format!(
            "[web]\nlisten_address = \"{addr}\"\n\n[[meter]]\nname = \"a\"\ndemo = true\n\n\
             [[meter]]\nname = \"b\"\ndemo = true\n"
        ),
    );
    let mut child = cmd()
        .arg("--config")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dsmr-exporter");
    // Close the read end at once: every log line now fails with EPIPE.
    drop(child.stderr.take());
    let _child = Running(child);
    scrape_until(&addr, "both demo meters counted", |b| {
        telegrams(b, "a", "ok").is_some_and(|n| n > 0.0)
            && telegrams(b, "b", "ok").is_some_and(|n| n > 0.0)
    });
}

#[test]
fn help_lists_the_new_flags_with_their_env_vars() {
    let out = run(cmd().arg("--help"));
    assert!(out.status.success());
    let help = text(&out.stdout);
    for (flag, env) in [
        ("--config", "DSMR_EXPORTER_CONFIG"),
        ("--homewizard", "DSMR_EXPORTER_HOMEWIZARD"),
        ("--homewizard-interval", "DSMR_EXPORTER_HOMEWIZARD_INTERVAL"),
        ("--smarty-key-file", "DSMR_EXPORTER_SMARTY_KEY_FILE"),
        (
            "--smarty-auth-key-file",
            "DSMR_EXPORTER_SMARTY_AUTH_KEY_FILE",
        ),
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
        assert!(help.contains(env), "--help lacks {env}");
    }
    assert!(help.contains("Smarty (Luxembourg):"));
    // The key itself only through the environment, and said so.
    assert!(help.contains("DSMR_EXPORTER_SMARTY_KEY "));
    assert!(!help.contains("--smarty-key "));
}
