//! Helpers shared by the integration tests: fixtures, scratch directories,
//! waiting on a meter's state and aborting spawned tasks. `bin` runs the
//! built binary; `http` runs the server in-process and talks to it;
//! `client` is a blocking HTTP client, plain or TLS; `tls` makes
//! certificates and rustls configurations; `prometheus` runs a real
//! Prometheus and promtool; `smarty` seals Smarty frames.
#![allow(dead_code)] // each test binary uses its own subset

pub mod bin;
pub mod client;
pub mod clock;
#[path = "../../crates/dsmr-engine/tests/common/fixtures.rs"]
mod fixtures;
pub mod http;
pub mod priced;
pub mod prometheus;
#[path = "../../crates/dsmr-engine/tests/common/smarty.rs"]
pub mod smarty;
pub mod tls;

#[allow(unused_imports)] // as dead_code above
pub use fixtures::{fixture, hex_fixture};

use dsmr_exporter::source::Pipeline;
use dsmr_exporter::source::Retry;
use dsmr_exporter::state::{Meter, MeterState};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// Reconnects quickly, so that tests of dropped connections stay short.
pub const FAST_RETRY: Retry = Retry {
    initial: Duration::from_millis(20),
    max: Duration::from_millis(200),
};

/// The corpus, in this crate's fixtures/ (`fixture` reads from here).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn fixture_path(name: &str) -> PathBuf {
    fixtures_dir().join(name)
}

/// Feeds a fixture telegram to `meter` through the real pipeline.
pub fn feed(meter: &Arc<Meter>, file: &str) {
    let mut p = Pipeline::new(meter.clone());
    p.feed(&fixture(file));
    p.finish();
}

/// A scratch directory removed when the test ends, pass or fail: `.0` is
/// its path (tests join file names onto it), `.1` removes it when dropped.
pub struct TempDir(pub PathBuf, tempfile::TempDir);

impl TempDir {
    /// A fresh directory whose name starts with `dsmr-exporter-{tag}-`.
    pub fn new(tag: &str) -> TempDir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("dsmr-exporter-{tag}-"))
            .tempdir()
            .expect("create temp dir");
        TempDir(dir.path().to_owned(), dir)
    }

    /// Writes `contents` to `name` in the directory; returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write temp file");
        path
    }
}

/// A spawned task that is aborted when the test ends, even on failure.
pub struct Task(pub JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The counters a failure message shows.
pub fn summary(st: &MeterState) -> String {
    format!(
        "ok={} crc_mismatch={} malformed={} source_up={} reconnects={}",
        st.ok, st.crc_mismatch, st.malformed, st.source_up, st.reconnects
    )
}

/// Waits up to 5 s for `cond` to hold on the meter's state.
pub async fn wait_for(meter: &Meter, what: &str, cond: impl Fn(&MeterState) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (done, now) = {
            let st = meter.lock();
            (cond(&st), summary(&st))
        };
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {now}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
