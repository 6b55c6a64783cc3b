//! `--web.config.file`: TLS and basic auth in the Prometheus
//! exporter-toolkit format, so a scrape job's `tls_config` and `basic_auth`
//! work unchanged.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt          # relative paths: to this file's folder
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # optional, 5 policies
//!   client_ca_file: ca.crt         # with a verifying client_auth_type
//!   min_version: TLS12             # optional: TLS12 (default) or TLS13
//!   max_version: TLS13             # optional
//!   cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]   # optional, TLS 1.2
//!   curve_preferences: [X25519]    # optional
//! http_server_config:
//!   headers:                       # optional, the security headers only
//!     X-Frame-Options: deny
//! basic_auth_users:
//!   prometheus: $2y$10$...         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! Reading goes in two stages: [`WebConfig::check_yaml`] checks the text
//! alone (unknown keys, TLS 1.0/1.1, a value that is not a bcrypt hash, a
//! header exporter-toolkit does not allow), with the line and column where
//! the YAML parser knows them; [`CheckedWebConfig::load`] then reads the
//! certificates and prepares basic auth. An empty file means plain HTTP
//! without auth, as in exporter-toolkit. The server re-reads the file when
//! it or a file it names changes ([`super::reload`]).
//!
//! This module reads and checks the file; [`super::tls`] builds its TLS
//! acceptor, [`super::basic_auth`] checks its users and [`super::headers`]
//! holds its headers.

use super::basic_auth::{BasicAuth, BcryptHash, Verdict};
use super::headers::ExtraHeaders;
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
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebConfigFile {
    tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    http_server_config: HttpServerConfig,
    #[serde(default, deserialize_with = "unique_keys")]
    basic_auth_users: BTreeMap<String, BcryptHash>,
}

/// `http_server_config`: extra response headers. `http2` is taken for
/// compatibility with exporter-toolkit files and changes nothing: the
/// exporter speaks HTTP/1.1 only.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpServerConfig {
    #[allow(dead_code)]
    http2: Option<bool>,
    #[serde(default, deserialize_with = "unique_keys")]
    headers: BTreeMap<String, String>,
}

/// The file's text, checked, with nothing loaded: no certificate read and
/// no bcrypt run ([`WebConfig::check_yaml`]). [`CheckedWebConfig::load`]
/// does the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedWebConfig {
    file: WebConfigFile,
    headers: ExtraHeaders,
    path: PathBuf,
}

impl CheckedWebConfig {
    /// True when the file has a non-empty `basic_auth_users`.
    pub fn has_basic_auth(&self) -> bool {
        !self.file.basic_auth_users.is_empty()
    }

    /// True when the file has `tls_server_config`.
    pub fn has_tls(&self) -> bool {
        self.file.tls_server_config.is_some()
    }

    /// `http_server_config.headers`, checked.
    pub fn headers(&self) -> &ExtraHeaders {
        &self.headers
    }

