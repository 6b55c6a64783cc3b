//! What operators expect of every Prometheus exporter, through the real
//! binary (issue 15, the HTTP part):
//! - a real Prometheus (Debian's) scrapes one exporter on two listen
//!   addresses (127.0.0.1 and [::1]) and another over mutual TLS (a CA and
//!   certificates made here with rcgen), both with gzip, and the exporter's
//!   log shows it answered gzip and OpenMetrics as Prometheus asked;
//! - promtool is silent on the gzip-decoded output;
//! - plain HTTP to the TLS port gets Go's 400;
//! - a web config change (new password, renewed certificate, headers)
//!   takes effect without a restart, and a broken one keeps the old and is
//!   logged once;
//! - systemd socket activation through `systemd-socket-activate`, and the
//!   packaged `.socket` unit passes `systemd-analyze verify`.
//!
//! Needs Debian's `prometheus` (prometheus, promtool) and `systemd`
//! (systemd-socket-activate) packages; scripts/test.sh installs them.

mod common;

use common::bin::{cmd, Running};
use flate2::read::GzDecoder;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WITHIN: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// the exporter and its log

/// A running exporter, its URLs (one per listener, from its log) and its
/// log lines so far.
struct Exporter {
    _proc: Running,
    urls: Vec<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Exporter {
    /// Starts the binary with `args` and waits for `listeners` "serving
    /// metrics on" lines.
    fn start(args: &[&str], listeners: usize) -> Exporter {
        Exporter::start_cmd(cmd().args(args), listeners)
    }

    fn start_cmd(c: &mut Command, listeners: usize) -> Exporter {
        let child = c
            .args(["--log.format", "text"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dsmr-exporter");
        let mut proc = Running(child);
        let stderr = proc.0.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut e = Exporter {
            _proc: proc,
            urls: Vec::new(),
            log,
        };
        let urls = wait_for("the exporter's listeners", &e.log_text(), || {
            let urls: Vec<String> = e
                .lines()
                .iter()
                .filter_map(|l| l.split("serving metrics on ").nth(1))
                .filter_map(|rest| rest.split_whitespace().next())
                .map(|u| u.trim_end_matches("/metrics").to_owned())
                .collect();
            if urls.len() >= listeners {
                return Ok(urls);
            }
            Err(format!("{} of {listeners}", urls.len()))
        });
        e.urls = urls;
        e
    }

    fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn log_text(&self) -> impl Fn() -> String + '_ {
        move || self.lines().join("\n")
    }

    /// `host:port` of listener `i`.
    fn addr(&self, i: usize) -> String {
        self.urls[i]
            .split("://")
            .nth(1)
            .expect("scheme://addr")
            .to_owned()
    }
}

/// Retries `f` every 100 ms until it is `Ok`, failing after [`WITHIN`]
/// with its last error and `context`.
fn wait_for<T>(
    what: &str,
    context: &dyn Fn() -> String,
    mut f: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + WITHIN;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => {
                panic!("timed out waiting for {what}: {e}\n--- log:\n{}", context())
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

// ---------------------------------------------------------------------------
// HTTP by hand, plain and TLS

/// A response: status, head (lower-cased), body bytes.
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

fn exchange(
    s: &mut (impl Read + Write),
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    // A TLS peer that closes without close_notify still gave us the body.
    if let Err(e) = s.read_to_end(&mut raw) {
        if raw.is_empty() {
            return Err(format!("read: {e}"));
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no response head in {:?}", String::from_utf8_lossy(&raw)))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    Ok(Reply {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    })
}

fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    exchange(&mut s, path, headers)
}

/// A TLS client trusting `ca_pem` only, with a client certificate when given.
fn tls_client(ca_pem: &str, client: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.expect("CA PEM")).expect("add CA");
    }
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let cfg = match client {
        None => b.with_no_client_auth(),
        Some((cert, key)) => {
            let certs = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .expect("client cert");
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("client key");
            b.with_client_auth_cert(certs, key).expect("client auth")
        }
    };
    Arc::new(cfg)
}

fn tls_get(
    addr: &str,
    cfg: &Arc<rustls::ClientConfig>,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let tcp = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(cfg.clone(), name).map_err(|e| e.to_string())?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    exchange(&mut s, path, headers)
}

fn gunzip(body: &[u8]) -> String {
    let mut text = String::new();
    GzDecoder::new(body)
        .read_to_string(&mut text)
        .expect("a gzip body");
    text
}

// ---------------------------------------------------------------------------
// certificates

/// A CA, a server certificate for localhost / 127.0.0.1 and a client
/// certificate, all PEM.
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki(name: &str) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("key")).expect("CA");
    let leaf = |sans: Vec<String>, usage: ExtendedKeyUsagePurpose| {
        let mut p = CertificateParams::new(sans).expect("params");
        p.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = p.signed_by(&key, &ca).expect("sign");
        (cert.pem(), key.serialize_pem())
    };
    let server = leaf(
        vec!["localhost".into(), "127.0.0.1".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let client = leaf(
        vec!["prometheus".into()],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    Pki {
        ca: ca.pem(),
        server,
        client,
    }
}

fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("dsmr-operator-{tag}-"))
        .tempdir()
        .expect("temp dir")
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

// ---------------------------------------------------------------------------
// Prometheus

struct Prometheus {
    _proc: Running,
    addr: String,
    log: PathBuf,
}

impl Prometheus {
    fn start(dir: &Path, scrape_configs: &str) -> Prometheus {
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{scrape_configs}"
        );
        let config_path = dir.join("prometheus.yml");
        write(&config_path, &config);
        let log = dir.join("prometheus.log");
        let out = std::fs::File::create(&log).expect("prometheus.log");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("spawn prometheus (apt-get install prometheus, or run scripts/test.sh)");
        Prometheus {
            _proc: Running(child),
            addr,
            log,
        }
    }

    fn log_text(&self) -> impl Fn() -> String + '_ {
        move || std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every target of `job` healthy, with samples of `metric` stored for it.
    fn wait_up(&self, job: &str, instances: &[String], metric: &str) {
        wait_for(
            &format!("Prometheus to scrape job {job}"),
            &self.log_text(),
            || {
                let body = get(&self.addr, "/api/v1/targets", &[])?;
                let json: serde_json::Value =
                    serde_json::from_slice(&body.body).map_err(|e| e.to_string())?;
                let targets = json["data"]["activeTargets"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                for i in instances {
                    let t = targets
                        .iter()
                        .find(|t| {
                            t["labels"]["instance"].as_str() == Some(i) && t["labels"]["job"] == job
                        })
                        .ok_or_else(|| format!("no target {i}"))?;
                    if t["health"] != "up" {
                        return Err(format!("{i}: {} {}", t["health"], t["lastError"]));
                    }
                }
                let q =
                    format!("/api/v1/query?query=count+by+(instance)({metric}{{job=\"{job}\"}})");
                let body = get(&self.addr, &q, &[])?;
                let json: serde_json::Value =
                    serde_json::from_slice(&body.body).map_err(|e| e.to_string())?;
                let found = json["data"]["result"].as_array().map_or(0, Vec::len);
                if found < instances.len() {
                    return Err(format!(
                        "{metric} stored for {found} of {} instances",
                        instances.len()
                    ));
                }
                Ok(())
            },
        );
    }
}

/// Lines of the exporter's debug log for scrapes by Prometheus.
fn prometheus_scrapes(e: &Exporter) -> Vec<String> {
    e.lines()
        .into_iter()
        .filter(|l| l.contains("scrape answered") && l.contains("Prometheus/"))
        .collect()
}

#[test]
fn prometheus_scrapes_gzip_on_two_addresses_and_over_mutual_tls() {
    let dir = temp_dir("prometheus");
    let plain = Exporter::start(
        &[
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.listen-address",
            "[::1]:0",
            "--log.level",
            "dsmr_exporter=debug",
        ],
        2,
    );
    assert!(
        plain.urls[0].starts_with("http://127.0.0.1:"),
        "{:?}",
        plain.urls
    );
    assert!(
        plain.urls[1].starts_with("http://[::1]:"),
        "{:?}",
        plain.urls
    );

    let pki = pki("dsmr test CA");
    let write_pem = |name: &str, text: &str| {
        let p = dir.path().join(name);
        write(&p, text);
        p
    };
    write_pem("server.crt", &pki.server.0);
    write_pem("server.key", &pki.server.1);
    let ca = write_pem("ca.crt", &pki.ca);
    let client_crt = write_pem("client.crt", &pki.client.0);
    let client_key = write_pem("client.key", &pki.client.1);
    let web = write_pem(
        "web.yml",
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n",
    );
    let web_arg = web.display().to_string();
    let tls = Exporter::start(
        &[
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
            &web_arg,
            "--log.level",
            "dsmr_exporter=debug",
        ],
        1,
    );
    assert!(
        tls.urls[0].starts_with("https://127.0.0.1:"),
        "start log says https: {:?}",
        tls.urls
    );

    let prom = Prometheus::start(
        dir.path(),
        &format!(
            "  - job_name: plain\n    static_configs:\n      - targets: ['{}', '{}']\n\
             \x20 - job_name: mtls\n    scheme: https\n    tls_config:\n      ca_file: {}\n      cert_file: {}\n      key_file: {}\n      server_name: localhost\n    static_configs:\n      - targets: ['{}']\n",
            plain.addr(0),
            plain.addr(1),
            ca.display(),
            client_crt.display(),
            client_key.display(),
            tls.addr(0),
        ),
    );
    prom.wait_up(
        "plain",
        &[plain.addr(0), plain.addr(1)],
        "dsmr_electricity_import_watts",
    );
    prom.wait_up("mtls", &[tls.addr(0)], "dsmr_electricity_import_watts");

    // Prometheus asked for gzip and OpenMetrics, and got them.
    for e in [&plain, &tls] {
        let scrapes = prometheus_scrapes(e);
        assert!(!scrapes.is_empty(), "no scrape by Prometheus in the log");
        for s in &scrapes {
            assert!(s.contains("gzip=true"), "{s}");
            assert!(
                s.contains("application/openmetrics-text; version=1.0.0"),
                "{s}"
            );
        }
    }

    // promtool is silent on the gzip-decoded output, from both addresses.
    for i in 0..2 {
        let r = get(&plain.addr(i), "/metrics", &[("Accept-Encoding", "gzip")]).expect("scrape");
        assert_eq!(r.status, 200);
        assert!(r.head.contains("content-encoding: gzip"), "{}", r.head);
        assert!(
            r.head.contains("vary: accept, accept-encoding"),
            "{}",
            r.head
        );
        promtool_is_silent(&gunzip(&r.body));
    }

    // Without a client certificate the TLS port refuses; with one it answers.
    let without = tls_client(&pki.ca, None);
    assert!(
        tls_get(&tls.addr(0), &without, "/metrics", &[]).is_err(),
        "no client cert"
    );
    let with = tls_client(&pki.ca, Some((&pki.client.0, &pki.client.1)));
    let r = tls_get(&tls.addr(0), &with, "/-/healthy", &[]).expect("mutual TLS");
    assert_eq!(r.status, 200);

    // Plain HTTP on the TLS port: Go's answer.
    let r = get(&tls.addr(0), "/metrics", &[]).expect("a 400");
    assert_eq!(r.status, 400, "{}", r.head);
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        "Client sent an HTTP request to an HTTPS server.\n"
    );
}

fn promtool_is_silent(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool (apt-get install prometheus, or run scripts/test.sh)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(text.as_bytes()).expect("feed promtool");
    drop(stdin);
    let out = child.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}"
    );
    assert!(text.contains("dsmr_electricity_import_watts"), "{text}");
}

