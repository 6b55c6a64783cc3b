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
//!
//! The module is split by job: [`keys`](SmartyKeys) parses and redacts the
//! keys, `header` reads the unencrypted DLMS header, `decrypt` authenticates
//! and decrypts one frame, and `deframer` buffers a byte stream into frames.

mod decrypt;
mod deframer;
mod error;
mod header;
mod keys;

pub use decrypt::{Decrypted, SmartyStats};
pub use deframer::{SmartyDeframer, DEFAULT_MAX_FRAME_LEN};
pub use error::SmartyError;
pub use keys::{KeyError, KeyKind, SmartyKeys};
