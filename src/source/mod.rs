//! Sources: where a meter's bytes come from.
//!
//! Each source is one tokio task that moves bytes from a port, socket, file
//! or simulator into its meter's [`Pipeline`]. Sources never parse: framing,
//! CRC and decoding all happen in the pipeline, so every source counts
//! telegrams the same way.
//!
//! # Layout
//! - this module: [`SourceConfig`] (what the CLI checked), [`Source`] (a
//!   source ready to run), the [`Retry`] policy and the reconnect loop that
//!   serial and TCP share.
//! - [`serial`]: a serial port (USB P1 cable), any baud rate and frame format.
//! - [`tcp`]: raw telegrams over TCP (ser2net, Wi-Fi P1 dongles).
//! - [`replay`]: telegrams from a file, at a steady pace, once or forever.
//! - [`demo`]: a simulated DSMR 5.0 meter that writes real telegram text.
//! - [`homewizard`]: a HomeWizard Wi-Fi P1 meter, polled over HTTP.
//!
//! Serial, TCP and replay sources can carry Luxembourg (Smarty) encrypted
//! frames: with keys configured, their bytes pass through a
//! [`SmartyDeframer`] and only authenticated plaintext reaches the pipeline.
//!
//! Serial and TCP sources never give up: when the port vanishes or the
//! connection drops they mark the meter's source down, wait with capped
//! exponential backoff and reopen, counting each successful reopen.

pub mod demo;
pub mod homewizard;
pub mod pipeline;
pub mod replay;
pub mod serial;
pub mod tcp;

use crate::state::Meter;
use dsmr_engine::smarty::{SmartyDeframer, SmartyKeys};
pub use pipeline::Pipeline;
use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

pub use demo::DemoMeter;
pub use homewizard::HomewizardConfig;
pub use replay::{Replay, ReplayConfig};
pub use serial::{DataBits, Parity, SerialConfig, StopBits};
pub use tcp::TcpConfig;

/// The one source a meter reads, as checked by the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceConfig {
    /// `--serial`: a USB P1 cable or other tty.
    Serial(SerialConfig),
    /// `--tcp`: ser2net or a Wi-Fi dongle.
    Tcp(TcpConfig),
    /// `--replay`: telegrams from a file.
    Replay(ReplayConfig),
    /// The built-in simulated meter.
    Demo,
    /// `--homewizard`: a HomeWizard P1 meter's HTTP API.
    Homewizard(HomewizardConfig),
}

impl fmt::Display for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceConfig::Serial(c) => c.fmt(f),
            SourceConfig::Tcp(c) => c.fmt(f),
            SourceConfig::Replay(c) => c.fmt(f),
            SourceConfig::Demo => f.write_str("demo (simulated DSMR 5.0 meter)"),
            SourceConfig::Homewizard(c) => c.fmt(f),
        }
    }
}

/// How a source's `smarty` keys show in its description (never the keys).
pub(crate) fn fmt_smarty(f: &mut fmt::Formatter<'_>, keys: Option<&SmartyKeys>) -> fmt::Result {
    match keys.map(|k| k.auth_key) {
        None => Ok(()),
        Some(None) => f.write_str(", smarty-encrypted (no auth key)"),
        Some(Some(a)) if a == SmartyKeys::SMARTY_AUTH_KEY => {
            f.write_str(", smarty-encrypted (default auth key)")
        }
        Some(Some(_)) => f.write_str(", smarty-encrypted (own auth key)"),
    }
}

/// Why a source could not start. Only a replay file can fail up front:
/// ports and hosts that are not there yet are retried, not refused.
#[derive(Debug, Error)]
pub enum SourceError {
    /// The replay file is missing or unreadable.
    #[error("cannot read replay file {path}: {source}")]
    ReplayRead { path: PathBuf, source: io::Error },
    /// The replay file holds nothing to replay.
    #[error("replay file {path} holds no complete telegram")]
    ReplayEmpty { path: PathBuf },
    /// An encrypted replay file whose frames none decrypt with the keys.
    #[error("replay file {path}: no Smarty frame decrypts with the configured keys ({failed} failed; first: {first})")]
    ReplayUndecryptable {
        path: PathBuf,
        failed: usize,
        first: String,
    },
}

