//! Finding telegrams in a byte stream.
//!
//! A telegram runs from a header `/XXXn` (slash, three letters, a digit, or
//! `-` for the Warmtelink heat meter) to a `!` at the start of a line,
//! followed by up to four hex CRC digits (DSMR 4 and later) or by nothing
//! (DSMR 2.2/3.0). The framer accepts chunks of any
//! size, skips noise between telegrams, caps a telegram's size, and restarts
//! at a header that appears inside an unfinished telegram (a cable pulled
//! mid-line) so the next telegram still counts. A `/` that is not followed by
//! a header shape (`test-/-test` in a text message) does not cut a telegram.
//!
//! Bit 7 of every byte is cleared: a 7E1 meter (DSMR 2.2/3.0) read at 8N1
//! delivers its even-parity bit there, and P1 is a 7-bit ASCII protocol.
//! Memory is bounded by the size cap plus one input block, whatever arrives.
//! The buffer grows as bytes arrive. By default it is kept between
//! telegrams, so the steady state allocates nothing; [`Framer::release_idle`]
//! frees it once nothing is left in it instead, so an exporter of 10 000
//! meters does not keep a buffer per meter between telegrams.

use alloc::vec::Vec;
use core::fmt;

/// The default cap on a telegram's size: Belgian telegrams exceed 3 kB, the
/// largest seen is under 4 kB.
pub const DEFAULT_MAX_TELEGRAM: usize = 16 * 1024;

/// Input is copied in blocks of this size, which bounds the buffer.
const BLOCK: usize = 4 * 1024;

/// Why bytes that began like a telegram were dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A new header arrived before the `!` line: the telegram was cut off
    /// (a cable pulled mid-line, a meter restarting).
    Truncated {
        /// Bytes of the cut-off telegram that were dropped.
        bytes: usize,
        /// Stream offset of the header that cut it off, where framing
        /// resumed.
        offset: u64,
    },
    /// No `!` line within the size cap.
    TooLong {
        /// The cap in force, for the message.
        limit: usize,
        /// Stream offset of the telegram's `/`.
        offset: u64,
    },
    /// The input ended inside a telegram.
    Incomplete {
        /// Bytes of the telegram received before the end.
        bytes: usize,
        /// Stream offset of the telegram's `/`.
        offset: u64,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Truncated { bytes, offset } => write!(
                f,
                "telegram cut off after {bytes} bytes: a new header started at stream offset {offset}"
            ),
            FrameError::TooLong { limit, offset } => write!(
                f,
                "telegram longer than {limit} bytes without a '!' line (started at stream offset {offset})"
            ),
            FrameError::Incomplete { bytes, offset } => write!(
                f,
                "input ended inside a telegram of {bytes} bytes (started at stream offset {offset})"
            ),
        }
    }
}

impl core::error::Error for FrameError {}

/// What the framer found.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameEvent<'a> {
    /// A complete telegram: `/` … `!` plus the CRC digits, if any.
    Telegram(&'a [u8]),
    /// Bytes that began like a telegram but did not complete.
    Discarded(FrameError),
}

/// Counters the framer keeps about its input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameStats {
    /// Bytes skipped outside any telegram.
    pub noise_bytes: u64,
    /// Complete telegrams found.
    pub telegrams: u64,
    /// Telegrams dropped as truncated, too long or incomplete.
    pub discarded: u64,
}

/// A streaming telegram framer: feed it bytes, get telegrams back.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Where scanning resumes in `buf`.
    pos: usize,
    /// Start of the telegram in progress in `buf`.
    start: Option<usize>,
    /// Stream offset of `buf[0]`.
    base: u64,
    max: usize,
    mask: u8,
    /// Free `buf` whenever it empties ([`Framer::release_idle`]).
    release_idle: bool,
    stats: FrameStats,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new()
    }
}

impl Framer {
    /// A framer with the default size cap that clears parity bits.
    pub fn new() -> Framer {
        Framer::with_limit(DEFAULT_MAX_TELEGRAM)
    }

    /// A framer that drops telegrams longer than `max` bytes.
    pub fn with_limit(max: usize) -> Framer {
        Framer {
            // Grown on demand (and freed when empty with `release_idle`).
            buf: Vec::new(),
            pos: 0,
            start: None,
            base: 0,
            max: max.max(16),
            mask: 0x7f,
            release_idle: false,
            stats: FrameStats::default(),
        }
    }

