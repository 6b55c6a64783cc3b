//! `--web.config.file` end to end: a self-signed certificate made here
//! (rcgen), the server on 127.0.0.1:0 with TLS and basic auth, and a
//! tokio-rustls client that trusts only that certificate.

mod common;

use common::tls::{client_config, Leaf};
use common::{feed, TempDir};
use dsmr_engine::Zone;
use dsmr_exporter::http::WebConfig;
use dsmr_exporter::http::{serve, ServerConfig};
use dsmr_exporter::state::{Meter, Meters};
use rustls::pki_types::ServerName;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

const RIGHT: &str = "cHJvbWV0aGV1czpzM2NyZXQ="; // prometheus:s3cret
const WRONG: &str = "cHJvbWV0aGV1czp3cm9uZw=="; // prometheus:wrong
const NOBODY: &str = "bm9ib2R5OnMzY3JldA=="; // nobody:s3cret
/// RIGHT with one `=` too many: not base64, so refused like garbage.
const OVERPADDED: &str = "cHJvbWV0aGV1czpzM2NyZXQ==";

/// Writes a certificate, its key and a web config using them (relative
/// paths, as exporter-toolkit resolves them); returns the config's path
/// and the certificate PEM.
fn write_config(dir: &Path) -> (PathBuf, String) {
    let leaf = Leaf::self_signed(&["localhost"]);
    std::fs::write(dir.join("server.crt"), &leaf.cert).expect("write cert");
    std::fs::write(dir.join("server.key"), &leaf.key).expect("write key");
    // Cost 4 keeps the test fast; real files use 10 or more.
    let hash = bcrypt::hash("s3cret", 4).expect("hash");
    let yml = format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS12\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\nbasic_auth_users:\n  prometheus: {hash}\n"
    );
    let path = dir.join("web.yml");
    std::fs::write(&path, yml).expect("write config");
    (path, leaf.cert)
}

async fn start(web: WebConfig) -> SocketAddr {
    let m = Meter::new("main", Zone::CET);
    feed(&m, "nl_dsmr50_iskra_am550t_3phase_issue91.txt");
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let cfg = ServerConfig {
        web: Some(web),
        ..ServerConfig::default()
    };
    tokio::spawn(serve(l, Meters::new(vec![m]), cfg, std::future::pending()));
    addr
}

/// A client that trusts the test certificate only.
fn connector(cert_pem: &str) -> TlsConnector {
    TlsConnector::from(client_config(cert_pem, None))
}

/// GET over TLS; returns the response head and body. For `/events` only
/// the head and what came within a moment are read.
async fn get(
    addr: SocketAddr,
    tls: &TlsConnector,
    path: &str,
    auth: Option<&str>,
) -> (String, String) {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let mut s = tls.connect(name, tcp).await.expect("TLS handshake");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: Basic {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
            Ok(Ok(0)) | Err(_) => break, // closed, or a stream that goes on
            Ok(Ok(n)) => raw.extend_from_slice(&buf[..n]),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Ok(Err(e)) => panic!("read: {e}"),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a response");
    (head.to_owned(), body.to_owned())
}

#[tokio::test]
async fn scrapes_over_tls_with_basic_auth() {
    let dir = TempDir::new("webconfig");
    let (path, cert) = write_config(&dir.0);
    let web = WebConfig::load(&path).expect("the config loads");
    assert!(web.tls().is_some() && web.has_basic_auth());
    let addr = start(web).await;
    let tls = connector(&cert);

    let (head, body) = get(addr, &tls, "/metrics", Some(RIGHT)).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body.contains("dsmr_electricity_import_watts{meter=\"main\"} 196"),
        "{body}"
    );
    let has = |head: &str, line: &str| head.lines().any(|l| l.eq_ignore_ascii_case(line));
    assert!(has(&head, "x-content-type-options: nosniff"), "{head}");
    assert!(
        has(&head, "strict-transport-security: max-age=31536000"),
        "{head}"
    );
    // Again: now from the cache of successful checks.
    let (head, _) = get(addr, &tls, "/metrics", Some(RIGHT)).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    for auth in [
        Some(WRONG),
        Some(NOBODY),
        Some(OVERPADDED),
        Some("!!"),
        None,
    ] {
        let (head, body) = get(addr, &tls, "/metrics", auth).await;
        assert!(head.starts_with("HTTP/1.1 401"), "{auth:?}: {head}");
        assert!(
            head.lines()
                .any(|l| l.eq_ignore_ascii_case("www-authenticate: Basic")),
            "{head}"
        );
        assert_eq!(body, "Unauthorized\n");
        // The web config's headers are on refusals too.
        assert!(has(&head, "x-content-type-options: nosniff"), "{head}");
    }
    // Every route is behind it.
    for path in ["/", "/healthz", "/api/v1/meters", "/events", "/nope"] {
        let (head, _) = get(addr, &tls, path, None).await;
        assert!(head.starts_with("HTTP/1.1 401"), "{path}: {head}");
    }
    let (head, body) = get(addr, &tls, "/api/v1/meters", Some(RIGHT)).await;
    assert!(
        head.starts_with("HTTP/1.1 200") && body.contains("\"name\":\"main\""),
        "{head}"
    );
    let (head, body) = get(addr, &tls, "/events", Some(RIGHT)).await;
    assert!(
        head.contains("text/event-stream") && body.contains("event: meter"),
        "{head}"
    );

    // Plain HTTP on the TLS port gets Go's 400, nothing else.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw)).await;
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.0 400 Bad Request\r\n"), "{raw}");
    assert!(
        raw.ends_with("\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"),
        "{raw}"
    );
}

