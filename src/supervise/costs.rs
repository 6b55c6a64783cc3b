//! Each meter's cost kept across restarts, so `dsmr_cost_total` goes on
//! as the meter's registers do: one small file per meter in the price
//! state directory (`cost-METER.txt`, the text of [`crate::cost::saved`]),
//! written atomically (a temporary file beside it, synced, renamed) every
//! [`EVERY`] when it changed, when a reload stops the meter and at
//! shutdown; read when the meter gets its prices. A file that does not read
//! is logged and left alone, and the meter counts from zero.

use crate::cost::saved::{self, Saved, MAX_BYTES};
use crate::cost::{Account, Nanos, Plan};
use crate::small_file::read_to_string_limited;
use crate::state::{Live, Meter};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often changed totals are written: a crash loses at most this much
/// billing (and with fixed prices not even that: the next start bills the
/// registers' increase since the file).
pub const EVERY: Duration = Duration::from_secs(60);

/// The cost files of one state directory.
#[derive(Debug)]
pub struct Keeper {
    dir: PathBuf,
    /// What each meter's file holds now, so an unchanged one is not written.
    written: Mutex<HashMap<String, Saved>>,
}

impl Keeper {
    /// Files in `dir` (which must exist, as for the price store).
    pub fn new(dir: PathBuf) -> Keeper {
        Keeper {
            dir,
            written: Mutex::default(),
        }
    }

    /// The file of the meter called `name` (names are letters, digits and
    /// `_ - . :`, so one file name each).
    pub fn path_for(&self, name: &str) -> PathBuf {
        self.dir.join(format!("cost-{name}.txt"))
    }

    /// Gives `meter` its `plan` with the totals of its file, when it has a
    /// readable one in the same currency; else a fresh account (logged).
    pub fn attach(&self, meter: &Meter, plan: Arc<Plan>) {
        let path = self.path_for(meter.name());
        let account = match load(&path) {
            Ok(None) => None,
            Ok(Some(saved)) => match Account::restore(plan.clone(), &saved) {
                Ok(a) => {
                    tracing::info!(meter = meter.name(), file = %path.display(), "cost totals restored");
                    self.lock().insert(meter.name().to_owned(), saved);
                    Some(a)
                }
                Err(why) => {
                    tracing::warn!(meter = meter.name(), file = %path.display(), "{why}");
                    None
                }
            },
            Err(why) => {
                tracing::warn!(meter = meter.name(), file = %path.display(), "cost file ignored, counting from zero: {why}");
                None
            }
        };
        match account {
            Some(a) => meter.lock().cost = Some(Box::new(a)),
            None => meter.set_plan(plan),
        }
    }

    /// Writes `meter`'s totals when they changed since the last write, and
    /// logs what its first telegram after a restart could not bill.
    pub fn save(&self, meter: &Meter) {
        let (saved, gap) = {
            let mut st = meter.lock();
            let Some(account) = st.cost.as_mut() else {
                return;
            };
            (account.saved(), account.take_gap())
        };
        if let Some(g) = gap {
            log_gap(meter.name(), &g);
        }
        let Some(saved) = saved else { return };
        if self.lock().get(meter.name()) == Some(&saved) {
            return;
        }
        let path = self.path_for(meter.name());
        match save(&path, &saved) {
            Ok(()) => {
                self.lock().insert(meter.name().to_owned(), saved);
            }
            Err(e) => {
                tracing::warn!(meter = meter.name(), file = %path.display(), "cannot write the cost file: {e}")
            }
        }
    }

    /// [`Keeper::save`] for every running meter.
    pub fn save_all(&self, live: &Live) {
        for m in live.meters().iter() {
            self.save(m);
        }
    }

    /// Saves every [`EVERY`] from now on, off the async threads.
    pub fn run(self: Arc<Self>, live: Live) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                let (k, l) = (self.clone(), live.clone());
                if let Err(e) = tokio::task::spawn_blocking(move || k.save_all(&l)).await {
                    tracing::error!("saving the cost files failed: {e}");
                }
            }
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Saved>> {
        self.written.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One line per side that used something while the exporter was down.
fn log_gap(meter: &str, g: &crate::cost::Gap) {
    let amount = |q: i128| Nanos(i64::try_from(q).unwrap_or(i64::MAX));
    for (commodity, direction, billed, unbilled) in g.sides() {
        let (c, d, unit) = (commodity.as_str(), direction.as_str(), commodity.unit());
        if billed != 0 {
            tracing::info!(
                meter,
                "{} {unit} of {c} {d} while the exporter was down (meter time {} to {}) billed at the one price that held",
                amount(billed),
                g.from,
                g.to
            );
        }
        if unbilled != 0 {
            tracing::warn!(
                meter,
                "{} {unit} of {c} {d} while the exporter was down (meter time {} to {}) not billed: no one known price held over that time, or more than the meter can count in it",
                amount(unbilled),
                g.from,
                g.to
            );
        }
    }
}

/// The saved totals in `path`: `None` when there is no file yet, an error
/// (one line) when it cannot be read or is not a cost file.
pub fn load(path: &Path) -> Result<Option<Saved>, String> {
    let text = match read_to_string_limited(path, MAX_BYTES) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    saved::parse(&text)
        .map(Some)
        .map_err(|(line, why)| format!("line {line}: {why}"))
}

/// Writes `s` to `path` atomically: a crash leaves the old file or the new.
pub fn save(path: &Path, s: &Saved) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(saved::format(s).as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Spec;
    use dsmr_engine::Zone;

    fn plan(currency: &str) -> Arc<Plan> {
        Arc::new(Plan {
            currency: currency.into(),
            import: Some(Spec::Fixed([Some(Nanos(1)), None, None, None, None])),
            ..Plan::default()
        })
    }

    #[test]
    fn a_corrupt_or_foreign_file_starts_from_zero_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let k = Keeper::new(dir.path().to_owned());
        let m = Meter::new("house", Zone::CET);
        let path = k.path_for("house");
        assert_eq!(path, dir.path().join("cost-house.txt"));
        std::fs::write(&path, "# dsmr-exporter cost v1\ncurrency EUR\nat x\n").unwrap();
        assert_eq!(load(&path), Err("line 3: expected Unix seconds".into()));
        k.attach(&m, plan("EUR"));
        assert!(m.lock().cost.as_ref().is_some_and(|a| a.saved().is_none()));
        k.save(&m);
        assert!(std::fs::read_to_string(&path).unwrap().contains("at x"));
        // Too long to be one: refused by the bounded read.
        std::fs::write(&path, "x".repeat(5000)).unwrap();
        assert!(load(&path).unwrap_err().contains("longer than 4096 bytes"));
        // A file of another currency: refused, fresh.
        let s = Saved {
            currency: "USD".into(),
            at: 5,
            earned: 7,
            ..Saved::default()
        };
        save(&path, &s).unwrap();
        assert_eq!(load(&path), Ok(Some(s)));
        k.attach(&m, plan("EUR"));
        assert!(m.lock().cost.as_ref().is_some_and(|a| a.saved().is_none()));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(load(&path), Ok(None));
    }
}
