//! The general decoder: one pass over the body, line by line, each object's
//! values handed to the field its OBIS code means. Lines the per-position
//! cache recognises take the fast path in [`super::fast`] instead.

use super::field::{find, integer, quantity, small, timestamp, FieldResult};
use super::meaning::{Slot, MBUS, POWER};
use super::scan::{scan, STOP_CLOSE, STOP_OPEN};
use super::{
    FieldError, FieldErrorKind, MbusReading, Peak, PowerFailure, ReadingKind, Span, Telegram,
    UnknownLine,
};
use crate::obis::Obis;
use crate::time::Timestamp;
use crate::value::{trim, Unit};

/// The values of one object: parenthesised groups, possibly over several lines.
#[derive(Clone, Copy)]
pub(super) struct Groups<'a> {
    pub(super) raw: &'a [u8],
    pub(super) pos: usize,
    pub(super) end: usize,
}

impl<'a> Groups<'a> {
    pub(super) fn next_span(&mut self) -> Option<(usize, usize)> {
        while self.pos < self.end && self.raw[self.pos] != b'(' {
            self.pos += 1;
        }
        if self.pos >= self.end {
            return None;
        }
        let open = self.pos + 1;
        let close = open + find(&self.raw[open..self.end], b')')?;
        self.pos = close + 1;
        Some((open, close))
    }

    pub(super) fn next(&mut self) -> Option<&'a [u8]> {
        self.next_span().map(|(a, b)| &self.raw[a..b])
    }

    pub(super) fn nth_span(mut self, n: usize) -> Option<(usize, usize)> {
        for _ in 0..n {
            self.next_span()?;
        }
        self.next_span()
    }

    #[cfg(test)]
    pub(super) fn count(mut self) -> usize {
        let mut n = 0;
        while self.next_span().is_some() {
            n += 1;
        }
        n
    }
}

/// Caps on repeated entries, far above what any meter sends.
pub(super) const MAX_LOG: usize = 64;

pub(super) const MAX_KEPT: usize = 512;

/// Where the groups of an object that opens at `raw[open] == '('` end.
struct GroupsEnd {
    /// Every group closed and the line holds nothing else.
    ok: bool,
    /// Just past the last `)`.
    last: usize,
    /// The first group's `)`, found by the scan (so no group is scanned twice).
    first_close: usize,
    /// Where the scan stopped.
    stop: usize,
}

/// Scans the groups from `raw[open] == '('` to the end of the object,
/// following a value continued on the next line (DSMR 2.2/3.0 gas), which
/// advances `line`.
fn groups_end(raw: &[u8], open: usize, bang: usize, line: &mut u32) -> GroupsEnd {
    let mut last = open;
    let mut ok = true;
    let mut j = open;
    let mut first_close = usize::MAX;
    loop {
        // raw[j] == '(' here.
        j = scan(raw, j + 1, b')', STOP_CLOSE).min(bang);
        if j >= bang || raw[j] != b')' {
            ok = false;
            break;
        }
        first_close = first_close.min(j);
        j += 1;
        last = j;
        // Nearly every line ends ")\r\n": step onto the '\n' at once.
        if j + 1 < bang && raw[j] == b'\r' && raw[j + 1] == b'\n' {
            j += 1;
        }
        while j < bang && matches!(raw[j], b' ' | b'\r' | b'\t') {
            j += 1;
        }
        if j >= bang {
            break;
        }
        match raw[j] {
            b'(' => continue,
            // A value continued on the next line (DSMR 2.2/3.0 gas).
            b'\n' if raw.get(j + 1) == Some(&b'(') && j + 1 < bang => {
                *line += 1;
                j += 1;
                continue;
            }
            b'\n' => break,
            _ => {
                ok = false;
                break;
            }
        }
    }
    GroupsEnd {
        ok,
        last,
        first_close,
        stop: j,
    }
}

/// The first '\n' at or after `i`, or `bang`.
fn line_end(raw: &[u8], mut i: usize, bang: usize) -> usize {
    while i < bang && raw[i] != b'\n' {
        i += 1;
    }
    i
}

pub(super) fn code_span(raw: &[u8], code: &[u8]) -> Span {
    let start = code.as_ptr() as usize - raw.as_ptr() as usize;
    Span::new(start, start + code.len())
}

impl Telegram {
    pub(super) fn error(&mut self, line: u32, obis: Option<Obis>, kind: FieldErrorKind) {
        if self.errors.len() < MAX_KEPT {
            self.errors.push(FieldError { line, obis, kind });
        }
    }

    /// Decodes the body between the header and the `!` at `bang`.
    pub(super) fn decode_body(&mut self, bang: usize) {
        let raw = core::mem::take(&mut self.raw);
        let header_end = memchr::memchr(b'\n', &raw[..bang]).unwrap_or(bang);
        let mut h = header_end;
        while h > 0 && raw[h - 1] == b'\r' {
            h -= 1;
        }
        self.header = Span::new(0, h);
        let mut line: u32 = 1;
        let mut object = 0usize;
        let mut i = header_end;
        while i < bang {
            let c = raw[i];
            if c == b'\n' {
                line += 1;
                i += 1;
                continue;
            }
            if matches!(c, b'\r' | b' ' | b'\t') {
                i += 1;
                continue;
            }
            if let Some(next) = self.fast_line(&raw, i, bang, object, line) {
                object += 1;
                line += 1;
                i = next;
                continue;
            }
            i = self.general_line(&raw, i, bang, &mut object, &mut line);
        }
        self.raw = raw;
    }

