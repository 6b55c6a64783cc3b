//! Issue #12 point 3, through the built binary on loopback: slow, idle,
//! oversized, never-reading and wrong-password clients together do not
//! block a scrape, and memory stays small.
//!
//! At the numbers (about 15 s): 1 000 clients dribbling a header
//! line a second and 1 000 idle keep-alive connections (each far more than
//! the 256 connections the server admits), 300 `/events` streams that never
//! read, one 1 MiB header, and 250 clients sending wrong passwords in a
//! loop (far more than the cores). Then ten fresh scrapes must each be
//! answered within a second, the exporter's VmRSS must stay under 64 MiB,
//! and the dribblers and idle connections must be closed by the server.

mod common;
use common::bin::{cmd, start};
use common::TempDir;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `prometheus:secret` and a wrong password, as `Authorization` values.
const GOOD: &str = "Basic cHJvbWV0aGV1czpzZWNyZXQ=";
const BAD: &str = "Basic cHJvbWV0aGV1czp3cm9uZw==";
const WEB_CONFIG: &str = "basic_auth_users:\n  prometheus: $2b$10$6uHO1B4VXgrh.S62tUAByeaXSY5rO6rP1GLBP3Ueb4TLDL.9gIAvq\n";

// Issue 12's numbers.
const DRIBBLERS: usize = 1000;
const IDLE: usize = 1000;
const EVENTS: usize = 300;
const WRONG: usize = 250;

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads until the peer closes (or errors); true once it did.
async fn wait_closed(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Sends the request line, then one header line a second until closed.
async fn dribble(addr: String, closed: Arc<AtomicUsize>) {
    let Ok(mut s) = TcpStream::connect(&addr).await else {
        closed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut buf = [0u8; 1024];
    let mut first = true;
    loop {
        let line: &[u8] = if first {
            b"GET /metrics HTTP/1.1\r\n"
        } else {
            b"X-Slow: 1\r\n"
        };
        first = false;
        if s.write_all(line).await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    closed.fetch_add(1, Ordering::Relaxed);
}

/// One answered request, then silence on a kept-alive connection.
async fn idle(addr: String, closed: Arc<AtomicUsize>) {
    if let Ok(mut s) = TcpStream::connect(&addr).await {
        let req = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: {GOOD}\r\n\r\n");
        if s.write_all(req.as_bytes()).await.is_ok() {
            wait_closed(&mut s).await;
        }
    }
    closed.fetch_add(1, Ordering::Relaxed);
}

/// Asks for `/events` and reads no more than its status line; counted
/// once the server has refused or closed it.
async fn events(addr: String, closed: Arc<AtomicUsize>) {
    if let Ok(mut s) = TcpStream::connect(&addr).await {
        let req = format!("GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: {GOOD}\r\n\r\n");
        let _ = s.write_all(req.as_bytes()).await;
        let mut status = [0u8; 12];
        if s.read_exact(&mut status).await.is_ok() && !status.ends_with(b" 503") {
            // A stream: held open and never read.
            std::future::pending::<()>().await;
        }
        wait_closed(&mut s).await;
    }
    closed.fetch_add(1, Ordering::Relaxed);
}

/// A 1 MiB header, once.
async fn huge(addr: String) {
    if let Ok(mut s) = TcpStream::connect(&addr).await {
        let mut req = b"GET /metrics HTTP/1.1\r\nX-Big: ".to_vec();
        req.resize(req.len() + (1 << 20), b'a');
        req.extend_from_slice(b"\r\n\r\n");
        let _ = s.write_all(&req).await;
        wait_closed(&mut s).await;
    }
}

/// Wrong passwords, as fast as the server answers.
async fn wrong_password(addr: String) {
    loop {
        let Ok(mut s) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let req = format!(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: {BAD}\r\nConnection: close\r\n\r\n"
        );
        if s.write_all(req.as_bytes()).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), wait_closed(&mut s)).await;
        }
    }
}

