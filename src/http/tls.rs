//! The `tls_server_config` section of the web configuration file: its
//! fields as exporter-toolkit names them, and the rustls acceptor built
//! from them (ring provider, TLS 1.2 and 1.3, optional client certificates).

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, SupportedProtocolVersion};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

/// `tls_server_config` as written; file names are relative to the web
/// configuration file's folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsServerConfig {
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

/// The versions the file may name; TLS 1.0 and 1.1 are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
enum TlsVersion {
    TLS12,
    TLS13,
}

impl TlsServerConfig {
    /// Loads the certificates and keys (relative to `dir`) and builds the
    /// acceptor; the error names the key of the file that is wrong.
    pub(super) fn acceptor(&self, dir: &Path) -> Result<TlsAcceptor, String> {
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

        let versions = self.versions()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| format!("tls_server_config: {e}"))?;
        let builder = match self.client_auth_type {
            ClientAuth::NoClientCert => builder.with_no_client_auth(),
            verify => {
                let ca = self.client_ca_file.as_ref().ok_or_else(|| {
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

/// Verifies client certificates against the CAs of `ca`; with
/// `VerifyClientCertIfGiven`, clients without one are let through too.
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
