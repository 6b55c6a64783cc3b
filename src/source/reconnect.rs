//! The retry policy and the reconnect loop that serial and TCP share, and
//! the backoff HomeWizard polls wait with.
//!
//! Serial and TCP sources never give up: when the port vanishes or the
//! connection drops they mark the meter's source down, wait with capped
//! exponential backoff and reopen, counting each successful reopen.

use super::feed::Feed;
use super::log_limit::{LogLimit, Verdict, LOG_BURST, LOG_WINDOW};
use super::random::{clock_seed, SplitMix64};
use crate::state::Meter;
use dsmr_engine::smarty::SmartyKeys;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, ReadBuf};

/// Bytes one read takes at most: a whole telegram usually arrives in one.
const READ_CHUNK: usize = 4096;

thread_local! {
    /// The buffer reads land in on this thread. A read is fed on before the
    /// task yields, so no connection needs a buffer of its own while it
    /// waits (4 KiB per meter, 40 MiB at 10 000 meters: docs/scale.md).
    static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// Reads once from `stream` into this thread's buffer and feeds what came
/// at once; how many bytes that was (0 at the end of the stream).
async fn read_and_feed<S: AsyncRead + Unpin>(stream: &mut S, feed: &mut Feed) -> io::Result<usize> {
    std::future::poll_fn(|cx| {
        feed.prefetch_state();
        READ_BUF.with_borrow_mut(|buf| {
            let mut rb = ReadBuf::new(buf);
            match Pin::new(&mut *stream).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let got = rb.filled();
                    if !got.is_empty() {
                        feed.feed(got);
                    }
                    Poll::Ready(Ok(got.len()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    })
    .await
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
/// `what` names the source in log lines, e.g. `serial /dev/ttyUSB0`. A
/// peer that keeps accepting and dropping the connection is logged at
/// most [`LOG_BURST`] times per [`LOG_WINDOW`]; the rest are counted and
/// summed up in the next line written, or when telegrams flow again.
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
    let mut opened_before = false;
    let mut limit = LogLimit::new(LOG_WINDOW, LOG_BURST);
    let mut open_limit = LogLimit::new(LOG_WINDOW, LOG_BURST);
    // Whether the last disconnect was logged: its reconnect is too.
    let mut logged = true;
    loop {
        let mut stream = open_until_it_works(
            &meter,
            &what,
            retry,
            &mut backoff,
            &mut open_limit,
            &mut open,
        )
        .await;
        meter.set_source_up(true);
        if opened_before {
            meter.record_reconnect();
            if logged {
                tracing::info!(meter = meter.name(), "{what}: reconnected");
            } else {
                tracing::debug!(meter = meter.name(), "{what}: reconnected");
            }
        } else {
            tracing::info!(meter = meter.name(), "{what}: connected");
        }
        opened_before = true;

        let (reason, got_data) = read_until_lost(
            &mut stream,
            read_timeout,
            &mut feed,
            &meter,
            &what,
            &mut limit,
        )
        .await;
        drop(stream);
        feed.finish();
        meter.set_source_up(false);
        if got_data {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        let reopen = crate::duration::format(delay);
        match limit.check(Instant::now()) {
            Verdict::Suppress => {
                logged = false;
                tracing::debug!(
                    meter = meter.name(),
                    "{what}: disconnected: {reason}; reopening in {reopen}"
                );
            }
            Verdict::Write(note) => {
                logged = true;
                tracing::warn!(
                    meter = meter.name(),
                    suppressed = note.suppressed,
                    "{what}: disconnected: {reason}; reopening in {reopen}{note}"
                );
            }
        }
        tokio::time::sleep(delay).await;
    }
}

/// Calls `open` until it succeeds, backing off between attempts. Only the
/// first failure of a run of them is a warning (and only [`LOG_BURST`] such
/// runs per [`LOG_WINDOW`]); the rest are debug lines, so a port that stays
/// away, or a peer that keeps refusing and accepting, does not fill the log.
async fn open_until_it_works<S, F, Fut>(
    meter: &Meter,
    what: &str,
    retry: Retry,
    backoff: &mut Backoff,
    limit: &mut LogLimit,
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
        let verdict = if failure_logged {
            Verdict::Suppress
        } else {
            failure_logged = true;
            limit.check(Instant::now())
        };
        match verdict {
            Verdict::Suppress => {
                tracing::debug!(meter = meter.name(), "{what}: cannot open: {e}");
            }
            Verdict::Write(note) => tracing::warn!(
                meter = meter.name(),
                suppressed = note.suppressed,
                "{what}: cannot open: {e}; retrying (backoff up to {}){note}",
                crate::duration::format(retry.max)
            ),
        }
        tokio::time::sleep(delay).await;
    }
}

/// Feeds everything read from `stream` until it ends, fails or stays
/// silent longer than `read_timeout`; returns why, and whether any byte came.
/// Once the connection completes a valid telegram, the disconnects left
/// out of the log before it are summed up: they will not repeat.
async fn read_until_lost<S: AsyncRead + Unpin>(
    stream: &mut S,
    read_timeout: Option<Duration>,
    feed: &mut Feed,
    meter: &Meter,
    what: &str,
    limit: &mut LogLimit,
) -> (Disconnect, bool) {
    let mut got_data = false;
    let ok_before = meter.lock().ok;
    let mut recovered = false;
    // One timer per connection, moved on only when it fires while data
    // still flows: arming a timer around every read cost as much as the
    // read itself at 10 000 meters (docs/scale.md). It lives in this
    // future, not in a box of its own: the wake-up for a telegram then
    // touches no other memory for it. Without a timeout it is never polled,
    // so never armed.
    let mut timer = std::pin::pin!(tokio::time::sleep(read_timeout.unwrap_or_default()));
    let mut last_read = Instant::now();
    loop {
        let n = match read_timeout {
            None => read_and_feed(stream, feed).await,
            Some(t) => tokio::select! {
                biased;
                r = read_and_feed(stream, feed) => {
                    last_read = Instant::now();
                    r
                }
                () = timer.as_mut() => {
                    let quiet_until = last_read + t;
                    if Instant::now() >= quiet_until {
                        return (Disconnect::Silent(t), got_data);
                    }
                    timer.as_mut().reset(tokio::time::Instant::from_std(quiet_until));
                    continue;
                }
            },
        };
        match n {
            Ok(0) => return (Disconnect::Eof, got_data),
            Ok(_) => {
                got_data = true;
                if !recovered && meter.lock().ok > ok_before {
                    recovered = true;
                    if let Some(note) = limit.summary(Instant::now()) {
                        tracing::info!(
                            meter = meter.name(),
                            suppressed = note.suppressed,
                            "{what}: telegrams arrive again{note}"
                        );
                    }
                }
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