// ---------------------------------------------------------------------------
// the web config file, changed while running

const ONE: &str = "Basic cHJvbWV0aGV1czpvbmU="; // prometheus:one
const TWO: &str = "Basic cHJvbWV0aGV1czp0d28="; // prometheus:two

fn web_yml(password: &str, frame: &str) -> String {
    // Cost 4 keeps the test fast; real files use 10 or more.
    let hash = bcrypt::hash(password, 4).expect("hash");
    format!(
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n\
         http_server_config:\n  headers:\n    X-Frame-Options: {frame}\n\
         basic_auth_users:\n  prometheus: {hash}\n"
    )
}

#[test]
fn a_changed_web_config_applies_without_restart_and_a_broken_one_keeps_the_old() {
    let dir = temp_dir("reload");
    let first = pki("first CA");
    let second = pki("second CA");
    let put = |name: &str, text: &str| write(&dir.path().join(name), text);
    put("server.crt", &first.server.0);
    put("server.key", &first.server.1);
    put("web.yml", &web_yml("one", "deny"));
    let web = dir.path().join("web.yml").display().to_string();
    let e = Exporter::start(
        &[
            "--demo",
            "--web.listen-address",
            "127.0.0.1:0",
            "--web.config.file",
            &web,
        ],
        1,
    );
    let addr = e.addr(0);
    let trusts_first = tls_client(&first.ca, None);
    let trusts_second = tls_client(&second.ca, None);
    let status = |cfg: &Arc<rustls::ClientConfig>, auth: &str| {
        tls_get(&addr, cfg, "/-/ready", &[("Authorization", auth)]).map(|r| (r.status, r.head))
    };
    let (code, head) = status(&trusts_first, ONE).expect("TLS with the first certificate");
    assert_eq!(code, 200);
    assert!(head.contains("x-frame-options: deny"), "{head}");
    assert_eq!(status(&trusts_first, TWO).expect("answered").0, 401);
    assert!(
        status(&trusts_second, ONE).is_err(),
        "the second CA does not sign it yet"
    );

    // A new password, a renewed certificate (another CA) and a header.
    put("web.yml", &web_yml("two", "sameorigin"));
    put("server.key", &second.server.1);
    put("server.crt", &second.server.0);
    let log = e.log_text();
    wait_for("the new web config", &log, || {
        match status(&trusts_second, TWO) {
            Ok((200, head)) if head.contains("x-frame-options: sameorigin") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    assert_eq!(
        status(&trusts_second, ONE).expect("answered").0,
        401,
        "old password"
    );
    assert!(status(&trusts_first, TWO).is_err(), "old certificate gone");

    // A broken file: the old one stays, and why is logged once. (A poll
    // between the certificate and key writes above may have logged one
    // refusal of its own, for a key that did not match yet.)
    let refusals = || -> Vec<String> {
        e.lines()
            .into_iter()
            .filter(|l| l.contains("cannot be used"))
            .collect()
    };
    let before = refusals().len();
    put("web.yml", "basic_auth_users:\n  prometheus: not-a-hash\n");
    wait_for("the refusal in the log", &log, || {
        if refusals().len() > before {
            Ok(())
        } else {
            Err("not yet".into())
        }
    });
    std::thread::sleep(Duration::from_millis(2500)); // two more polls
    let after = refusals();
    assert_eq!(after.len(), before + 1, "{after:#?}");
    assert!(after[before].contains("not a bcrypt hash"), "{after:#?}");
    assert_eq!(
        status(&trusts_second, TWO).expect("still TLS").0,
        200,
        "old config kept"
    );
}

// ---------------------------------------------------------------------------
// systemd

fn free_port(host: &str) -> u16 {
    std::net::TcpListener::bind(format!("{host}:0"))
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

#[test]
fn systemd_socket_activation_serves_on_the_sockets_systemd_passes() {
    let activate = "/usr/bin/systemd-socket-activate";
    assert!(
        Path::new(activate).exists(),
        "{activate} missing: apt-get install systemd, or run scripts/test.sh"
    );
    let v4 = format!("127.0.0.1:{}", free_port("127.0.0.1"));
    let v6 = format!("[::1]:{}", free_port("[::1]"));
    let mut c = Command::new(activate);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("DSMR_EXPORTER_") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.args(["-l", &v4, "-l", &v6, "--"])
        .arg(env!("CARGO_BIN_EXE_dsmr-exporter"))
        .args(["--demo", "--web.systemd-socket"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    let child = c
        .args(["--log.format", "text"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn systemd-socket-activate");
    let mut proc = Running(child);
    let stderr = proc.0.stderr.take().expect("stderr");
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let text = || log.lock().unwrap().join("\n");
    // The exporter starts on the first connection; each socket answers.
    for addr in [&v4, &v6] {
        let r = wait_for(&format!("an answer on {addr}"), &text, || {
            get(addr, "/-/healthy", &[])
        });
        assert_eq!(r.status, 200);
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            "dsmr-exporter is Healthy.\n"
        );
    }
    wait_for("both sockets in the log", &text, || {
        let t = text();
        let ok = t.contains(&format!("serving metrics on http://{v4}/metrics"))
            && t.contains(&format!("serving metrics on http://{v6}/metrics"));
        if ok {
            Ok(())
        } else {
            Err("not yet".into())
        }
    });
    drop(proc);
}

#[test]
fn the_socket_unit_verifies_beside_the_service() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging");
    let socket = std::fs::read_to_string(root.join("dsmr-exporter.socket")).expect("socket unit");
    let service = std::fs::read_to_string(root.join("dsmr-exporter.service")).expect("service");
    assert!(socket.lines().any(|l| l == "ListenStream=9947"), "{socket}");
    let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(analyze) = analyze else {
        println!("SKIPPED: systemd-analyze is not installed; the units were not verified");
        return;
    };
    let dir = temp_dir("units");
    let service = service.replace(
        "ExecStart=/usr/local/bin/dsmr-exporter",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_dsmr-exporter")),
    );
    write(&dir.path().join("dsmr-exporter.service"), &service);
    write(&dir.path().join("dsmr-exporter.socket"), &socket);
    let out = Command::new(analyze)
        .arg("verify")
        .arg(dir.path().join("dsmr-exporter.socket"))
        .arg(dir.path().join("dsmr-exporter.service"))
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(
        !stderr.contains("dsmr-exporter."),
        "systemd-analyze verify: {stderr}"
    );
}
