//! Luxembourg (Smarty) encrypted P1 frames.
//!
//! Smarty meters wrap each DSMR telegram in a DLMS general-glo-ciphering
//! frame (security suite 0, AES-128-GCM):
//!
//! | bytes  | field                                                      |
//! |--------|------------------------------------------------------------|
//! | 1      | tag `0xDB`                                                 |
//! | 1      | system-title length, always 8                              |
//! | 8      | system title (manufacturer + serial)                       |
//! | 1–3    | BER length `L` of the rest: `n`, `0x81 n` or `0x82 hi lo`  |
//! | 1      | security control byte `0x30` (authenticated and encrypted) |
//! | 4      | frame counter, big-endian                                  |
//! | L − 17 | ciphertext (as long as the plaintext telegram)             |
//! | 12     | GCM tag                                                    |
//!
//! The nonce is system title ‖ frame counter; the associated data is `0x30` ‖
//! authentication key, or nothing for meters set up without one. The key
//! choice is explicit ([`SmartyKeys::auth_key`]) rather than guessed, so a
//! frame that only verifies under the other variant is an error, not a
//! silent downgrade.
//!
//! Frames follow each other with no delimiter, so only the length field marks
//! a boundary. A bad header costs one byte: the search resumes at the next
//! `0xDB`. A frame that fails authentication gives no trustworthy length
//! either (it may be a cut-off frame whose "rest" is the next frame), so the
//! search resumes at the next `0xDB 0x08` inside it. So no complete genuine
//! frame is skipped, while a wrong key still costs about one error per frame.
//!
//! Memory is bounded: the buffer never holds more than one frame of the
//! maximum size, and [`SmartyDeframer::decode`] reads whole frames straight
//! from the caller's slice, copying only a frame split across reads.

use alloc::vec::Vec;
use core::fmt;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aes::Aes128;
use aes_gcm::{AeadInPlace, AesGcm, KeyInit};

/// Smarty uses a 12-byte nonce and truncates the GCM tag to 12 bytes.
type SmartyGcm = AesGcm<Aes128, U12, U12>;

/// The default cap on the length field: a Smarty frame is about 1.5 kB, and
/// the cap decides how long a false `0xDB` in line noise can hold up the
/// stream.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024;

/// The general-glo-ciphering tag that starts every frame.
const TAG: u8 = 0xDB;
/// DLMS system titles are 8 bytes; anything else is not a Smarty frame.
const TITLE_LEN: u8 = 8;
/// Security suite 0 with authentication and encryption; the only mode the
/// meters use.
const SECURITY_CONTROL: u8 = 0x30;
const GCM_TAG_LEN: usize = 12;
/// Security byte + frame counter + tag: the length of an empty frame.
const MIN_LEN: usize = 1 + 4 + GCM_TAG_LEN;
/// `0x82 hi lo` is the longest length form.
const MAX_LEN: usize = 0xFFFF;
/// Tag, title length, title and the longest length form.
const MAX_HEADER: usize = 2 + TITLE_LEN as usize + 3;

/// The keys for one meter.
///
/// `Debug` prints `<redacted>` so that keys do not end up in logs.
#[derive(Clone)]
pub struct SmartyKeys {
    /// The per-meter key (GUEK) from the grid operator.
    pub encryption_key: [u8; 16],
    /// Part of the GCM associated data; `None` for frames sealed with an
    /// empty AAD.
    pub auth_key: Option<[u8; 16]>,
}

impl SmartyKeys {
    /// The authentication key reported to be shared by all Smarty meters.
    pub const SMARTY_AUTH_KEY: [u8; 16] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE,
        0xFF,
    ];

    /// Parses keys given as 32 hex digits each (either case; surrounding
    /// whitespace, such as a newline from a key file, is ignored).
    pub fn from_hex(enc: &str, auth: Option<&str>) -> Result<SmartyKeys, KeyError> {
        Ok(SmartyKeys {
            encryption_key: parse_key(KeyKind::Encryption, enc)?,
            auth_key: auth
                .map(|a| parse_key(KeyKind::Authentication, a))
                .transpose()?,
        })
    }
}

/// Compares the key bytes: lets configurations that hold keys be compared
/// in tests. Not constant-time; nothing secret depends on the result.
impl PartialEq for SmartyKeys {
    fn eq(&self, other: &SmartyKeys) -> bool {
        self.encryption_key == other.encryption_key && self.auth_key == other.auth_key
    }
}

impl Eq for SmartyKeys {}

impl fmt::Debug for SmartyKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartyKeys")
            .field("encryption_key", &Redacted)
            .field("auth_key", &self.auth_key.map(|_| Redacted))
            .finish()
    }
}

struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Which key a [`KeyError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Encryption,
    Authentication,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyKind::Encryption => "encryption key",
            KeyKind::Authentication => "authentication key",
        })
    }
}

/// A key string that is not 16 bytes of hex. The messages never repeat the
/// key's digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Not 32 characters.
    Length { key: KeyKind, chars: usize },
    /// A character (1-based `position`) that is not a hex digit.
    NotHex { key: KeyKind, position: usize },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Length { key, chars } => write!(
                f,
                "{key} must be 32 hex digits (16 bytes), got {chars} characters"
            ),
            KeyError::NotHex { key, position } => {
                write!(f, "{key}: character {position} is not a hex digit")
            }
        }
    }
}

impl core::error::Error for KeyError {}

fn parse_key(key: KeyKind, s: &str) -> Result<[u8; 16], KeyError> {
    let s = s.trim();
    let chars = s.chars().count();
    if chars != 32 {
        return Err(KeyError::Length { key, chars });
    }
    let mut out = [0u8; 16];
    for (i, c) in s.chars().enumerate() {
        let digit = c.to_digit(16).ok_or(KeyError::NotHex {
            key,
            position: i + 1,
        })?;
        if let Some(byte) = out.get_mut(i / 2) {
            *byte = (*byte << 4) | digit as u8;
        }
    }
    Ok(out)
}

/// Why bytes that began like a frame yielded no telegram. `offset` is the
/// stream offset of the frame's `0xDB` (bytes since the deframer started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmartyError {
    /// The byte after `0xDB` is not 8.
    SystemTitleLength { offset: u64, len: u8 },
    /// The length field is not `n`, `0x81 n` or `0x82 hi lo`.
    LengthEncoding { offset: u64, byte: u8 },
    /// The length field exceeds the deframer's cap.
    TooLong { offset: u64, len: usize, max: usize },
    /// The length field cannot even hold the security byte, counter and tag.
    TooShort { offset: u64, len: usize },
    /// A security control byte other than `0x30`.
    SecurityControl { offset: u64, byte: u8 },
    /// Wrong encryption key, an auth key where none was used (or the reverse),
    /// or a corrupted frame. No plaintext is released.
    Authentication { offset: u64, frame_counter: u32 },
    /// [`SmartyDeframer::finish`] found a frame that never completed.
    Incomplete { offset: u64, bytes: usize },
}

impl fmt::Display for SmartyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SmartyError::SystemTitleLength { offset, len } => write!(
                f,
                "frame at stream offset {offset}: system-title length {len}, expected 8"
            ),
            SmartyError::LengthEncoding { offset, byte } => write!(
                f,
                "frame at stream offset {offset}: unsupported length prefix 0x{byte:02x} (expected < 0x80, 0x81 or 0x82)"
            ),
            SmartyError::TooLong { offset, len, max } => write!(
                f,
                "frame at stream offset {offset}: length {len} exceeds the {max}-byte limit"
            ),
            SmartyError::TooShort { offset, len } => write!(
                f,
                "frame at stream offset {offset}: length {len} is below the 17 bytes of security byte, frame counter and tag"
            ),
            SmartyError::SecurityControl { offset, byte } => write!(
                f,
                "frame at stream offset {offset}: security control byte 0x{byte:02x}, expected 0x30 (suite 0, authenticated and encrypted)"
            ),
            SmartyError::Authentication {
                offset,
                frame_counter,
            } => write!(
                f,
                "frame at stream offset {offset} (frame counter {frame_counter}): authentication failed: wrong encryption key, wrong or missing authentication key, or corrupted frame"
            ),
            SmartyError::Incomplete { offset, bytes } => write!(
                f,
                "input ended inside a frame at stream offset {offset} after {bytes} bytes"
            ),
        }
    }
}

impl core::error::Error for SmartyError {}

/// An authenticated, decrypted frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decrypted<'a> {
    plaintext: &'a [u8],
    system_title: [u8; 8],
    frame_counter: u32,
    offset: u64,
    noise_before: u64,
    replay: bool,
}

impl<'a> Decrypted<'a> {
    /// The DSMR telegram (`/` … `!CRC`) as the meter sent it.
    pub fn plaintext(&self) -> &'a [u8] {
        self.plaintext
    }

    /// Identifies the meter (real meters start with "SAG").
    pub fn system_title(&self) -> [u8; 8] {
        self.system_title
    }

    pub fn frame_counter(&self) -> u32 {
        self.frame_counter
    }

    /// Stream offset of the frame's `0xDB`.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Noise bytes skipped since the previous frame or error.
    pub fn noise_before(&self) -> u64 {
        self.noise_before
    }

    /// The frame counter did not increase since the last frame from this
    /// system title. A meter never reuses a counter, so this is a replayed
    /// (or re-sent) frame; the caller decides whether to drop it.
    pub fn is_replay(&self) -> bool {
        self.replay
    }
}

/// Counters about the input so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmartyStats {
    /// Bytes skipped outside any frame.
    pub noise_bytes: u64,
    /// Frames that authenticated.
    pub frames: u64,
    /// Errors returned (each dropped at least one byte).
    pub errors: u64,
}

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
    decryptor: Decryptor,
}

/// Everything but the input buffer, so that a frame can be decrypted while
/// the buffer is borrowed.
struct Decryptor {
    cipher: SmartyGcm,
    aad: Option<[u8; 17]>,
    max_len: usize,
    /// Plaintext of the last frame; reused.
    out: Vec<u8>,
    last: Option<([u8; 8], u32)>,
    noise_since_event: u64,
    stats: SmartyStats,
}

/// What one look at the pending bytes found.
enum Step {
    /// Progress needs at least this many pending bytes.
    NeedMore(usize),
    /// Noise to drop.
    Skip(usize),
    /// Drop this many bytes and report.
    Emit(usize, Result<FrameMeta, SmartyError>),
}

/// A [`Decrypted`] without its borrow of the plaintext buffer.
struct FrameMeta {
    system_title: [u8; 8],
    frame_counter: u32,
    offset: u64,
    noise_before: u64,
    replay: bool,
}

/// The parts of a complete frame in the pending bytes.
struct Header<'a> {
    system_title: [u8; 8],
    frame_counter: u32,
    ciphertext: &'a [u8],
    tag: [u8; GCM_TAG_LEN],
    /// Length of the whole frame.
    total: usize,
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
        let aad = keys.auth_key.map(|k| {
            let mut aad = [0u8; 17];
            let (first, rest) = aad.split_at_mut(1);
            first.fill(SECURITY_CONTROL);
            rest.copy_from_slice(&k);
            aad
        });
        let capacity = MAX_HEADER + max_len;
        SmartyDeframer {
            buf: Vec::with_capacity(capacity),
            start: 0,
            capacity,
            offset: 0,
            decryptor: Decryptor {
                cipher: SmartyGcm::new(&GenericArray::from(keys.encryption_key)),
                aad,
                max_len,
                out: Vec::with_capacity(max_len),
                last: None,
                noise_since_event: 0,
                stats: SmartyStats::default(),
            },
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
            let noise = bytes.iter().position(|&b| b == TAG).unwrap_or(bytes.len());
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
        self.decryptor.stats.errors += 1;
        self.decryptor.noise_since_event = 0;
        Some(SmartyError::Incomplete { offset, bytes })
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

    pub fn stats(&self) -> SmartyStats {
        self.decryptor.stats
    }

    fn pending(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

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
            .field("with_auth_key", &self.decryptor.aad.is_some())
            .field("max_len", &self.decryptor.max_len)
            .field("buffered", &self.buffered_len())
            .field("offset", &self.offset)
            .field("stats", &self.decryptor.stats)
            .finish()
    }
}

impl Decryptor {
    fn count_noise(&mut self, n: usize) {
        self.noise_since_event += n as u64;
        self.stats.noise_bytes += n as u64;
    }

    /// Looks at `data`, the unconsumed bytes starting at stream `offset`.
    fn step(&mut self, data: &[u8], offset: u64) -> Step {
        match data.first() {
            None => return Step::NeedMore(1),
            Some(&TAG) => {}
            Some(_) => {
                let n = data.iter().position(|&b| b == TAG).unwrap_or(data.len());
                self.count_noise(n);
                return Step::Skip(n);
            }
        }
        let header = match parse_header(data, offset, self.max_len) {
            Ok(Ok(header)) => header,
            Ok(Err(need)) => return Step::NeedMore(need),
            Err(e) => return self.fail(1, e),
        };
        let mut nonce = [0u8; 12];
        let (title, counter) = nonce.split_at_mut(8);
        title.copy_from_slice(&header.system_title);
        counter.copy_from_slice(&header.frame_counter.to_be_bytes());
        let aad = self.aad.as_ref().map_or(&[][..], |a| &a[..]);

        self.out.clear();
        self.out.extend_from_slice(header.ciphertext);
        let verified = self.cipher.decrypt_in_place_detached(
            &GenericArray::from(nonce),
            aad,
            &mut self.out,
            &GenericArray::from(header.tag),
        );
        if verified.is_err() {
            self.out.clear();
            let skip = resync_after_failure(data, header.total);
            let error = SmartyError::Authentication {
                offset,
                frame_counter: header.frame_counter,
            };
            return self.fail(skip, error);
        }

        let replay = matches!(self.last, Some((title, last))
            if title == header.system_title && header.frame_counter <= last);
        if !replay {
            self.last = Some((header.system_title, header.frame_counter));
        }
        self.stats.frames += 1;
        let meta = FrameMeta {
            system_title: header.system_title,
            frame_counter: header.frame_counter,
            offset,
            noise_before: core::mem::take(&mut self.noise_since_event),
            replay,
        };
        Step::Emit(header.total, Ok(meta))
    }

    fn fail(&mut self, skip: usize, error: SmartyError) -> Step {
        self.stats.errors += 1;
        self.noise_since_event = 0;
        Step::Emit(skip, Err(error))
    }

    fn decrypted(&self, meta: FrameMeta) -> Decrypted<'_> {
        Decrypted {
            plaintext: &self.out,
            system_title: meta.system_title,
            frame_counter: meta.frame_counter,
            offset: meta.offset,
            noise_before: meta.noise_before,
            replay: meta.replay,
        }
    }
}

/// Parses the header of the frame at the start of `data` (which begins with
/// `0xDB`), checking each field as soon as it is there so that a false start
/// fails early. `Ok(Err(n))`: the frame is incomplete, `n` bytes are needed
/// to go on.
fn parse_header<'a>(
    data: &'a [u8],
    offset: u64,
    max_len: usize,
) -> Result<Result<Header<'a>, usize>, SmartyError> {
    let byte = |i: usize| data.get(i).copied().ok_or(i + 1);
    let title_len = match byte(1) {
        Ok(b) => b,
        Err(need) => return Ok(Err(need)),
    };
    if title_len != TITLE_LEN {
        return Err(SmartyError::SystemTitleLength {
            offset,
            len: title_len,
        });
    }
    let title_end = 2 + TITLE_LEN as usize;
    let (len, len_end) = match byte(title_end) {
        Err(need) => return Ok(Err(need)),
        Ok(b) if b < 0x80 => (usize::from(b), title_end + 1),
        Ok(0x81) => match byte(title_end + 1) {
            Ok(n) => (usize::from(n), title_end + 2),
            Err(need) => return Ok(Err(need)),
        },
        Ok(0x82) => match (byte(title_end + 1), byte(title_end + 2)) {
            (Ok(hi), Ok(lo)) => (usize::from(u16::from_be_bytes([hi, lo])), title_end + 3),
            (Err(need), _) | (_, Err(need)) => return Ok(Err(need)),
        },
        Ok(b) => return Err(SmartyError::LengthEncoding { offset, byte: b }),
    };
    if len > max_len {
        return Err(SmartyError::TooLong {
            offset,
            len,
            max: max_len,
        });
    }
    if len < MIN_LEN {
        return Err(SmartyError::TooShort { offset, len });
    }
    match byte(len_end) {
        Ok(SECURITY_CONTROL) => {}
        Ok(b) => return Err(SmartyError::SecurityControl { offset, byte: b }),
        Err(need) => return Ok(Err(need)),
    }
    let total = len_end + len;
    let Some(frame) = data.get(..total) else {
        return Ok(Err(total));
    };
    let system_title = frame.get(2..).and_then(|t| t.first_chunk::<8>());
    let body = frame
        .get(len_end + 1..)
        .and_then(|b| b.split_first_chunk::<4>());
    let too_short = SmartyError::TooShort { offset, len };
    let (Some(system_title), Some((counter, rest))) = (system_title, body) else {
        return Err(too_short); // unreachable: both lie inside `total`
    };
    let Some((ciphertext, tag)) = rest.split_last_chunk::<GCM_TAG_LEN>() else {
        return Err(too_short); // unreachable: `len` was checked
    };
    Ok(Ok(Header {
        system_title: *system_title,
        frame_counter: u32::from_be_bytes(*counter),
        ciphertext,
        tag: *tag,
        total,
    }))
}

/// How far to skip after a frame of `total` bytes failed authentication: to
/// the first `0xDB 0x08` inside it (the `0x08` may lie just past it), where
/// the next frame may start if this one was cut off; else past it.
fn resync_after_failure(data: &[u8], total: usize) -> usize {
    (1..total)
        .find(|&p| data.get(p) == Some(&TAG) && matches!(data.get(p + 1), None | Some(&TITLE_LEN)))
        .unwrap_or(total)
}