    /// Decodes the object whose code starts at `start`, the `object`-th of
    /// the telegram, on line `line` (advanced past continuation lines).
    /// One pass over the line: code up to '(', then groups up to ')',
    /// stopping at the line end; each byte is looked at once. Returns the
    /// position of the line's '\n' (counted by the caller's loop).
    fn general_line(
        &mut self,
        raw: &[u8],
        start: usize,
        bang: usize,
        object: &mut usize,
        line: &mut u32,
    ) -> usize {
        let obj_line = *line;
        let open = scan(raw, start, b'(', STOP_OPEN).min(bang);
        if open >= bang || raw[open] != b'(' {
            let obis = Obis::parse(trim(&raw[start..open]));
            self.error(obj_line, obis, FieldErrorKind::MalformedLine);
            // Skip the rest of the line (it may hold a stray '!').
            return line_end(raw, open, bang);
        }
        let code = trim(&raw[start..open]);
        let groups = groups_end(raw, open, bang, line);
        let eol = line_end(raw, groups.stop.min(bang), bang);
        let entry = self.entry_of(raw, start, open, code, *object);
        *object += 1;
        match (groups.ok, entry.obis) {
            (true, Some(o)) => {
                let g = Groups {
                    raw,
                    pos: open,
                    end: groups.last,
                };
                let code = code_span(raw, code);
                let first_close = groups.first_close;
                let r = self.object(entry.slot, o, g, raw, obj_line, code, open, first_close);
                if let Err(kind) = r {
                    self.error(obj_line, Some(o), kind);
                }
            }
            (_, o) => self.error(obj_line, o, FieldErrorKind::MalformedLine),
        }
        eol
    }

