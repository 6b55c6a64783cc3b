//! The per-position cache: a meter sends the same lines in the same order
//! every time, so the `k`-th line is recognised by comparing its first
//! bytes with the `k`-th line of the previous telegram, and a one-value line
//! whose number is followed by the same unit bytes as last time is decoded
//! without parsing its code or unit again.

use super::decode::{Groups, MAX_KEPT};
use super::field::{all_digits, plain_decimal, quantity};
use super::meaning::Slot;
use super::scan::{scan, STOP_CLOSE};
use super::{Span, Telegram};
use crate::obis::Obis;
use crate::value::{Quantity, Unit};

/// What the `k`-th object of the previous telegram was: its code's bytes
/// (with the `(` after them) and what they mean. A line whose first bytes
/// equal `key` under `mask` has the same code, so the same OBIS and slot:
/// the cache is exact whatever the meter sends.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) key: u128,
    /// Covers the code and its `(`; zero when the code is not cacheable
    /// (longer than 15 bytes, or spaces around it), which never matches.
    pub(super) mask: u128,
    /// Bytes covered by `mask`.
    pub(super) len: u8,
    pub(super) obis: Option<Obis>,
    pub(super) slot: Slot,
    /// For quantities: the bytes after the number last time (`*kWh`, up to
    /// eight, zero-padded) and the unit they gave for this slot;
    /// `unit_len` is [`NO_UNIT`] until one is learnt.
    pub(super) unit_key: u64,
    pub(super) unit_len: u8,
    pub(super) unit: Unit,
}

/// [`Entry::unit_len`] when no unit is cached.
pub(super) const NO_UNIT: u8 = u8::MAX;

impl Telegram {
    /// The code and slot of the `k`-th object, whose code is `raw[start..open]`
    /// (`code` trimmed), from the cache when the previous telegram had the
    /// same bytes at the same position.
    #[inline]
    pub(super) fn entry_of(
        &mut self,
        raw: &[u8],
        start: usize,
        open: usize,
        code: &[u8],
        k: usize,
    ) -> Entry {
        let len = open + 1 - start;
        let cacheable = len <= 16 && code.len() + 1 == len && k < MAX_KEPT;
        if !cacheable {
            let obis = Obis::parse(code);
            return Entry {
                key: 0,
                mask: 0,
                len: 0,
                obis,
                slot: obis.map_or(Slot::Unknown, Slot::of),
                unit_key: 0,
                unit_len: NO_UNIT,
                unit: Unit::None,
            };
        }
        let mask = if len == 16 {
            u128::MAX
        } else {
            (1u128 << (8 * len)) - 1
        };
        let key = load16(raw, start).unwrap_or(0) & mask;
        if let Some(e) = self.cache.get(k) {
            if e.len != 0 && e.mask == mask && e.key == key {
                return *e;
            }
        }
        let obis = Obis::parse(code);
        let e = Entry {
            key,
            mask,
            len: len as u8,
            obis,
            slot: obis.map_or(Slot::Unknown, Slot::of),
            unit_key: 0,
            unit_len: NO_UNIT,
            unit: Unit::None,
        };
        if k < self.cache.len() {
            self.cache[k] = e;
        } else if k == self.cache.len() {
            self.cache.push(e);
        }
        e
    }

    /// Decodes the `k`-th object at `i` if it is a one-value line whose code
    /// the cache knows; `None` leaves the line to the general path, which
    /// decides it the same way. Returns where the next line starts.
    #[inline(always)]
    pub(super) fn fast_line(
        &mut self,
        raw: &[u8],
        i: usize,
        bang: usize,
        k: usize,
        line: u32,
    ) -> Option<usize> {
        let e = *self.cache.get(k)?;
        let w = load16(raw, i)?;
        if (w ^ e.key) & e.mask != 0 || e.len == 0 {
            return None;
        }
        let obis = e.obis?;
        let open = i + e.len as usize - 1;
        let close = scan(raw, open + 1, b')', STOP_CLOSE);
        // ")\r\n" and no value continued on the next line.
        match raw.get(close..close + 4)? {
            [b')', b'\r', b'\n', next] if close < bang && *next != b'(' => {}
            _ => return None,
        }
        let value = raw.get(open + 1..close)?;
        if let Some((field, (dims, default))) = self.quantity_field(e.slot) {
            // Digits, then the same unit bytes as last time: the same unit.
            let plain = plain_decimal(value);
            if let Some((v, n)) = plain {
                if e.unit_len <= 8
                    && value.len() - n == e.unit_len as usize
                    && load8(raw, open + 1 + n) & byte_mask(e.unit_len) == e.unit_key
                {
                    *field = Some(Quantity {
                        value: v,
                        unit: e.unit,
                    });
                    return Some(close + 3);
                }
            }
            match quantity(value, 0, dims, default) {
                Ok(q) => {
                    *field = q;
                    if let (Some(q), Some((_, n))) = (q, plain) {
                        self.learn_unit(k, raw, open + 1 + n, value.len() - n, q.unit);
                    }
                }
                Err(kind) => self.error(line, Some(obis), kind),
            }
            return Some(close + 3);
        }
        if let Some(field) = self.count_field(e.slot) {
            if let Some(v) = all_digits(value) {
                *field = Some(v);
                return Some(close + 3);
            }
        }
        let g = Groups {
            raw,
            pos: open,
            end: close + 1,
        };
        let code = Span::new(i, open);
        if let Err(kind) = self.object(e.slot, obis, g, raw, line, code, open, close) {
            self.error(line, Some(obis), kind);
        }
        Some(close + 3)
    }

    /// Remembers that the `len` bytes at `at` after the number of the
    /// `k`-th object mean `unit` (only spellings [`quantity`]'s fast path
    /// reads the same way: nothing, or `*` and a unit).
    #[cold]
    pub(super) fn learn_unit(&mut self, k: usize, raw: &[u8], at: usize, len: usize, unit: Unit) {
        let suffix = raw.get(at..at + len).unwrap_or_default();
        if len > 8 || !(suffix.is_empty() || suffix[0] == b'*') {
            return;
        }
        if let Some(e) = self.cache.get_mut(k) {
            e.unit_key = load8(raw, at) & byte_mask(len as u8);
            e.unit_len = len as u8;
            e.unit = unit;
        }
    }
}

/// The 8 bytes at `i`, little-endian; zero past the end.
#[inline(always)]
pub(super) fn load8(raw: &[u8], i: usize) -> u64 {
    match raw.get(i..i + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().unwrap_or_default()),
        None => 0,
    }
}

/// The low `len` bytes (`len` <= 8; [`NO_UNIT`] gives all of them).
#[inline(always)]
pub(super) fn byte_mask(len: u8) -> u64 {
    if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * len)) - 1
    }
}

/// The 16 bytes at `i`, little-endian; `None` past the end.
#[inline(always)]
pub(super) fn load16(raw: &[u8], i: usize) -> Option<u128> {
    let b: [u8; 16] = raw.get(i..i + 16)?.try_into().ok()?;
    Some(u128::from_le_bytes(b))
}
