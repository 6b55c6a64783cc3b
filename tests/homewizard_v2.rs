//! HomeWizard API v2 against an HTTPS stand-in device built here: its own
//! CA (rcgen) and a certificate that names the device only in its CN, as
//! HomeWizard's do. The exporter trusts the test CA through the test-only
//! DSMR_EXPORTER_HOMEWIZARD_TEST_CA_FILE (the binary) or `Ca::TestOnly`
//! (the library). Covered: pairing through the real binary (403 until the
//! "button" is pressed, then 200; giving up), polling with the token, 503
//! before the first telegram, a wrong token (401) in the binary and in the
//! library (then re-paired while running), certificates for another device
//! or from another CA (refused before any request), and detection of v1/v2.

mod common;
use bytes::Bytes;
use common::bin::{cmd, run, scrape_until, start, telegrams, text};
use common::tls::{server_config, TestCa};
use common::{fixture, summary, wait_for, Task, TempDir};
use dsmr_engine::Zone;
use dsmr_exporter::source::homewizard::detect::detect;
use dsmr_exporter::source::homewizard::{self, v2, Api, Ca, HomewizardConfig, TokenSource, Trust};
use dsmr_exporter::source::Retry;
use dsmr_exporter::state::Meter;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const TOKEN: &str = "0123456789ABCDEF0123456789ABCDEF";
const SERIAL: &str = "5c2fafaabbcc";
const P1_CN: &str = "appliance/p1dongle/5c2fafaabbcc";
const TEST_CA_VAR: &str = "DSMR_EXPORTER_HOMEWIZARD_TEST_CA_FILE";

/// A CA and a device certificate with `cn` (and, like the real ones, the
/// serial as a DNS name), for rustls.
struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki(cn: &str) -> Pki {
    let ca = TestCa::new("Test Appliance Access CA");
    let mut dev = rcgen::CertificateParams::new(vec![SERIAL.to_owned()]).expect("device params");
    dev.distinguished_name = rcgen::DistinguishedName::new();
    dev.distinguished_name.push(rcgen::DnType::CommonName, cn);
    Pki {
        server: server_config(&ca.sign(dev)),
        ca_pem: ca.pem,
    }
}

/// What the stand-in does and has seen.
#[derive(Default)]
struct State {
    /// `POST /api/user` answers 403 this many times, then 200.
    press_after: usize,
    posts: usize,
    names: Vec<String>,
    /// `None`: 503, no telegram yet.
    telegram: Option<Vec<u8>>,
    telegram_gets: usize,
    /// Answer 404 on `GET /api` (a device without v2).
    v1_only: bool,
    /// Requests without `X-Api-Version: 2`.
    without_version: usize,
    last_authorization: Option<String>,
}

/// The telegram the stand-in gives once it has one.
fn telegram() -> Vec<u8> {
    fixture("nl_dsmr50_iskra_am550t_two_mbus.txt")
}

impl State {
    /// A device with a telegram to give.
    fn with_telegram() -> State {
        State {
            telegram: Some(telegram()),
            ..State::default()
        }
    }
}

/// An HTTPS stand-in device on 127.0.0.1, on a runtime of its own so that
/// blocking tests can use it too; stops when dropped.
struct StandIn {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl StandIn {
    fn start(server: Arc<rustls::ServerConfig>, state: State) -> StandIn {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(state));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("listener");
                tokio::select! {
                    _ = accept_loop(listener, server, shared) => {}
                    _ = stopped => {}
                }
            });
        });
        StandIn {
            addr,
            state,
            _stop: stop,
        }
    }

    fn with(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().expect("lock"));
    }

    fn get<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().expect("lock"))
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.addr.port())
    }
}

