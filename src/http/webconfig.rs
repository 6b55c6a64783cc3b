//! `--web.config.file`: TLS and basic auth in the Prometheus
//! exporter-toolkit format, so a scrape job's `tls_config` and `basic_auth`
//! work unchanged.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt          # relative paths: to this file's folder
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional
//!   client_ca_file: ca.crt         # with a verifying client_auth_type
//!   min_version: TLS12             # optional: TLS12 (default) or TLS13
//!   max_version: TLS13             # optional
//! basic_auth_users:
//!   prometheus: $2y$10$...         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! The file is read once at start; anything wrong refuses it with the
//! line and column (unknown keys, TLS 1.0/1.1, a value that is not a
//! bcrypt hash) or the file that could not be loaded. An empty file means
//! plain HTTP without auth, as in exporter-toolkit.
//!
//! This module reads and checks the file; [`super::tls`] builds its TLS
//! acceptor and [`super::basic_auth`] checks its users.

use super::basic_auth::{BasicAuth, BcryptHash, Verdict};
use super::tls::TlsServerConfig;
use hyper::header::HeaderValue;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// Why a web configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file as given.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The YAML's own message says where: "... at line 3 column 5".
    #[error("{path}: {source}")]
    Syntax {
        /// The file as given.
        path: String,
        /// The parser's error, with its line and column.
        source: serde_yaml_ng::Error,
    },
    /// The YAML is fine but a value is not (a certificate that does not
    /// load, an unknown top-level key, versions the wrong way round).
    #[error("{path}: {what}")]
    Invalid {
        /// The file as given.
        path: String,
        /// What is wrong, naming the key (and its line, when known).
        what: String,
    },
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebConfigFile {
    tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, BcryptHash>,
}

/// A loaded web configuration: what the server needs to serve TLS and
/// check basic auth.
#[derive(Clone)]
pub struct WebConfig {
    path: PathBuf,
    tls: Option<TlsAcceptor>,
    auth: Option<Arc<BasicAuth>>,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("path", &self.path)
            .field("tls", &self.tls.is_some())
            .field(
                "basic_auth_users",
                &self
                    .auth
                    .as_ref()
                    .map(|a| a.users().keys().collect::<Vec<_>>()),
            )
            .finish()
    }
}

impl PartialEq for WebConfig {
    /// Same file, same TLS on/off and users (certificates are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
            && self.tls.is_some() == other.tls.is_some()
            && self.auth.as_ref().map(|a| a.users()) == other.auth.as_ref().map(|a| a.users())
    }
}

impl Eq for WebConfig {}

impl WebConfig {
    /// Reads and checks `path`, loading certificates and keys.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        WebConfig::parse(&text, path)
    }

    /// Checks `text` as if read from `path` (relative file names are taken
    /// from its folder).
    pub fn parse(text: &str, path: &Path) -> Result<WebConfig, WebConfigError> {
        let invalid = |what: String| WebConfigError::Invalid {
            path: path.display().to_string(),
            what,
        };
        let file = read_yaml(text, path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let tls = match file.tls_server_config {
            None => None,
            Some(t) => Some(t.acceptor(dir).map_err(invalid)?),
        };
        let auth = if file.basic_auth_users.is_empty() {
            None
        } else {
            let auth = BasicAuth::new(file.basic_auth_users)
                .map_err(|e| invalid(format!("bcrypt: {e}")))?;
            Some(Arc::new(auth))
        };
        Ok(WebConfig {
            path: path.to_owned(),
            tls,
            auth,
        })
    }

    /// The TLS acceptor, when the file has `tls_server_config`.
    pub fn tls(&self) -> Option<&TlsAcceptor> {
        self.tls.as_ref()
    }

    /// True when the file has `basic_auth_users`.
    pub fn has_basic_auth(&self) -> bool {
        self.auth.is_some()
    }

    /// Whether a request with this `Authorization` header may proceed.
    /// Always true without `basic_auth_users`; otherwise see
    /// [`super::basic_auth`] (bcrypt on the blocking pool, successes
    /// remembered for [`super::basic_auth::CACHE_TTL`]).
    pub async fn authorize(&self, authorization: Option<&HeaderValue>) -> bool {
        self.check(authorization).await == Verdict::Allowed
    }

    /// [`WebConfig::authorize`], telling a refusal from a check not made
    /// because bcrypt was busy ([`Verdict::Busy`]).
    pub async fn check(&self, authorization: Option<&HeaderValue>) -> Verdict {
        match &self.auth {
            None => Verdict::Allowed,
            Some(auth) => auth.check(authorization).await,
        }
    }
}

/// The file's YAML, checked against the format; empty text is an empty file.
fn read_yaml(text: &str, path: &Path) -> Result<WebConfigFile, WebConfigError> {
    if text.trim().is_empty() {
        return Ok(WebConfigFile::default());
    }
    serde_yaml_ng::from_str::<WebConfigFile>(text).map_err(|source| {
        let name = path.display().to_string();
        let msg = source.to_string();
        // serde_yaml places errors about top-level keys at the
        // document's start and then prints no position: find the key.
        match unknown_key_line(text, &msg).filter(|_| !msg.contains(" at line ")) {
            Some(line) => WebConfigError::Invalid {
                path: name,
                what: format!("{msg} at line {line}"),
            },
            None => WebConfigError::Syntax { path: name, source },
        }
    })
}

/// The line (from 1) of the first top-level key named in an "unknown
/// field `key`" message.
fn unknown_key_line(text: &str, message: &str) -> Option<usize> {
    let key = message.split("unknown field `").nth(1)?.split('`').next()?;
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebConfig, WebConfigError> {
        WebConfig::parse(text, Path::new("/nonexistent/web.yml"))
    }

    #[tokio::test]
    async fn the_readme_example_works() {
        let c = parse("basic_auth_users:\n  prometheus: $2b$10$6uHO1B4VXgrh.S62tUAByeaXSY5rO6rP1GLBP3Ueb4TLDL.9gIAvq   # \"secret\"\n")
            .expect("the README's file");
        let ok = HeaderValue::from_static("Basic cHJvbWV0aGV1czpzZWNyZXQ="); // prometheus:secret
        assert!(c.authorize(Some(&ok)).await);
        let bad = HeaderValue::from_static("Basic cHJvbWV0aGV1czpTZWNyZXQ="); // prometheus:Secret
        assert!(!c.authorize(Some(&bad)).await);
        assert!(!c.authorize(None).await);
    }

    #[test]
    fn an_empty_file_is_plain_http_without_auth() {
        let c = parse("").expect("empty is fine");
        assert!(c.tls().is_none() && !c.has_basic_auth());
        let c = parse("# nothing\n").expect("a comment only");
        assert!(c.tls().is_none());
    }

    #[test]
    fn refusals_name_the_line() {
        let e = parse("basic_auth_users:\n  a: $2y$04$abc\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not a bcrypt hash") && e.contains("line 2"),
            "{e}"
        );
        let e = parse("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS11\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("TLS11") && e.contains("line 4"), "{e}");
        let e = parse("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 4"), "{e}");
        let e = parse("basic_auth_user:\n  a: b\n").unwrap_err().to_string();
        assert!(
            e.contains("unknown field `basic_auth_user`") && e.contains("line 1"),
            "{e}"
        );
        let e = parse("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/missing.crt"), "{e}");
    }
}
