//! The HTTP server over real sockets: routes, content negotiation, health,
//! slow clients and graceful shutdown. The client (tests/common/http.rs) is
//! a few lines of HTTP/1.1 over a `TcpStream`, so nothing about hyper is
//! assumed.

mod common;
use common::feed;
use common::http::{get, request, Server};
use dsmr_engine::Zone;
use dsmr_exporter::http::{Limits, ServerConfig};
use dsmr_exporter::metrics::MetricsOptions;
use dsmr_exporter::state::Meter;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TWO_MBUS: &str = "nl_dsmr50_iskra_am550t_two_mbus.txt";

fn meter(name: &str) -> Arc<Meter> {
    let m = Meter::new(name, Zone::CET);
    feed(&m, TWO_MBUS);
    m
}

fn cfg(stale_after: Duration) -> ServerConfig {
    ServerConfig {
        telemetry_path: "/metrics".to_owned(),
        metrics: MetricsOptions {
            stale_after,
            expose_equipment_ids: false,
        },
        ..ServerConfig::default()
    }
}

fn quick_limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(800),
        shutdown_grace: Duration::from_millis(500),
        ..Limits::default()
    }
}

/// The default config over one fed meter, `main`, with `limits`.
async fn start_limited(limits: Limits) -> Server {
    Server::start(vec![meter("main")], ServerConfig::default(), Some(limits)).await
}

/// The default config with the metrics at `path`.
fn metrics_at(path: &str) -> ServerConfig {
    ServerConfig {
        telemetry_path: path.to_owned(),
        ..ServerConfig::default()
    }
}

/// A kept-alive connection that has had its answer to `GET /healthz`.
async fn answered_connection(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .expect("send");
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    s
}

#[tokio::test]
async fn metrics_are_text_004_with_exact_values() {
    let server = Server::start(vec![meter("main")], ServerConfig::default(), None).await;
    let r = get(server.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    );
    assert!(
        r.body.contains(
            "\ndsmr_electricity_imported_joules_total{meter=\"main\",tariff=\"1\"} 7668414000\n"
        ),
        "{}",
        r.body
    );
    assert!(r
        .body
        .contains("\ndsmr_gas_cubic_meters_total{meter=\"main\",channel=\"2\"} 246.138\n"));
    assert!(r
        .body
        .contains("# TYPE dsmr_electricity_imported_joules_total counter\n"));
    assert!(!r.body.contains("# EOF"));
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    server.shutdown().await;
}

#[tokio::test]
async fn openmetrics_only_when_the_client_asks() {
    let server = Server::start(vec![meter("main")], ServerConfig::default(), None).await;
    // What Prometheus sends.
    let accept = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let r = request(server.addr, "GET", "/metrics", &[("Accept", accept)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores")
    );
    assert!(r.body.ends_with("# EOF\n"), "{}", r.body);
    assert!(r.body.contains(
        "\ndsmr_electricity_imported_joules_total{meter=\"main\",tariff=\"1\"} 7668414000\n"
    ));

    for accept in ["text/plain", "*/*", "text/html,application/xhtml+xml"] {
        let r = request(server.addr, "GET", "/metrics", &[("Accept", accept)]).await;
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores"),
            "{accept}"
        );
        assert!(!r.body.contains("# EOF"));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn prometheus_3_gets_what_it_asks_for_gzipped() {
    let server = Server::start(vec![meter("main")], ServerConfig::default(), None).await;
    // Prometheus 3's default scrape Accept header.
    let accept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
    let r = request(server.addr, "GET", "/metrics", &[("Accept", accept)]).await;
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8")
    );
    assert!(r.body.ends_with("# EOF\n"), "{}", r.body);
    // Its text fallback (scrape_protocols without OpenMetrics).
    let accept = "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,*/*;q=0.1";
    let r = request(server.addr, "GET", "/metrics", &[("Accept", accept)]).await;
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8")
    );
    assert!(r
        .body
        .contains("# TYPE dsmr_electricity_imported_joules_total counter\n"));

    // gzip, when asked for: the same text, smaller.
    let plain = get(server.addr, "/metrics").await;
    assert_eq!(plain.header("content-encoding"), None);
    let mut s = TcpStream::connect(server.addr).await.expect("connect");
    s.write_all(
        b"GET /metrics HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    assert!(head.contains("content-encoding: gzip\r\n"), "{head}");
    assert!(head.contains("vary: accept, accept-encoding\r\n"), "{head}");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&raw[split..]), &mut text)
        .expect("gzip");
    // The same text but for the time each scrape took.
    let steady = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.starts_with("dsmr_scrape_duration_seconds{"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(steady(&text), steady(&plain.body));
    assert!(raw.len() - split < plain.body.len() / 4);
    server.shutdown().await;
}

