//! The built binary with `--config FILE` (many meters), the Smarty key
//! flags and environment variable, and `--homewizard`: what starts, what is
//! refused and how the errors read.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dsmr-exporter");
const KEY: &str = "0123456789abcdef0123456789abcdef";
const VECTOR_AUTH: &str = "ffeeddccbbaa99887766554433221100";

/// The binary with no `DSMR_EXPORTER_*` or `RUST_LOG` from the caller's
/// environment, run from the crate root so fixture paths work.
fn cmd() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("DSMR_EXPORTER_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.stdin(Stdio::null());
    c
}

fn run(c: &mut Command) -> Output {
    c.output().expect("run dsmr-exporter")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A scratch directory removed when the test ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dsmr-exporter-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

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

/// Kills the child when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the exporter and reads the bound address from its first log line.
fn start(c: &mut Command) -> (Running, String) {
    let child = c
        .args(["--log-format", "text"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dsmr-exporter");
    let mut child = Running(child);
    let stderr = child.0.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut log = Vec::new();
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no 'serving metrics' line; log so far: {log:#?}"));
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split('/').next().expect("address").to_owned();
        }
        log.push(line);
    };
    (child, addr)
}

fn scrape(addr: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    Some(response.split_once("\r\n\r\n")?.1.to_owned())
}

/// `dsmr_telegrams_total{meter=…,result=…}`.
fn telegrams(body: &str, meter: &str, result: &str) -> Option<f64> {
    let m = format!("meter=\"{meter}\"");
    let r = format!("result=\"{result}\"");
    body.lines()
        .filter(|l| l.starts_with("dsmr_telegrams_total{"))
        .filter(|l| l.contains(&m) && l.contains(&r))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Scrapes until `cond` holds on the body (5 s at most).
fn scrape_until(addr: &str, what: &str, cond: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let body = scrape(addr).unwrap_or_default();
        if cond(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last body:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn config_runs_every_meter_into_one_exposition() {
    let dir = TempDir::new("cfg-run");
    let vector = std::fs::read_to_string(fixture_path("lu_smarty_encrypted_with_aad.hex"))
        .expect("hex fixture");
    let bytes: Vec<u8> = vector
        .split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex"))
        .collect();
    dir.write("lu.bin", bytes);
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
    let (_child, addr) = start(cmd().arg("--config").arg(&file));
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
