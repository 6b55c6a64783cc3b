//! Measures `/metrics` scrape latency with 0, 1 and 10 `/events` clients
//! connected, while the meter gets a telegram every 100 ms (ten times a
//! DSMR 5 meter's rate). Run with `cargo run --release --example
//! scrape_with_events`; numbers go to stdout.

use dsmr_engine::Zone;
use dsmr_exporter::http::{serve, ServerConfig};
use dsmr_exporter::source::Pipeline;
use dsmr_exporter::state::{Meter, Meters};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SCRAPES: usize = 3000;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// One GET on a kept-alive connection; reads exactly Content-Length bytes.
async fn scrape(s: &mut TcpStream, buf: &mut Vec<u8>) {
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: m\r\n\r\n")
        .await
        .expect("send");
    buf.clear();
    let mut chunk = [0u8; 16384];
    loop {
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "closed");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("content-length");
            if buf.len() >= end + 4 + len {
                return;
            }
        }
    }
}

async fn measure(addr: SocketAddr, label: &str) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut buf = Vec::new();
    for _ in 0..100 {
        scrape(&mut s, &mut buf).await; // warm up
    }
    let mut t: Vec<Duration> = Vec::with_capacity(SCRAPES);
    for _ in 0..SCRAPES {
        let start = Instant::now();
        scrape(&mut s, &mut buf).await;
        t.push(start.elapsed());
    }
    t.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = t.iter().map(|d| us(*d)).sum::<f64>() / t.len() as f64;
    println!(
        "{label:<22} scrapes={SCRAPES} median={:.1}µs p90={:.1}µs p99={:.1}µs mean={:.1}µs",
        us(t[t.len() / 2]),
        us(t[t.len() * 9 / 10]),
        us(t[t.len() * 99 / 100]),
        mean
    );
}

/// An `/events` client that reads and discards everything.
async fn listen(addr: SocketAddr) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /events HTTP/1.1\r\nHost: m\r\n\r\n")
        .await
        .expect("send");
    let mut buf = [0u8; 16384];
    while let Ok(n) = s.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let m = Meter::new("main", Zone::CET);
        let telegrams = [
            fixture("nl_dsmr50_iskra_am550t_3phase_issue91.txt"),
            fixture("nl_dsmr50_iskra_am550t_two_mbus.txt"),
        ];
        let mut p = Pipeline::new(m.clone());
        p.feed(&telegrams[0]);
        let feeder = tokio::spawn(async move {
            let mut i = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                p.feed(&telegrams[i % 2]);
                i += 1;
            }
        });
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(serve(
            l,
            Meters::new(vec![m]),
            ServerConfig::default(),
            std::future::pending(),
        ));
        for round in 0..2 {
            println!("round {}", round + 1);
            measure(addr, "no /events client").await;
            let one = tokio::spawn(listen(addr));
            tokio::time::sleep(Duration::from_millis(300)).await;
            measure(addr, "1 /events client").await;
            let mut more = Vec::new();
            for _ in 0..9 {
                more.push(tokio::spawn(listen(addr)));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            measure(addr, "10 /events clients").await;
            one.abort();
            more.iter().for_each(|h| h.abort());
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        feeder.abort();
    });
}
