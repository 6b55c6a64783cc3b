//! Scale harness, run by hand (`scripts/scale.sh`): one release exporter
//! reading 1 000 simulated meters over TCP on loopback.
//!
//! Each simulated meter is its own TCP listener that sends a DSMR 5.0
//! telegram from [`DemoMeter`] once a second to whoever connects, with the
//! meters' seconds spread evenly so the load is as smooth as real meters
//! make it. The exporter gets a generated `--config` of 1 000 tcp meters.
//! After every meter has delivered a telegram and a warm-up, the harness
//! measures over `SCALE_SECONDS` (default 60) the exporter's CPU (utime +
//! stime from /proc/PID/stat, as % of one core), its resident memory
//! (VmRSS, VmHWM from /proc/PID/status) and then the `/metrics` response
//! time for all meters (median of 20 scrapes, each on a new connection and
//! reading the whole body). A Prometheus-like scrape every 15 s runs during
//! the interval, so its cost is in the CPU figure.
//!
//! Targets: < 5 % of one core, < 100 MiB RSS, /metrics < 100 ms. The test
//! prints the figures before it checks them.
//!
//! `SCALE_METERS` changes the number of meters.

use dsmr_exporter::source::DemoMeter;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const BIN: &str = env!("CARGO_BIN_EXE_dsmr-exporter");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Kills the exporter when the test ends, passing or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One simulated meter: accepts connections and writes a telegram a
/// second to each, starting `offset` into every second.
async fn simulate(listener: TcpListener, seed: u64, offset: Duration) {
    while let Ok((mut conn, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut meter = DemoMeter::new(seed, SystemTime::now());
            let start = tokio::time::Instant::now() + offset;
            let mut tick = tokio::time::interval_at(start, Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let telegram = meter.next_telegram(SystemTime::now());
                if conn.write_all(&telegram).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// GET /metrics on a new connection; the time to the last byte and the body.
fn scrape(addr: &str) -> Option<(Duration, String)> {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let took = started.elapsed();
    Some((took, response.split_once("\r\n\r\n")?.1.to_owned()))
}

/// Meters with at least one valid telegram, from an exposition.
fn meters_with_telegrams(body: &str) -> usize {
    body.lines()
        .filter(|l| l.starts_with("dsmr_telegrams_total{") && l.contains("result=\"ok\""))
        .filter(|l| {
            l.rsplit(' ')
                .next()
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(|v| v > 0.0)
        })
        .count()
}

/// Sum of `dsmr_telegrams_total` with `result` over all meters.
fn total(body: &str, result: &str) -> f64 {
    let r = format!("result=\"{result}\"");
    body.lines()
        .filter(|l| l.starts_with("dsmr_telegrams_total{") && l.contains(&r))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// utime + stime of `pid` in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // Fields after the command name, which is in parentheses.
    let after = stat.rsplit_once(')').expect("stat format").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line; 12 and 13 here.
    let utime: u64 = fields[11].parse().expect("utime");
    let stime: u64 = fields[12].parse().expect("stime");
    utime + stime
}

/// A `/proc/PID/status` value in KiB (VmRSS, VmHWM).
fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .expect("status field")
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// A running exporter with a generated config of `meters` simulated TCP
/// meters; the scratch folder with its config and log goes with it.
struct Exporter {
    child: Running,
    addr: String,
    _dir: tempfile::TempDir,
}

/// Starts `meters` simulated meters and one exporter reading them all.
async fn start(meters: usize) -> Exporter {
    let mut config = String::from("[web]\n");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let addr = format!("127.0.0.1:{port}");
    config.push_str(&format!("listen_address = \"{addr}\"\n"));
    for i in 0..meters {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind meter");
        let meter_addr = listener.local_addr().expect("addr");
        let offset = Duration::from_secs(1) * i as u32 / meters as u32;
        tokio::spawn(simulate(listener, i as u64, offset));
        config.push_str(&format!(
            "\n[[meter]]\nname = \"m{i:04}\"\ntcp = {{ address = \"{meter_addr}\" }}\n"
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("dsmr-exporter-scale-")
        .tempdir()
        .expect("temp dir");
    let cfg_path = dir.path().join("scale.toml");
    std::fs::write(&cfg_path, &config).expect("write config");
    let log = std::fs::File::create(dir.path().join("exporter.log")).expect("log file");

    let child = Command::new(BIN)
        .arg("--config")
        .arg(&cfg_path)
        .args(["--log-level", "warn"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn exporter");
    Exporter {
        child: Running(child),
        addr,
        _dir: dir,
    }
}

/// Waits (at most 60 s) until every meter has delivered; how long it took.
async fn wait_until_all_deliver(addr: &str, meters: usize) -> Duration {
    let started = Instant::now();
    let a = addr.to_owned();
    let ready = tokio::task::spawn_blocking(move || loop {
        if let Some((_, body)) = scrape(&a) {
            let n = meters_with_telegrams(&body);
            if n == meters {
                return Ok(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err(format!("only {n} of {meters} meters delivered in 60 s"));
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    })
    .await
    .expect("join");
    ready.unwrap_or_else(|e| panic!("{e}"))
}

/// The exporter's CPU over `seconds`, in % of one core, with a scrape every
/// 15 s as Prometheus would; also how many scrapes were answered.
async fn cpu_under_scrapes(addr: &str, pid: u32, seconds: u64) -> (f64, Duration, usize) {
    let hz = clock_ticks_per_second();
    let ticks0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let a = addr.to_owned();
    let scrapes = tokio::task::spawn_blocking(move || {
        let mut n = 0;
        while t0.elapsed() < Duration::from_secs(seconds) {
            if scrape(&a).is_some() {
                n += 1;
            }
            let left = Duration::from_secs(seconds).saturating_sub(t0.elapsed());
            std::thread::sleep(left.min(Duration::from_secs(15)));
        }
        n
    })
    .await
    .expect("join");
    let ticks1 = cpu_ticks(pid);
    let elapsed = t0.elapsed();
    let cpu_pct = (ticks1 - ticks0) as f64 / hz as f64 / elapsed.as_secs_f64() * 100.0;
    (cpu_pct, elapsed, scrapes)
}

/// Twenty scrapes back to back: their times, sorted, and the last body.
async fn timed_scrapes(addr: &str) -> (Vec<Duration>, String) {
    let a = addr.to_owned();
    let (mut times, body) = tokio::task::spawn_blocking(move || {
        let mut times = Vec::new();
        let mut last = String::new();
        for _ in 0..20 {
            if let Some((t, body)) = scrape(&a) {
                times.push(t);
                last = body;
            }
        }
        (times, last)
    })
    .await
    .expect("join");
    times.sort();
    (times, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "by hand: scripts/scale.sh (about 2 minutes)"]
async fn one_exporter_reads_1000_tcp_meters() {
    let meters = env_or("SCALE_METERS", 1000) as usize;
    let seconds = env_or("SCALE_SECONDS", 60);
    // Two sockets per meter in this process (listener + accepted).
    let _ = rlimit::increase_nofile_limit(2 * meters as u64 + 256);

    let exporter = start(meters).await;
    let (addr, pid) = (exporter.addr.as_str(), exporter.child.0.id());
    let ready = wait_until_all_deliver(addr, meters).await;
    // Let start-up allocations and connection bursts settle.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let (cpu_pct, elapsed, scrapes) = cpu_under_scrapes(addr, pid, seconds).await;
    let rss_mib = status_kib(pid, "VmRSS") as f64 / 1024.0;
    let hwm_mib = status_kib(pid, "VmHWM") as f64 / 1024.0;
    let threads = status_kib(pid, "Threads");

    let (times, body) = timed_scrapes(addr).await;
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let max = times.last().copied().unwrap_or_default();
    let series = body.lines().filter(|l| !l.starts_with('#')).count();
    let fresh = meters_with_telegrams(&body);
    let ok = total(&body, "ok");
    let bad = total(&body, "crc_mismatch") + total(&body, "malformed");

    println!("scale: {meters} TCP meters, one telegram a second each");
    println!("  all meters delivering after {:.1} s", ready.as_secs_f64());
    println!(
        "  CPU over {:.0} s ({scrapes} scrapes): {cpu_pct:.2} % of one core",
        elapsed.as_secs_f64()
    );
    println!("  resident memory: {rss_mib:.1} MiB (peak {hwm_mib:.1} MiB), {threads} threads");
    println!(
        "  /metrics ({series} series, {} KiB): median {:.1} ms, max {:.1} ms of 20",
        body.len() / 1024,
        median.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0
    );
    println!("  telegrams: {ok} ok, {bad} bad; meters with a telegram: {fresh}");

    assert_eq!(times.len(), 20, "every scrape answered");
    assert_eq!(fresh, meters, "every meter delivered");
    assert_eq!(bad, 0.0, "no telegram lost to framing or CRC");
    assert!(cpu_pct < 5.0, "CPU {cpu_pct:.2} % >= 5 %");
    assert!(rss_mib < 100.0, "RSS {rss_mib:.1} MiB >= 100 MiB");
    assert!(median < Duration::from_millis(100), "median {median:?}");
}
