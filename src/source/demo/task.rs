//! The demo source task: a fresh simulated meter, one telegram a second.

use super::meter::DemoMeter;
use super::{prices, DemoCountry};
use crate::cost::Feed;
use crate::source::pipeline::Pipeline;
use crate::source::random::clock_seed;
use crate::state::{unix_seconds, Meter};
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
    let feed = demo_prices(&meter);
    tracing::info!(
        meter = meter.name(),
        "demo: {country} started (one telegram a second)"
    );
    loop {
        tick.tick().await;
        if let Some(f) = &feed {
            // Cheap: a merge of 192 intervals at most once a minute.
            let now = unix_seconds(SystemTime::now());
            if now % 60 == 0 || f.at(now + 86_400 - 900).is_none() {
                prices::refresh(f, meter.zone(), now);
            }
        }
        pipeline.feed(&demo.next_telegram(SystemTime::now()));
    }
}

/// Gives a meter without configured prices the demo's plan, and returns
/// the feed of its price curve to keep filled; `None` when the config
/// gave prices (they win).
fn demo_prices(meter: &Meter) -> Option<Arc<Feed>> {
    if meter.lock().cost.is_some() {
        return None;
    }
    let feed = Arc::new(Feed::new("demo day-ahead curve"));
    prices::refresh(&feed, meter.zone(), unix_seconds(SystemTime::now()));
    meter.set_plan(Arc::new(prices::plan(feed.clone())));
    Some(feed)
}
