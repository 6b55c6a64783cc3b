//! The general decoder: one pass over the body, line by line, each object's
//! values handed to the field its OBIS code means. Lines the per-position
//! cache recognises take the fast path in [`super::fast`] instead; objects of
//! several entries are read in [`super::logs`] and [`super::mbus`].

use super::field::{find, integer, quantity, small, timestamp, FieldResult};
use super::meaning::{Slot, ENERGY};
use super::scan::{scan, STOP_CLOSE, STOP_OPEN};
use super::{FieldError, FieldErrorKind, Span, TariffRegister, Telegram, UnknownLine};
use crate::obis::Obis;
use crate::value::{trim, Quantity, Unit};
use alloc::vec::Vec;

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
            ImportedMore(t) => {
                let q = quantity(first, 0, ENERGY, Unit::KWh)?;
                set_tariff(&mut self.imported_more, t, q);
            }
            ExportedMore(t) => {
                let q = quantity(first, 0, ENERGY, Unit::KWh)?;
                set_tariff(&mut self.exported_more, t, q);
            }
            PowerFailureLog => self.power_failure_log_line(g)?,
            MbusDeviceType(_) | MbusValve(_) | MbusBreaker(_) | MbusReading(..)
            | MbusProfile(_) => self.mbus_object(slot, g, first)?,
            Unknown => self.keep_unknown(line, o, code, open, g.end),
            // Filled above by `span_field`, `count_field` or
            // `quantity_field`; listed so a new slot cannot be forgotten.
            Version | EmucsVersion | EquipmentId | Serial | Ean | LogicalName | DeviceId
            | TextMessage | TextCode | TextMessageExtra(_) | MbusEquipmentId(_) | MbusEan(_) => {}
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
}

/// Sets tariff `t` of `list` (kept in tariff order, one entry a tariff, as
/// the fixed tariffs 1 to 4 are one field each: a repeated line replaces
/// the earlier value); an empty value removes nothing and adds nothing.
fn set_tariff(list: &mut Vec<TariffRegister>, tariff: u8, q: Option<Quantity>) {
    let Some(value) = q else { return };
    let r = TariffRegister { tariff, value };
    match list.binary_search_by_key(&tariff, |r| r.tariff) {
        Ok(i) => list[i] = r,
        Err(i) => list.insert(i, r),
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