/// A handshake with `client` (a self-signed client certificate, or none)
/// against a server whose `client_auth_type` is `policy`: whether a
/// request is answered.
async fn answered_with(policy: &str, client: Option<&Leaf>) -> bool {
    let dir = TempDir::new("webconfig");
    let (path, cert) = write_config(&dir.0);
    let yml = std::fs::read_to_string(&path).expect("read");
    let yml = yml.replace(
        "  min_version: TLS12\n",
        &format!("  min_version: TLS12\n  client_auth_type: {policy}\n"),
    );
    std::fs::write(&path, yml).expect("write");
    let addr = start(WebConfig::load(&path).expect("loads")).await;
    let tls = TlsConnector::from(client_config(&cert, client));
    let Ok(tcp) = TcpStream::connect(addr).await else {
        return false;
    };
    let name = ServerName::try_from("localhost").expect("name");
    let Ok(mut s) = tls.connect(name, tcp).await else {
        return false;
    };
    let req = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {RIGHT}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut raw)).await;
    raw.starts_with(b"HTTP/1.1 200")
}

#[tokio::test]
async fn client_certificate_policies_without_a_ca() {
    // Any certificate, unverified (no CA): the two policies Go has for it.
    let any = Leaf::self_signed(&["client"]);
    assert!(answered_with("RequestClientCert", None).await);
    assert!(answered_with("RequestClientCert", Some(&any)).await);
    assert!(!answered_with("RequireAnyClientCert", None).await);
    assert!(answered_with("RequireAnyClientCert", Some(&any)).await);
    assert!(answered_with("NoClientCert", None).await);
}

#[test]
fn a_bad_file_is_refused_with_its_line() {
    let dir = TempDir::new("webconfig");
    let path = dir.0.join("web.yml");
    std::fs::write(
        &path,
        "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS10\n",
    )
    .expect("write");
    let e = WebConfig::load(&path)
        .expect_err("TLS 1.0 is refused")
        .to_string();
    assert!(e.contains("web.yml") && e.contains("line 4"), "{e}");

    std::fs::write(&path, "basic_auth_users:\n  prometheus: secret\n").expect("write");
    let e = WebConfig::load(&path)
        .expect_err("a plain password is refused")
        .to_string();
    assert!(e.contains("line 2") && e.contains("bcrypt"), "{e}");

    std::fs::write(&path, "tls_server_config:\n  cert_file: [\n").expect("write");
    let e = WebConfig::load(&path).expect_err("bad YAML").to_string();
    assert!(e.contains("line 3") || e.contains("line 2"), "{e}");

    let e = WebConfig::load(&dir.0.join("absent.yml"))
        .expect_err("no file")
        .to_string();
    assert!(e.contains("absent.yml"), "{e}");
}

/// The median time of `tries` checks of `header`, each refused.
async fn refused_median(web: &WebConfig, header: &str, tries: usize) -> Duration {
    let h = hyper::header::HeaderValue::from_str(header).expect("header");
    let mut times = Vec::with_capacity(tries);
    for _ in 0..tries {
        let t = std::time::Instant::now();
        assert!(!web.authorize(Some(&h)).await, "{header} must be refused");
        times.push(t.elapsed());
    }
    times.sort();
    times[tries / 2]
}

/// An unknown name costs the bcrypt time of the slowest known user, so
/// timing does not tell which names exist, even when the first user (in
/// name order) has the cheapest hash.
#[tokio::test]
async fn unknown_users_take_as_long_as_the_slowest_known_user() {
    use base64::Engine as _;
    let dir = TempDir::new("webconfig");
    let fast = bcrypt::hash("s3cret", 4).expect("hash");
    let slow = bcrypt::hash("s3cret", 9).expect("hash");
    let path = dir.0.join("web.yml");
    std::fs::write(
        &path,
        format!("basic_auth_users:\n  alice: {fast}\n  bob: {slow}\n"),
    )
    .expect("write");
    let web = WebConfig::load(&path).expect("load");
    let basic = |cred: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(cred)
        )
    };
    let fast_known = refused_median(&web, &basic("alice:wrong"), 5).await;
    let slow_known = refused_median(&web, &basic("bob:wrong"), 5).await;
    let unknown = refused_median(&web, &basic("mallory:wrong"), 5).await;
    eprintln!(
        "medians: cost-4 user {fast_known:?}, cost-9 user {slow_known:?}, unknown {unknown:?}"
    );
    // Same cost, so about the same time; half is a generous margin for a
    // busy machine, and far above the cost-4 time (1/32 of it).
    assert!(
        unknown * 2 >= slow_known,
        "unknown {unknown:?} vs slow known {slow_known:?}"
    );
    assert!(
        slow_known > fast_known * 4,
        "the costs differ: {fast_known:?} vs {slow_known:?}"
    );
}