    /// Reads the certificates and keys the file names (relative to its
    /// folder) and prepares basic auth (one bcrypt hash of a dummy password).
    pub fn load(self) -> Result<WebConfig, WebConfigError> {
        let path = self.path;
        let invalid = |what: String| WebConfigError::Invalid {
            path: path.display().to_string(),
            what,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let (tls, files) = match &self.file.tls_server_config {
            None => (None, Vec::new()),
            Some(t) => (Some(t.acceptor(dir).map_err(invalid)?), t.files(dir)),
        };
        let auth = if self.file.basic_auth_users.is_empty() {
            None
        } else {
            let auth = BasicAuth::new(self.file.basic_auth_users)
                .map_err(|e| invalid(format!("bcrypt: {e}")))?;
            Some(Arc::new(auth))
        };
        Ok(WebConfig {
            path,
            tls,
            auth,
            headers: self.headers,
            files,
            watched: false,
        })
    }
}

/// A loaded web configuration: what the server needs to serve TLS, check
/// basic auth and add headers.
#[derive(Clone)]
pub struct WebConfig {
    path: PathBuf,
    tls: Option<TlsAcceptor>,
    auth: Option<Arc<BasicAuth>>,
    headers: ExtraHeaders,
    /// The certificate, key and client CA files read, besides the file itself.
    files: Vec<PathBuf>,
    /// Read from a file ([`WebConfig::load`]), so the server re-reads it
    /// when it changes.
    watched: bool,
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
            .field("headers", &self.headers.names().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for WebConfig {
    /// Same file, same TLS on/off, users and headers (certificates are not
    /// compared).
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
            && self.tls.is_some() == other.tls.is_some()
            && self.auth.as_ref().map(|a| a.users()) == other.auth.as_ref().map(|a| a.users())
            && self.headers == other.headers
    }
}

impl Eq for WebConfig {}

impl WebConfig {
    /// Reads and checks `path`, loading certificates and keys. The server
    /// re-reads a file loaded this way when it (or a file it names) changes.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut web = WebConfig::parse(&text, path)?;
        web.watched = true;
        Ok(web)
    }

    /// Checks `text` as if read from `path` (relative file names are taken
    /// from its folder) and loads what it names.
    pub fn parse(text: &str, path: &Path) -> Result<WebConfig, WebConfigError> {
        WebConfig::check_yaml(text, path)?.load()
    }

    /// Checks `text` as if read from `path` without touching a file or
    /// running bcrypt: YAML, known keys, bcrypt hash format, headers, TLS
    /// versions, suites, curves and client-certificate policy. `path` only
    /// names the file in errors. Pure, so it is what the fuzz target calls.
    pub fn check_yaml(text: &str, path: &Path) -> Result<CheckedWebConfig, WebConfigError> {
        let invalid = |what: String| WebConfigError::Invalid {
            path: path.display().to_string(),
            what,
        };
        let file = read_yaml(text, path)?;
        let headers = ExtraHeaders::check(&file.http_server_config.headers).map_err(invalid)?;
        if let Some(t) = &file.tls_server_config {
            t.check().map_err(invalid)?;
        }
        Ok(CheckedWebConfig {
            file,
            headers,
            path: path.to_owned(),
        })
    }

    /// The file this configuration was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file and the certificate, key and CA files it names: what a
    /// change of means re-reading it. Empty when it was not read from a
    /// file ([`WebConfig::parse`]).
    pub fn watched_files(&self) -> Vec<PathBuf> {
        if !self.watched {
            return Vec::new();
        }
        let mut files = vec![self.path.clone()];
        files.extend(self.files.iter().cloned());
        files
    }

    /// The TLS acceptor, when the file has `tls_server_config`.
    pub fn tls(&self) -> Option<&TlsAcceptor> {
        self.tls.as_ref()
    }

    /// True when the file has `basic_auth_users`.
    pub fn has_basic_auth(&self) -> bool {
        self.auth.is_some()
    }

