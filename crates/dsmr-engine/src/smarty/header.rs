//! The unencrypted DLMS general-glo-ciphering header: the frame format's
//! constants, and where a frame ends (or where the next one may start).

use super::SmartyError;

/// The general-glo-ciphering tag that starts every frame.
pub(super) const TAG: u8 = 0xDB;
/// DLMS system titles are 8 bytes; anything else is not a Smarty frame.
pub(super) const TITLE_LEN: u8 = 8;
/// Security suite 0 with authentication and encryption; the only mode the
/// meters use.
pub(super) const SECURITY_CONTROL: u8 = 0x30;
/// Smarty truncates the GCM tag to 12 bytes.
pub(super) const GCM_TAG_LEN: usize = 12;
/// Security byte + frame counter + tag: the length of an empty frame.
pub(super) const MIN_LEN: usize = 1 + 4 + GCM_TAG_LEN;
/// `0x82 hi lo` is the longest length form.
pub(super) const MAX_LEN: usize = 0xFFFF;
/// Tag, title length, title and the longest length form.
pub(super) const MAX_HEADER: usize = 2 + TITLE_LEN as usize + 3;

/// The parts of a complete frame in the pending bytes.
pub(super) struct Header<'a> {
    /// Names the meter; the first 8 bytes of the nonce.
    pub(super) system_title: [u8; 8],
    /// The last 4 bytes of the nonce.
    pub(super) frame_counter: u32,
    /// As long as the plaintext telegram.
    pub(super) ciphertext: &'a [u8],
    /// The truncated GCM tag.
    pub(super) tag: [u8; GCM_TAG_LEN],
    /// Length of the whole frame.
    pub(super) total: usize,
}

/// Parses the header of the frame at the start of `data` (which begins with
/// `0xDB`), checking each field as soon as it is there so that a false start
/// fails early. `Ok(Err(n))`: the frame is incomplete, `n` bytes are needed
/// to go on.
pub(super) fn parse_header<'a>(
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
/// the first `0xDB 0x08` inside it, or a `0xDB` that is its last byte, where
/// the next frame may start if this one was cut off; else past it.
pub(super) fn resync_after_failure(data: &[u8], total: usize) -> usize {
    // A `0xDB` as the frame's last byte is a candidate whatever follows it:
    // the byte after the frame may not have arrived yet, and the result must
    // not depend on how the stream was split into reads (the `smarty` fuzz
    // target found it did). The header check that follows decides.
    (1..total)
        .find(|&p| {
            data.get(p) == Some(&TAG) && (p + 1 == total || data.get(p + 1) == Some(&TITLE_LEN))
        })
        .unwrap_or(total)
}
