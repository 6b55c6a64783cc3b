//! The HomeWizard source over API v1 against a small HTTP server of ours
//! that plays the dongle: telegrams with and without CRC, the same telegram
//! served again, an HTML error page, an HTTP error status, and the device
//! going away and coming back. (API v2: tests/homewizard_v2.rs.)

mod common;
use common::{fixture, summary, wait_for, Task};
use dsmr_engine::Zone;
use dsmr_exporter::source::homewizard::{self, Api, HomewizardConfig, TELEGRAM_PATH};
use dsmr_exporter::source::Retry;
use dsmr_exporter::state::Meter;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A DSMR 5 telegram with a valid CRC.
fn with_crc() -> Vec<u8> {
    fixture("nl_dsmr50_iskra_am550t_two_mbus.txt")
}

/// Another DSMR 5 telegram (valid CRC) with the CRC cut off after `!`, as
/// the endpoint is reported to send it.
fn without_crc() -> Vec<u8> {
    let mut t = fixture("nl_dsmr50_sagemcom_t211_no_gas.txt");
    let bang = t.iter().rposition(|&b| b == b'!').expect("!");
    t.truncate(bang + 1);
    t.extend_from_slice(b"\r\n");
    t
}

/// What the fake dongle answers, and how often it was asked.
#[derive(Clone)]
struct Device {
    reply: Arc<Mutex<(u16, Vec<u8>)>>,
    requests: Arc<AtomicUsize>,
}

impl Device {
    fn new(body: Vec<u8>) -> Device {
        Device {
            reply: Arc::new(Mutex::new((200, body))),
            requests: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn set(&self, status: u16, body: &[u8]) {
        *self.reply.lock().expect("lock") = (status, body.to_vec());
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Serves on `addr` until the returned task is aborted.
    async fn serve(&self, addr: SocketAddr) -> Task {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let dev = self.clone();
        Task(tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut s, _)) = listener.accept().await {
                let dev = dev.clone();
                conns.spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let expected = format!("GET {TELEGRAM_PATH} HTTP/1.1\r\n");
                    let (status, body) = if head.starts_with(&expected) {
                        dev.requests.fetch_add(1, Ordering::SeqCst);
                        dev.reply.lock().expect("lock").clone()
                    } else {
                        (404, b"not found".to_vec())
                    };
                    let mut out = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(&body);
                    let _ = s.write_all(&out).await;
                    let _ = s.shutdown().await;
                });
            }
        }))
    }
}

async fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr")
}

fn config(addr: SocketAddr) -> HomewizardConfig {
    HomewizardConfig {
        api: Api::V1,
        timeout: Duration::from_secs(2),
        retry: Retry {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        ..HomewizardConfig::new(
            addr.ip().to_string(),
            Some(addr.port()),
            Duration::from_millis(30),
        )
    }
}

#[tokio::test]
async fn polls_counts_new_telegrams_once_and_survives_the_device_going_away() {
    let addr = free_addr().await;
    let dev = Device::new(with_crc());
    let server = dev.serve(addr).await;
    let meter = Meter::new("hw", Zone::CET);
    let _source = Task(tokio::spawn(homewizard::run(config(addr), meter.clone())));

    wait_for(&meter, "first telegram", |st| st.ok == 1 && st.source_up).await;
    // The same body, polled again and again, counts once.
    let asked = dev.requests();
    while dev.requests() < asked + 5 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(meter.lock().ok, 1, "{}", summary(&meter.lock()));

    // No CRC after `!`: accepted, HTTP guards the bytes.
    dev.set(200, &without_crc());
    wait_for(&meter, "telegram without CRC", |st| st.ok == 2).await;
    {
        let st = meter.lock();
        assert_eq!((st.crc_mismatch, st.malformed), (0, 0), "{}", summary(&st));
        let t = st.telegram.as_ref().expect("telegram");
        assert_eq!(t.manufacturer(), "Ene");
    }

    // An error page with status 200 holds no telegram.
    dev.set(
        200,
        b"<!DOCTYPE html><html><body><h1>Error</h1></body></html>",
    );
    wait_for(&meter, "HTML body counted", |st| st.malformed == 1).await;
    // A body without any '/' either.
    dev.set(200, b"{\"error\": \"no data\"}");
    wait_for(&meter, "JSON body counted", |st| st.malformed == 2).await;
    assert_eq!(meter.lock().ok, 2);

    // An HTTP error status: the source is down, nothing counted.
    dev.set(403, b"API disabled");
    wait_for(&meter, "down on 403", |st| !st.source_up).await;
    dev.set(200, &with_crc());
    wait_for(&meter, "back after 403", |st| {
        st.source_up && st.reconnects == 1 && st.ok == 3
    })
    .await;

    // The device goes away entirely, then comes back.
    drop(server);
    wait_for(&meter, "down when unreachable", |st| !st.source_up).await;
    let down_at = dev.requests();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(dev.requests(), down_at);
    dev.set(200, &without_crc());
    let _server = dev.serve(addr).await;
    wait_for(&meter, "reconnected", |st| {
        st.source_up && st.reconnects == 2 && st.ok == 4
    })
    .await;
    let st = meter.lock();
    assert_eq!((st.crc_mismatch, st.malformed), (0, 2), "{}", summary(&st));
}

#[tokio::test]
async fn a_silent_device_times_out_and_counts_nothing() {
    // Accepts the connection and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let _hold = Task(tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    }));
    let meter = Meter::new("hw", Zone::CET);
    let cfg = HomewizardConfig {
        timeout: Duration::from_millis(100),
        ..config(addr)
    };
    let started = Instant::now();
    let err = homewizard::poll(&cfg).await.expect_err("times out");
    assert!(err.to_string().contains("no answer within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
    let _source = Task(tokio::spawn(homewizard::run(cfg, meter.clone())));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let st = meter.lock();
    assert!(!st.source_up);
    assert_eq!(st.ok + st.crc_mismatch + st.malformed, 0);
}
