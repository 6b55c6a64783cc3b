//! Scale harness, run by hand (`scripts/scale.sh`): one release exporter
//! reading 10 000 (`SCALE_METERS`) simulated meters over TCP on loopback.
//!
//! Each simulated meter is its own TCP listener that sends a DSMR 5.0
//! telegram from [`DemoMeter`] once a second to whoever connects, with the
//! meters' seconds spread evenly so the load is as smooth as real meters
//! make it. The exporter gets a generated `--config` of that many tcp meters.
//! After every meter has delivered a telegram and a warm-up, the harness
//! measures over `SCALE_SECONDS` (default 60) the exporter's CPU (utime +
//! stime from /proc/PID/stat, as % of one core), its resident memory
//! (VmRSS, VmHWM from /proc/PID/status) and then the `/metrics` response
//! time for all meters with `Accept-Encoding: gzip`, as Prometheus asks
//! (median of 20 scrapes, each on a new connection and reading the whole
//! body; then 5 uncompressed ones, for comparison). A Prometheus-like gzip
//! scrape every 15 s (or `SCALE_SCRAPE_EVERY`) runs during the interval, so
//! its cost is in the CPU figure.
//!
//! Targets: 10 000 meters under 10 % of one core, 150 MiB RSS and 250 ms
//! per gzip scrape; 1 000 or fewer under 5 %, 100 MiB and 100 ms. The test prints
//! the figures before it checks them. The exporter's port is reserved
//! before the meters' listeners bind, and a harness whose exporter exits
//! fails at once with its log instead of waiting.
//!
//! `SCALE_METERS` changes the number of meters, `SCALE_SCRAPE_EVERY` the
//! seconds between scrapes during the CPU measurement, `SCALE_EXPORTER=PATH`
//! measures another build of the exporter (an older one, to compare).

mod common;

use dsmr_exporter::source::DemoMeter;
use std::io::Read;
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

