//! What the price fetcher runs with, as `cli` builds it.

use std::fmt;
use std::path::PathBuf;

/// ENTSO-E's Transparency Platform REST API.
pub const DEFAULT_ENTSOE_URL: &str = "https://web-api.tp.entsoe.eu/api";

/// The fetcher's settings, shared by every feed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchConfig {
    /// Where fetched prices are kept across restarts; none keeps nothing.
    pub state_dir: Option<PathBuf>,
    /// The ENTSO-E API's URL (a stand-in server in tests).
    pub entsoe_url: String,
    /// The ENTSO-E security token, from a file or the environment.
    pub entsoe_token: Option<Token>,
}

impl fmt::Display for FetchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state_dir {
            Some(d) => write!(f, "price state dir: {}", d.display())?,
            None => write!(
                f,
                "price state dir: none (prices are fetched again after a restart)"
            )?,
        }
        write!(f, "\nentsoe url: {}", self.entsoe_url)?;
        let token = if self.entsoe_token.is_some() {
            "set"
        } else {
            "not set"
        };
        write!(f, "\nentsoe token: {token}")
    }
}

/// A secret: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}
