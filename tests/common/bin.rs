//! The built binary as a child process, and a blocking scrape of its
//! metrics: what tests/cli.rs and tests/config.rs share.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_dsmr-exporter");

/// The binary with no `DSMR_EXPORTER_*` or `RUST_LOG` from the caller's
/// environment, run from the crate root so fixture paths work.
pub fn cmd() -> Command {
    let mut c = Command::new(BIN);
    clean_env(&mut c);
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c.stdin(Stdio::null());
    c
}

/// Removes the caller's `DSMR_EXPORTER_*` and `RUST_LOG` from `c`'s
/// environment, so that only what the test sets reaches the exporter.
pub fn clean_env(c: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("DSMR_EXPORTER_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

pub fn run(c: &mut Command) -> Output {
    c.output().expect("run dsmr-exporter")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Kills the child when the test ends, passing or not.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the exporter with text logs and reads the bound address (port 0
/// picks a free one) from its first log line. Returns the child, that
/// address, and the rest of its stderr line by line; dropping the receiver
/// discards the rest.
pub fn start(c: &mut Command) -> (Running, String, mpsc::Receiver<String>) {
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
        // Keep draining after the receiver is gone, so the exporter never
        // blocks on a full pipe.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
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
    (child, addr, rx)
}

/// `GET path` over a plain TCP connection; the body, or `None` on any failure.
pub fn scrape(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    Some(response.split_once("\r\n\r\n")?.1.to_owned())
}

/// Scrapes `/metrics` until `cond` holds on the body (5 s at most).
pub fn scrape_until(addr: &str, what: &str, cond: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let body = scrape(addr, "/metrics").unwrap_or_default();
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

/// `dsmr_telegrams_total{meter=…,result=…}`.
pub fn telegrams(body: &str, meter: &str, result: &str) -> Option<f64> {
    let m = format!("meter=\"{meter}\"");
    let r = format!("result=\"{result}\"");
    body.lines()
        .filter(|l| l.starts_with("dsmr_telegrams_total{"))
        .filter(|l| l.contains(&m) && l.contains(&r))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Runs `parse -` on `input`, writing stdin from a thread so a full stdout
/// pipe cannot stall the child.
pub fn parse_stdin(input: Vec<u8>) -> std::process::Output {
    let mut child = cmd()
        .args(["parse", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        // The child may exit before reading everything; that is its answer.
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    out
}