/// One simulated meter: accepts a connection and writes a telegram a
/// second to it, starting `offset` into every second. While connected it
/// holds no listener (one socket per meter, so 10 000 meters fit the usual
/// hard limit of 20 000 open files); when the connection ends it listens
/// on the same address again.
async fn simulate(listener: TcpListener, seed: u64, offset: Duration) {
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    let mut listener = Some(listener);
    let mut meter = DemoMeter::new(seed, SystemTime::now());
    loop {
        let l = match listener.take() {
            Some(l) => l,
            None => match TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok((mut conn, _)) = l.accept().await else {
            return;
        };
        drop(l);
        let start = tokio::time::Instant::now() + offset;
        let mut tick = tokio::time::interval_at(start, Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let telegram = meter.next_telegram(SystemTime::now());
            if conn.write_all(&telegram).await.is_err() {
                break;
            }
        }
    }
}

/// GET /metrics on a new connection, asking for gzip as Prometheus does
/// (`gzip`) or not: the time to the last byte and the body, decompressed.
/// Several gzip members one after another are one body (RFC 1952), as Go's
/// reader, which Prometheus uses, reads them.
fn scrape_as(addr: &str, gzip: bool) -> Option<(Duration, String)> {
    let started = Instant::now();
    let headers: &[(&str, &str)] = if gzip {
        &[("Accept-Encoding", "gzip")]
    } else {
        &[]
    };
    let reply = common::client::get(addr, "/metrics", headers).ok()?;
    let took = started.elapsed();
    let text = if reply.head.contains("content-encoding: gzip") {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(reply.body.as_slice())
            .read_to_string(&mut text)
            .ok()?;
        text
    } else {
        String::from_utf8(reply.body).ok()?
    };
    Some((took, text))
}

/// A gzip scrape, as Prometheus sends it.
fn scrape(addr: &str) -> Option<(Duration, String)> {
    scrape_as(addr, true)
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
///
/// The exporter's port is held by a listener of ours while the meters'
/// listeners take theirs, so no meter can take it first; it is let go just
/// before the exporter starts. Should another process take it in that
/// moment, the exporter exits at once, and the start is tried again on a
/// new port (three times at most).
async fn start(meters: usize) -> Exporter {
    let mut listeners = Vec::with_capacity(meters);
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    for i in 0..meters {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind meter");
        let offset = Duration::from_secs(1) * i as u32 / meters as u32;
        listeners.push((listener, offset));
    }
    let mut meters_config = String::new();
    for (i, (listener, offset)) in listeners.into_iter().enumerate() {
        let meter_addr = listener.local_addr().expect("addr");
        tokio::spawn(simulate(listener, i as u64, offset));
        meters_config.push_str(&format!(
            "\n[[meter]]\nname = \"m{i:04}\"\ntcp = {{ address = \"{meter_addr}\" }}\n"
        ));
    }
    let mut held = Some(held);
    for attempt in 1..=3 {
        let port = match held.take() {
            Some(l) => l.local_addr().expect("addr").port(),
            None => {
                let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                l.local_addr().expect("addr").port()
            }
        };
        let mut exporter = spawn_exporter(&format!("127.0.0.1:{port}"), &meters_config);
        // A taken port makes the exporter exit within a moment.
        tokio::time::sleep(Duration::from_millis(500)).await;
        match exporter.child.0.try_wait() {
            Ok(None) => return exporter,
            _ => eprintln!(
                "exporter exited at start (attempt {attempt}): {}",
                exporter.log_tail()
            ),
        }
    }
    panic!("the exporter did not start in three attempts");
}

/// The exporter on `addr` with the meters of `meters_config`.
fn spawn_exporter(addr: &str, meters_config: &str) -> Exporter {
    let config = format!("[web]\nlisten_address = \"{addr}\"\n{meters_config}");
    let dir = tempfile::Builder::new()
        .prefix("dsmr-exporter-scale-")
        .tempdir()
        .expect("temp dir");
    let cfg_path = dir.path().join("scale.toml");
    std::fs::write(&cfg_path, &config).expect("write config");
    let log = std::fs::File::create(dir.path().join("exporter.log")).expect("log file");

    // SCALE_EXPORTER runs another build (an older one, to compare).
    let bin = std::env::var_os("SCALE_EXPORTER").unwrap_or_else(|| BIN.into());
    let child = Command::new(bin)
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
        addr: addr.to_owned(),
        _dir: dir,
    }
}

impl Exporter {
    /// The last lines of the exporter's log, for a failure message.
    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self._dir.path().join("exporter.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }
}

/// Waits (at most 120 s) until every meter has delivered; how long it
/// took. Fails at once, with the exporter's log, if the exporter exits.
async fn wait_until_all_deliver(exporter: &mut Exporter, meters: usize) -> Duration {
    let started = Instant::now();
    let limit = Duration::from_secs(120);
    loop {
        if let Ok(Some(status)) = exporter.child.0.try_wait() {
            panic!("the exporter exited ({status}): {}", exporter.log_tail());
        }
        let a = exporter.addr.clone();
        let n =
            tokio::task::spawn_blocking(move || scrape(&a).map(|(_, b)| meters_with_telegrams(&b)))
                .await
                .expect("join");
        if n == Some(meters) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "only {n:?} of {meters} meters delivered in {} s",
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The exporter's CPU over `seconds`, in % of one core, with a scrape every
/// `every` (15 s as Prometheus would, by default); also how many scrapes
/// were answered and the telegrams a second the exporter took meanwhile
/// (between the first and the last scrape): on a loaded machine the
/// simulated meters may send fewer than one a second each.
async fn cpu_under_scrapes(
    addr: &str,
    pid: u32,
    seconds: u64,
    every: Duration,
) -> (f64, Duration, usize, f64) {
    let hz = clock_ticks_per_second();
    let ticks0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let a = addr.to_owned();
    let (scrapes, rate) = tokio::task::spawn_blocking(move || {
        let mut n = 0;
        // (when, telegrams ok so far) of the first and the last scrape.
        let mut seen: Vec<(Instant, f64)> = Vec::new();
        while t0.elapsed() < Duration::from_secs(seconds) {
            if let Some((_, body)) = scrape(&a) {
                n += 1;
                seen.push((Instant::now(), total(&body, "ok")));
            }
            let left = Duration::from_secs(seconds).saturating_sub(t0.elapsed());
            std::thread::sleep(left.min(every));
        }
        let rate = match (seen.first(), seen.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) / (b.0 - a.0).as_secs_f64(),
            _ => 0.0,
        };
        (n, rate)
    })
    .await
    .expect("join");
    let ticks1 = cpu_ticks(pid);
    let elapsed = t0.elapsed();
    let cpu_pct = (ticks1 - ticks0) as f64 / hz as f64 / elapsed.as_secs_f64() * 100.0;
    (cpu_pct, elapsed, scrapes, rate)
}

/// `n` scrapes back to back, gzip or not: their times, sorted, and the last body.
async fn timed_scrapes(addr: &str, n: usize, gzip: bool) -> (Vec<Duration>, String) {
    let a = addr.to_owned();
    let (mut times, body) = tokio::task::spawn_blocking(move || {
        let mut times = Vec::new();
        let mut last = String::new();
        for _ in 0..n {
            if let Some((t, body)) = scrape_as(&a, gzip) {
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
async fn one_exporter_reads_many_tcp_meters() {
    let meters = env_or("SCALE_METERS", 10_000) as usize;
    let seconds = env_or("SCALE_SECONDS", 60);
    // One socket per meter in this process (a listener, then the connection).
    let _ = rlimit::increase_nofile_limit(meters as u64 + 256);

    let mut exporter = start(meters).await;
    let ready = wait_until_all_deliver(&mut exporter, meters).await;
    let (addr, pid) = (exporter.addr.as_str(), exporter.child.0.id());
    // Let start-up allocations and connection bursts settle.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let every = Duration::from_secs(env_or("SCALE_SCRAPE_EVERY", 15).max(1));
    let (cpu_pct, elapsed, scrapes, rate) = cpu_under_scrapes(addr, pid, seconds, every).await;
    let rss_mib = status_kib(pid, "VmRSS") as f64 / 1024.0;
    let hwm_mib = status_kib(pid, "VmHWM") as f64 / 1024.0;
    let threads = status_kib(pid, "Threads");

    let (times, body) = timed_scrapes(addr, 20, true).await;
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    let max = times.last().copied().unwrap_or_default();
    let (plain_times, plain) = timed_scrapes(addr, 5, false).await;
    let plain_median = plain_times
        .get(plain_times.len() / 2)
        .copied()
        .unwrap_or_default();
    let series = body.lines().filter(|l| !l.starts_with('#')).count();
    let fresh = meters_with_telegrams(&body);
    let ok = total(&body, "ok");
    let bad = total(&body, "crc_mismatch") + total(&body, "malformed");

    println!("scale: {meters} TCP meters, one telegram a second each");
    println!("  all meters delivering after {:.1} s", ready.as_secs_f64());
    println!(
        "  CPU over {:.0} s ({scrapes} scrapes): {cpu_pct:.2} % of one core, {rate:.0} telegrams/s taken",
        elapsed.as_secs_f64()
    );
    println!("  resident memory: {rss_mib:.1} MiB (peak {hwm_mib:.1} MiB), {threads} threads");
    println!(
        "  /metrics gzip ({series} series, {} KiB of text): median {:.1} ms, max {:.1} ms of 20",
        body.len() / 1024,
        median.as_secs_f64() * 1000.0,
        max.as_secs_f64() * 1000.0
    );
    println!(
        "  /metrics uncompressed: median {:.1} ms of {}",
        plain_median.as_secs_f64() * 1000.0,
        plain_times.len()
    );
    println!("  telegrams: {ok} ok, {bad} bad; meters with a telegram: {fresh}");

    assert_eq!(times.len(), 20, "every gzip scrape answered");
    assert_eq!(plain_times.len(), 5, "every uncompressed scrape answered");
    assert_eq!(
        plain.lines().filter(|l| !l.starts_with('#')).count(),
        series,
        "gzip and plain scrapes carry the same series"
    );
    assert_eq!(fresh, meters, "every meter delivered");
    assert_eq!(bad, 0.0, "no telegram lost to framing or CRC");
    let t = Targets::for_meters(meters);
    assert!(cpu_pct < t.cpu_pct, "CPU {cpu_pct:.2} % >= {} %", t.cpu_pct);
    assert!(
        rss_mib < t.rss_mib,
        "RSS {rss_mib:.1} MiB >= {} MiB",
        t.rss_mib
    );
    assert!(median < t.scrape, "median {median:?} >= {:?}", t.scrape);
}

/// What one exporter must stay under.
struct Targets {
    /// % of one core over the run.
    cpu_pct: f64,
    /// Resident memory after the run.
    rss_mib: f64,
    /// Median `/metrics` response, gzip as Prometheus asks for it.
    scrape: Duration,
}

impl Targets {
    /// 1 000 meters or fewer: the first scale issue's targets; more (up to
    /// 10 000): issue 15's.
    fn for_meters(meters: usize) -> Targets {
        if meters <= 1000 {
            Targets {
                cpu_pct: 5.0,
                rss_mib: 100.0,
                scrape: Duration::from_millis(100),
            }
        } else {
            Targets {
                cpu_pct: 10.0,
                rss_mib: 150.0,
                scrape: Duration::from_millis(250),
            }
        }
    }
}