    /// The headers of `http_server_config`, for every response.
    pub fn headers(&self) -> &ExtraHeaders {
        &self.headers
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
    let file = serde_yaml_ng::from_str::<WebConfigFile>(text).map_err(|source| {
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
    })?;
    Ok(file)
}

/// A mapping in which a key written twice (a user in `basic_auth_users`,
/// a header) is an error, as exporter-toolkit's strict reading makes it: a
/// plain map would keep one of the two silently. The structs' own fields
/// are checked by serde; these are the file's only free-form mappings.
fn unique_keys<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Unique<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Unique<V> {
        type Value = BTreeMap<String, V>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate entry with key {key:?}"
                    )));
                }
                let value = map.next_value()?;
                out.insert(key, value);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique(std::marker::PhantomData))
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

    /// The typed reading refuses a key written twice by itself: the file
    /// is parsed once. Keys that only look alike are different keys, and
    /// an empty mapping is still no mapping.
    #[test]
    fn keys_that_only_look_alike_are_not_duplicates() {
        let path = Path::new("/nonexistent/web.yml");
        let h = "$2b$10$6uHO1B4VXgrh.S62tUAByeaXSY5rO6rP1GLBP3Ueb4TLDL.9gIAvq";
        let c = WebConfig::check_yaml(&format!("basic_auth_users:\n  a: {h}\n  A: {h}\n"), path)
            .expect("two users");
        assert!(c.has_basic_auth());
        for text in [
            "basic_auth_users:\n",
            "basic_auth_users: {}\n",
            "http_server_config:\n  headers:\n",
        ] {
            let c = WebConfig::check_yaml(text, path).expect(text);
            assert!(!c.has_basic_auth() && c.headers().is_empty(), "{text}");
        }
        let e = WebConfig::check_yaml("basic_auth_users:\n  - a\n", path).expect_err("a list");
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    /// Found by the webconfig fuzz target: a header written twice was
    /// taken, one of the two values silently; a user written twice alike.
    #[test]
    fn a_key_written_twice_is_an_error() {
        let path = Path::new("/nonexistent/web.yml");
        let text = "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=1\n    Strict-Transport-Security: max-age=2\n";
        let e = WebConfig::check_yaml(text, path).expect_err("a header twice");
        assert!(e.to_string().contains("duplicate entry"), "{e}");
        let h = "$2b$10$6uHO1B4VXgrh.S62tUAByeaXSY5rO6rP1GLBP3Ueb4TLDL.9gIAvq";
        let text = format!("basic_auth_users:\n  a: {h}\n  a: {h}\n");
        let e = WebConfig::check_yaml(&text, path).expect_err("a user twice");
        assert!(e.to_string().contains("duplicate entry"), "{e}");
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
        let e = parse("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireSomeCert\n")
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

    fn check(text: &str) -> Result<CheckedWebConfig, String> {
        WebConfig::check_yaml(text, Path::new("/nonexistent/web.yml")).map_err(|e| e.to_string())
    }

    #[test]
    fn the_text_alone_is_checked_without_files_or_bcrypt() {
        // Cost 31 would take hours to hash: checking does not hash.
        let c = check("basic_auth_users:\n  a: $2y$31$4yhTwbZ3mCnmRTvfs1GfXuAkYmthSk8ydbs0kYXx9E/gqRJ3lkzBG\n")
            .expect("a valid hash");
        assert!(c.has_basic_auth() && !c.has_tls());
        let tls = "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n";
        assert!(check(tls).expect("not read").has_tls());
        let c =
            check("http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: deny\n")
                .expect("headers");
        assert_eq!(c.headers().names().count(), 1);
        for (extra, needle) in [
            (
                "  client_auth_type: RequireAndVerifyClientCert\n",
                "needs client_ca_file",
            ),
            ("  client_ca_file: ca.crt\n", "NoClientCert"),
            (
                "  cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]\n",
                "TLS_RSA_WITH_AES_128_CBC_SHA",
            ),
            (
                "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n",
                "no TLS 1.2 suite",
            ),
            ("  curve_preferences: [CurveP521]\n", "CurveP521"),
            ("  min_version: TLS13\n  max_version: TLS12\n", "above"),
        ] {
            let e = check(&format!("{tls}{extra}")).expect_err(extra);
            assert!(
                e.contains(needle) && e.contains("/nonexistent/web.yml"),
                "{e}"
            );
        }
        let e = check("http_server_config:\n  headers:\n    Server: x\n").expect_err("refused");
        assert!(e.contains("can not be configured"), "{e}");
        let ok = "  client_auth_type: RequireAnyClientCert\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: false\n";
        assert!(check(&format!("{tls}{ok}")).is_ok());
        let e = check("basic_auth_users:\n  a: b\n").expect_err("not a hash");
        assert!(e.contains("line 2"), "{e}");
    }
}
