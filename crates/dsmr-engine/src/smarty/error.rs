//! Why bytes that began like a Smarty frame gave no telegram.

use core::fmt;

#[cfg(doc)]
use super::SmartyDeframer;

/// Why bytes that began like a frame yielded no telegram. `offset` is the
/// stream offset of the frame's `0xDB` (bytes since the deframer started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmartyError {
    /// The byte after `0xDB` is not 8: usually a `0xDB` in noise, not a
    /// frame.
    SystemTitleLength {
        /// Stream offset of the `0xDB`.
        offset: u64,
        /// The byte found where the 8 should be.
        len: u8,
    },
    /// The length field is not `n`, `0x81 n` or `0x82 hi lo`.
    LengthEncoding {
        /// Stream offset of the `0xDB`.
        offset: u64,
        /// The first byte of the length field.
        byte: u8,
    },
    /// The length field exceeds the deframer's cap.
    TooLong {
        /// Stream offset of the `0xDB`.
        offset: u64,
        /// The length the field declares.
        len: usize,
        /// The cap in force, to tell a damaged field from a cap set too low.
        max: usize,
    },
    /// The length field cannot even hold the security byte, counter and tag.
    TooShort {
        /// Stream offset of the `0xDB`.
        offset: u64,
        /// The length the field declares (below 17).
        len: usize,
    },
    /// A security control byte other than `0x30`.
    SecurityControl {
        /// Stream offset of the `0xDB`.
        offset: u64,
        /// The byte found: another suite or mode this deframer cannot read.
        byte: u8,
    },
    /// Wrong encryption key, an auth key where none was used (or the reverse),
    /// or a corrupted frame. No plaintext is released.
    Authentication {
        /// Stream offset of the `0xDB`.
        offset: u64,
        /// The (unauthenticated) counter from the header: consecutive
        /// failures with rising counters point at the keys, not the line.
        frame_counter: u32,
    },
    /// [`SmartyDeframer::finish`] found a frame that never completed.
    Incomplete {
        /// Stream offset of the `0xDB`.
        offset: u64,
        /// Bytes of the frame that had arrived.
        bytes: usize,
    },
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
