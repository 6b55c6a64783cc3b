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

use common::bin::{clean_env, cmd, Running};
use common::client::{get, tls_get};
use common::prometheus::{assert_promtool_silent, free_port, Prometheus};
use common::tls::{client_config, Leaf, TestCa};
use common::TempDir;
use flate2::read::GzDecoder;
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
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
        let (proc, log) = spawn_logged(c.args(["--log.format", "text"]), "dsmr-exporter");
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

/// Spawns `c` with its stderr collected line by line into the returned log.
fn spawn_logged(c: &mut Command, what: &str) -> (Running, Arc<Mutex<Vec<String>>>) {
    let child = c
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let mut proc = Running(child);
    let stderr = proc.0.stderr.take().expect("stderr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    (proc, log)
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
/// certificate.
struct Pki {
    ca: String,
    server: Leaf,
    client: Leaf,
}

fn pki(name: &str) -> Pki {
    let ca = TestCa::new(name);
    let leaf = |sans: Vec<String>, usage: ExtendedKeyUsagePurpose| {
        let mut p = CertificateParams::new(sans).expect("params");
        p.extended_key_usages = vec![usage];
        ca.sign(p)
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
        ca: ca.pem,
        server,
        client,
    }
}

// ---------------------------------------------------------------------------
// Prometheus

/// Prometheus in `dir`, scraping every second with `scrape_configs`.
fn start_prometheus(dir: &Path, scrape_configs: &str) -> Prometheus {
    Prometheus::start(
        dir,
        &format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{scrape_configs}"
        ),
    )
}

/// Every target of `job` healthy, with samples of `metric` stored for it.
fn wait_up(prom: &Prometheus, job: &str, instances: &[String], metric: &str) {
    wait_for(
        &format!("Prometheus to scrape job {job}"),
        &|| prom.log_text(),
        || {
            let body = get(&prom.addr, "/api/v1/targets", &[])?;
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
            let q = format!("/api/v1/query?query=count+by+(instance)({metric}{{job=\"{job}\"}})");
            let body = get(&prom.addr, &q, &[])?;
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

/// Lines of the exporter's debug log for scrapes by Prometheus.
fn prometheus_scrapes(e: &Exporter) -> Vec<String> {
    e.lines()
        .into_iter()
        .filter(|l| l.contains("scrape answered") && l.contains("Prometheus/"))
        .collect()
}

#[test]
fn prometheus_scrapes_gzip_on_two_addresses_and_over_mutual_tls() {
    let dir = TempDir::new("operator-prometheus");
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
    dir.write("server.crt", &pki.server.cert);
    dir.write("server.key", &pki.server.key);
    let ca = dir.write("ca.crt", &pki.ca);
    let client_crt = dir.write("client.crt", &pki.client.cert);
    let client_key = dir.write("client.key", &pki.client.key);
    let web = dir.write(
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

    let prom = start_prometheus(
        &dir.0,
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
    wait_up(
        &prom,
        "plain",
        &[plain.addr(0), plain.addr(1)],
        "dsmr_electricity_import_watts",
    );
    wait_up(
        &prom,
        "mtls",
        &[tls.addr(0)],
        "dsmr_electricity_import_watts",
    );

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
        let text = gunzip(&r.body);
        assert_promtool_silent(&text);
        assert!(text.contains("dsmr_electricity_import_watts"), "{text}");
    }

    // Without a client certificate the TLS port refuses; with one it answers.
    let without = client_config(&pki.ca, None);
    assert!(
        tls_get(&tls.addr(0), &without, "/metrics", &[]).is_err(),
        "no client cert"
    );
    let with = client_config(&pki.ca, Some(&pki.client));
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
    let dir = TempDir::new("operator-reload");
    let first = pki("first CA");
    let second = pki("second CA");
    let put = |name: &str, text: &str| dir.write(name, text);
    put("server.crt", &first.server.cert);
    put("server.key", &first.server.key);
    let web = put("web.yml", &web_yml("one", "deny"))
        .display()
        .to_string();
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
    let trusts_first = client_config(&first.ca, None);
    let trusts_second = client_config(&second.ca, None);
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
    put("server.key", &second.server.key);
    put("server.crt", &second.server.cert);
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
    clean_env(&mut c)
        .args(["-l", &v4, "-l", &v6, "--"])
        .arg(env!("CARGO_BIN_EXE_dsmr-exporter"))
        .args(["--demo", "--web.systemd-socket"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .args(["--log.format", "text"]);
    let (proc, log) = spawn_logged(&mut c, "systemd-socket-activate");
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
    let dir = TempDir::new("operator-units");
    let service = service.replace(
        "ExecStart=/usr/local/bin/dsmr-exporter",
        &format!("ExecStart={}", env!("CARGO_BIN_EXE_dsmr-exporter")),
    );
    let service = dir.write("dsmr-exporter.service", &service);
    let socket = dir.write("dsmr-exporter.socket", &socket);
    let out = Command::new(analyze)
        .arg("verify")
        .arg(socket)
        .arg(service)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {stderr}");
    assert!(
        !stderr.contains("dsmr-exporter."),
        "systemd-analyze verify: {stderr}"
    );
}
