//! The meters served now and how the last configuration reload went.
//!
//! A reload (`SIGHUP` or `POST /-/reload`) builds a new [`Meters`] list
//! (unchanged meters are the same `Arc`s, so they keep their state and
//! counters) and swaps it in whole. Readers take a snapshot per request:
//! a scrape that started before the swap finishes on the old list, the
//! next one sees the new list, and a removed meter's series are gone.

use super::Meters;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

/// How the last reload went, as Prometheus reports its own
/// (`prometheus_config_last_reload_successful`, `…_success_timestamp_seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadStatus {
    /// False after a reload that failed; the previous configuration runs on.
    pub successful: bool,
    /// When the running configuration was loaded: the start, or the last
    /// reload that succeeded.
    pub last_success: SystemTime,
}

/// The meters served now, shared by the server, the scrape and the
/// reload supervisor. Cloning shares the same set.
#[derive(Debug, Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    meters: RwLock<Meters>,
    reload: Mutex<ReloadStatus>,
}

impl Live {
    /// `meters`, loaded successfully now.
    pub fn new(meters: Meters) -> Live {
        Live {
            inner: Arc::new(Inner {
                meters: RwLock::new(meters),
                reload: Mutex::new(ReloadStatus {
                    successful: true,
                    last_success: SystemTime::now(),
                }),
            }),
        }
    }

    /// The meters as they are now; a later reload does not change this list.
    pub fn meters(&self) -> Meters {
        // The lock guards a pointer swap; a poisoned one still holds a whole list.
        self.inner
            .meters
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serves `meters` from now on and records a successful reload.
    pub fn replace(&self, meters: Meters) {
        *self.inner.meters.write().unwrap_or_else(|e| e.into_inner()) = meters;
        self.record_reload(true);
    }

    /// Records how a reload went; a success also stamps the time.
    pub fn record_reload(&self, successful: bool) {
        let mut st = self.inner.reload.lock().unwrap_or_else(|e| e.into_inner());
        st.successful = successful;
        if successful {
            st.last_success = SystemTime::now();
        }
    }

    /// How the last reload went.
    pub fn reload_status(&self) -> ReloadStatus {
        *self.inner.reload.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl From<Meters> for Live {
    fn from(meters: Meters) -> Live {
        Live::new(meters)
    }
}

impl Default for Live {
    fn default() -> Live {
        Live::new(Meters::default())
    }
}
