//! The demo source task: a fresh simulated meter, one telegram a second.

use super::meter::DemoMeter;
use super::DemoCountry;
use crate::source::pipeline::Pipeline;
use crate::source::random::clock_seed;
use crate::state::Meter;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Feeds a fresh demo meter of `country` into `meter`, a telegram a
/// second, forever.
pub async fn run(meter: Arc<Meter>, country: DemoCountry) {
    let mut demo = DemoMeter::of(country, clock_seed(), SystemTime::now());
    let mut pipeline = Pipeline::new(meter.clone());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    meter.set_source_up(true);
    tracing::info!(
        meter = meter.name(),
        "demo: {country} started (one telegram a second)"
    );
    loop {
        tick.tick().await;
        pipeline.feed(&demo.next_telegram(SystemTime::now()));
    }
}