    /// Fills the field `slot` names from the object's groups `g`, whose first
    /// group is `raw[open + 1..first_close]`. An object of an unknown code
    /// (or a use of a code this engine does not read) is kept in `unknown`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn object(
        &mut self,
        slot: Slot,
        o: Obis,
        g: Groups<'_>,
        raw: &[u8],
        line: u32,
        code: Span,
        open: usize,
        first_close: usize,
    ) -> FieldResult<()> {
        // `raw[open]` is '(' and `raw[first_close]` the first ')' after it:
        // the first group, as `g.nth_span(0)` would find it again.
        debug_assert_eq!(g.nth_span(0), Some((open + 1, first_close)));
        let first = raw.get(open + 1..first_close).unwrap_or_default();
        // Most objects are one value in one field: three lookups by slot.
        if let Some((field, (dims, unit))) = self.quantity_field(slot) {
            *field = quantity(first, 0, dims, unit)?;
            return Ok(());
        }
        if let Some(field) = self.span_field(slot) {
            *field = (first_close > open + 1).then(|| Span::new(open + 1, first_close));
            return Ok(());
        }
        if let Some(field) = self.count_field(slot) {
            *field = integer(first, 0)?;
            return Ok(());
        }
        use Slot::*;
        match slot {
            Timestamp => self.timestamp = timestamp(first, 0)?,
            Tariff => self.tariff = small(first, 0)?,
            Breaker => self.breaker = small(first, 0)?,
            PeakHistory => {
                if !self.peak_history_line(g)? {
                    self.keep_unknown(line, o, code, open, g.end);
                }
            }
            MonthPeak => self.month_peak_line(g)?,
            PowerFailureLog => self.power_failure_log_line(g)?,
            MbusDeviceType(_) | MbusValve(_) | MbusBreaker(_) | MbusReading(..)
            | MbusProfile(_) => self.mbus_object(slot, g, first)?,
            Unknown => self.keep_unknown(line, o, code, open, g.end),
            // Filled above by `span_field`, `count_field` or
            // `quantity_field`; listed so a new slot cannot be forgotten.
            Version | EmucsVersion | EquipmentId | Serial | Ean | LogicalName | DeviceId
            | TextMessage | TextCode | MbusEquipmentId(_) | MbusEan(_) => {}
            PowerFailures | LongPowerFailures | PhaseSags(_) | PhaseSwells(_) => {}
            Threshold
            | Imported(_)
            | Exported(_)
            | ReactiveImported(_)
            | ReactiveExported(_)
            | ReactiveQuadrant(_)
            | AbsoluteEnergy
            | PowerImport
            | PowerExport
            | ReactivePowerImport
            | ReactivePowerExport
            | ReactivePowerQuadrant(_)
            | ApparentPowerImport
            | ApparentPowerExport
            | PowerFactor
            | Frequency
            | Demand
            | PhasePowerImport(_)
            | PhasePowerExport(_)
            | PhaseReactiveImport(_)
            | PhaseReactiveExport(_)
            | PhaseCurrent(_)
            | PhaseCurrentLimit(_)
            | PhaseVoltage(_)
            | PhasePowerFactor(_) => {}
        }
        Ok(())
    }

    /// `1-0:1.6.0(time)(value*kW)`: this month's peak. A placeholder time
    /// keeps the value (`time` is then `None`).
    fn month_peak_line(&mut self, mut g: Groups<'_>) -> FieldResult<()> {
        let time = timestamp(g.next().unwrap_or_default(), 0).ok().flatten();
        let v = g.next().ok_or(FieldErrorKind::MissingValue { group: 1 })?;
        self.month_peak = quantity(v, 1, POWER, Unit::KW)?.map(|value| Peak {
            period_start: None,
            time,
            value,
        });
        Ok(())
    }

    /// An object of an M-Bus channel other than its ids (those are spans,
    /// filled by [`object`](Telegram::object)); `first` is its first group.
    fn mbus_object(&mut self, slot: Slot, g: Groups<'_>, first: &[u8]) -> FieldResult<()> {
        use Slot::*;
        match slot {
            MbusDeviceType(ch) => {
                let s = trim(first);
                self.mbus[ch as usize].device_type = if s.is_empty() {
                    None
                } else {
                    // Decimal as DSMR writes it ("003"); hex for "00C".
                    let dec = small::<u16>(s, 0).ok().flatten();
                    let hex = core::str::from_utf8(s)
                        .ok()
                        .and_then(|h| u16::from_str_radix(h, 16).ok());
                    Some(dec.or(hex).ok_or(FieldErrorKind::BadNumber { group: 0 })?)
                };
            }
            MbusValve(ch) => self.mbus[ch as usize].valve = small(first, 0)?,
            MbusBreaker(ch) => self.mbus[ch as usize].breaker = small(first, 0)?,
            MbusReading(ch, kind) => {
                let mut g = g;
                let time = g.next().unwrap_or_default();
                let value = g.next().ok_or(FieldErrorKind::MissingValue { group: 1 })?;
                self.mbus_reading(ch as usize, time, value, 1, Unit::None, kind)?;
            }
            MbusProfile(ch) => {
                // (time)(status)(interval)(count)(obis)(unit) then the value.
                let time = g.nth_span(0).map(|(a, b)| &g.raw[a..b]).unwrap_or_default();
                let unit = g.nth_span(5).map(|(a, b)| &g.raw[a..b]).unwrap_or_default();
                let value = g
                    .nth_span(6)
                    .map(|(a, b)| &g.raw[a..b])
                    .ok_or(FieldErrorKind::MissingValue { group: 6 })?;
                self.mbus_reading(
                    ch as usize,
                    time,
                    value,
                    6,
                    Unit::parse(unit),
                    ReadingKind::Profile,
                )?;
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn keep_unknown(
        &mut self,
        line: u32,
        obis: Obis,
        code: Span,
        open: usize,
        end: usize,
    ) {
        if self.unknown.len() < MAX_KEPT {
            self.unknown.push(UnknownLine {
                line,
                obis,
                code,
                value: Span::new(open, end),
            });
        }
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
        let mut group = 3u8;
        while let Some(period) = g.next() {
            let time = g
                .next()
                .ok_or(FieldErrorKind::MissingValue { group: group + 1 })?;
            let value = g
                .next()
                .ok_or(FieldErrorKind::MissingValue { group: group + 2 })?;
            found += 1;
            if let Some(value) = quantity(value, group.saturating_add(2), POWER, Unit::KW)? {
                if self.peak_history.len() < MAX_LOG {
                    self.peak_history.push(Peak {
                        period_start: Timestamp::parse(period),
                        time: Timestamp::parse(time),
                        value,
                    });
                }
            }
            group = group.saturating_add(3);
        }
        if declared != found {
            return Err(FieldErrorKind::CountMismatch { declared, found });
        }
        Ok(true)
    }

    pub(super) fn mbus_reading(
        &mut self,
        ch: usize,
        time: &[u8],
        value: &[u8],
        group: u8,
        default: Unit,
        kind: ReadingKind,
    ) -> FieldResult<()> {
        let q = quantity(value, group, MBUS, default)?;
        let m = &mut self.mbus[ch];
        match (Timestamp::parse(time), q) {
            (_, None) => m.placeholder = true,
            (None, Some(_)) => m.placeholder = true,
            (Some(t), Some(v)) if v.value.is_zero() && t.year <= 2000 => m.placeholder = true,
            (Some(t), Some(v)) => {
                if m.reading.is_none() {
                    m.reading = Some(MbusReading {
                        time: t,
                        value: v,
                        kind,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::prelude::rust_2021::*;

    #[test]
    fn groups_over_lines() {
        let raw = b"(a)(b)\r\n(c)";
        let g = Groups {
            raw,
            pos: 0,
            end: raw.len(),
        };
        assert_eq!(g.count(), 3);
        assert_eq!(g.nth_span(2), Some((9, 10)));
    }
}