/// A source ready to run: configuration checked, replay file loaded.
#[derive(Debug)]
pub enum Source {
    Serial(SerialConfig),
    Tcp(TcpConfig),
    Replay(Replay, ReplayConfig),
    Demo,
    Homewizard(HomewizardConfig),
}

impl Source {
    /// Does what can fail before the server starts (reading a replay file),
    /// so such a mistake stops the process with a clear message.
    pub async fn prepare(cfg: SourceConfig) -> Result<Source, SourceError> {
        Ok(match cfg {
            SourceConfig::Serial(c) => Source::Serial(c),
            SourceConfig::Tcp(c) => Source::Tcp(c),
            SourceConfig::Replay(c) => {
                Source::Replay(Replay::load_with(&c.path, c.smarty.as_ref()).await?, c)
            }
            SourceConfig::Demo => Source::Demo,
            SourceConfig::Homewizard(c) => Source::Homewizard(c),
        })
    }

    /// Feeds `meter` until the source is done: never for serial, TCP, demo
    /// and looping replays; after the last telegram for a single replay.
    pub async fn run(self, meter: Arc<Meter>) {
        match self {
            Source::Serial(c) => serial::run(c, meter).await,
            Source::Tcp(c) => tcp::run(c, meter).await,
            Source::Replay(r, c) => r.run(&c, meter).await,
            Source::Demo => demo::run(meter).await,
            Source::Homewizard(c) => homewizard::run(c, meter).await,
        }
    }
}

/// How a lost port or connection is retried: waits start at `initial`,
/// double after each failure up to `max`, and get a little jitter so many
/// exporters behind one ser2net do not reconnect in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Retry {
    /// 100 ms doubling to 30 s: a replugged cable is back at once, a dead
    /// host is not hammered.
    fn default() -> Retry {
        Retry {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
        }
    }
}

/// The waits of one [`Retry`] policy.
#[derive(Debug)]
pub(crate) struct Backoff {
    retry: Retry,
    next: Duration,
    rng: SplitMix64,
}

impl Backoff {
    pub(crate) fn new(retry: Retry) -> Backoff {
        Backoff {
            retry,
            next: retry.initial,
            rng: SplitMix64::new(clock_seed()),
        }
    }

    /// Starts again from the initial wait (after a connection that worked).
    pub(crate) fn reset(&mut self) {
        self.next = self.retry.initial;
    }

    /// The next wait: the current step ±10 %, never above `max`.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = base.saturating_mul(2).min(self.retry.max);
        let jitter = 0.9 + 0.2 * self.rng.next_f64();
        base.mul_f64(jitter).min(self.retry.max)
    }
}

/// A tiny deterministic PRNG (SplitMix64): enough for jitter and the demo
/// meter's noise, and reproducible from a seed in tests.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly standard normal (Irwin–Hall with four uniforms).
    pub(crate) fn normal(&mut self) -> f64 {
        let s: f64 = (0..4).map(|_| self.next_f64()).sum();
        (s - 2.0) * 3f64.sqrt()
    }
}

/// A seed that differs between runs.
pub(crate) fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x5EED)
        ^ u64::from(std::process::id()).rotate_left(32)
}

/// Bytes from a port or socket on their way to the meter: straight into
/// the pipeline, or first through a Smarty deframer that releases only
/// authenticated plaintext.
#[derive(Debug)]
pub(crate) struct Feed {
    pipeline: Pipeline,
    smarty: Option<SmartyDeframer>,
}

impl Feed {
    /// A feed for `meter`, decrypting when `smarty` keys are given.
    pub(crate) fn new(meter: Arc<Meter>, smarty: Option<&SmartyKeys>) -> Feed {
        Feed {
            pipeline: Pipeline::new(meter),
            smarty: smarty.map(|k| SmartyDeframer::new(k.clone())),
        }
    }

    /// Feeds bytes as read. A Smarty frame that fails authentication (wrong
    /// key, tampered or corrupted) or has a bad header is counted as
    /// `malformed` and logged, rate-limited; its bytes never reach the
    /// decoder. So is a frame whose counter did not increase: a meter
    /// never reuses one, so it is a replay.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let Feed { pipeline, smarty } = self;
        let Some(deframer) = smarty else {
            pipeline.feed(bytes);
            return;
        };
        let mut input = bytes;
        while let Some(result) = deframer.decode(&mut input) {
            match result {
                Ok(frame) if frame.is_replay() => pipeline.reject(&format!(
                    "smarty frame counter {} did not increase: replayed frame dropped",
                    frame.frame_counter()
                )),
                Ok(frame) => feed_plaintext(pipeline, frame.plaintext()),
                Err(e) => pipeline.reject(&format!("smarty: {e}")),
            }
        }
    }

    /// Ends the input (EOF, disconnect): an unfinished frame or telegram is
    /// counted as malformed.
    pub(crate) fn finish(&mut self) {
        if let Some(e) = self.smarty.as_mut().and_then(SmartyDeframer::finish) {
            self.pipeline.reject(&format!("smarty: {e}"));
        }
        self.pipeline.finish();
    }
}

