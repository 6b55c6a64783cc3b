//! Why a source could not start.

use std::io;
use std::path::PathBuf;
use thiserror::Error;

/// Why a source could not start. Only a replay file, and the token of a
/// HomeWizard set to API v2, can fail up front: ports and hosts that are
/// not there yet are retried, not refused.
#[derive(Debug, Error)]
pub enum SourceError {
    /// The replay file is missing or unreadable.
    #[error("cannot read replay file {path}: {source}")]
    ReplayRead { path: PathBuf, source: io::Error },
    /// The replay file holds nothing to replay.
    #[error(
        "replay file {path} holds no complete telegram in its first {} MiB",
        super::replay::SCAN_LIMIT / (1024 * 1024)
    )]
    ReplayEmpty { path: PathBuf },
    /// An encrypted replay file whose frames none decrypt with the keys.
    #[error("replay file {path}: no Smarty frame decrypts with the configured keys ({failed} failed; first: {first})")]
    ReplayUndecryptable {
        path: PathBuf,
        failed: usize,
        first: String,
    },
    /// A HomeWizard meter set to API v2 without a usable token.
    #[error("homewizard {host}: API v2 needs a token, but {reason}; pair first: dsmr-exporter homewizard pair {host}")]
    HomewizardToken {
        host: String,
        reason: super::homewizard::TokenError,
    },
}
