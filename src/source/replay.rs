//! Telegrams from a file of concatenated raw telegrams, replayed at a
//! steady pace: for demos, dashboards and tests without a meter.
//!
//! The file is split into telegrams up front with the same [`Framer`] the
//! pipeline uses; each telegram is then fed through the meter's pipeline
//! like bytes from a port, so CRC errors in the file are counted as such.
//!
//! A file of Luxembourg (Smarty) encrypted frames, as captured from the
//! port, is decrypted once when loaded; frames that fail authentication are
//! kept in their place and counted as malformed on every pass.

use super::error::SourceError;
use super::feed::{feed_plaintext, fmt_smarty, smarty_plaintext, smarty_reason};
use super::pipeline::Pipeline;
use crate::state::Meter;
use dsmr_engine::smarty::{SmartyDeframer, SmartyKeys};
use dsmr_engine::{FrameEvent, Framer};
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
    /// Keys when the file holds Smarty encrypted frames.
    pub smarty: Option<SmartyKeys>,
}

impl fmt::Display for ReplayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay {} every {}{}",
            self.path.display(),
            crate::duration::format(self.interval),
            if self.looped { ", looped" } else { ", once" }
        )?;
        fmt_smarty(f, self.smarty.as_ref())
    }
}

/// The telegrams of a replay file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    entries: Vec<Entry>,
    /// Fragments the framer dropped (cut-off or oversized telegrams).
    skipped: usize,
}

/// One step of a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A telegram (`/` … `!CRC`) to feed.
    Telegram(Vec<u8>),
    /// An encrypted frame that did not decrypt, counted as malformed.
    Rejected(String),
}

impl Replay {
    /// Splits `bytes` into telegrams; anything that is not a whole telegram
    /// is skipped and counted.
    pub fn from_bytes(bytes: &[u8]) -> Replay {
        let mut framer = Framer::new();
        let mut r = Replay {
            entries: Vec::new(),
            skipped: 0,
        };
        let mut on = |ev: FrameEvent<'_>| match ev {
            FrameEvent::Telegram(t) => r.entries.push(Entry::Telegram(t.to_vec())),
            FrameEvent::Discarded(_) => r.skipped += 1,
        };
        framer.feed(bytes, &mut on);
        framer.finish(&mut on);
        r
    }

    /// Decrypts a stream of Smarty frames (a binary capture of the port).
    /// Frames that fail are kept as rejects; noise between frames is skipped.
    pub fn from_encrypted(bytes: &[u8], keys: &SmartyKeys) -> Replay {
        let mut deframer = SmartyDeframer::new(keys.clone());
        let mut r = Replay {
            entries: Vec::new(),
            skipped: 0,
        };
        let mut input = bytes;
        while let Some(result) = deframer.decode(&mut input) {
            r.entries.push(match smarty_plaintext(result) {
                Ok(plaintext) => Entry::Telegram(plaintext.to_vec()),
                Err(why) => Entry::Rejected(why),
            });
        }
        if let Some(e) = deframer.finish() {
            r.entries.push(Entry::Rejected(smarty_reason(&e)));
        }
        r
    }

    /// Reads and splits a replay file; a file without a single telegram is
    /// an error, since replaying it would show nothing.
    pub async fn load(path: &Path) -> Result<Replay, SourceError> {
        Replay::load_with(path, None).await
    }

    /// [`Replay::load`], decrypting Smarty frames when keys are given. An
    /// encrypted file of which no frame decrypts is an error: the keys are
    /// wrong, and the exporter should say so rather than start.
    pub async fn load_with(
        path: &Path,
        smarty: Option<&SmartyKeys>,
    ) -> Result<Replay, SourceError> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| SourceError::ReplayRead {
                path: path.to_owned(),
                source,
            })?;
        let r = match smarty {
            Some(keys) => Replay::from_encrypted(&bytes, keys),
            None => Replay::from_bytes(&bytes),
        };
        if r.is_empty() {
            let mut rejects = r.entries.iter().filter_map(|e| match e {
                Entry::Rejected(why) => Some(why),
                Entry::Telegram(_) => None,
            });
            return Err(match rejects.next() {
                Some(first) => SourceError::ReplayUndecryptable {
                    path: path.to_owned(),
                    failed: 1 + rejects.count(),
                    first: first.clone(),
                },
                None => SourceError::ReplayEmpty {
                    path: path.to_owned(),
                },
            });
        }
        Ok(r)
    }

    /// How many telegrams one pass feeds.
    pub fn len(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e, Entry::Telegram(_)))
            .count()
    }

    /// True when the file held no telegram.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
            for entry in &self.entries {
                match ticker.as_mut() {
                    Some(tick) => {
                        tick.tick().await;
                    }
                    // Let the server and other tasks run between telegrams.
                    None => tokio::task::yield_now().await,
                }
                match entry {
                    // The line end after the CRC completes the frame at once.
                    Entry::Telegram(t) => feed_plaintext(&mut pipeline, t),
                    Entry::Rejected(why) => pipeline.reject(why),
                }
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
        assert_eq!(r.entries[0], Entry::Telegram(t[..t.len() - 2].to_vec()));
    }
}
