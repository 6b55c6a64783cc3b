//! The `tls_server_config` section of the web configuration file: its
//! fields as exporter-toolkit names them, checked without touching a file
//! ([`TlsServerConfig::check`]), and the rustls acceptor built from them
//! (ring provider, TLS 1.2 and 1.3, the five client-certificate policies).
//!
//! Where Go's crypto/tls and rustls differ, the file means what it means
//! for a Go exporter: `cipher_suites` restricts TLS 1.2 only (TLS 1.3
//! suites are always on, as in Go), and `prefer_server_cipher_suites`
//! (true by default) makes the server's order win. Suites and curves that
//! rustls does not implement (CBC, RSA key exchange, P-521) are refused by
//! name rather than silently dropped.

use super::client_auth::{client_verifier, ClientAuth};
use rustls::crypto::{ring, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// `tls_server_config` as written; file names are relative to the web
/// configuration file's folder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsServerConfig {
    cert_file: PathBuf,
    key_file: PathBuf,
    #[serde(default)]
    client_auth_type: ClientAuth,
    client_ca_file: Option<PathBuf>,
    min_version: Option<TlsVersion>,
    max_version: Option<TlsVersion>,
    #[serde(default)]
    cipher_suites: Vec<String>,
    #[serde(default)]
    curve_preferences: Vec<String>,
    prefer_server_cipher_suites: Option<bool>,
}

/// The versions the file may name; TLS 1.0 and 1.1 are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
enum TlsVersion {
    TLS12,
    TLS13,
}

/// Go's curve names and the ring groups they are.
const CURVES: &[(&str, &dyn SupportedKxGroup)] = &[
    ("X25519", ring::kx_group::X25519),
    ("CurveP256", ring::kx_group::SECP256R1),
    ("CurveP384", ring::kx_group::SECP384R1),
];

impl TlsServerConfig {
    /// Everything that can be checked without reading a file: versions,
    /// suites, curves, and the client-certificate policy against the CA.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.cert_file.as_os_str().is_empty() {
            return Err("tls_server_config: cert_file is empty".to_owned());
        }
        if self.key_file.as_os_str().is_empty() {
            return Err("tls_server_config: key_file is empty".to_owned());
        }
        self.provider()?;
        self.versions()?;
        self.client_auth_type
            .check(self.client_ca_file.is_some())
            .map_err(|e| format!("tls_server_config: {e}"))
    }

    /// Loads the certificates and keys (relative to `dir`) and builds the
    /// acceptor; the error names the key of the file that is wrong.
    pub(super) fn acceptor(&self, dir: &Path) -> Result<TlsAcceptor, String> {
        self.check()?;
        let at = |p: &Path| dir.join(p);
        let cert_path = at(&self.cert_file);
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("tls_server_config.cert_file {}: {e}", cert_path.display()))?;
        if certs.is_empty() {
            return Err(format!(
                "tls_server_config.cert_file {}: no certificate in it",
                cert_path.display()
            ));
        }
        let key_path = at(&self.key_file);
        let key = PrivateKeyDer::from_pem_file(&key_path)
            .map_err(|e| format!("tls_server_config.key_file {}: {e}", key_path.display()))?;

        let provider = Arc::new(self.provider()?);
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&self.versions()?)
            .map_err(|e| format!("tls_server_config: {e}"))?;
        let ca = self.client_ca_file.as_ref().map(|p| at(p));
        let verifier = client_verifier(self.client_auth_type, ca.as_deref(), provider)?;
        let builder = match verifier {
            None => builder.with_no_client_auth(),
            Some(v) => builder.with_client_cert_verifier(v),
        };
        let mut cfg = builder
            .with_single_cert(certs, key)
            .map_err(|e| format!("tls_server_config: certificate and key: {e}"))?;
        cfg.ignore_client_order = self.prefer_server_cipher_suites.unwrap_or(true);
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(cfg)))
    }

    /// The files this section reads, relative to `dir`.
    pub(super) fn files(&self, dir: &Path) -> Vec<PathBuf> {
        let mut files = vec![dir.join(&self.cert_file), dir.join(&self.key_file)];
        files.extend(self.client_ca_file.iter().map(|p| dir.join(p)));
        files
    }

    /// The ring provider with the suites and curves the file names (all
    /// of them when it names none).
    fn provider(&self) -> Result<CryptoProvider, String> {
        let mut provider = ring::default_provider();
        if !self.cipher_suites.is_empty() {
            provider.cipher_suites = self.suites(&provider.cipher_suites)?;
        }
        if !self.curve_preferences.is_empty() {
            provider.kx_groups = self
                .curve_preferences
                .iter()
                .map(|name| {
                    CURVES
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, g)| *g)
                        .ok_or_else(|| {
                            format!("tls_server_config.curve_preferences: {name:?} is not supported (X25519, CurveP256, CurveP384)")
                        })
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(provider)
    }

    /// The TLS 1.2 suites named, in the file's order, then every TLS 1.3
    /// suite (Go does not let them be configured either).
    fn suites(&self, all: &[SupportedCipherSuite]) -> Result<Vec<SupportedCipherSuite>, String> {
        // Go's names: rustls says `TLS13_AES_128_GCM_SHA256` where Go (and
        // RFC 8446) say `TLS_AES_128_GCM_SHA256`.
        let name = |s: &SupportedCipherSuite| {
            let n = s.suite().as_str().unwrap_or_default();
            n.strip_prefix("TLS13_")
                .map_or_else(|| n.to_owned(), |rest| format!("TLS_{rest}"))
        };
        let mut chosen = Vec::new();
        for wanted in &self.cipher_suites {
            let Some(s) = all.iter().find(|s| name(s) == *wanted) else {
                return Err(format!(
                    "tls_server_config.cipher_suites: {wanted:?} is unknown or not supported (only ECDHE with AES-GCM or ChaCha20-Poly1305)"
                ));
            };
            if matches!(s, SupportedCipherSuite::Tls12(_)) && !chosen.contains(s) {
                chosen.push(*s);
            }
        }
        let wants_tls12 = self.min_version.unwrap_or(TlsVersion::TLS12) == TlsVersion::TLS12;
        if chosen.is_empty() && wants_tls12 {
            return Err(
                "tls_server_config.cipher_suites: no TLS 1.2 suite in the list (TLS 1.3 suites cannot be chosen); add one or set min_version: TLS13"
                    .to_owned(),
            );
        }
        chosen.extend(
            all.iter()
                .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_))),
        );
        Ok(chosen)
    }

    /// The rustls versions between `min_version` (TLS 1.2 by default) and
    /// `max_version` (TLS 1.3 by default).
    fn versions(&self) -> Result<Vec<&'static SupportedProtocolVersion>, String> {
        let min = self.min_version.unwrap_or(TlsVersion::TLS12);
        let max = self.max_version.unwrap_or(TlsVersion::TLS13);
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
        Ok(versions)
    }
}
