//! The demos fill the dashboards: a real Prometheus (Debian's) scrapes
//! `--demo nl` and `--demo be` every second for two minutes, then every
//! panel query of `scripts/dashboard-queries.py` is evaluated; at least
//! 90 % of them must have data. A query that looks into the future
//! (`offset -…`, the bar charts) is judged by a range query over the two
//! minutes instead of an instant one. On failure the queries without data
//! are listed.
//!
//! Takes about 2.5 minutes (the two minutes of scraping); needs the
//! `prometheus` package, as tests/prometheus_e2e.rs does.

mod common;

use common::bin::{cmd, start, Running};
use common::TempDir;
use serde_json::Value as Json;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// How long Prometheus scrapes the demos before the queries run.
const SCRAPING: Duration = Duration::from_secs(120);

/// The share of queries that must have data, in percent.
const MIN_PERCENT: usize = 90;

#[test]
fn the_two_demos_fill_at_least_90_percent_of_the_dashboard_queries() {
    require_prometheus();
    let (_nl, nl, _nl_log) = start(cmd().args(demo("nl")));
    let (_be, be, _be_log) = start(cmd().args(demo("be")));
    let tmp = TempDir::new("demo-dashboards");
    let (_prom, prom) = start_prometheus(&tmp, &[&nl, &be]);
    let started = Instant::now();
    wait_ready(&prom);
    std::thread::sleep(SCRAPING.saturating_sub(started.elapsed()));

    let queries = panel_queries();
    let mut empty = Vec::new();
    for (panel, expr) in &queries {
        match has_data(&prom, expr) {
            Ok(true) => {}
            Ok(false) => empty.push(format!("{panel}: {expr}")),
            Err(e) => panic!("panel {panel:?}: {e}"),
        }
    }
    // Tomorrow's price curve (the demo's synthetic day ahead) is among them.
    let ahead: Vec<_> = queries
        .iter()
        .filter(|(_, e)| e.contains("dsmr_price_ahead"))
        .collect();
    assert!(!ahead.is_empty(), "no dashboard query of dsmr_price_ahead");
    for (panel, expr) in ahead {
        assert!(
            !empty.iter().any(|e| e.ends_with(expr.as_str())),
            "{panel}: no data for {expr}"
        );
    }
    let with_data = queries.len() - empty.len();
    assert!(
        with_data * 100 >= queries.len() * MIN_PERCENT,
        "{with_data} of {} dashboard queries have data after {SCRAPING:?} of the two demos \
         (need {MIN_PERCENT} %); without data:\n{}",
        queries.len(),
        empty.join("\n")
    );
    eprintln!(
        "{with_data} of {} queries have data; without: {empty:#?}",
        queries.len()
    );
}

fn demo(country: &str) -> [&str; 5] {
    [
        "--demo",
        country,
        "--meter",
        country,
        "--web.listen-address=127.0.0.1:0",
    ]
}

fn require_prometheus() {
    let ok = Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "needs Debian's prometheus on PATH (scripts/test.sh installs it)"
    );
}

/// Prometheus scraping `targets` every second, storing in `tmp`.
fn start_prometheus(tmp: &TempDir, targets: &[&str]) -> (Running, String) {
    let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    let config = tmp.write(
        "prometheus.yml",
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: dsmr\n    static_configs:\n      - targets: [{}]\n",
            list.join(", ")
        ),
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            tmp.0.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn prometheus");
    (Running(child), addr)
}

fn wait_ready(prom: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http_get(prom, "/-/ready"), Ok((200, _))) {
        assert!(Instant::now() < deadline, "Prometheus not ready in 30 s");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// (panel title, PromQL) of every dashboard query.
fn panel_queries() -> Vec<(String, String)> {
    let out = Command::new("python3")
        .current_dir(ROOT)
        .arg("scripts/dashboard-queries.py")
        .output()
        .expect("run python3 scripts/dashboard-queries.py");
    assert!(out.status.success(), "dashboard-queries.py: {out:?}");
    let queries: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .map(|j| {
            let f = |k: &str| j[k].as_str().unwrap_or_default().to_owned();
            (format!("{} / {}", f("dashboard"), f("panel")), f("expr"))
        })
        .collect();
    assert!(queries.len() > 20, "too few queries: {queries:?}");
    queries
}

/// Whether `expr` has a sample now, or (looking into the future with a
/// negative offset) anywhere in the scraped two minutes.
fn has_data(prom: &str, expr: &str) -> Result<bool, String> {
    let q = percent_encode(expr);
    let path = if expr.contains("offset -") {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let start = now - SCRAPING.as_secs();
        format!("/api/v1/query_range?query={q}&start={start}&end={now}&step=5")
    } else {
        format!("/api/v1/query?query={q}")
    };
    let (code, body) = http_get(prom, &path)?;
    let json: Json =
        serde_json::from_str(&body).map_err(|e| format!("HTTP {code}, not JSON ({e}): {body}"))?;
    if json["status"] != "success" {
        return Err(format!("HTTP {code}: {body}"));
    }
    Ok(json["data"]["result"]
        .as_array()
        .is_some_and(|r| !r.is_empty()))
}

/// `GET path`, HTTP/1.0 so the body is never chunked.
fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no end of headers: {text}"))?;
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    Ok((code, body.to_owned()))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
