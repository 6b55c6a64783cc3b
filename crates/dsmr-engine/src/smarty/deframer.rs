//! The stream side: bytes of any chunking in, one frame at a time out, with
//! memory bounded by one maximum-size frame.

use alloc::vec::Vec;
use core::fmt;

use super::decrypt::{Decrypted, Decryptor, FrameMeta, SmartyStats, Step};
use super::header::{MAX_HEADER, MAX_LEN, MIN_LEN, TAG};
use super::keys::Redacted;
use super::{SmartyError, SmartyKeys};

/// The default cap on the length field: a Smarty frame is about 1.5 kB, and
/// the cap decides how long a false `0xDB` in line noise can hold up the
/// stream.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024;

/// A streaming deframer and decryptor: bytes in, telegrams out.
///
/// ```
/// use dsmr_engine::smarty::{SmartyDeframer, SmartyKeys};
/// let keys = SmartyKeys::from_hex("0123456789abcdef0123456789abcdef", None).unwrap();
/// let mut deframer = SmartyDeframer::new(keys);
/// let mut input: &[u8] = b"noise without a frame";
/// while let Some(result) = deframer.decode(&mut input) {
///     match result {
///         Ok(frame) => println!("{}", String::from_utf8_lossy(frame.plaintext())),
///         Err(e) => eprintln!("{e}"),
///     }
/// }
/// assert_eq!(deframer.stats().noise_bytes, 21);
/// ```
pub struct SmartyDeframer {
    /// Bytes of a frame split across reads, and whatever [`push`] added.
    ///
    /// [`push`]: SmartyDeframer::push
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    /// `buf` never grows past this: one maximum-size frame.
    capacity: usize,
    /// Stream offset of the first unconsumed byte.
    offset: u64,
    /// The cipher, the plaintext buffer and the counters.
    decryptor: Decryptor,
}

impl SmartyDeframer {
    /// A deframer with the [`DEFAULT_MAX_FRAME_LEN`] cap.
    pub fn new(keys: SmartyKeys) -> SmartyDeframer {
        SmartyDeframer::with_max_frame_len(keys, DEFAULT_MAX_FRAME_LEN)
    }

    /// A deframer that rejects length fields above `max_len` (clamped to
    /// 17..=65535, the range the length field can express).
    pub fn with_max_frame_len(keys: SmartyKeys, max_len: usize) -> SmartyDeframer {
        let max_len = max_len.clamp(MIN_LEN, MAX_LEN);
        let capacity = MAX_HEADER + max_len;
        SmartyDeframer {
            buf: Vec::with_capacity(capacity),
            start: 0,
            capacity,
            offset: 0,
            decryptor: Decryptor::new(&keys, max_len),
        }
    }

