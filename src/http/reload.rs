//! The web configuration file, kept current while the server runs: a
//! renewed certificate or a changed password takes effect without a
//! restart, as exporter-toolkit re-reads its file per connection.
//!
//! Rather than read and check the file (and run bcrypt) on every
//! connection, a task polls the file and the certificate, key and CA files
//! it names, comparing their SHA-256 every [`super::Limits::web_config_poll`].
//! When one changed, the whole file is loaded again; new connections and
//! requests get the new configuration, those under way keep theirs. A file
//! that no longer loads keeps the old configuration, and why is logged once
//! per change, not per poll or connection. Turning TLS on or off needs a
//! restart (the listener's scheme is announced at start), so such a change
//! is refused the same way.

use super::webconfig::WebConfig;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::watch;

/// The web configuration in force, swapped whole when the file changes.
#[derive(Debug)]
pub(crate) struct LiveWebConfig {
    current: RwLock<Arc<WebConfig>>,
}

/// What the watched files held when last looked at: SHA-256 of each, or
/// `None` when it could not be read.
type Fingerprint = Vec<Option<[u8; 32]>>;

impl LiveWebConfig {
    pub(crate) fn new(web: WebConfig) -> Arc<LiveWebConfig> {
        Arc::new(LiveWebConfig {
            current: RwLock::new(Arc::new(web)),
        })
    }

    /// The configuration in force now.
    pub(crate) fn get(&self) -> Arc<WebConfig> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set(&self, web: WebConfig) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(web);
    }

    /// Polls the files every `every` until `stop` turns true; returns at
    /// once when the configuration was not read from a file.
    pub(crate) async fn watch(self: Arc<Self>, every: Duration, mut stop: watch::Receiver<bool>) {
        let files = self.get().watched_files();
        if files.is_empty() {
            return;
        }
        let Ok(mut seen) = tokio::task::spawn_blocking(move || fingerprint(&files)).await else {
            return;
        };
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let live = self.clone();
            let polled = tokio::task::spawn_blocking(move || live.poll(seen)).await;
            match polled {
                Ok(now) => seen = now,
                Err(e) => {
                    tracing::error!("web config watcher failed: {e}");
                    return;
                }
            }
        }
    }

    /// Loads the file again when a watched file changed since `seen`;
    /// returns what the files hold now.
    fn poll(&self, seen: Fingerprint) -> Fingerprint {
        let old = self.get();
        let files = old.watched_files();
        let now = fingerprint(&files);
        if now == seen {
            return now;
        }
        let path = old.path().display();
        match WebConfig::load(old.path()) {
            Ok(new) if new.tls().is_some() != old.tls().is_some() => tracing::warn!(
                "web config {path} changed: turning TLS on or off needs a restart; keeping the previous configuration"
            ),
            Ok(new) => {
                self.set(new);
                tracing::info!("web config {path} changed: reloaded");
            }
            Err(e) => tracing::warn!("web config changed but cannot be used, keeping the previous configuration: {e}"),
        }
        // A file the new version names that the old did not is watched
        // from the next poll on, with what it holds now.
        let files_now = self.get().watched_files();
        if files_now == files {
            now
        } else {
            fingerprint(&files_now)
        }
    }
}

/// SHA-256 of each file, `None` for one that cannot be read.
fn fingerprint(files: &[PathBuf]) -> Fingerprint {
    files
        .iter()
        .map(|f| {
            std::fs::read(f).ok().map(|bytes| {
                let mut out = [0u8; 32];
                out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref());
                out
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reloads_and_a_broken_file_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("web.yml");
        let write = |text: &str| std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        write("http_server_config:\n  headers:\n    X-Frame-Options: deny\n");
        let live = LiveWebConfig::new(WebConfig::load(&path).unwrap_or_else(|e| panic!("{e}")));
        let seen = fingerprint(&live.get().watched_files());
        let seen = live.poll(seen);
        assert!(live.get().headers().names().count() == 1);

        write("http_server_config:\n  headers: {}\n");
        let seen = live.poll(seen);
        assert!(live.get().headers().is_empty(), "reloaded");

        write("http_server_config:\n  headers:\n    Server: x\n");
        let seen = live.poll(seen);
        assert!(
            live.get().headers().is_empty(),
            "the broken file is not used"
        );
        // Nothing changed since: no new attempt.
        let again = live.poll(seen.clone());
        assert_eq!(again, seen);
    }
}