/// Feeds one decrypted telegram. Smarty plaintext ends at the CRC without
/// the line end that completes a frame, so one is added (a second line end
/// after one already there is skipped by the framer as noise).
pub(crate) fn feed_plaintext(pipeline: &mut Pipeline, plaintext: &[u8]) {
    pipeline.feed(plaintext);
    pipeline.feed(b"\r\n");
}

/// Why an open stream stopped.
enum Disconnect {
    Eof,
    Error(io::Error),
    Silent(Duration),
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::Eof => f.write_str("closed (end of stream)"),
            Disconnect::Error(e) => write!(f, "read error: {e}"),
            Disconnect::Silent(d) => write!(
                f,
                "no data for {}, treating the connection as dead",
                crate::duration::format(*d)
            ),
        }
    }
}

/// Opens with `open`, feeds everything read into the meter's pipeline, and
/// when the stream ends, fails or stays silent longer than `read_timeout`,
/// marks the source down, backs off and opens again. Runs forever.
///
/// `what` names the source in log lines, e.g. `serial /dev/ttyUSB0`.
pub(crate) async fn reconnect_loop<S, F, Fut>(
    meter: Arc<Meter>,
    what: String,
    retry: Retry,
    read_timeout: Option<Duration>,
    smarty: Option<&SmartyKeys>,
    mut open: F,
) where
    S: AsyncRead + Unpin,
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<S>>,
{
    let mut pipeline = Feed::new(meter.clone(), smarty);
    let mut backoff = Backoff::new(retry);
    let mut buf = vec![0u8; 4096];
    let mut opened_before = false;
    let mut open_failure_logged = false;
    loop {
        let mut stream = match open().await {
            Ok(s) => s,
            Err(e) => {
                let delay = backoff.next_delay();
                if open_failure_logged {
                    tracing::debug!(meter = meter.name(), "{what}: cannot open: {e}");
                } else {
                    tracing::warn!(
                        meter = meter.name(),
                        "{what}: cannot open: {e}; retrying (backoff up to {})",
                        crate::duration::format(retry.max)
                    );
                    open_failure_logged = true;
                }
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        open_failure_logged = false;
        meter.set_source_up(true);
        if opened_before {
            meter.record_reconnect();
            tracing::info!(meter = meter.name(), "{what}: reconnected");
        } else {
            tracing::info!(meter = meter.name(), "{what}: connected");
        }
        opened_before = true;

        let mut got_data = false;
        let reason = loop {
            let read = stream.read(&mut buf);
            let n = match read_timeout {
                Some(t) => match tokio::time::timeout(t, read).await {
                    Ok(r) => r,
                    Err(_) => break Disconnect::Silent(t),
                },
                None => read.await,
            };
            match n {
                Ok(0) => break Disconnect::Eof,
                Ok(n) => {
                    got_data = true;
                    pipeline.feed(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Disconnect::Error(e),
            }
        };
        drop(stream);
        pipeline.finish();
        meter.set_source_up(false);
        if got_data {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        tracing::warn!(
            meter = meter.name(),
            "{what}: disconnected: {reason}; reopening in {}",
            crate::duration::format(delay)
        );
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(Retry {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        });
        let waits: Vec<Duration> = (0..6).map(|_| b.next_delay()).collect();
        for (w, nominal) in waits.iter().zip([100u64, 200, 400, 800, 1000, 1000]) {
            let nominal = Duration::from_millis(nominal);
            assert!(*w >= nominal.mul_f64(0.9) && *w <= nominal.mul_f64(1.1));
            assert!(*w <= Duration::from_secs(1));
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(110));
    }

    #[test]
    fn prng_is_deterministic_and_in_range() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..1000 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!((0.0..1.0).contains(&x));
        }
    }
}
