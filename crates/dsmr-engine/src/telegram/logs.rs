//! The objects that hold several entries: the long power failure log and
//! the demand peaks (this month's, and the Belgian history).

use super::decode::{Groups, MAX_LOG};
use super::field::{integer, quantity, small, timestamp, FieldResult};
use super::meaning::POWER;
use super::{FieldErrorKind, Peak, PowerFailure, Telegram};
use crate::obis::Obis;
use crate::time::Timestamp;
use crate::value::{trim, Unit};

/// A meter timestamp's shape: 12 digits, then nothing or one letter (the
/// `W`/`S` flag). Decides which group of a month peak is the time without
/// deciding whether it is a real date (placeholders have this shape too).
fn timestamp_shaped(s: &[u8]) -> bool {
    let s = trim(s);
    let digits = s
        .get(..12)
        .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    digits && (s.len() == 12 || (s.len() == 13 && s[12].is_ascii_alphabetic()))
}

impl Telegram {
    /// `1-0:1.6.0(time)(value*kW)`: this month's peak. Iskra IE.5 meters
    /// on their 2026 firmware write it the other way round,
    /// `(08.796*kW)(260102010000)`: the group shaped like a timestamp
    /// (12 digits and at most a `W`/`S` flag, or a placeholder of that
    /// shape) is the time, whichever comes first. A placeholder time keeps
    /// the value (`time` is then `None`); a time without the flag is read in
    /// the meter's zone, like every flagless clock.
    pub(super) fn month_peak_line(&mut self, mut g: Groups<'_>) -> FieldResult<()> {
        let a = g.next().unwrap_or_default();
        let b = g.next();
        let (time, v, group) = match b {
            Some(b) if !timestamp_shaped(a) && timestamp_shaped(b) => (b, a, 0),
            Some(b) => (a, b, 1),
            None => return Err(FieldErrorKind::MissingValue { group: 1 }),
        };
        let time = timestamp(time, 0).ok().flatten();
        self.month_peak = quantity(v, group, POWER, Unit::KW)?.map(|value| Peak {
            period_start: None,
            time,
            value,
        });
        Ok(())
    }

    /// `1-0:99.97.0(N)(0-0:96.7.19)(end)(duration*s)…`
    pub(super) fn power_failure_log_line(&mut self, mut g: Groups<'_>) -> FieldResult<()> {
        self.has_power_failure_log = true;
        let declared: u32 = small(g.next().unwrap_or_default(), 0)?.unwrap_or(0);
        g.next(); // the buffer's own OBIS id
        let mut found = 0u32;
        let mut group = 2u8;
        let mut err = None;
        while let Some(end) = g.next() {
            let dur = g.next();
            found += 1;
            let duration = match dur.map(|d| integer(d, group.saturating_add(1))) {
                Some(Ok(d)) => d,
                Some(Err(e)) => {
                    err.get_or_insert(e);
                    None
                }
                None => {
                    err.get_or_insert(FieldErrorKind::MissingValue {
                        group: group.saturating_add(1),
                    });
                    None
                }
            };
            if self.power_failure_log.len() < MAX_LOG {
                self.power_failure_log.push(PowerFailure {
                    end: Timestamp::parse(end),
                    duration,
                });
            }
            group = group.saturating_add(2);
        }
        if let Some(e) = err {
            return Err(e);
        }
        if declared != found {
            return Err(FieldErrorKind::CountMismatch { declared, found });
        }
        Ok(())
    }

    /// Belgian `0-0:98.1.0(N)(1-0:1.6.0)(1-0:1.6.0)(period)(time)(value)…`.
    /// Returns `false` for other meters' uses of the code (kept as unknown).
    pub(super) fn peak_history_line(&mut self, mut g: Groups<'_>) -> FieldResult<bool> {
        let count = g.next().unwrap_or_default();
        let mut probe = g;
        let is_be = probe.next().and_then(Obis::parse).is_some()
            && probe.next().and_then(Obis::parse).is_some();
        if !is_be {
            return Ok(false);
        }
        let declared: u32 = small(count, 0)?.unwrap_or(0);
        g = probe;
        let mut found = 0u32;
        // Group numbers in errors stop at 255 (`saturating_add`): a history
        // of more than 84 entries must not overflow them.
        let mut group = 3u8;
        while let Some(period) = g.next() {
            let time = g.next().ok_or(FieldErrorKind::MissingValue {
                group: group.saturating_add(1),
            })?;
            let value = g.next().ok_or(FieldErrorKind::MissingValue {
                group: group.saturating_add(2),
            })?;
            found += 1;
            if let Some(value) = quantity(value, group.saturating_add(2), POWER, Unit::KW)? {
                // No cap: every entry is three groups of the telegram's
                // own text, so the framer's size limit bounds the list.
                self.peak_history.push(Peak {
                    period_start: Timestamp::parse(period),
                    time: Timestamp::parse(time),
                    value,
                });
            }
            group = group.saturating_add(3);
        }
        if declared != found {
            return Err(FieldErrorKind::CountMismatch { declared, found });
        }
        Ok(true)
    }
}