    /// Frees the buffer whenever no telegram is in progress, at the cost of
    /// one allocation per telegram: for a program that holds many framers
    /// whose meters are silent most of the time (a telegram every 1 to
    /// 10 s, mostly read at once).
    pub fn release_idle(mut self) -> Framer {
        self.release_idle = true;
        self
    }

    /// Keeps bit 7 (for a source that is known to be 8-bit clean).
    pub fn keep_bit7(mut self) -> Framer {
        self.mask = 0xff;
        self
    }

    /// Counters about the input so far.
    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    /// Bytes held while waiting for the rest of a telegram.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds bytes; `on` is called for every telegram or discarded fragment
    /// they complete.
    pub fn feed(&mut self, data: &[u8], mut on: impl FnMut(FrameEvent<'_>)) {
        for block in data.chunks(BLOCK) {
            let mask = self.mask;
            self.buf.extend(block.iter().map(|b| b & mask));
            self.scan(&mut on);
            self.compact();
        }
    }

    /// Ends the input: a telegram whose `!` arrived completes; anything
    /// else in progress is reported as incomplete. The framer is then reset.
    pub fn finish(&mut self, mut on: impl FnMut(FrameEvent<'_>)) {
        if let Some(s) = self.start {
            match self.terminator_from(self.pos) {
                Some((_, end)) => {
                    self.stats.telegrams += 1;
                    on(FrameEvent::Telegram(&self.buf[s..end]));
                }
                None => {
                    self.stats.discarded += 1;
                    on(FrameEvent::Discarded(FrameError::Incomplete {
                        bytes: self.buf.len() - s,
                        offset: self.base + s as u64,
                    }));
                }
            }
        } else {
            self.stats.noise_bytes += (self.buf.len() - self.pos) as u64;
        }
        self.base += self.buf.len() as u64;
        self.buf = Vec::new();
        self.pos = 0;
        self.start = None;
    }

    /// At EOF: a `!` at a line start between `from` and the end, with at most
    /// 4 hex digits after it and nothing else but line ends.
    fn terminator_from(&self, from: usize) -> Option<(usize, usize)> {
        let s = self.start?;
        let rel = self.buf[from..].iter().position(|&b| b == b'!')?;
        let bang = from + rel;
        if bang == s || self.buf[bang - 1] != b'\n' {
            return None;
        }
        let digits = self.buf[bang + 1..]
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        Some((bang, bang + 1 + digits))
    }

    /// Runs over the new bytes until they are used up or a telegram's end
    /// (a header, a CRC digit) is still to come.
    fn scan(&mut self, on: &mut impl FnMut(FrameEvent<'_>)) {
        loop {
            let go_on = match self.start {
                None => self.seek_header(),
                Some(s) => self.seek_end(s, on),
            };
            if !go_on {
                return;
            }
        }
    }

    /// Between telegrams: skips noise up to the next header. `false` when
    /// the bytes are used up or a possible header is still arriving.
    #[inline]
    fn seek_header(&mut self) -> bool {
        let Some(rel) = memchr::memchr(b'/', &self.buf[self.pos..]) else {
            self.stats.noise_bytes += (self.buf.len() - self.pos) as u64;
            self.pos = self.buf.len();
            return false;
        };
        let at = self.pos + rel;
        self.stats.noise_bytes += rel as u64;
        match is_header(&self.buf[at..]) {
            None => {
                self.pos = at;
                return false; // wait for the header's bytes
            }
            Some(true) => self.start = Some(at),
            Some(false) => self.stats.noise_bytes += 1,
        }
        self.pos = at + 1;
        true
    }

    /// Inside the telegram that starts at `s`: only '/' (a header that cuts
    /// it off) and '!' (its end) matter. `false` when the bytes are used up
    /// or the end is still arriving.
    #[inline]
    fn seek_end(&mut self, s: usize, on: &mut impl FnMut(FrameEvent<'_>)) -> bool {
        let Some(rel) = memchr::memchr2(b'/', b'!', &self.buf[self.pos..]) else {
            self.pos = self.buf.len();
            self.check_size(s, on);
            return false;
        };
        let at = self.pos + rel;
        if self.buf[at] == b'/' {
            self.slash_inside(s, at, on)
        } else {
            self.bang_inside(s, at, on)
        }
    }

    /// A '/' at `at` inside the telegram from `s`: a header there means the
    /// telegram was cut off (a cable pulled mid-line), and the new one
    /// counts; any other '/' is text (`test-/-test`).
    #[inline]
    fn slash_inside(&mut self, s: usize, at: usize, on: &mut impl FnMut(FrameEvent<'_>)) -> bool {
        match is_header(&self.buf[at..]) {
            None => {
                self.pos = at;
                self.check_size(s, on);
                return false;
            }
            Some(true) => {
                self.stats.discarded += 1;
                on(FrameEvent::Discarded(FrameError::Truncated {
                    bytes: at - s,
                    offset: self.base + at as u64,
                }));
                self.start = Some(at);
            }
            Some(false) => {}
        }
        self.pos = at + 1;
        true
    }

    /// A '!' at `at` inside the telegram from `s`: its end only at the start
    /// of a line (a '!' in a value is text), once the CRC digits are in.
    #[inline]
    fn bang_inside(&mut self, s: usize, at: usize, on: &mut impl FnMut(FrameEvent<'_>)) -> bool {
        if self.buf[at - 1] != b'\n' {
            self.pos = at + 1;
            return true;
        }
        let after = &self.buf[at + 1..];
        let digits = after
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if digits < 4 && digits == after.len() {
            // The CRC may still be arriving.
            self.pos = at;
            self.check_size(s, on);
            return false;
        }
        let end = at + 1 + digits;
        self.stats.telegrams += 1;
        on(FrameEvent::Telegram(&self.buf[s..end]));
        self.start = None;
        self.pos = end;
        true
    }

    fn check_size(&mut self, s: usize, on: &mut impl FnMut(FrameEvent<'_>)) {
        if self.buf.len() - s > self.max {
            self.stats.discarded += 1;
            on(FrameEvent::Discarded(FrameError::TooLong {
                limit: self.max,
                offset: self.base + s as u64,
            }));
            self.start = None;
            self.pos = self.buf.len();
        }
    }

    /// Drops the bytes before the telegram in progress (or all of them,
    /// between telegrams), and frees the buffer once it is empty: a meter
    /// sends a telegram every 1 to 10 s, mostly read at once, so holding
    /// its bytes between telegrams is memory held for nothing.
    fn compact(&mut self) {
        let keep_from = self.start.unwrap_or(self.pos);
        if self.release_idle && keep_from == self.buf.len() {
            self.base += keep_from as u64;
            self.pos = 0;
            self.start = self.start.map(|_| 0);
            self.buf = Vec::new();
            return;
        }
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.base += keep_from as u64;
            self.pos -= keep_from;
            if let Some(s) = self.start.as_mut() {
                *s -= keep_from;
            }
        }
    }
}

/// The fifth byte of a header: a digit (`/ISK5`), or the `-` that the
/// Warmtelink heat meter sends (`/NWA-WARMTELINK`).
fn is_header_fifth(c: u8) -> bool {
    c.is_ascii_digit() || c == b'-'
}

/// True if `s` starts with a telegram header: `/`, three letters, then a
/// digit or `-` (see [`is_header_fifth`]).
pub(crate) fn starts_with_header(s: &[u8]) -> bool {
    is_header(s) == Some(true)
}

/// `Some(true)` if `s` starts with `/` + three letters + a digit or `-`,
/// `None` if there are not yet enough bytes to tell.
fn is_header(s: &[u8]) -> Option<bool> {
    if s.first() != Some(&b'/') {
        return Some(false);
    }
    if s.len() < 5 {
        // Fail early on what can already be told.
        let ok = s
            .iter()
            .enumerate()
            .skip(1)
            .all(|(i, c)| i < 4 && c.is_ascii_alphabetic());
        return if ok { None } else { Some(false) };
    }
    Some(
        s[1].is_ascii_alphabetic()
            && s[2].is_ascii_alphabetic()
            && s[3].is_ascii_alphabetic()
            && is_header_fifth(s[4]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::prelude::rust_2021::*;

    fn frames(input: &[u8], chunk: usize) -> Vec<Result<Vec<u8>, FrameError>> {
        let mut f = Framer::new();
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            f.feed(c, |e| match e {
                FrameEvent::Telegram(t) => out.push(Ok(t.to_vec())),
                FrameEvent::Discarded(e) => out.push(Err(e)),
            });
        }
        f.finish(|e| match e {
            FrameEvent::Telegram(t) => out.push(Ok(t.to_vec())),
            FrameEvent::Discarded(e) => out.push(Err(e)),
        });
        out
    }

    const T1: &[u8] = b"/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(000001.000*kWh)\r\n!ABCD\r\n";

    #[test]
    fn one_telegram_any_chunking() {
        for chunk in [1, 2, 3, 7, 1000] {
            let got = frames(T1, chunk);
            assert_eq!(got.len(), 1, "chunk {chunk}");
            assert_eq!(got[0].as_ref().unwrap(), &T1[..T1.len() - 2]);
        }
    }

    #[test]
    fn holds_no_buffer_between_telegrams_when_asked() {
        let mut kept = Framer::new();
        kept.feed(T1, |_| {});
        assert!(
            kept.buf.capacity() > 0,
            "kept by default: no allocation per telegram"
        );
        let mut f = Framer::new().release_idle();
        assert_eq!(f.buf.capacity(), 0, "nothing reserved up front");
        let mut n = 0;
        f.feed(&T1[..20], |_| n += 1);
        assert!(f.buf.capacity() >= 20, "a telegram in progress is held");
        f.feed(&T1[20..], |_| n += 1);
        assert_eq!(n, 1);
        assert_eq!(f.buf.capacity(), 0, "freed once the telegram is out");
        // And the next telegram still frames, at the right stream offset.
        let mut input = b"noise".to_vec();
        input.extend_from_slice(&T1[..10]);
        f.feed(&input, |_| {});
        let mut cut = None;
        f.feed(T1, |e| {
            if let FrameEvent::Discarded(FrameError::Truncated { offset, .. }) = e {
                cut = Some(offset);
            }
        });
        assert_eq!(cut, Some((T1.len() + 5 + 10) as u64));
    }

    #[test]
    fn noise_slash_and_bang_inside() {
        let input = b"garbage/x\r\n/ISk5MT\r\n\r\n0-0:96.13.0(test-/-test)\r\n1-0:1.8.1(1*kWh!\r\n!\r\nmore";
        let got = frames(input, 3);
        assert_eq!(got.len(), 1);
        let t = got[0].as_ref().unwrap();
        assert!(t.starts_with(b"/ISk5MT"));
        assert!(t.ends_with(b"\n!"));
    }

    #[test]
    fn cut_off_telegram_then_good_one() {
        let mut input = b"/XMX5LG\r\n\r\n1-0:1.7.0(00.193*kW)".to_vec();
        input.extend_from_slice(T1);
        let got = frames(&input, 5);
        assert!(matches!(got[0], Err(FrameError::Truncated { .. })));
        assert_eq!(got[1].as_ref().unwrap(), &T1[..T1.len() - 2]);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn endless_stream_is_capped() {
        let mut f = Framer::with_limit(1024);
        let mut discarded = 0;
        f.feed(b"/ABC5\r\n", |_| {});
        for _ in 0..1000 {
            f.feed(&[b'x'; 997], |e| {
                if let FrameEvent::Discarded(FrameError::TooLong { .. }) = e {
                    discarded += 1
                }
            });
            assert!(f.buffered() <= 1024 + BLOCK);
        }
        assert_eq!(discarded, 1);
    }

    #[test]
    fn parity_bit_is_cleared() {
        let with_parity: Vec<u8> = T1
            .iter()
            .map(|&b| if b.count_ones() % 2 == 1 { b | 0x80 } else { b })
            .collect();
        let got = frames(&with_parity, 11);
        assert_eq!(got[0].as_ref().unwrap(), &T1[..T1.len() - 2]);
    }

    #[test]
    fn three_digit_crc_and_no_crc_at_eof() {
        let t = b"/NWA5\r\n\r\n0-1:24.1.0(004)\r\n!B9F\r\n";
        assert_eq!(frames(t, 1)[0].as_ref().unwrap(), &t[..t.len() - 2]);
        let t = b"/ISk5\r\n\r\n0-1:24.4.0(1)\r\n!";
        assert_eq!(frames(t, 1)[0].as_ref().unwrap(), &t[..]);
        let t = b"/ISk5\r\n\r\n0-1:24.4.0(1)\r\n";
        assert!(matches!(
            frames(t, 1)[0],
            Err(FrameError::Incomplete { .. })
        ));
    }
}
