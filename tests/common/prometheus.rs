//! A real Prometheus server and promtool, from Debian's `prometheus`
//! package (scripts/test.sh installs it): what tests/operator_http.rs,
//! tests/prometheus_e2e.rs, tests/cost.rs and tests/gzip_members.rs share.

use super::bin::Running;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A Prometheus server on a free loopback port, its configuration, log
/// and storage in a directory of the test's; killed when dropped.
pub struct Prometheus {
    proc: Running,
    /// `127.0.0.1:port` of its web UI and API.
    pub addr: String,
    /// Its stdout and stderr.
    pub log: PathBuf,
}

impl Prometheus {
    /// Starts `prometheus` with `config` (the text of a prometheus.yml)
    /// in `dir`, logging warnings and worse.
    pub fn start(dir: &Path, config: &str) -> Prometheus {
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let log = dir.join("prometheus.log");
        let out = std::fs::File::create(&log).expect("create prometheus.log");
        let addr = format!("127.0.0.1:{}", free_port("127.0.0.1"));
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("spawn prometheus (apt-get install prometheus, or run scripts/test.sh)");
        Prometheus {
            proc: Running(child),
            addr,
            log,
        }
    }

    /// Its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Fails with `log` if Prometheus has already exited.
    pub fn assert_alive(&mut self, log: impl FnOnce() -> String) {
        if let Ok(Some(status)) = self.proc.0.try_wait() {
            panic!("prometheus exited early ({status}):\n{}", log());
        }
    }
}

/// A port that was free on `host` a moment ago.
pub fn free_port(host: &str) -> u16 {
    std::net::TcpListener::bind(format!("{host}:0"))
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// What `promtool check metrics` says about the exposition `body`: empty
/// when it passes without a word.
pub fn promtool_check_metrics(body: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool (apt-get install prometheus, or run scripts/test.sh)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(body.as_bytes()).expect("feed promtool");
    drop(stdin);
    let out = child.wait_with_output().expect("promtool");
    let mut said = String::from_utf8_lossy(&out.stdout).into_owned();
    said.push_str(&String::from_utf8_lossy(&out.stderr));
    if !out.status.success() && said.trim().is_empty() {
        said = format!("promtool exited with {}", out.status);
    }
    said
}

/// Fails unless promtool passes `body` without a word.
pub fn assert_promtool_silent(body: &str) {
    let said = promtool_check_metrics(body);
    assert!(said.trim().is_empty(), "promtool: {said}\n{body}");
}
