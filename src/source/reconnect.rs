//! The retry policy and the reconnect loop that serial and TCP share, and
//! the backoff HomeWizard polls wait with.
//!
//! Serial and TCP sources never give up: when the port vanishes or the
//! connection drops they mark the meter's source down, wait with capped
//! exponential backoff and reopen, counting each successful reopen.

use super::feed::Feed;
use super::random::{clock_seed, SplitMix64};
use crate::state::Meter;
use dsmr_engine::smarty::SmartyKeys;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

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
    /// Waits by `retry`, with jitter that differs between runs.
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
    let mut feed = Feed::new(meter.clone(), smarty);
    let mut backoff = Backoff::new(retry);
    let mut buf = vec![0u8; 4096];
    let mut opened_before = false;
    loop {
        let mut stream = open_until_it_works(&meter, &what, retry, &mut backoff, &mut open).await;
        meter.set_source_up(true);
        if opened_before {
            meter.record_reconnect();
            tracing::info!(meter = meter.name(), "{what}: reconnected");
        } else {
            tracing::info!(meter = meter.name(), "{what}: connected");
        }
        opened_before = true;

        let (reason, got_data) =
            read_until_lost(&mut stream, read_timeout, &mut buf, &mut feed).await;
        drop(stream);
        feed.finish();
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

/// Calls `open` until it succeeds, backing off between attempts. Only the
/// first failure of a run of them is a warning; the rest are debug lines,
/// so a port that stays away does not fill the log.
async fn open_until_it_works<S, F, Fut>(
    meter: &Meter,
    what: &str,
    retry: Retry,
    backoff: &mut Backoff,
    open: &mut F,
) -> S
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<S>>,
{
    let mut failure_logged = false;
    loop {
        let e = match open().await {
            Ok(stream) => return stream,
            Err(e) => e,
        };
        let delay = backoff.next_delay();
        if failure_logged {
            tracing::debug!(meter = meter.name(), "{what}: cannot open: {e}");
        } else {
            tracing::warn!(
                meter = meter.name(),
                "{what}: cannot open: {e}; retrying (backoff up to {})",
                crate::duration::format(retry.max)
            );
            failure_logged = true;
        }
        tokio::time::sleep(delay).await;
    }
}

/// Feeds everything read from `stream` until it ends, fails or stays
/// silent longer than `read_timeout`; returns why, and whether any byte came.
async fn read_until_lost<S: AsyncRead + Unpin>(
    stream: &mut S,
    read_timeout: Option<Duration>,
    buf: &mut [u8],
    feed: &mut Feed,
) -> (Disconnect, bool) {
    let mut got_data = false;
    loop {
        let read = stream.read(buf);
        let n = match read_timeout {
            Some(t) => match tokio::time::timeout(t, read).await {
                Ok(r) => r,
                Err(_) => return (Disconnect::Silent(t), got_data),
            },
            None => read.await,
        };
        match n {
            Ok(0) => return (Disconnect::Eof, got_data),
            Ok(n) => {
                got_data = true;
                feed.feed(&buf[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (Disconnect::Error(e), got_data),
        }
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
}
