//! Helpers shared by the source tests (serial, TCP, replay, HomeWizard,
//! Smarty): waiting on a meter's state and aborting spawned tasks.
#![allow(dead_code)] // each test binary uses its own subset

use dsmr_exporter::state::{Meter, MeterState};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

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
