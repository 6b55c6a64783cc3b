//! The keys of one meter: parsed from hex, compared, and kept out of logs.

use core::fmt;

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

/// Stands in for a key in `Debug` output, here and in the deframer's.
pub(super) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Which key a [`KeyError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The GUEK, which decrypts.
    Encryption,
    /// The key in the GCM associated data, which only authenticates.
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
    Length {
        /// Which key, as a user may configure both.
        key: KeyKind,
        /// Characters counted after trimming (not bytes, so a pasted
        /// non-ASCII character counts once, as the user sees it).
        chars: usize,
    },
    /// A character that is not a hex digit.
    NotHex {
        /// Which key, as a user may configure both.
        key: KeyKind,
        /// 1-based, after trimming: where to look without printing the key.
        position: usize,
    },
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

/// 32 hex digits into 16 bytes; errors name the key and the position,
/// never the digits.
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
