//! A telegram with its identifiers masked, for a bug report: what the
//! `parse --mask-ids` command shows and re-emits.
//!
//! A meter's equipment id, serial, EAN and logical name identify a
//! household; the rest of a telegram is what a maintainer needs. Masking
//! keeps every byte's position, so the telegram decodes exactly as before,
//! and it gets a CRC again, so it can be replayed.

use super::{CrcStatus, Span, Telegram};
use alloc::vec::Vec;

/// What replaces a masked character (as hex, `58`, inside a hex-encoded id).
const MASK: u8 = b'X';

/// A run of this many digits in the header's identification is a serial
/// (`/FLU5\253769484_A`, `/XMX5LGBBFFB231216240`); model names have shorter ones.
const HEADER_DIGITS: usize = 6;

impl Telegram {
    /// The telegram's text (`/` … `!CRC`) with every identifier masked:
    ///
    /// - the values of `0-0:96.1.1`, `0-0:96.1.0` (`96.1.255`), `0-0:96.1.2`
    ///   (EAN), `0-0:42.0.0` (logical name), `1-0:0.0.0` / `0-0:0.0.0`, the
    ///   M-Bus devices' `0-n:96.1.0` / `96.1.1` / `96.1.2`, and of any other
    ///   `96.1.x` line the engine keeps as unknown;
    /// - each run of 6 or more digits in the header's identification.
    ///
    /// A masked value keeps its length and its first and last characters;
    /// the others become `X`. An id written as hex-encoded ASCII (DSMR 4+)
    /// is masked in its decoded text, so it stays hex: `4530…3139`
    /// (`E0044007382246019`) becomes `4558…5839` (`EXXXXXXXXXXXXXXX9`).
    /// Values of one or two characters are left as they are.
    ///
    /// A valid CRC is computed again over the masked text with the same
    /// algorithm (four upper-case hex digits), so the result is accepted as
    /// the original was; a missing CRC stays missing and a CRC that did not
    /// match is kept as sent (it still does not match).
    pub fn masked(&self) -> Vec<u8> {
        let mut out = self.raw().to_vec();
        for s in self.id_spans() {
            if let Some(b) = out.get_mut(s.start as usize..s.end as usize) {
                mask_value(b);
            }
        }
        if let Some(ident) = out.get_mut(5..self.header.end as usize) {
            mask_digit_runs(ident);
        }
        if let CrcStatus::Valid(_) = self.crc {
            let bang = self.crc_covered().len();
            out.truncate(bang);
            let crc = self.crc_algorithm.compute(&out);
            out.extend_from_slice(&hex4(crc));
        }
        out
    }

    /// The spans of every identifier's value (each one group's text).
    fn id_spans(&self) -> impl Iterator<Item = Span> + '_ {
        let fixed = [
            self.equipment_id,
            self.serial,
            self.ean,
            self.logical_name,
            self.device_id,
        ];
        let mbus = self.mbus.iter().flat_map(|m| [m.equipment_id, m.ean]);
        let unknown = self
            .unknown
            .iter()
            .filter(|u| (u.obis.c, u.obis.d) == (96, 1))
            .flat_map(|u| self.groups_of(u.value));
        fixed.into_iter().chain(mbus).flatten().chain(unknown)
    }

    /// The text of each `(…)` group in `s`.
    fn groups_of(&self, s: Span) -> impl Iterator<Item = Span> + '_ {
        let text = self.bytes(s);
        let mut at = 0usize;
        core::iter::from_fn(move || {
            let open = at + text.get(at..)?.iter().position(|&b| b == b'(')?;
            let close = open + text.get(open..)?.iter().position(|&b| b == b')')?;
            at = close + 1;
            Some(Span::new(
                s.start as usize + open + 1,
                s.start as usize + close,
            ))
        })
    }
}

/// Masks one value in place (see [`Telegram::masked`]).
fn mask_value(b: &mut [u8]) {
    if b.len() >= 8 && b.len() % 2 == 0 && hex_printable(b) {
        // Decoded characters 1 .. n-1 become 'X', written as hex.
        let pairs = b.len() / 2;
        for p in 1..pairs - 1 {
            b[2 * p] = b'5';
            b[2 * p + 1] = b'8';
        }
    } else if b.len() > 2 {
        let n = b.len();
        b[1..n - 1].fill(MASK);
    }
}

/// True when `b` is hex digits that decode to printable ASCII.
fn hex_printable(b: &[u8]) -> bool {
    b.chunks_exact(2).all(|p| {
        let hi = (p[0] as char).to_digit(16);
        let lo = (p[1] as char).to_digit(16);
        matches!((hi, lo), (Some(h), Some(l)) if (0x20..=0x7e).contains(&(h * 16 + l)))
    })
}

/// Masks each run of [`HEADER_DIGITS`] or more digits, keeping its ends.
fn mask_digit_runs(b: &mut [u8]) {
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run >= HEADER_DIGITS {
            b[i + 1..i + run - 1].fill(MASK);
        }
        i += run.max(1);
    }
}

/// Four upper-case hex digits.
fn hex4(c: u16) -> [u8; 4] {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    [12, 8, 4, 0].map(|shift| HEX[usize::from(c >> shift & 0xf)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_length_and_ends() {
        let mut v = *b"89547619";
        mask_value(&mut v);
        assert_eq!(&v, b"8XXXXXX9");
        let mut hex = *b"4530303434303037333832323436303139";
        mask_value(&mut hex);
        assert_eq!(&hex, b"4558585858585858585858585858585839");
        let mut short = *b"AB";
        mask_value(&mut short);
        assert_eq!(&short, b"AB");
        let mut header = *b"\\253769484_A 2M550T-1012";
        mask_digit_runs(&mut header);
        assert_eq!(&header, b"\\2XXXXXXX4_A 2M550T-1012");
    }
}