#[tokio::test]
async fn healthy_and_ready_as_prometheus_answers_them() {
    let fed = meter("fed");
    let waiting = Meter::new("waiting", Zone::CET);
    let silent = Meter::new("silent", Zone::CET);
    waiting.set_source_up(true);
    let meters = vec![fed, waiting.clone(), silent.clone()];
    let server = Server::start(meters, ServerConfig::default(), None).await;
    for method in ["GET", "HEAD"] {
        let r = request(server.addr, method, "/-/healthy", &[]).await;
        assert_eq!(r.status, 200, "{method}");
        let r = request(server.addr, method, "/-/ready", &[]).await;
        assert_eq!(r.status, 503, "{method}");
    }
    let r = get(server.addr, "/-/healthy").await;
    assert_eq!(r.body, "dsmr-exporter is Healthy.\n");
    // Opened but nothing decoded yet, and not even opened: both named.
    let r = get(server.addr, "/-/ready").await;
    assert_eq!(
        r.body,
        "dsmr-exporter is not ready: no telegram decoded yet from meters: waiting, silent\n"
    );
    feed(&waiting, TWO_MBUS);
    let r = get(server.addr, "/-/ready").await;
    assert_eq!(r.status, 503);
    assert!(r.body.ends_with("meters: silent\n"), "{}", r.body);
    feed(&silent, TWO_MBUS);
    let r = get(server.addr, "/-/ready").await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "dsmr-exporter is Ready.\n")
    );
    let r = request(server.addr, "POST", "/-/ready", &[("Content-Length", "0")]).await;
    assert_eq!(r.status, 405);
    server.shutdown().await;
}

