//! Telegrams from a file of concatenated raw telegrams, replayed at a
//! steady pace: for demos, dashboards and tests without a meter.
//!
//! The file is split into telegrams up front with the same [`Framer`] the
//! pipeline uses; each telegram is then fed through the meter's pipeline
//! like bytes from a port, so CRC errors in the file are counted as such.

use super::SourceError;
use crate::dsmr::{FrameEvent, Framer};
use crate::state::{Meter, Pipeline};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Which file, how fast, how often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayConfig {
    pub path: PathBuf,
    /// Pause between telegrams; zero replays as fast as possible.
    pub interval: Duration,
    /// Start again after the last telegram, forever.
    pub looped: bool,
}

impl fmt::Display for ReplayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay {} every {}{}",
            self.path.display(),
            crate::duration::format(self.interval),
            if self.looped { ", looped" } else { ", once" }
        )
    }
}

/// The telegrams of a replay file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    telegrams: Vec<Vec<u8>>,
    /// Fragments the framer dropped (cut-off or oversized telegrams).
    skipped: usize,
}

impl Replay {
    /// Splits `bytes` into telegrams; anything that is not a whole telegram
    /// is skipped and counted.
    pub fn from_bytes(bytes: &[u8]) -> Replay {
        let mut framer = Framer::new();
        let mut r = Replay {
            telegrams: Vec::new(),
            skipped: 0,
        };
        let mut on = |ev: FrameEvent<'_>| match ev {
            FrameEvent::Telegram(t) => r.telegrams.push(t.to_vec()),
            FrameEvent::Discarded(_) => r.skipped += 1,
        };
        framer.feed(bytes, &mut on);
        framer.finish(&mut on);
        r
    }

    /// Reads and splits a replay file; a file without a single telegram is
    /// an error, since replaying it would show nothing.
    pub async fn load(path: &Path) -> Result<Replay, SourceError> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| SourceError::ReplayRead {
                path: path.to_owned(),
                source,
            })?;
        let r = Replay::from_bytes(&bytes);
        if r.is_empty() {
            return Err(SourceError::ReplayEmpty {
                path: path.to_owned(),
            });
        }
        Ok(r)
    }

    /// How many telegrams one pass feeds.
    pub fn len(&self) -> usize {
        self.telegrams.len()
    }

    /// True when the file held no telegram.
    pub fn is_empty(&self) -> bool {
        self.telegrams.is_empty()
    }

    /// Fragments skipped while splitting.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Feeds one telegram every `cfg.interval` (the first at once), once or
    /// forever. The source is up while replaying and down when done.
    pub async fn run(self, cfg: &ReplayConfig, meter: Arc<Meter>) {
        let mut pipeline = Pipeline::new(meter.clone());
        let mut ticker = (!cfg.interval.is_zero()).then(|| {
            let mut t = tokio::time::interval(cfg.interval);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        meter.set_source_up(true);
        tracing::info!(
            meter = meter.name(),
            telegrams = self.len(),
            skipped = self.skipped,
            "{cfg}: started"
        );
        let mut passes: u64 = 0;
        loop {
            for t in &self.telegrams {
                match ticker.as_mut() {
                    Some(tick) => {
                        tick.tick().await;
                    }
                    // Let the server and other tasks run between telegrams.
                    None => tokio::task::yield_now().await,
                }
                pipeline.feed(t);
                // The line end after the CRC completes the frame at once.
                pipeline.feed(b"\r\n");
            }
            passes += 1;
            if !cfg.looped {
                break;
            }
        }
        pipeline.finish();
        meter.set_source_up(false);
        tracing::info!(
            meter = meter.name(),
            passes,
            "{cfg}: finished; the last telegram stays on show"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_concatenated_telegrams_and_skips_fragments() {
        let t = b"/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(000001.000*kWh)\r\n!ABCD\r\n";
        let mut file = Vec::new();
        file.extend_from_slice(b"noise\r\n");
        file.extend_from_slice(t);
        file.extend_from_slice(b"/KFM5 cut off\r\n");
        file.extend_from_slice(t);
        file.extend_from_slice(b"/ISk5 unfinished\r\n");
        let r = Replay::from_bytes(&file);
        assert_eq!(r.len(), 2);
        assert_eq!(r.skipped(), 2);
        assert_eq!(r.telegrams[0], &t[..t.len() - 2]);
    }
}
