//! Authenticating and decrypting one frame, and what a frame gives back.

use alloc::vec::Vec;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aes::Aes128;
use aes_gcm::{AeadInPlace, AesGcm, KeyInit};

use super::header::{parse_header, resync_after_failure, SECURITY_CONTROL, TAG};
use super::{SmartyError, SmartyKeys};

/// Smarty uses a 12-byte nonce and truncates the GCM tag to 12 bytes.
type SmartyGcm = AesGcm<Aes128, U12, U12>;

/// An authenticated, decrypted frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decrypted<'a> {
    /// Borrowed from the decryptor's reused buffer: no copy per frame.
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

    /// The meter's frame counter, which rises with every frame: a gap means
    /// frames were lost, a repeat is flagged by [`Decrypted::is_replay`].
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

/// Counters about the input so far, for the exporter's metrics: noise and
/// errors that rise together point at the line or the keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmartyStats {
    /// Bytes skipped outside any frame.
    pub noise_bytes: u64,
    /// Frames that authenticated.
    pub frames: u64,
    /// Errors returned (each dropped at least one byte).
    pub errors: u64,
}

/// Everything but the input buffer, so that a frame can be decrypted while
/// the buffer is borrowed.
pub(super) struct Decryptor {
    cipher: SmartyGcm,
    /// `0x30` ‖ auth key, built once rather than per frame.
    aad: Option<[u8; 17]>,
    /// The cap on the length field.
    max_len: usize,
    /// Plaintext of the last frame; reused.
    out: Vec<u8>,
    /// System title and counter of the last frame that was not a replay.
    last: Option<([u8; 8], u32)>,
    /// Noise since the last frame or error, for [`Decrypted::noise_before`].
    noise_since_event: u64,
    stats: SmartyStats,
}

/// What one look at the pending bytes found.
pub(super) enum Step {
    /// Progress needs at least this many pending bytes.
    NeedMore(usize),
    /// Noise to drop.
    Skip(usize),
    /// Drop this many bytes and report.
    Emit(usize, Result<FrameMeta, SmartyError>),
}

/// A [`Decrypted`] without its borrow of the plaintext buffer.
pub(super) struct FrameMeta {
    system_title: [u8; 8],
    frame_counter: u32,
    offset: u64,
    noise_before: u64,
    replay: bool,
}

impl Decryptor {
    /// Sets up the cipher once per meter: the AAD is `0x30` ‖ auth key, or
    /// empty for a meter sealed without one.
    pub(super) fn new(keys: &SmartyKeys, max_len: usize) -> Decryptor {
        let aad = keys.auth_key.map(|k| {
            let mut aad = [0u8; 17];
            let (first, rest) = aad.split_at_mut(1);
            first.fill(SECURITY_CONTROL);
            rest.copy_from_slice(&k);
            aad
        });
        Decryptor {
            cipher: SmartyGcm::new(&GenericArray::from(keys.encryption_key)),
            aad,
            max_len,
            out: Vec::with_capacity(max_len),
            last: None,
            noise_since_event: 0,
            stats: SmartyStats::default(),
        }
    }

    /// Forgets the stream, keeps the keyed cipher and the plaintext buffer.
    pub(super) fn reset(&mut self) {
        self.out.clear();
        self.last = None;
        self.noise_since_event = 0;
        self.stats = SmartyStats::default();
    }

    /// Counts skipped bytes, both in total and towards the next frame's
    /// [`Decrypted::noise_before`].
    pub(super) fn count_noise(&mut self, n: usize) {
        self.noise_since_event += n as u64;
        self.stats.noise_bytes += n as u64;
    }

    /// Looks at `data`, the unconsumed bytes starting at stream `offset`.
    pub(super) fn step(&mut self, data: &[u8], offset: u64) -> Step {
        match data.first() {
            None => return Step::NeedMore(1),
            Some(&TAG) => {}
            Some(_) => {
                let n = memchr::memchr(TAG, data).unwrap_or(data.len());
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
        self.count_error();
        Step::Emit(skip, Err(error))
    }

    /// An error is an event: noise before it is not charged to the next frame.
    pub(super) fn count_error(&mut self) {
        self.stats.errors += 1;
        self.noise_since_event = 0;
    }

    /// Attaches the plaintext buffer to a frame's metadata.
    pub(super) fn decrypted(&self, meta: FrameMeta) -> Decrypted<'_> {
        Decrypted {
            plaintext: &self.out,
            system_title: meta.system_title,
            frame_counter: meta.frame_counter,
            offset: meta.offset,
            noise_before: meta.noise_before,
            replay: meta.replay,
        }
    }

    /// The counters so far.
    pub(super) fn stats(&self) -> SmartyStats {
        self.stats
    }

    /// Whether frames are authenticated with an auth key (for `Debug`).
    pub(super) fn has_auth_key(&self) -> bool {
        self.aad.is_some()
    }

    /// The length cap, after clamping (for `Debug`).
    pub(super) fn max_len(&self) -> usize {
        self.max_len
    }
}
