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
//! Basic auth is checked on every route. bcrypt is slow by design (tens of
//! milliseconds at cost 10), so checks run on the blocking pool and a
//! success is remembered for [`CACHE_TTL`] under the SHA-256 of the
//! credentials (never the password itself): a scrape every 15 s costs
//! one bcrypt a minute. Unknown users are checked against a dummy hash of
//! the same cost so they take as long as wrong passwords, and the two
//! outcomes are combined without a branch.

use hyper::header::HeaderValue;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, SupportedProtocolVersion};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_rustls::TlsAcceptor;

/// How long a successful basic-auth check is remembered.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// At most this many remembered successes (the cache is emptied when full).
const CACHE_MAX: usize = 64;

/// Why a web configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The YAML's own message says where: "... at line 3 column 5".
    #[error("{path}: {source}")]
    Syntax {
        path: String,
        source: serde_yaml_ng::Error,
    },
    #[error("{path}: {what}")]
    Invalid { path: String, what: String },
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, BcryptHash>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: PathBuf,
    key_file: PathBuf,
    #[serde(default)]
    client_auth_type: ClientAuth,
    client_ca_file: Option<PathBuf>,
    min_version: Option<TlsVersion>,
    max_version: Option<TlsVersion>,
}

/// The exporter-toolkit names; the two that accept unverified client
/// certificates have no rustls equivalent and are refused.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
enum ClientAuth {
    #[default]
    NoClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
enum TlsVersion {
    TLS12,
    TLS13,
}

/// A string that parses as a bcrypt hash (checked while reading, so a bad
/// one is refused with its line).
#[derive(Debug, Clone, PartialEq, Eq)]
struct BcryptHash(String);

impl<'de> Deserialize<'de> for BcryptHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<bcrypt::HashParts>()
            .map_err(|_| serde::de::Error::custom("not a bcrypt hash ($2y$...)"))?;
        Ok(BcryptHash(s))
    }
}

/// A loaded web configuration: what the server needs to serve TLS and
/// check basic auth.
#[derive(Clone)]
pub struct WebConfig {
    path: PathBuf,
    tls: Option<TlsAcceptor>,
    auth: Option<Arc<Auth>>,
}

struct Auth {
    users: BTreeMap<String, String>,
    /// Same cost as the first user's hash: unknown users take as long.
    dummy: String,
    ok_cache: Mutex<HashMap<[u8; 32], Instant>>,
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
                    .map(|a| a.users.keys().collect::<Vec<_>>()),
            )
            .finish()
    }
}

