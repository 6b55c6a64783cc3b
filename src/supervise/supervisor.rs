//! The running meters and the reload: one task per meter, swapped in and
//! out by [`Plan`] while the server keeps reading the [`Live`] set.

use super::plan::Plan;
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

/// Runs the meters and reloads them on request.
pub struct Supervisor {
    live: Live,
    running: Vec<Running>,
    /// `None` without `--config`: there is nothing to read again.
    reread: Option<Reread>,
    /// What the start served; settings a reload cannot change are compared with it.
    base: ServeConfig,
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
    /// Starts one task per prepared source, in configuration order. Call
    /// inside the runtime.
    pub fn start(base: ServeConfig, prepared: Vec<Prepared>, reread: Option<Reread>) -> Supervisor {
        let running: Vec<Running> = prepared.into_iter().map(spawn).collect();
        Supervisor {
            live: Live::new(meters_of(&running)),
            running,
            reread,
            base,
        }
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
                stop(r).await;
            }
        }
        let mut fresh = fresh.into_iter();
        for keep in &plan.next {
            let next = match keep {
                Some(i) => old[*i].take(),
                None => fresh.next().map(spawn),
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
            ("listen address", base.listen_address != new.listen_address),
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

/// Starts the task of one meter, with fresh state.
fn spawn((cfg, source, tracker): Prepared) -> Running {
    let meter = Meter::with_stale_after(cfg.name.clone(), cfg.zone, cfg.stale_after);
    meter.set_capacity(tracker);
    let task = tokio::spawn(source.run(meter.clone()));
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
