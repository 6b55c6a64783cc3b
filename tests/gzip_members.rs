//! A large exposition is gzipped as several members (compressed in
//! parallel, `src/http/compress.rs`), and a real Prometheus reads all of
//! them: one exporter with 600 demo meters (a 3 MB exposition, more than
//! one member), scraped every second by Debian's `prometheus`, which must
//! store every meter's series, the exporter's build info (the last dsmr
//! family) and the process series (the very end of the text, in the last
//! member). The same gzip body, read member by member here, is the plain
//! text.
//!
//! Needs Debian's `prometheus` package; scripts/test.sh installs it.

mod common;

use common::bin::{cmd, start};
use common::prometheus::Prometheus;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const METERS: usize = 600;

/// `GET /metrics` with or without `Accept-Encoding: gzip`: head and raw body.
fn get(addr: &str, gzip: bool) -> Option<(String, Vec<u8>)> {
    let headers: &[(&str, &str)] = if gzip {
        &[("Accept-Encoding", "gzip")]
    } else {
        &[]
    };
    let r = common::client::get(addr, "/metrics", headers).ok()?;
    Some((r.head, r.body))
}

/// The gzip members of `body`, each decompressed.
fn members(mut body: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let mut d = flate2::bufread::GzDecoder::new(body);
        let mut text = String::new();
        d.read_to_string(&mut text).expect("a gzip member");
        let rest = d.into_inner();
        assert!(rest.len() < body.len(), "no progress in the gzip body");
        body = rest;
        out.push(text);
    }
    out
}

/// The series of an exposition, without their values and without the
/// scrape durations and process series: 600 demo meters tick every second,
/// so two scrapes a moment apart differ in values, never in series (but at
/// a quarter-hour, when the price-ahead series move on: see the retry). A
/// member cut inside a line would break a series.
fn steady(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with("dsmr_scrape_duration_seconds{") && !l.contains("process_"))
        .map(|l| match l.rsplit_once(' ') {
            Some((series, _)) if !l.starts_with('#') => series,
            _ => l,
        })
        .collect()
}

/// Prometheus' answer to an instant query, as the number in its one result.
fn query(addr: &str, q: &str) -> Option<f64> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let q: String = q
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    write!(
        s,
        "GET /api/v1/query?query={q} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let json: serde_json::Value = serde_json::from_str(raw.split_once("\r\n\r\n")?.1).ok()?;
    json["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn prometheus_reads_every_member_of_a_parallel_gzip_body() {
    let dir = tempfile::Builder::new()
        .prefix("dsmr-exporter-gzip-members-")
        .tempdir()
        .expect("temp dir");
    let mut config = String::from("[web]\nlisten_address = \"127.0.0.1:0\"\n");
    for i in 0..METERS {
        config.push_str(&format!("\n[[meter]]\nname = \"d{i:04}\"\ndemo = true\n"));
    }
    let cfg = dir.path().join("meters.toml");
    std::fs::write(&cfg, config).expect("write config");
    let (_exporter, addr, _log) = start(cmd().arg("--config").arg(&cfg));

    // Every demo meter has sent a telegram.
    let deadline = Instant::now() + Duration::from_secs(30);
    let plain = loop {
        let text = get(&addr, false)
            .and_then(|(_, b)| String::from_utf8(b).ok())
            .unwrap_or_default();
        let fresh = text
            .lines()
            .filter(|l| l.starts_with("dsmr_telegrams_total{") && l.contains("result=\"ok\"} "))
            .filter(|l| !l.ends_with(" 0"))
            .count();
        if fresh == METERS {
            break text;
        }
        assert!(Instant::now() < deadline, "{fresh} of {METERS} demo meters");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(plain.len() > 2 << 20, "{} bytes: too small", plain.len());

    // Several members, which joined are the plain text's series.
    let mut plain = plain;
    for attempt in 1.. {
        let (head, body) = get(&addr, true).expect("gzip scrape");
        assert!(head.contains("content-encoding: gzip"), "{head}");
        let parts = members(&body);
        assert!(parts.len() >= 2, "{} member(s)", parts.len());
        let joined = parts.concat();
        assert!(joined.ends_with('\n') && joined.contains("\nprocess_start_time_seconds "));
        if steady(&joined) == steady(&plain) {
            break;
        }
        assert!(attempt < 3, "the gzip members differ from the plain text");
        plain = get(&addr, false)
            .and_then(|(_, b)| String::from_utf8(b).ok())
            .expect("plain scrape");
    }

    // A real Prometheus, asking for gzip as it always does.
    let prometheus = Prometheus::start(
        dir.path(),
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: dsmr\n    static_configs:\n      - targets: [\"{addr}\"]\n"
        ),
    );
    let prom_addr = &prometheus.addr;
    let want = [
        (
            "count(dsmr_scrape_duration_seconds{job=\"dsmr\"})",
            METERS as f64,
        ),
        (
            "count(dsmr_telegrams_total{job=\"dsmr\",result=\"ok\"} > 0)",
            METERS as f64,
        ),
        ("count(dsmr_exporter_build_info{job=\"dsmr\"})", 1.0),
        ("count(process_start_time_seconds{job=\"dsmr\"})", 1.0),
        ("max(up{job=\"dsmr\"})", 1.0),
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: Vec<Option<f64>> = want.iter().map(|(q, _)| query(prom_addr, q)).collect();
        if want.iter().zip(&got).all(|((_, w), g)| *g == Some(*w)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus stored {got:?}, wanted {want:?}; its log:\n{}",
            prometheus.log_text()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