impl PartialEq for WebConfig {
    /// Same file, same TLS on/off and users (certificates are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
            && self.tls.is_some() == other.tls.is_some()
            && self.auth.as_ref().map(|a| &a.users) == other.auth.as_ref().map(|a| &a.users)
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
        let name = path.display().to_string();
        let invalid = |what: String| WebConfigError::Invalid {
            path: name.clone(),
            what,
        };
        let file: File = if text.trim().is_empty() {
            File::default()
        } else {
            serde_yaml_ng::from_str::<File>(text).map_err(|source| {
                let msg = source.to_string();
                // serde_yaml places errors about top-level keys at the
                // document's start and then prints no position: find the key.
                match unknown_key_line(text, &msg).filter(|_| !msg.contains(" at line ")) {
                    Some(line) => invalid(format!("{msg} at line {line}")),
                    None => WebConfigError::Syntax {
                        path: name.clone(),
                        source,
                    },
                }
            })?
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let tls = match file.tls_server_config {
            None => None,
            Some(t) => Some(tls_acceptor(&t, dir).map_err(invalid)?),
        };
        let auth = if file.basic_auth_users.is_empty() {
            None
        } else {
            let users: BTreeMap<String, String> = file
                .basic_auth_users
                .into_iter()
                .map(|(u, h)| (u, h.0))
                .collect();
            let cost = users
                .values()
                .next()
                .and_then(|h| h.parse::<bcrypt::HashParts>().ok())
                .map_or(bcrypt::DEFAULT_COST, |p| p.get_cost());
            let dummy = bcrypt::hash("dsmr-exporter: no such user", cost)
                .map_err(|e| invalid(format!("bcrypt: {e}")))?;
            Some(Arc::new(Auth {
                users,
                dummy,
                ok_cache: Mutex::new(HashMap::new()),
            }))
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
    /// Always true without `basic_auth_users`. Runs bcrypt on the blocking
    /// pool unless the same credentials succeeded within [`CACHE_TTL`].
    pub async fn authorize(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some(auth) = &self.auth else {
            return true;
        };
        let Some((user, password)) = authorization.and_then(basic_credentials) else {
            return false;
        };
        let key = cache_key(&user, &password);
        {
            let cache = auth.ok_cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.get(&key).is_some_and(|t| t.elapsed() < CACHE_TTL) {
                return true;
            }
        }
        let auth2 = auth.clone();
        let allowed = tokio::task::spawn_blocking(move || {
            let (known, hash) = match auth2.users.get(&user) {
                Some(h) => (1u8, h.as_str()),
                None => (0u8, auth2.dummy.as_str()),
            };
            // bcrypt compares its digests in constant time; combine with
            // "the user exists" without a branch, as exporter-toolkit does.
            let matched = u8::from(bcrypt::verify(password.as_bytes(), hash).unwrap_or(false));
            known & matched == 1
        })
        .await
        .unwrap_or(false);
        if allowed {
            let mut cache = auth.ok_cache.lock().unwrap_or_else(|e| e.into_inner());
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
            cache.insert(key, Instant::now());
        }
        allowed
    }
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

/// `Basic base64(user:password)` to its parts.
fn basic_credentials(v: &HeaderValue) -> Option<(String, String)> {
    let v = v.to_str().ok()?;
    let (scheme, b64) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64_decode(b64.trim())?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c)? << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    Some(out)
}

fn cache_key(user: &str, password: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(user.as_bytes());
    ctx.update(b"\0");
    ctx.update(password.as_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

fn tls_acceptor(t: &TlsFile, dir: &Path) -> Result<TlsAcceptor, String> {
    let at = |p: &Path| dir.join(p);
    let cert_path = at(&t.cert_file);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls_server_config.cert_file {}: {e}", cert_path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "tls_server_config.cert_file {}: no certificate in it",
            cert_path.display()
        ));
    }
    let key_path = at(&t.key_file);
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| format!("tls_server_config.key_file {}: {e}", key_path.display()))?;

    let min = t.min_version.unwrap_or(TlsVersion::TLS12);
    let max = t.max_version.unwrap_or(TlsVersion::TLS13);
    if min > max {
        return Err("tls_server_config: min_version is above max_version".to_owned());
    }
    let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
    if min <= TlsVersion::TLS12 && max >= TlsVersion::TLS12 {
        versions.push(&rustls::version::TLS12);
    }
    if max >= TlsVersion::TLS13 {
        versions.push(&rustls::version::TLS13);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let builder = match t.client_auth_type {
        ClientAuth::NoClientCert => builder.with_no_client_auth(),
        verify => {
            let ca = t.client_ca_file.as_ref().ok_or_else(|| {
                format!("tls_server_config: client_auth_type {verify:?} needs client_ca_file")
            })?;
            let verifier = client_verifier(&at(ca), provider, verify)?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls_server_config: certificate and key: {e}"))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

fn client_verifier(
    ca: &Path,
    provider: Arc<CryptoProvider>,
    mode: ClientAuth,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, String> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls_server_config.client_ca_file {}: {e}", ca.display()))?;
    for c in certs {
        roots
            .add(c)
            .map_err(|e| format!("tls_server_config.client_ca_file {}: {e}", ca.display()))?;
    }
    let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    if mode == ClientAuth::VerifyClientCertIfGiven {
        b = b.allow_unauthenticated();
    }
    b.build()
        .map_err(|e| format!("tls_server_config.client_ca_file {}: {e}", ca.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WebConfig, WebConfigError> {
        WebConfig::parse(text, Path::new("/nonexistent/web.yml"))
    }

    #[test]
    fn decodes_basic_credentials() {
        let h = HeaderValue::from_static("Basic cHJvbWV0aGV1czpzM2NyZXQ6eA==");
        assert_eq!(
            basic_credentials(&h),
            Some(("prometheus".to_owned(), "s3cret:x".to_owned()))
        );
        assert_eq!(base64_decode("YQ"), Some(b"a".to_vec()));
        assert_eq!(base64_decode("YWI="), Some(b"ab".to_vec()));
        assert_eq!(base64_decode("YWJj"), Some(b"abc".to_vec()));
        assert_eq!(base64_decode("Y"), None);
        assert_eq!(base64_decode("Y!=="), None);
        assert!(basic_credentials(&HeaderValue::from_static("Bearer abc")).is_none());
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
