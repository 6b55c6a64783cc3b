//! The price feeds the running meters read: one per source (an ENTSO-E
//! zone, a file, a URL), shared by every meter and side that names it, and
//! fetched from the first meter that needs it on. A reload that names a new
//! source starts its fetcher; a feed no meter reads any more keeps its
//! fetcher until the next restart (a few requests a day).
//!
//! With a state directory, each meter's cost totals are kept there too
//! ([`super::costs`]): a meter gets its plan with the totals of its file.

use super::costs::Keeper;
use crate::cli::MeterConfig;
use crate::cost::{Feed, FeedSource};
use crate::price::FetchConfig;
use crate::state::{Live, Meter};
use std::sync::Arc;
use std::time::Duration;

/// Feeds with the source they come from.
type Feeds = Vec<(FeedSource, Arc<Feed>)>;

/// Every feed started so far, and the fetcher's settings of the start.
#[derive(Debug)]
pub struct Prices {
    feeds: Feeds,
    cfg: FetchConfig,
    /// The cost files, with a state directory.
    costs: Option<Arc<Keeper>>,
}

impl Prices {
    /// No feed yet; `cfg` is what every fetcher uses.
    pub fn new(cfg: FetchConfig) -> Prices {
        let costs = cfg.state_dir.clone().map(|d| Arc::new(Keeper::new(d)));
        Prices {
            feeds: Vec::new(),
            cfg,
            costs,
        }
    }

    /// Gives `meter` the plan of `cfg` (when it has prices), over the shared
    /// feeds; returns the feeds it named that did not exist yet, for
    /// [`Prices::fetch`].
    pub fn attach(&mut self, cfg: &MeterConfig, meter: &Meter) -> Feeds {
        let Some(plan) = &cfg.prices else {
            return Vec::new();
        };
        let (feeds, mut fresh) = (&mut self.feeds, Vec::new());
        let plan = plan.attach(|src| {
            if let Some((_, f)) = feeds.iter().find(|(s, _)| s == src) {
                return f.clone();
            }
            let feed = Arc::new(Feed::new(src.to_string()));
            feeds.push((src.clone(), feed.clone()));
            fresh.push((src.clone(), feed.clone()));
            feed
        });
        match &self.costs {
            Some(k) => k.attach(meter, Arc::new(plan)),
            None => meter.set_plan(Arc::new(plan)),
        }
        fresh
    }

    /// Starts writing the meters' cost files (with a state directory);
    /// returns the keeper, for the last write at shutdown.
    pub fn keep_costs(&self, live: Live) -> Option<Arc<Keeper>> {
        let k = self.costs.clone()?;
        k.clone().run(live);
        Some(k)
    }

    /// Writes `meter`'s cost file now (a reload stopped it).
    pub fn save_cost(&self, meter: &Meter) {
        if let Some(k) = &self.costs {
            k.save(meter);
        }
    }

    /// Starts the fetchers of `fresh` (their stored prices first) and waits
    /// up to `first_wait` for their first answers.
    pub async fn fetch(&self, fresh: Feeds, first_wait: Duration) {
        if !fresh.is_empty() {
            crate::price::start(fresh, self.cfg.clone(), first_wait).await;
        }
    }
}