    /// Takes the next frame or error from `input`, advancing it past the bytes
    /// used. `None` means `input` is used up (a partial frame is kept for the
    /// next call). Whole frames are decrypted straight from `input`.
    pub fn decode(&mut self, input: &mut &[u8]) -> Option<Result<Decrypted<'_>, SmartyError>> {
        let event = self.advance(input)?;
        Some(event.map(|meta| self.decryptor.decrypted(meta)))
    }

    /// Copies bytes in and returns how many were taken: fewer than offered
    /// when the buffer is full, so call [`next_frame`] until `None` and push
    /// the rest. Leading noise is dropped without buffering.
    ///
    /// [`next_frame`]: SmartyDeframer::next_frame
    #[must_use = "bytes beyond the returned count were not taken"]
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        let mut taken = 0;
        let mut bytes = bytes;
        if self.pending().is_empty() {
            let noise = memchr::memchr(TAG, bytes).unwrap_or(bytes.len());
            self.decryptor.count_noise(noise);
            self.offset += noise as u64;
            taken = noise;
            bytes = bytes.get(noise..).unwrap_or_default();
        }
        self.compact(bytes.len());
        let room = self.capacity.saturating_sub(self.buf.len());
        let n = bytes.len().min(room);
        self.buf
            .extend_from_slice(bytes.get(..n).unwrap_or_default());
        taken + n
    }

    /// The next frame or error from the pushed bytes; `None` when they hold
    /// no complete frame.
    pub fn next_frame(&mut self) -> Option<Result<Decrypted<'_>, SmartyError>> {
        self.decode(&mut &[][..])
    }

    /// Ends the input (EOF, reconnect): reports a frame that never completed
    /// and clears the buffer. Call it once `decode`/`next_frame` return
    /// `None`; anything still buffered then is the start of a frame.
    pub fn finish(&mut self) -> Option<SmartyError> {
        let bytes = self.pending().len();
        let offset = self.offset;
        self.offset += bytes as u64;
        self.buf.clear();
        self.start = 0;
        if bytes == 0 {
            return None;
        }
        self.decryptor.count_error();
        Some(SmartyError::Incomplete { offset, bytes })
    }

    /// Starts a new stream with the same keys: the buffers and the keyed
    /// cipher are kept, everything the stream taught (offset, counters, the
    /// last frame counter that replays are judged against) is forgotten.
    /// Cheaper than a new deframer where streams are many and short.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.offset = 0;
        self.decryptor.reset();
    }

    /// Bytes held while waiting for the rest of a frame.
    pub fn buffered_len(&self) -> usize {
        self.pending().len()
    }

    /// The most [`buffered_len`](SmartyDeframer::buffered_len) can reach.
    pub fn buffer_capacity(&self) -> usize {
        self.capacity
    }

    /// Stream offset of the next byte to be examined.
    pub fn stream_offset(&self) -> u64 {
        self.offset
    }

    /// Counters about the input so far; copied out, so a metrics scrape
    /// need not hold the deframer.
    pub fn stats(&self) -> SmartyStats {
        self.decryptor.stats()
    }

    /// The buffered bytes not yet consumed.
    fn pending(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// Drops `n` pending bytes; an emptied buffer restarts at its front.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len().saturating_sub(self.start));
        self.start += n;
        self.offset += n as u64;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
    }

    /// Moves the pending bytes to the front, only when `incoming` would not
    /// fit otherwise, so that small reads do not copy the buffer each time.
    fn compact(&mut self, incoming: usize) {
        if self.start > 0 && self.capacity.saturating_sub(self.buf.len()) < incoming {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Runs the decryptor over the pending bytes, or straight over `input`
    /// when nothing is pending, until a frame or an error comes out.
    fn advance(&mut self, input: &mut &[u8]) -> Option<Result<FrameMeta, SmartyError>> {
        loop {
            if self.pending().is_empty() {
                // Nothing buffered: work on the caller's bytes in place.
                match self.decryptor.step(input, self.offset) {
                    Step::NeedMore(_) => {
                        if input.is_empty() {
                            return None;
                        }
                        // A partial frame: it fits, being shorter than
                        // `capacity`.
                        let n = self.push(input);
                        *input = input.get(n..).unwrap_or_default();
                    }
                    Step::Skip(n) => {
                        self.offset += n as u64;
                        *input = input.get(n..).unwrap_or_default();
                    }
                    Step::Emit(n, event) => {
                        self.offset += n as u64;
                        *input = input.get(n..).unwrap_or_default();
                        return Some(event);
                    }
                }
            } else {
                let pending = self.buf.get(self.start..).unwrap_or_default();
                match self.decryptor.step(pending, self.offset) {
                    Step::NeedMore(need) => {
                        if input.is_empty() {
                            return None;
                        }
                        // Copy only up to the frame's end, so that the
                        // following frames can be read in place.
                        let want = need.saturating_sub(pending.len()).max(1);
                        let chunk = input.get(..want.min(input.len())).unwrap_or_default();
                        let n = self.push(chunk);
                        if n == 0 {
                            // Cannot happen: a partial frame leaves room.
                            return None;
                        }
                        *input = input.get(n..).unwrap_or_default();
                    }
                    Step::Skip(n) => self.consume(n),
                    Step::Emit(n, event) => {
                        self.consume(n);
                        return Some(event);
                    }
                }
            }
        }
    }
}

impl fmt::Debug for SmartyDeframer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartyDeframer")
            .field("keys", &Redacted)
            .field("with_auth_key", &self.decryptor.has_auth_key())
            .field("max_len", &self.decryptor.max_len())
            .field("buffered", &self.buffered_len())
            .field("offset", &self.offset)
            .field("stats", &self.decryptor.stats())
            .finish()
    }
}
