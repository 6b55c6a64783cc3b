//! The running meters and the reload: one task per meter, swapped in and
//! out by [`Plan`] while the server keeps reading the [`Live`] set.

use super::costs::Keeper;
use super::plan::Plan;
use super::prices::Prices;
use super::runtime::MeterRuntime;
use crate::capacity::{self, Tracker};
use crate::cli::{MeterConfig, ServeConfig};
use crate::http::ReloadRequest;
use crate::source::Source;
use crate::state::{Live, Meter, Meters};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Reads the configuration again, through the same checks as a start
/// (`main` passes `cli::load`); `Err` is the reason, one line.
pub type Reread = Box<dyn Fn() -> Result<ServeConfig, String> + Send>;

/// A meter's configuration, its source made ready and its capacity
/// tracker (with the peaks of its state file): what starts a meter.
pub type Prepared = (MeterConfig, Source, Tracker);

/// One meter and the task that feeds it.
#[derive(Debug)]
struct Running {
    cfg: MeterConfig,
    meter: Arc<Meter>,
    task: JoinHandle<()>,
}

/// How long a start waits for the first fetch of dynamic prices, so that
/// the first telegrams are billed.
const FIRST_PRICES_WAIT: Duration = Duration::from_secs(5);

/// Runs the meters and reloads them on request.
pub struct Supervisor {
    live: Live,
    running: Vec<Running>,
    /// The thread the meters' tasks run on.
    runtime: MeterRuntime,
    /// The price feeds the meters' cost plans read.
    prices: Prices,
    /// `None` without `--config`: there is nothing to read again.
    reread: Option<Reread>,
    /// What the start served; settings a reload cannot change are compared
    /// with it. Its `meters` are empty: `running` holds each meter's.
    base: ServeConfig,
    /// Writes the meters' cost files, with a price state directory.
    costs: Option<Arc<Keeper>>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("running", &self.running)
            .field("reloads", &self.reread.is_some())
            .finish()
    }
}

impl Supervisor {
    /// Starts one task per prepared source on `runtime`, in configuration
    /// order, once the price feeds the meters name have answered (or
    /// [`FIRST_PRICES_WAIT`] passed). Call inside the server's runtime.
    pub async fn start(
        base: ServeConfig,
        prepared: Vec<Prepared>,
        reread: Option<Reread>,
        runtime: MeterRuntime,
    ) -> Supervisor {
        let base = ServeConfig {
            meters: Vec::new(),
            ..base
        };
        let mut prices = Prices::new(base.prices.clone());
        let mut fresh = Vec::new();
        let made: Vec<_> = prepared
            .into_iter()
            .map(|p| made(p, &mut prices, &mut fresh))
            .collect();
        // Prices before telegrams, so the first ones are billed.
        prices.fetch(fresh, FIRST_PRICES_WAIT).await;
        let mut running: Vec<Running> = made.into_iter().map(|m| spawn(&runtime, m)).collect();
        // The collect reused the larger allocation of `prepared`.
        running.shrink_to_fit();
        let live = Live::new(meters_of(&running));
        let costs = prices.keep_costs(live.clone());
        Supervisor {
            live,
            running,
            runtime,
            prices,
            reread,
            base,
            costs,
        }
    }

    /// What writes the meters' cost files (with a price state directory),
    /// for one last write at shutdown: [`CostKeeper::save`].
    pub fn costs(&self) -> Option<CostKeeper> {
        Some(CostKeeper(self.costs.clone()?, self.live.clone()))
    }

    /// The set of meters the server reads; it follows every reload.
    pub fn live(&self) -> Live {
        self.live.clone()
    }

    /// Answers reload requests (from SIGHUP and `POST /-/reload`) one at a
    /// time, until every sender is gone.
    pub async fn run(mut self, mut requests: mpsc::Receiver<ReloadRequest>) {
        while let Some(reply) = requests.recv().await {
            let outcome = self.reload().await;
            // The asker may have gone (a closed connection): nothing to tell.
            let _ = reply.send(outcome);
        }
    }

    /// Reads the configuration again and applies it; on failure the
    /// running configuration stays. `Ok` says what changed.
    pub async fn reload(&mut self) -> Result<String, String> {
        if self.reread.is_none() {
            let msg = "no --config file: nothing to reload".to_owned();
            tracing::info!("{msg}");
            return Ok(msg);
        }
        match self.try_reload().await {
            Ok(done) => {
                self.live.record_reload(true);
                tracing::info!("configuration reloaded: {done}");
                Ok(done)
            }
            Err(why) => {
                self.live.record_reload(false);
                tracing::error!("reload failed, the running configuration stays: {why}");
                Err(why)
            }
        }
    }

