//! Smarty (Luxembourg) keys: where each comes from, and reading them into
//! [`SmartyKeys`] with errors that name the file or variable, never the
//! key's digits.

use crate::small_file::{read_to_string_limited, KEY_FILE_LIMIT};
use dsmr_engine::smarty::{KeyError, KeyKind, SmartyKeys};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Where a Smarty encryption key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A file holding the hex digits (trailing newline allowed).
    File(PathBuf),
    /// The hex digits themselves, from the named environment variable.
    Value(&'static str, String),
}

/// Which authentication key (GCM associated data) a Smarty meter uses.
#[derive(Debug, Clone)]
pub enum AuthKey {
    /// Smarty's published key.
    Default,
    /// Frames sealed with empty associated data.
    None,
    /// A file holding the hex digits.
    File(PathBuf),
}

impl AuthKey {
    /// A `--smarty-auth-key-file` or `auth_key_file` value: `none` (any
    /// case, spaces around allowed) or a file.
    pub fn from_setting(s: &str) -> AuthKey {
        if s.trim().eq_ignore_ascii_case("none") {
            AuthKey::None
        } else {
            AuthKey::File(PathBuf::from(s))
        }
    }
}

/// A Smarty key that cannot be used: which file or variable, and why.
/// Never the key's digits.
#[derive(Debug, Error)]
#[error("{what}: {reason}")]
pub struct KeyFileError {
    /// The file (`smarty key file PATH`) or the variable's name.
    pub what: String,
    /// Why it cannot be used.
    pub reason: String,
}

/// Reads the key files (relative paths against `base`) and parses the keys.
/// Errors name the file or variable, never the key's digits.
pub(crate) fn load_smarty_keys(
    key: &KeySource,
    auth: &AuthKey,
    base: &Path,
) -> Result<SmartyKeys, KeyFileError> {
    let read = |file: &Path| {
        let path = base.join(file);
        read_to_string_limited(&path, KEY_FILE_LIMIT)
            .map(|text| (path.display().to_string(), text))
            .map_err(|e| KeyFileError {
                what: format!("smarty key file {}", path.display()),
                reason: format!("cannot read it: {e}"),
            })
    };
    let (key_what, key_hex) = match key {
        KeySource::File(f) => {
            let (what, text) = read(f)?;
            (format!("smarty key file {what}"), text)
        }
        KeySource::Value(var, v) => ((*var).to_owned(), v.clone()),
    };
    let (auth_what, auth_hex) = match auth {
        AuthKey::Default | AuthKey::None => (String::new(), None),
        AuthKey::File(f) => {
            let (what, text) = read(f)?;
            (format!("smarty auth key file {what}"), Some(text))
        }
    };
    let mut keys =
        SmartyKeys::from_hex(&key_hex, auth_hex.as_deref()).map_err(|e| KeyFileError {
            what: match e {
                KeyError::Length {
                    key: KeyKind::Authentication,
                    ..
                }
                | KeyError::NotHex {
                    key: KeyKind::Authentication,
                    ..
                } => auth_what.clone(),
                _ => key_what.clone(),
            },
            reason: e.to_string(),
        })?;
    if matches!(auth, AuthKey::Default) {
        keys.auth_key = Some(SmartyKeys::SMARTY_AUTH_KEY);
    }
    Ok(keys)
}
