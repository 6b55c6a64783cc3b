//! Issue #12, "bounded everywhere", through the built binary: a replay
//! file is streamed (memory does not follow its size, a file without a
//! telegram is refused rather than read forever), and a peer that keeps
//! connecting and hanging up does not flood the log.

mod common;
use common::bin::{cmd, run, scrape_until, start, telegrams, text};
use common::{fixture, TempDir};
use std::io::Write;
use std::time::{Duration, Instant};

/// The resident memory of a process in KiB, from /proc (Linux only).
fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// 64 MiB of one valid telegram, repeated.
fn big_replay_file(dir: &TempDir) -> (std::path::PathBuf, u64) {
    let t = fixture("nl_dsmr50_iskra_am550t_two_mbus.txt");
    let path = dir.0.join("big.txt");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut written = 0u64;
    let mut copies = 0u64;
    while written < 64 * 1024 * 1024 {
        f.write_all(&t).expect("write");
        written += t.len() as u64;
        copies += 1;
    }
    f.flush().expect("flush");
    (path, copies)
}

#[test]
fn replay_of_a_large_file_keeps_memory_bounded() {
    if vm_rss_kib(std::process::id()).is_none() {
        eprintln!("no /proc/<pid>/status here: skipped");
        return;
    }
    let dir = TempDir::new("bounded-replay");
    let (path, copies) = big_replay_file(&dir);
    let (child, addr, _log) = start(
        cmd()
            .args(["--web.listen-address", "127.0.0.1:0", "--replay"])
            .arg(&path)
            .args(["--replay-interval", "0", "--replay-loop"]),
    );
    let pid = child.0.id();
    let mut peak = 0;
    let started = Instant::now();
    // Past the first pass (every telegram of 64 MiB), then some more.
    let mut last_ok = 0.0;
    while started.elapsed() < Duration::from_secs(60) {
        peak = peak.max(vm_rss_kib(pid).unwrap_or(0));
        let body = scrape_until(&addr, "telegrams", |b| telegrams(b, "main", "ok").is_some());
        last_ok = telegrams(&body, "main", "ok").unwrap_or(0.0);
        if last_ok > copies as f64 * 1.2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "{copies} telegrams a pass; {last_ok} ok after {:?}; peak VmRSS {peak} KiB",
        started.elapsed()
    );
    assert!(
        last_ok > copies as f64,
        "a whole pass of {copies} telegrams and more: {last_ok} after {:?}",
        started.elapsed()
    );
    // The old code held the file (64 MiB) and every telegram of it.
    assert!(peak < 32 * 1024, "peak VmRSS {peak} KiB for a 64 MiB file");
}

#[test]
fn replay_of_dev_zero_is_refused_with_bounded_memory() {
    if !std::path::Path::new("/dev/zero").exists() || vm_rss_kib(std::process::id()).is_none() {
        eprintln!("no /dev/zero or /proc here: skipped");
        return;
    }
    let mut child = cmd()
        .args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--replay",
            "/dev/zero",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let started = Instant::now();
    let mut peak = 0;
    let status = loop {
        peak = peak.max(vm_rss_kib(pid).unwrap_or(0));
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("still reading /dev/zero after 30 s; VmRSS {peak} KiB");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .expect("stderr");
    eprintln!(
        "exit {status} after {:?}, peak VmRSS {peak} KiB: {err}",
        started.elapsed()
    );
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("/dev/zero") && err.contains("no complete telegram in its first 16 MiB"),
        "{err}"
    );
    assert!(peak < 32 * 1024, "peak VmRSS {peak} KiB");
}

#[test]
fn replay_of_noise_is_refused() {
    let dir = TempDir::new("bounded-noise");
    let path = dir.write("noise.txt", vec![b'x'; 100_000]);
    let out = run(cmd().arg("--replay").arg(&path));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("noise.txt holds no complete telegram"),
        "{err}"
    );
}

/// A peer that accepts, sends one byte and hangs up 200 times, then sends
/// a good telegram and stays: the log holds a handful of lines about it,
/// one of which sums up the rest.
#[test]
fn a_flapping_peer_is_logged_a_few_times_and_summed_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let peer = listener.local_addr().expect("addr").to_string();
    let flaps = 200;
    let server = std::thread::spawn(move || {
        for _ in 0..flaps {
            let (mut c, _) = listener.accept().expect("accept");
            let _ = c.write_all(b"/ISK5 cut off\r\n");
        }
        let (mut c, _) = listener.accept().expect("accept");
        c.write_all(&fixture("nl_dsmr50_iskra_am550t_two_mbus.txt"))
            .expect("write");
        // Stay connected until the test ends.
        std::thread::sleep(Duration::from_secs(120));
        drop(c);
    });
    let started = Instant::now();
    let (_child, _addr, log) =
        start(cmd().args(["--web.listen-address", "127.0.0.1:0", "--tcp", &peer]));
    let mut lines = Vec::new();
    let summary = loop {
        let line = log
            .recv_timeout(Duration::from_secs(90).saturating_sub(started.elapsed()))
            .unwrap_or_else(|_| panic!("no 'telegrams arrive again' line; log: {lines:#?}"));
        let done = line.contains("telegrams arrive again");
        lines.push(line.clone());
        if done {
            break line;
        }
    };
    let elapsed = started.elapsed();
    drop(server);
    let about_peer = lines.iter().filter(|l| l.contains(&peer)).count();
    eprintln!(
        "{flaps} flaps in {elapsed:?}: {} lines, {about_peer} about the peer:\n{}",
        lines.len(),
        lines.join("\n")
    );
    // Three disconnects and reconnects a minute, their notes, the summary,
    // at most three bad-telegram warnings a minute and their summary.
    assert!(lines.len() <= 20, "{} lines", lines.len());
    assert!(summary.contains("more like this in the last"), "{summary}");
    let n: u64 = summary
        .split("(… ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in {summary}"));
    assert!(n >= flaps - 10, "{n} left out of {flaps}: {summary}");
}
