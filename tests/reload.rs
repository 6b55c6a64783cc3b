//! Reloading `--config` on a running binary: a real SIGHUP (`kill -HUP`)
//! and `POST /-/reload`, with scrapes before and after. Unchanged meters
//! keep their counters, removed ones leave the exposition, changed ones
//! start again, added ones start; a bad file keeps the running meters.

mod common;
use common::bin::{cmd, scrape, scrape_until, start, telegrams, Running};
use common::{fixture_path, TempDir};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// One `[[meter]]` replaying a fixture in a loop every `interval`.
fn replay_meter(name: &str, interval: &str) -> String {
    let file = fixture_path("nl_dsmr50_iskra_am550t_two_mbus.txt");
    format!(
        "[[meter]]\nname = \"{name}\"\nreplay = {{ file = \"{}\", interval = \"{interval}\", loop = true }}\n\n",
        file.display()
    )
}

fn config(meters: &[(&str, &str)]) -> String {
    let mut text = "[web]\nlisten_address = \"127.0.0.1:0\"\n\n".to_owned();
    for (name, interval) in meters {
        text.push_str(&replay_meter(name, interval));
    }
    text
}

fn hup(child: &Running) {
    let status = Command::new("kill")
        .args(["-HUP", &child.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -HUP failed");
}

/// The value of the one series whose line starts with `series ` (no labels).
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Waits for a log line containing `what` (5 s at most); returns it.
fn log_line(log: &Receiver<String>, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match log.recv_timeout(left) {
            Ok(line) if line.contains(what) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no log line with {what:?}; seen: {seen:#?}"),
        }
    }
}

/// What `/events` sends on connect (one `meter` event per meter), read
/// for half a second.
fn first_events(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(s, "GET /events HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("send");
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline {
        if let Ok(n) = s.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// `METHOD /-/reload`: the status code and the body.
fn lifecycle(addr: &str, method: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} /-/reload HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    s.read_to_string(&mut response).expect("read");
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (code, body.to_owned())
}

#[test]
fn sighup_starts_added_stops_removed_restarts_changed_and_keeps_unchanged_meters() {
    let dir = TempDir::new("reload-hup");
    let file = dir.write(
        "m.toml",
        config(&[("keep", "20ms"), ("gone", "20ms"), ("changed", "20ms")]),
    );
    let (child, addr, log) = start(cmd().arg("--config").arg(&file));
    let before = scrape_until(&addr, "30 telegrams on each meter", |b| {
        ["keep", "gone", "changed"]
            .iter()
            .all(|m| telegrams(b, m, "ok").is_some_and(|n| n >= 30.0))
    });
    let loaded_at = value(&before, "dsmr_config_last_reload_success_timestamp_seconds")
        .expect("reload timestamp");
    assert_eq!(
        value(&before, "dsmr_config_last_reload_successful"),
        Some(1.0)
    );
    let keep_before = telegrams(&before, "keep", "ok").expect("keep");

    std::fs::write(
        &file,
        config(&[("changed", "500ms"), ("keep", "20ms"), ("added", "20ms")]),
    )
    .expect("rewrite");
    hup(&child);
    let line = log_line(&log, "configuration reloaded");
    assert!(
        line.contains("1 kept, 2 started, 2 stopped") && line.contains("changed: changed"),
        "{line}"
    );
    let after = scrape_until(&addr, "the added meter", |b| {
        telegrams(b, "added", "ok").is_some_and(|n| n > 0.0)
    });
    assert_eq!(telegrams(&after, "gone", "ok"), None, "{after}");
    assert!(!after.contains("meter=\"gone\""), "{after}");
    assert!(
        telegrams(&after, "keep", "ok").is_some_and(|n| n >= keep_before),
        "keep lost its counters:\n{after}"
    );
    // Restarted with fresh state, at one telegram per 500 ms.
    assert!(
        telegrams(&after, "changed", "ok").is_some_and(|n| n < 5.0),
        "{after}"
    );
    assert_eq!(
        value(&after, "dsmr_config_last_reload_successful"),
        Some(1.0)
    );
    let reloaded_at = value(&after, "dsmr_config_last_reload_success_timestamp_seconds")
        .expect("reload timestamp");
    assert!(reloaded_at > loaded_at, "{loaded_at} -> {reloaded_at}");
    // A new event stream follows the reload too.
    let events = first_events(&addr);
    assert!(events.contains("\"added\""), "{events}");
    assert!(!events.contains("\"gone\""), "{events}");
}

#[test]
fn a_bad_file_keeps_the_running_meters_and_says_why() {
    let dir = TempDir::new("reload-bad");
    let file = dir.write("m.toml", config(&[("main", "20ms")]));
    let (child, addr, log) = start(cmd().arg("--config").arg(&file));
    scrape_until(&addr, "telegrams", |b| {
        telegrams(b, "main", "ok").is_some_and(|n| n > 0.0)
    });
    std::fs::write(&file, "[[meter]]\nname = \"main\"\nreplay = {").expect("rewrite");
    hup(&child);
    let line = log_line(&log, "reload failed");
    assert!(line.contains("m.toml:3:"), "{line}");
    let body = scrape_until(&addr, "the failed reload", |b| {
        value(b, "dsmr_config_last_reload_successful") == Some(0.0)
    });
    let n = telegrams(&body, "main", "ok").expect("main still served");
    scrape_until(&addr, "main still counting", |b| {
        telegrams(b, "main", "ok").is_some_and(|m| m > n)
    });
    // A good file again: served, and the status recovers.
    std::fs::write(&file, config(&[("main", "20ms")])).expect("rewrite");
    hup(&child);
    log_line(
        &log,
        "configuration reloaded: 1 meters: 1 kept, 0 started, 0 stopped",
    );
    scrape_until(&addr, "the good reload", |b| {
        value(b, "dsmr_config_last_reload_successful") == Some(1.0)
    });
}

#[test]
fn sighup_without_a_config_file_does_not_kill_the_exporter() {
    let telegram = fixture_path("nl_dsmr50_iskra_am550t_two_mbus.txt");
    let (mut child, addr, log) = start(
        cmd()
            .arg("--replay")
            .arg(&telegram)
            .args(["--replay-interval", "50ms", "--replay-loop"])
            .args(["--web.listen-address", "127.0.0.1:0"]),
    );
    scrape_until(&addr, "telegrams", |b| {
        telegrams(b, "main", "ok").is_some_and(|n| n > 0.0)
    });
    hup(&child);
    log_line(&log, "nothing to reload");
    assert!(child.0.try_wait().expect("wait").is_none(), "exited");
    assert!(scrape(&addr, "/metrics").is_some_and(|b| b.contains("dsmr_telegrams_total")));
}

#[test]
fn the_reload_endpoint_is_off_unless_asked_for_and_answers_like_prometheus() {
    let dir = TempDir::new("reload-http");
    let file = dir.write("m.toml", config(&[("main", "20ms")]));
    let (_child, addr, _log) = start(cmd().arg("--config").arg(&file));
    assert_eq!(lifecycle(&addr, "POST").0, 403);
    assert_eq!(lifecycle(&addr, "GET").0, 405);

    let (_child, addr, _log) = start(
        cmd()
            .arg("--config")
            .arg(&file)
            .arg("--web.enable-lifecycle"),
    );
    assert_eq!(lifecycle(&addr, "GET").0, 405);
    std::fs::write(&file, config(&[("main", "20ms"), ("second", "20ms")])).expect("rewrite");
    let (code, body) = lifecycle(&addr, "POST");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("1 kept, 1 started, 0 stopped"), "{body}");
    scrape_until(&addr, "the second meter", |b| {
        telegrams(b, "second", "ok").is_some_and(|n| n > 0.0)
    });
    std::fs::write(&file, "not toml [").expect("rewrite");
    let (code, body) = lifecycle(&addr, "POST");
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("m.toml:1:"), "{body}");
    let body = scrape(&addr, "/metrics").expect("scrape");
    assert_eq!(
        value(&body, "dsmr_config_last_reload_successful"),
        Some(0.0)
    );
    assert!(telegrams(&body, "second", "ok").is_some(), "{body}");
}
