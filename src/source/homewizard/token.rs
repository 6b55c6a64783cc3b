//! The API v2 bearer token: a secret, never shown in logs or `Debug`, and
//! where it comes from (a file written by `homewizard pair`, or a value the
//! CLI took from the environment).

use crate::small_file::{read_limited, KEY_FILE_LIMIT};
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// HomeWizard's tokens are 32 hex digits; a little room for change.
const MAX_TOKEN_LEN: usize = 256;

/// A bearer token. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Checks `text` (surrounding whitespace removed): 1 to 256 visible
    /// ASCII characters, so that it makes a valid header value.
    pub fn parse(text: &str) -> Result<Token, TokenError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(TokenError::Empty);
        }
        if t.len() > MAX_TOKEN_LEN || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::NotAToken);
        }
        Ok(Token(t.to_owned()))
    }

    /// The secret itself, for the `Authorization` header and the token file.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Why a token cannot be used.
#[derive(Debug, Error)]
pub enum TokenError {
    /// Nothing but whitespace.
    #[error("the token is empty")]
    Empty,
    /// Too long, or holds spaces or control characters.
    #[error("this is not a HomeWizard token (expected 32 hex digits on one line)")]
    NotAToken,
    /// The file cannot be read.
    #[error("cannot read token file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file holds no usable token.
    #[error("token file {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: Box<TokenError>,
    },
}

impl TokenError {
    /// Whether the token file does not exist (yet): not paired.
    pub fn is_missing_file(&self) -> bool {
        matches!(self, TokenError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Where the v2 token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A file holding the token (read at start and again after a refusal,
    /// so that pairing again while the exporter runs takes effect).
    File(PathBuf),
    /// A token given by value; `from` names where (for messages).
    Given {
        /// E.g. the environment variable's name.
        from: String,
        /// The token.
        token: Token,
    },
}

impl TokenSource {
    /// The token, read from its file if it has one.
    pub fn load(&self) -> Result<Token, TokenError> {
        match self {
            TokenSource::Given { token, .. } => Ok(token.clone()),
            TokenSource::File(path) => read_token_file(path),
        }
    }

    /// Where the token comes from, for messages (never the token).
    pub fn describe(&self) -> String {
        match self {
            TokenSource::File(p) => format!("token file {}", p.display()),
            TokenSource::Given { from, .. } => format!("token from {from}"),
        }
    }
}

/// Reads and checks a token file.
pub fn read_token_file(path: &Path) -> Result<Token, TokenError> {
    let text = read_limited(path, KEY_FILE_LIMIT).map_err(|source| TokenError::Read {
        path: path.to_owned(),
        source,
    })?;
    let text = String::from_utf8_lossy(&text);
    Token::parse(&text).map_err(|e| TokenError::Invalid {
        path: path.to_owned(),
        reason: Box::new(e),
    })
}

/// Whether others than the owner may read `path` (Unix modes), to warn.
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_and_never_shown() {
        let t = Token::parse(" 0123456789ABCDEF0123456789ABCDEF\n").expect("token");
        assert_eq!(t.expose(), "0123456789ABCDEF0123456789ABCDEF");
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert!(Token::parse("  \n").is_err());
        assert!(Token::parse("two words").is_err());
        assert!(Token::parse(&"A".repeat(300)).is_err());
        let given = TokenSource::Given {
            from: "X".into(),
            token: t,
        };
        assert!(!format!("{given:?}").contains("0123"));
    }
}