/// A fresh connection's scrape; its status line and how long it took.
async fn scrape(addr: &str) -> (String, Duration) {
    let t = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(5), async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        let req = format!(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: {GOOD}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        let text = String::from_utf8_lossy(&out).into_owned();
        Some(text.lines().next().unwrap_or_default().to_owned())
    })
    .await;
    let status = match r {
        Ok(Some(s)) => s,
        Ok(None) => "connection failed".to_owned(),
        Err(_) => "no answer within 5 s".to_owned(),
    };
    (status, t.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_idle_and_hostile_clients_do_not_block_a_scrape() {
    // ~2 500 client sockets in this process.
    let _ = rlimit::increase_nofile_limit(16384);
    let dir = TempDir::new("starve");
    let web = dir.write("web.yml", WEB_CONFIG);
    let mut c = cmd();
    c.args(["--demo", "--web.listen-address", "127.0.0.1:0"])
        .arg("--web.config.file")
        .arg(&web);
    let (child, addr, _log) = start(&mut c);
    let pid = child.0.id();

    // Prometheus has scraped before the attack begins (its credentials
    // are then remembered, as they are between real scrapes).
    let (status, took) = scrape(&addr).await;
    assert!(status.contains("200"), "{status} after {took:?}");

    let dribbled = Arc::new(AtomicUsize::new(0));
    let idled = Arc::new(AtomicUsize::new(0));
    let evented = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..DRIBBLERS {
        tasks.spawn(dribble(addr.clone(), dribbled.clone()));
    }
    for _ in 0..IDLE {
        tasks.spawn(idle(addr.clone(), idled.clone()));
    }
    tasks.spawn(huge(addr.clone()));
    for _ in 0..EVENTS {
        tasks.spawn(events(addr.clone(), evented.clone()));
    }
    for _ in 0..WRONG {
        tasks.spawn(wrong_password(addr.clone()));
    }
    let attack = Instant::now();
    // Let the attackers settle in: connected, headers under way, streams open.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut latencies = Vec::new();
    let mut peak_rss = 0;
    for _ in 0..10 {
        let (status, took) = scrape(&addr).await;
        latencies.push((status, took));
        peak_rss = peak_rss.max(vm_rss_kib(pid).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The dribblers and idle connections are closed (the head deadline is 10 s).
    let deadline = attack + Duration::from_secs(25);
    while Instant::now() < deadline
        && (dribbled.load(Ordering::Relaxed) < DRIBBLERS
            || idled.load(Ordering::Relaxed) < IDLE
            || evented.load(Ordering::Relaxed) < EVENTS - 32)
    {
        peak_rss = peak_rss.max(vm_rss_kib(pid).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let closed = (
        dribbled.load(Ordering::Relaxed),
        idled.load(Ordering::Relaxed),
        evented.load(Ordering::Relaxed),
    );
    let (status, after) = scrape(&addr).await;
    tasks.shutdown().await;
    drop(child);

    let report = format!(
        "scrapes: {latencies:?}; peak VmRSS {peak_rss} KiB; closed (dribblers, idle, events) \
         {closed:?} after {:?}; last scrape {status} in {after:?}",
        attack.elapsed()
    );
    eprintln!("{report}");
    for (status, took) in &latencies {
        assert!(status.contains(" 200 "), "{report}");
        assert!(*took < Duration::from_secs(1), "{report}");
    }
    assert!(
        status.contains(" 200 ") && after < Duration::from_secs(1),
        "{report}"
    );
    assert!(peak_rss > 0 && peak_rss < 64 * 1024, "{report}");
    assert_eq!(closed.0, DRIBBLERS, "{report}");
    assert_eq!(closed.1, IDLE, "{report}");
    // Streams beyond the server's small cap for /events (32) are refused.
    assert!(closed.2 >= EVENTS - 32, "{report}");
}
