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

/// How many disconnects of one meter are logged per [`LOG_WINDOW`].
pub(crate) const LOG_BURST: u32 = 3;
/// The window [`LOG_BURST`] counts in.
pub(crate) const LOG_WINDOW: Duration = Duration::from_secs(60);

/// At most `burst` lines per `window` for one kind of event of one meter;
/// the rest are counted, and the next line written (or
/// [`LogLimit::summary`]) says how many were left out, and over how long.
#[derive(Debug)]
pub(crate) struct LogLimit {
    window: Duration,
    burst: u32,
    /// When the current window began, and how many lines it wrote.
    started: Option<Instant>,
    written: u32,
    /// Lines left out since the last summary, and when the first was.
    suppressed: u64,
    first_suppressed: Option<Instant>,
}

/// Whether a line may be written, and what to add to it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Write it, with this note at its end.
    Write(Note),
    /// Leave it out (it is counted).
    Suppress,
}

/// What a written line says about the lines around it: how many like it
/// were left out before it, and whether the next ones will be.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Note {
    /// Lines like it left out since the last one written.
    pub(crate) suppressed: u64,
    /// Over how long they were left out.
    pub(crate) over: Duration,
    /// This line used up the window: the next are left out for this long.
    pub(crate) quiet_for: Option<Duration>,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.suppressed > 0 {
            write!(
                f,
                " (… {} more like this in the last {})",
                self.suppressed,
                crate::duration::format(round_up_to_seconds(self.over))
            )?;
        }
        if let Some(d) = self.quiet_for {
            write!(
                f,
                "; more like this are counted, not logged, for {}",
                crate::duration::format(round_up_to_seconds(d))
            )?;
        }
        Ok(())
    }
}

fn round_up_to_seconds(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

impl LogLimit {
    /// `burst` lines per `window`.
    pub(crate) fn new(window: Duration, burst: u32) -> LogLimit {
        LogLimit {
            window,
            burst: burst.max(1),
            started: None,
            written: 0,
            suppressed: 0,
            first_suppressed: None,
        }
    }

    /// One more event at `now`: write its line or leave it out.
    pub(crate) fn check(&mut self, now: Instant) -> Verdict {
        let started = match self.started {
            Some(t) if now.saturating_duration_since(t) < self.window => t,
            _ => {
                self.started = Some(now);
                self.written = 0;
                now
            }
        };
        if self.written >= self.burst {
            self.suppressed += 1;
            self.first_suppressed.get_or_insert(now);
            return Verdict::Suppress;
        }
        self.written += 1;
        let mut note = self.take(now);
        if self.written == self.burst {
            note.quiet_for = Some(
                self.window
                    .saturating_sub(now.saturating_duration_since(started)),
            );
        }
        Verdict::Write(note)
    }

    /// The lines left out so far, if any, to be said now (the events
    /// stopped, so no next line would say it).
    pub(crate) fn summary(&mut self, now: Instant) -> Option<Note> {
        (self.suppressed > 0).then(|| self.take(now))
    }

    fn take(&mut self, now: Instant) -> Note {
        let over = self
            .first_suppressed
            .take()
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        Note {
            suppressed: std::mem::take(&mut self.suppressed),
            over,
            quiet_for: None,
        }
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
    // read itself at 10 000 meters (docs/scale.md).
    let mut silence = read_timeout.map(|t| (t, Box::pin(tokio::time::sleep(t))));
    let mut last_read = Instant::now();
    loop {
        let n = match silence.as_mut() {
            None => read_and_feed(stream, feed).await,
            Some((t, timer)) => tokio::select! {
                biased;
                r = read_and_feed(stream, feed) => {
                    last_read = Instant::now();
                    r
                }
                () = timer.as_mut() => {
                    let quiet_until = last_read + *t;
                    if Instant::now() >= quiet_until {
                        return (Disconnect::Silent(*t), got_data);
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

    #[test]
    fn log_limit_writes_a_burst_per_window_and_sums_up_the_rest() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut l = LogLimit::new(s(60), 3);
        assert_eq!(l.check(t0), Verdict::Write(Note::default()));
        assert_eq!(l.check(t0 + s(1)), Verdict::Write(Note::default()));
        let Verdict::Write(last) = l.check(t0 + s(2)) else {
            panic!("the third line of the burst is written");
        };
        assert_eq!((last.suppressed, last.quiet_for), (0, Some(s(58))));
        assert!(last.to_string().contains("counted, not logged, for 58s"));
        for i in 0..57 {
            assert_eq!(
                l.check(t0 + s(3) + Duration::from_millis(i)),
                Verdict::Suppress
            );
        }
        // The next window's first line says what the last one left out.
        let Verdict::Write(next) = l.check(t0 + s(63)) else {
            panic!("a new window writes again");
        };
        assert_eq!((next.suppressed, next.over), (57, s(60)));
        assert_eq!(next.to_string(), " (… 57 more like this in the last 1m)");
        assert!(l.summary(t0 + s(64)).is_none());
        l.check(t0 + s(64));
        l.check(t0 + s(65));
        assert_eq!(l.check(t0 + s(66)), Verdict::Suppress);
        let sum = l.summary(t0 + s(70)).expect("one left out");
        assert_eq!((sum.suppressed, sum.over), (1, s(4)));
    }
}
