//! The `process_*` series of the running binary against what `/proc` says
//! about the same process, and `--web.disable-exporter-metrics`.
#![cfg(target_os = "linux")]

mod common;
use common::bin::{cmd, scrape, start, Running};
use common::fixture_path;
use std::process::{Command, Stdio};

fn exporter(extra: &[&str]) -> (Running, String) {
    let telegram = fixture_path("nl_dsmr50_iskra_am550t_two_mbus.txt");
    let (child, addr, _log) = start(
        cmd()
            .arg("--replay")
            .arg(&telegram)
            .args(["--replay-interval", "10ms", "--replay-loop"])
            .args(["--web.listen-address", "127.0.0.1:0"])
            .args(extra),
    );
    (child, addr)
}

fn value(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{body}"))
}

/// Fields of `/proc/PID/stat` after the command name, numbered as in proc(5)
/// (field 3 is the state).
fn stat(pid: u32) -> Vec<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = &text[text.rfind(')').expect("comm") + 2..];
    let mut fields = vec![0, 0, 0];
    fields.extend(rest.split(' ').map(|f| f.trim().parse().unwrap_or(0)));
    fields
}

fn getconf(name: &str) -> f64 {
    let out = Command::new("getconf").arg(name).output().expect("getconf");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a number")
}

fn boot_time() -> f64 {
    let text = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    text.lines()
        .find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())
        .expect("btime")
}

fn soft_open_files_limit(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = text
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files");
    line.split_whitespace()
        .nth(3)
        .expect("soft")
        .parse()
        .expect("a number")
}

#[test]
fn process_series_match_proc() {
    let (child, addr) = exporter(&[]);
    let pid = child.0.id();
    let ticks = getconf("CLK_TCK");
    let page = getconf("PAGESIZE");
    // Let it work a little, so CPU time is not all zero.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = stat(pid);
    let body = scrape(&addr, "/metrics").expect("scrape");
    let after = stat(pid);

    let cpu = value(&body, "process_cpu_seconds_total");
    let cpu_before = (before[14] + before[15]) as f64 / ticks;
    let cpu_after = (after[14] + after[15]) as f64 / ticks;
    assert!(
        cpu_before <= cpu && cpu <= cpu_after,
        "{cpu_before} <= {cpu} <= {cpu_after}"
    );

    let start = boot_time() + before[22] as f64 / ticks;
    let started = value(&body, "process_start_time_seconds");
    assert!((started - start).abs() < 0.011, "{started} vs {start}");

    let vsize = value(&body, "process_virtual_memory_bytes");
    let (lo, hi) = (
        before[23].min(after[23]) as f64,
        before[23].max(after[23]) as f64,
    );
    assert!(
        vsize >= lo * 0.9 && vsize <= hi * 1.1,
        "{lo} <= {vsize} <= {hi}"
    );

    let rss = value(&body, "process_resident_memory_bytes");
    let (lo, hi) = (
        before[24].min(after[24]) as f64 * page,
        before[24].max(after[24]) as f64 * page,
    );
    assert!(rss >= lo * 0.8 && rss <= hi * 1.2, "{lo} <= {rss} <= {hi}");

    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd")
        .count() as f64;
    let open = value(&body, "process_open_fds");
    // The scrape's own connection and the directory being read come and go.
    assert!((open - fds).abs() <= 3.0, "{open} vs {fds}");
    assert_eq!(value(&body, "process_max_fds"), soft_open_files_limit(pid));

    assert!(
        body.contains("# TYPE process_cpu_seconds_total counter"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE process_resident_memory_bytes gauge"),
        "{body}"
    );
    promtool_accepts(&body);
}

#[test]
fn disable_exporter_metrics_leaves_only_the_process_series_out() {
    let (_child, addr) = exporter(&["--web.disable-exporter-metrics"]);
    let body = scrape(&addr, "/metrics").expect("scrape");
    assert!(!body.contains("process_"), "{body}");
    for kept in [
        "dsmr_exporter_build_info{",
        "dsmr_config_last_reload_successful ",
        "dsmr_scrape_duration_seconds{meter=\"main\"}",
        "dsmr_telegrams_total{",
    ] {
        assert!(body.contains(kept), "no {kept} in:\n{body}");
    }
}

/// `promtool check metrics` has no complaint (skipped where promtool is missing).
fn promtool_accepts(body: &str) {
    use std::io::Write;
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool not found: not checked");
        return;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