async fn accept_loop(
    listener: TcpListener,
    server: Arc<rustls::ServerConfig>,
    state: Arc<Mutex<State>>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    while let Ok((tcp, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            // A client that refuses the certificate ends here.
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| answer(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

/// The device's API, as documented, for the few paths used.
async fn answer(
    state: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut st = state.lock().expect("lock");
    if parts.headers.get("x-api-version").map(|v| v.as_bytes()) != Some(b"2") {
        st.without_version += 1;
    }
    let authorized = auth.as_deref() == Some(&format!("Bearer {TOKEN}"));
    let unauthorized = || reply(StatusCode::UNAUTHORIZED, r#"{"error":"user:unauthorized"}"#);
    let path = parts.uri.path();
    Ok(match (parts.method.as_str(), path) {
        ("POST", "/api/user") => {
            st.posts += 1;
            let name = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["name"].as_str().map(str::to_owned))
                .unwrap_or_default();
            st.names.push(name.clone());
            if !name.starts_with("local/") {
                reply(
                    StatusCode::BAD_REQUEST,
                    r#"{"error":"user:invalid-prefix"}"#,
                )
            } else if st.posts <= st.press_after {
                reply(
                    StatusCode::FORBIDDEN,
                    r#"{"error":"user:creation-not-enabled"}"#,
                )
            } else {
                let json = serde_json::json!({ "token": TOKEN, "name": name });
                reply(StatusCode::OK, json.to_string())
            }
        }
        ("GET", "/api") if st.v1_only => reply(StatusCode::NOT_FOUND, "not found"),
        ("GET", "/api") if !authorized => unauthorized(),
        ("GET", "/api") => reply(
            StatusCode::OK,
            format!(
                r#"{{"product_name":"P1 Meter","product_type":"HWE-P1","serial":"{SERIAL}","firmware_version":"6.00","api_version":"2.0.0"}}"#
            ),
        ),
        ("GET", "/api/telegram") => {
            st.telegram_gets += 1;
            st.last_authorization = auth;
            match (&st.telegram, authorized) {
                (_, false) => unauthorized(),
                (None, true) => reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "telegram:no-telegram-received",
                ),
                (Some(t), true) => reply(StatusCode::OK, t.clone()),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, "not found"),
    })
}

/// The library's configuration for `dev`, trusting `ca_pem`, token from `token`.
fn config(dev: &StandIn, ca_pem: &str, token: TokenSource) -> HomewizardConfig {
    HomewizardConfig {
        api: Api::V2,
        token,
        trust: Trust {
            ca: Ca::TestOnly(ca_pem.as_bytes().to_vec()),
            serial: None,
        },
        timeout: Duration::from_secs(2),
        retry: Retry {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        ..HomewizardConfig::new(
            "127.0.0.1",
            Some(dev.addr.port()),
            Duration::from_millis(30),
        )
    }
}

fn token_file(dir: &TempDir, token: &str) -> TokenSource {
    TokenSource::File(dir.write("hw.token", format!("{token}\n")))
}

#[test]
fn pairing_through_the_binary_waits_for_the_button_and_stores_a_private_token() {
    let p = pki(P1_CN);
    let dev = StandIn::start(
        p.server.clone(),
        State {
            press_after: 2,
            ..State::default()
        },
    );
    let dir = TempDir::new("hw-pair");
    let ca = dir.write("ca.pem", &p.ca_pem);
    let file = dir.0.join("hw.token");
    let pair = |extra: &[&str]| {
        run(cmd()
            .args(["homewizard", "pair", &dev.host(), "--wait", "20s"])
            .arg("--homewizard-token-file")
            .arg(&file)
            .args(extra)
            .env(TEST_CA_VAR, &ca))
    };
    let out = pair(&[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        dev.get(|s| s.posts),
        3,
        "asked until the button was pressed"
    );
    assert_eq!(dev.get(|s| s.names[0].clone()), "local/dsmr-exporter");
    for said in [
        "Press the button",
        "waiting for the button",
        "Paired",
        SERIAL,
    ] {
        assert!(stderr.contains(said), "{said:?} missing from:\n{stderr}");
    }
    assert!(
        !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
        "token shown"
    );
    assert_eq!(
        std::fs::read_to_string(&file).expect("token file"),
        format!("{TOKEN}\n")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(dev.get(|s| s.without_version), 0);

    // Asked for, the token is printed (alone, on stdout).
    std::fs::remove_file(&file).expect("remove");
    dev.with(|s| s.press_after = 0);
    let out = pair(&["--print-token", "--user", "grafana box"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{TOKEN}\n"));
    assert_eq!(
        dev.get(|s| s.names.last().cloned()),
        Some("local/grafana box".into())
    );
}

#[test]
fn pairing_gives_up_with_a_clear_message_and_writes_nothing() {
    let p = pki(P1_CN);
    let dev = StandIn::start(
        p.server.clone(),
        State {
            press_after: usize::MAX,
            ..State::default()
        },
    );
    let dir = TempDir::new("hw-pair-late");
    let ca = dir.write("ca.pem", &p.ca_pem);
    let started = Instant::now();
    let out = run(cmd()
        .args(["homewizard", "pair", &dev.host(), "--wait", "2s"])
        .arg("--homewizard-token-file")
        .arg(dir.0.join("hw.token"))
        .env(TEST_CA_VAR, &ca));
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("gave up after 2s"), "{stderr}");
    assert!(stderr.contains("button"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(dev.get(|s| s.posts) >= 2, "kept asking");
    let left: Vec<_> = std::fs::read_dir(&dir.0)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| n != "ca.pem")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // Without the test CA, the stand-in's certificate is not HomeWizard's.
    let out = run(cmd()
        .args(["homewizard", "pair", &dev.host(), "--wait", "2s"])
        .arg("--homewizard-token-file")
        .arg(dir.0.join("hw.token")));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not one of HomeWizard's"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn polls_with_the_token_and_takes_503_as_no_telegram_yet() {
    let p = pki(P1_CN);
    let dev = StandIn::start(p.server.clone(), State::default());
    let dir = TempDir::new("hw-poll");
    let meter = Meter::new("hw", Zone::CET);
    let cfg = config(&dev, &p.ca_pem, token_file(&dir, TOKEN));
    let _source = Task(tokio::spawn(homewizard::run(cfg, meter.clone())));

    // 503: the device is up, nothing is counted, polling goes on.
    wait_for(&meter, "up without a telegram", |st| st.source_up).await;
    let asked = dev.get(|s| s.telegram_gets);
    while dev.get(|s| s.telegram_gets) < asked + 3 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    {
        let st = meter.lock();
        assert_eq!(
            st.ok + st.malformed + st.crc_mismatch,
            0,
            "{}",
            summary(&st)
        );
        assert!(st.source_up);
    }
    dev.with(|s| s.telegram = Some(telegram()));
    wait_for(&meter, "the telegram", |st| st.ok == 1).await;
    assert_eq!(
        dev.get(|s| s.last_authorization.clone()),
        Some(format!("Bearer {TOKEN}"))
    );
    assert_eq!(dev.get(|s| s.without_version), 0);
    let st = meter.lock();
    assert_eq!((st.malformed, st.reconnects), (0, 0), "{}", summary(&st));
}

#[tokio::test]
async fn a_refused_token_backs_off_and_a_new_pairing_is_picked_up() {
    let p = pki(P1_CN);
    let dev = StandIn::start(p.server.clone(), State::with_telegram());
    let dir = TempDir::new("hw-401");
    let meter = Meter::new("hw", Zone::CET);
    let cfg = HomewizardConfig {
        auth_retry: Duration::from_millis(300),
        ..config(
            &dev,
            &p.ca_pem,
            token_file(&dir, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
        )
    };
    let err = v2::poll(&cfg).await.expect_err("401");
    assert!(err.to_string().contains("401"), "{err}");
    let _source = Task(tokio::spawn(homewizard::run(cfg, meter.clone())));

    // Polled every 30 ms, but after a 401 only every 300 ms.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let asked = dev.get(|s| s.telegram_gets);
    assert!(asked <= 5, "{asked} requests in 700 ms: a busy loop");
    {
        let st = meter.lock();
        assert!(!st.source_up && st.ok == 0, "{}", summary(&st));
    }
    // Paired again while running: the file is read again.
    token_file(&dir, TOKEN);
    wait_for(&meter, "the new token", |st| st.ok == 1 && st.source_up).await;
}

#[tokio::test]
async fn certificates_for_another_device_or_from_another_ca_are_refused() {
    let dir = TempDir::new("hw-cn");
    let cases = [
        // (certificate CN, serial configured, signed by the trusted CA)
        (
            "appliance/p1dongle/aaaaaaaaaaaa",
            Some(SERIAL),
            true,
            "appliance/p1dongle/aaaaaaaaaaaa",
        ),
        (
            "appliance/energysocket/5c2fafaabbcc",
            None,
            true,
            "appliance/p1dongle/*",
        ),
        (P1_CN, None, false, "not one of HomeWizard's"),
    ];
    for (cn, serial, same_ca, said) in cases {
        let p = pki(cn);
        let trusted = if same_ca {
            p.ca_pem.clone()
        } else {
            pki(P1_CN).ca_pem
        };
        let dev = StandIn::start(p.server.clone(), State::with_telegram());
        let mut cfg = config(&dev, &trusted, token_file(&dir, TOKEN));
        cfg.trust.serial = serial.map(str::to_owned);
        let err = v2::poll(&cfg).await.expect_err("refused").to_string();
        assert!(err.contains(said), "{cn}: {err}");
        assert!(
            detect(&cfg).await.is_err(),
            "{cn}: detection must not fall back to v1"
        );
        let meter = Meter::new("hw", Zone::CET);
        let source = Task(tokio::spawn(homewizard::run(cfg, meter.clone())));
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(source);
        assert!(!meter.lock().source_up);
        assert_eq!(
            dev.get(|s| s.telegram_gets),
            0,
            "{cn}: the token never left"
        );
    }
    // The right serial, in any case, is accepted.
    let p = pki(P1_CN);
    let dev = StandIn::start(
        p.server.clone(),
        State {
            telegram: Some(b"x".to_vec()),
            ..State::default()
        },
    );
    let mut cfg = config(&dev, &p.ca_pem, token_file(&dir, TOKEN));
    cfg.trust.serial = Some(SERIAL.to_ascii_uppercase());
    assert_eq!(
        v2::poll(&cfg).await.expect("accepted"),
        Bytes::from_static(b"x")
    );
}

#[tokio::test]
async fn detection_tells_v2_from_v1() {
    let p = pki(P1_CN);
    let dir = TempDir::new("hw-detect");
    let v2_dev = StandIn::start(p.server.clone(), State::default());
    let cfg = config(&v2_dev, &p.ca_pem, token_file(&dir, TOKEN));
    let d = detect(&cfg).await.expect("v2");
    assert_eq!(d.api, Api::V2, "{d:?}");
    assert!(d.why.contains("401"), "{d:?}");

    let v1_dev = StandIn::start(
        p.server.clone(),
        State {
            v1_only: true,
            ..State::default()
        },
    );
    let d = detect(&config(&v1_dev, &p.ca_pem, token_file(&dir, TOKEN)))
        .await
        .expect("v1");
    assert_eq!((d.api, d.why.contains("404")), (Api::V1, true), "{d:?}");

    // A port that speaks plain HTTP, not TLS.
    let plain = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let plain_addr = plain.local_addr().expect("addr");
    let _plain = Task(tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = plain.accept().await {
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    }));
    let mut cfg = config(&v2_dev, &p.ca_pem, token_file(&dir, TOKEN));
    cfg.port = Some(plain_addr.port());
    let d = detect(&cfg).await.expect("no TLS");
    assert_eq!(d.api, Api::V1, "{d:?}");

    // Nothing listening at all.
    drop(_plain);
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    cfg.port = Some(closed.local_addr().expect("addr").port());
    drop(closed);
    let d = detect(&cfg).await.expect("refused");
    assert_eq!(d.api, Api::V1, "{d:?}");
}

#[test]
fn the_binary_detects_v2_from_a_config_file_and_waits_out_503_quietly() {
    let p = pki(P1_CN);
    let dev = StandIn::start(p.server.clone(), State::default());
    let dir = TempDir::new("hw-bin");
    let ca = dir.write("ca.pem", &p.ca_pem);
    dir.write("hw.token", format!("{TOKEN}\n"));
    let config = dir.write(
        "dsmr.toml",
        format!(
            "[web]\nlisten_address = \"127.0.0.1:0\"\n\n[[meter]]\nname = \"hw\"\n\
             homewizard = {{ host = \"{}\", interval = \"100ms\", token_file = \"hw.token\", serial = \"{SERIAL}\" }}\n",
            dev.host()
        ),
    );
    let (_child, addr, log) = start(cmd().arg("--config").arg(&config).env(TEST_CA_VAR, &ca));
    // 503 a few times: the device is up, nothing counted, one log line.
    let body = scrape_until(&addr, "several 503s", |_| dev.get(|s| s.telegram_gets) >= 5);
    assert!(body.contains("dsmr_source_up{meter=\"hw\"} 1"), "{body}");
    assert_eq!(telegrams(&body, "hw", "malformed"), Some(0.0), "{body}");
    dev.with(|s| s.telegram = Some(telegram()));
    scrape_until(&addr, "a telegram", |b| {
        telegrams(b, "hw", "ok").is_some_and(|n| n >= 1.0)
    });
    let lines: Vec<String> = log.try_iter().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("using API v2 because it answered 401")),
        "{lines:#?}"
    );
    let waiting = lines.iter().filter(|l| l.contains("no telegram")).count();
    assert_eq!(waiting, 1, "{lines:#?}");
    // The only warnings: the test CA, and the token file the test left
    // readable by others (0644).
    let warnings: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert_eq!(warnings.len(), 2, "{lines:#?}");
    assert!(warnings[0].contains("test-only CA"), "{lines:#?}");
    assert!(
        warnings[1].contains("others can read the token file"),
        "{lines:#?}"
    );

    // Set to v2 without a token file, the start stops and says how to pair.
    let out = run(cmd()
        .args([
            "--homewizard",
            &dev.host(),
            "--homewizard-api",
            "v2",
            "--check-config",
        ])
        .arg("--homewizard-token-file")
        .arg(dir.0.join("missing.token")));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("pair first: dsmr-exporter homewizard pair"),
        "{stderr}"
    );
}

#[test]
fn the_binary_logs_a_refused_token_once_and_reports_the_source_down() {
    let p = pki(P1_CN);
    let dev = StandIn::start(p.server.clone(), State::with_telegram());
    let dir = TempDir::new("hw-bin-401");
    let ca = dir.write("ca.pem", &p.ca_pem);
    let (_child, addr, log) = start(
        cmd()
            .args(["--homewizard", &dev.host(), "--homewizard-api", "v2"])
            .args(["--homewizard-interval", "100ms"])
            .args(["--web.listen-address", "127.0.0.1:0"])
            .env(TEST_CA_VAR, &ca)
            .env(
                "DSMR_EXPORTER_HOMEWIZARD_TOKEN",
                "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            ),
    );
    let body = scrape_until(&addr, "a 401", |_| dev.get(|s| s.telegram_gets) >= 1);
    assert!(body.contains("dsmr_source_up{meter=\"main\"} 0"), "{body}");
    std::thread::sleep(Duration::from_millis(1500));
    // Polled every 100 ms, but a refused token waits a minute.
    assert_eq!(dev.get(|s| s.telegram_gets), 1);
    let lines: Vec<String> = log.try_iter().collect();
    let refused: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("refused the token"))
        .collect();
    assert_eq!(refused.len(), 1, "{lines:#?}");
    assert!(refused[0].contains("homewizard pair"), "{}", refused[0]);
    assert!(
        !lines.iter().any(|l| l.contains("FFFFFFFF")),
        "token logged"
    );
}