#[tokio::test]
async fn healthz_names_the_stale_meters() {
    let fresh = meter("fresh");
    let old = meter("old");
    let server = Server::start(vec![fresh.clone(), old], cfg(Duration::from_secs(1)), None).await;
    let r = get(server.addr, "/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));

    tokio::time::sleep(Duration::from_millis(1200)).await;
    feed(&fresh, TWO_MBUS);
    let r = get(server.addr, "/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (503, "stale: old\n"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));

    // The stale meter's measurements are gone from /metrics, its counts stay.
    let m = get(server.addr, "/metrics").await.body;
    assert!(m.contains("dsmr_electricity_import_watts{meter=\"fresh\"} 111\n"));
    assert!(!m.contains("dsmr_electricity_import_watts{meter=\"old\"}"));
    assert!(m.contains("dsmr_telegrams_total{meter=\"old\",result=\"ok\"} 1\n"));
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let server = Server::start(vec![meter("main")], ServerConfig::default(), None).await;
    let r = get(server.addr, "/nope").await;
    assert_eq!(r.status, 404);
    let r = get(server.addr, "/metrics/extra").await;
    assert_eq!(r.status, 404);

    let r = request(server.addr, "POST", "/metrics", &[("Content-Length", "0")]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));

    let r = request(server.addr, "HEAD", "/metrics", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "");
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_page_links_metrics_and_health_and_the_api_lists_meters() {
    let silent = Meter::new("<garage>", Zone::CET);
    let server = Server::start(vec![meter("main"), silent], metrics_at("/probe"), None).await;
    let r = get(server.addr, "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.body.contains("<a href=\"/probe\">"), "{}", r.body);
    assert!(r.body.contains("<a href=\"/healthz\">"));
    assert!(r.body.contains("<a href=\"/-/healthy\">") && r.body.contains("<a href=\"/-/ready\">"));
    // The page fills itself from /events; the API lists the same meters.
    assert!(r.body.contains("new EventSource(\"/events\")"));
    let api = get(server.addr, "/api/v1/meters").await.body;
    assert!(
        api.contains("\"name\":\"main\",\"source_up\":false,\"fresh\":true"),
        "{api}"
    );
    assert!(
        api.contains("\"name\":\"<garage>\",\"source_up\":false,\"fresh\":false"),
        "{api}"
    );
    assert_eq!(get(server.addr, "/probe").await.status, 200);
    assert_eq!(get(server.addr, "/metrics").await.status, 404);
    server.shutdown().await;

    // With the metrics at `/` there is no landing page.
    let server = Server::start(vec![meter("main")], metrics_at("/"), None).await;
    let r = get(server.addr, "/").await;
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8; escaping=underscores")
    );
    assert!(r.body.contains("dsmr_exporter_build_info"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_client_blocks_nobody_and_is_dropped_after_the_header_timeout() {
    let limits = quick_limits();
    let server = start_limited(limits.clone()).await;
    let t = Instant::now();
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    // A half-sent request head is no better than none.
    let mut half = TcpStream::connect(server.addr).await.expect("connect");
    half.write_all(b"GET /metr").await.expect("send");

    let r = get(server.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() < limits.header_read_timeout,
        "the scrape waited for the silent client"
    );

    for client in [&mut silent, &mut half] {
        let mut rest = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut rest)).await;
        let waited = t.elapsed();
        assert!(read.is_ok(), "the silent client was never dropped");
        assert!(
            waited >= limits.header_read_timeout - Duration::from_millis(50),
            "dropped after {waited:?}, before the header timeout"
        );
        assert!(waited < limits.header_read_timeout + Duration::from_secs(2));
        // Whatever was said before closing, it was no metrics.
        assert!(!String::from_utf8_lossy(&rest).contains("dsmr_"));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_client_silent_at_the_cap_makes_room_for_a_new_one() {
    let limits = Limits {
        max_connections: 1,
        ..quick_limits()
    };
    let server = start_limited(limits.clone()).await;
    let mut silent = TcpStream::connect(server.addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The only place is taken by a client that sends nothing: it is closed
    // for the new one, which is answered at once.
    let t = Instant::now();
    let r = get(server.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() < limits.header_read_timeout / 2,
        "{:?}",
        t.elapsed()
    );
    let mut rest = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_millis(500), silent.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the silent client still holds its place");
    server.shutdown().await;
}

#[tokio::test]
async fn event_streams_beyond_their_cap_are_refused_and_closed() {
    let limits = Limits {
        max_event_streams: 1,
        ..quick_limits()
    };
    let server = start_limited(limits).await;
    let mut first = TcpStream::connect(server.addr).await.expect("connect");
    first
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut status = [0u8; 12];
    first.read_exact(&mut status).await.expect("status");
    assert_eq!(&status, b"HTTP/1.1 200");
    for _ in 0..3 {
        let mut s = TcpStream::connect(server.addr).await.expect("connect");
        s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("send");
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut raw))
            .await
            .expect("refused and closed")
            .expect("read");
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 503"), "{text}");
        assert!(text.contains("retry-after"), "{text}");
    }
    // Scrapes are not affected by the streams.
    assert_eq!(get(server.addr, "/metrics").await.status, 200);
    drop(first);
    server.shutdown().await;
}

#[tokio::test]
async fn serve_returns_after_the_shutdown_future_fires() {
    let server = Server::start(vec![meter("main")], ServerConfig::default(), None).await;
    let addr = server.addr;
    // A kept-alive connection that already had its answer: shutdown closes it.
    let mut idle = answered_connection(addr).await;

    let took = server.shutdown().await;
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    // The idle connection was closed and nothing listens any more.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), idle.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "idle connection still open");
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_cuts_off_a_stuck_client_after_the_grace_period() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(30),
        shutdown_grace: Duration::from_millis(300),
        ..Limits::default()
    };
    let server = start_limited(limits).await;
    let mut stuck = TcpStream::connect(server.addr).await.expect("connect");
    stuck
        .write_all(b"GET /metrics HTTP/1.1\r\n")
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let took = server.shutdown().await;
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
}

#[tokio::test]
async fn connections_are_closed_once_they_reach_their_lifetime() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(30),
        connection_timeout: Duration::from_millis(500),
        ..quick_limits()
    };
    let server = start_limited(limits).await;
    let t = Instant::now();
    let mut kept = answered_connection(server.addr).await;
    // Idle and kept alive: only the connection's lifetime ends it.
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), kept.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "connection outlived its lifetime");
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    server.shutdown().await;
}
