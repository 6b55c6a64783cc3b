//! Rate-limited log lines: a few lines a minute of one kind of event of
//! one meter, however often it repeats, and a count of the rest in the
//! next line written (issue 12: a flapping peer or a noisy line must not
//! fill the log, and what was left out is still said). The reconnect
//! loop, the HomeWizard poller and the pipeline's bad telegrams use it.

use std::fmt;
use std::time::{Duration, Instant};

/// How many lines of one kind (disconnects, failed polls, bad telegrams)
/// of one meter are logged per [`LOG_WINDOW`].
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

    /// One more event of `meter` now: a warning that says `what` (and what
    /// was left out before it), or, left out, a debug line.
    pub(crate) fn warn(&mut self, meter: &str, what: fmt::Arguments<'_>) {
        match self.check(Instant::now()) {
            Verdict::Write(note) => {
                tracing::warn!(meter, suppressed = note.suppressed, "{what}{note}");
            }
            Verdict::Suppress => tracing::debug!(meter, "{what}"),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