    async fn try_reload(&mut self) -> Result<String, String> {
        let reread = self.reread.as_ref().ok_or("no --config file")?;
        let wanted = reread()?;
        self.warn_restart_only(&wanted);
        let current: Vec<MeterConfig> = self.running.iter().map(|r| r.cfg.clone()).collect();
        let plan = Plan::new(&current, &wanted.meters);
        // Prepare every source that starts before anything stops.
        let mut fresh = Vec::with_capacity(plan.started());
        for (m, keep) in wanted.meters.iter().zip(&plan.next) {
            if keep.is_none() {
                let source = Source::prepare(m.source.clone())
                    .await
                    .map_err(|e| format!("meter {}: {e}", m.name))?;
                let tracker = capacity::load_tracker(&m.capacity)
                    .map_err(|e| format!("meter {}: {e}", m.name))?;
                fresh.push((m.clone(), source, tracker));
            }
        }
        let mut old: Vec<Option<Running>> = std::mem::take(&mut self.running)
            .into_iter()
            .map(Some)
            .collect();
        // Stop first, so a changed meter never has two tasks on one port.
        for &i in &plan.stop {
            if let Some(r) = old[i].take() {
                let meter = r.meter.clone();
                stop(r).await;
                self.prices.save_cost(&meter);
            }
        }
        let mut new_feeds = Vec::new();
        let made: Vec<_> = fresh
            .into_iter()
            .map(|p| made(p, &mut self.prices, &mut new_feeds))
            .collect();
        self.prices.fetch(new_feeds, Duration::ZERO).await;
        let mut made = made.into_iter();
        for keep in &plan.next {
            let next = match keep {
                Some(i) => old[*i].take(),
                None => made.next().map(|m| spawn(&self.runtime, m)),
            };
            self.running.extend(next);
        }
        self.live.replace(meters_of(&self.running));
        Ok(format!(
            "{} meters: {} kept, {} started, {} stopped{}",
            self.running.len(),
            plan.kept(),
            plan.started(),
            plan.stop.len(),
            if plan.changed.is_empty() {
                String::new()
            } else {
                format!(" (changed: {})", plan.changed.join(", "))
            }
        ))
    }

    /// Logs the settings of the new file that only a restart applies.
    fn warn_restart_only(&self, new: &ServeConfig) {
        let base = &self.base;
        for (what, changed) in [
            (
                "listen address",
                base.listen_addresses != new.listen_addresses,
            ),
            ("price fetching", base.prices != new.prices),
            ("telemetry path", base.telemetry_path != new.telemetry_path),
            (
                "expose_equipment_ids",
                base.expose_equipment_ids != new.expose_equipment_ids,
            ),
        ] {
            if changed {
                tracing::warn!(
                    "reload: the {what} changed in the file; it applies after a restart"
                );
            }
        }
    }
}

/// The cost files of the running meters, written once more at shutdown.
#[derive(Debug, Clone)]
pub struct CostKeeper(Arc<Keeper>, Live);

impl CostKeeper {
    /// Writes every running meter's changed totals now.
    pub fn save(&self) {
        self.0.save_all(&self.1);
    }
}

/// A meter with fresh state, its capacity tracker and its cost plan (the
/// feeds it names first are added to `fresh`), not running yet.
fn made(
    (cfg, source, tracker): Prepared,
    prices: &mut Prices,
    fresh: &mut Vec<(crate::cost::FeedSource, Arc<crate::cost::Feed>)>,
) -> (MeterConfig, Source, Arc<Meter>) {
    let meter = Meter::with_stale_after(cfg.name.clone(), cfg.zone, cfg.stale_after);
    meter.set_capacity(tracker);
    fresh.extend(prices.attach(&cfg, &meter));
    (cfg, source, meter)
}

/// Starts the task of one meter.
fn spawn(
    runtime: &MeterRuntime,
    (cfg, source, meter): (MeterConfig, Source, Arc<Meter>),
) -> Running {
    let task = runtime.spawn(source.run(meter.clone()));
    Running { cfg, meter, task }
}

/// Stops a meter's task and waits (briefly) until it is gone, so its port
/// or connection is closed.
async fn stop(r: Running) {
    r.task.abort();
    if tokio::time::timeout(Duration::from_secs(5), r.task)
        .await
        .is_err()
    {
        tracing::warn!("meter {}: its task did not stop within 5 s", r.cfg.name);
    }
    r.meter.set_source_up(false);
}

fn meters_of(running: &[Running]) -> Meters {
    Meters::new(running.iter().map(|r| r.meter.clone()).collect())
}
