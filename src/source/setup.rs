//! Which source a meter reads: [`SourceConfig`] as the CLI checked it, and
//! [`Source`], the same made ready to run (a replay file loaded), which
//! starts the right task.

use super::demo::{self, DemoCountry};
use super::error::SourceError;
use super::homewizard::{self, HomewizardConfig};
use super::replay::{Replay, ReplayConfig};
use super::serial::{self, SerialConfig};
use super::tcp::{self, TcpConfig};
use crate::state::Meter;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The one source a meter reads, as checked by the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceConfig {
    /// `--serial`: a USB P1 cable or other tty.
    Serial(SerialConfig),
    /// `--tcp`: ser2net or a Wi-Fi dongle.
    Tcp(TcpConfig),
    /// `--replay`: telegrams from a file.
    Replay(ReplayConfig),
    /// The built-in simulated meter, of a country.
    Demo(DemoCountry),
    /// `--homewizard`: a HomeWizard P1 meter's HTTP API.
    Homewizard(HomewizardConfig),
}

impl fmt::Display for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceConfig::Serial(c) => c.fmt(f),
            SourceConfig::Tcp(c) => c.fmt(f),
            SourceConfig::Replay(c) => c.fmt(f),
            SourceConfig::Demo(c) => write!(f, "demo ({c})"),
            SourceConfig::Homewizard(c) => c.fmt(f),
        }
    }
}

/// A source ready to run: configuration checked, replay file loaded, so
/// what can fail has failed before the server starts.
#[derive(Debug)]
pub enum Source {
    /// A port, opened (and reopened) by its task.
    Serial(SerialConfig),
    /// A host, connected (and reconnected) by its task.
    Tcp(TcpConfig),
    /// The file's telegrams, already loaded and split.
    Replay(Replay, ReplayConfig),
    /// The simulated meter.
    Demo(DemoCountry),
    /// A dongle, polled by its task.
    Homewizard(HomewizardConfig),
}

impl Source {
    /// Does what can fail before the server starts (reading a replay file,
    /// a HomeWizard v2 token), so such a mistake stops the process with a
    /// clear message.
    pub async fn prepare(cfg: SourceConfig) -> Result<Source, SourceError> {
        Ok(match cfg {
            SourceConfig::Serial(c) => Source::Serial(c),
            SourceConfig::Tcp(c) => Source::Tcp(c),
            SourceConfig::Replay(c) => {
                Source::Replay(Replay::load_with(&c.path, c.smarty.as_ref()).await?, c)
            }
            SourceConfig::Demo(c) => Source::Demo(c),
            SourceConfig::Homewizard(c) => {
                // Set to v2, a missing token stops the start; detected (auto),
                // the device may still turn out to be v1.
                if c.api == homewizard::Api::V2 {
                    c.token
                        .load()
                        .map_err(|reason| SourceError::HomewizardToken {
                            host: c.host_arg(),
                            reason,
                        })?;
                }
                Source::Homewizard(c)
            }
        })
    }

    /// Feeds `meter` until the source is done: never for serial, TCP, demo
    /// and looping replays; after the last telegram for a single replay.
    ///
    /// Boxed per kind: as an `async fn` this future was as large as the
    /// largest kind's (6.5 KiB) in every meter's task, while a TCP meter's
    /// own is 1.4 KiB: at 10 000 meters 52 MiB less (docs/scale.md).
    pub fn run(self, meter: Arc<Meter>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        match self {
            Source::Serial(c) => Box::pin(serial::run(c, meter)),
            Source::Tcp(c) => Box::pin(tcp::run(c, meter)),
            Source::Replay(r, c) => Box::pin(async move { r.run(&c, meter).await }),
            Source::Demo(c) => Box::pin(demo::run(meter, c)),
            Source::Homewizard(c) => Box::pin(homewizard::run(c, meter)),
        }
    }
}
