//! `client_auth_type` of `tls_server_config`: the five client-certificate
//! policies of Go's crypto/tls, as exporter-toolkit names them, on rustls.
//!
//! | policy | asks for a certificate | requires one | verifies it against `client_ca_file` |
//! |---|---|---|---|
//! | `NoClientCert` (default) | no | no | no |
//! | `RequestClientCert` | yes | no | no |
//! | `RequireAnyClientCert` | yes | yes | no |
//! | `VerifyClientCertIfGiven` | yes | no | yes, when one is sent |
//! | `RequireAndVerifyClientCert` | yes | yes | yes |
//!
//! rustls verifies against a CA or not at all; the two policies that take
//! any certificate use [`AnyClientCert`], which still checks that the client
//! holds the certificate's key (the handshake signature), as Go does.
//! `client_ca_file` with `NoClientCert` is refused, as exporter-toolkit
//! refuses it ("client CA's have been configured without a Client Auth
//! Policy"); the two verifying policies need it.

use crate::tls_sig::webpki_signature_checks;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DistinguishedName, RootCertStore};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

/// The policy, named as in exporter-toolkit (`RequireClientCert` is its
/// old name for `RequireAnyClientCert`, still accepted there).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(super) enum ClientAuth {
    #[default]
    NoClientCert,
    RequestClientCert,
    #[serde(alias = "RequireClientCert")]
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    /// The policy against whether `client_ca_file` is given.
    pub(super) fn check(self, has_ca: bool) -> Result<(), String> {
        match self {
            ClientAuth::NoClientCert if has_ca => Err(
                "client_ca_file is set but client_auth_type is NoClientCert: set a client_auth_type"
                    .to_owned(),
            ),
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
                if !has_ca =>
            {
                Err(format!("client_auth_type {self:?} needs client_ca_file"))
            }
            _ => Ok(()),
        }
    }
}

/// The verifier for `mode` (`None`: no client certificates), reading the
/// CAs of `ca` for the verifying policies.
pub(super) fn client_verifier(
    mode: ClientAuth,
    ca: Option<&Path>,
    provider: Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, String> {
    mode.check(ca.is_some())
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ClientCertVerifier> = match (mode, ca) {
        (ClientAuth::NoClientCert, _) => return Ok(None),
        (ClientAuth::RequestClientCert, _) => Arc::new(AnyClientCert {
            mandatory: false,
            algorithms,
        }),
        (ClientAuth::RequireAnyClientCert, _) => Arc::new(AnyClientCert {
            mandatory: true,
            algorithms,
        }),
        (verify, Some(ca)) => {
            let roots = read_roots(ca)?;
            let mut b = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if verify == ClientAuth::VerifyClientCertIfGiven {
                b = b.allow_unauthenticated();
            }
            b.build()
                .map_err(|e| format!("tls_server_config.client_ca_file {}: {e}", ca.display()))?
        }
        (_, None) => return Err("tls_server_config: client_ca_file missing".to_owned()),
    };
    Ok(Some(verifier))
}

fn read_roots(ca: &Path) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls_server_config.client_ca_file {}: {e}", ca.display()))?;
    for c in certs {
        roots
            .add(c)
            .map_err(|e| format!("tls_server_config.client_ca_file {}: {e}", ca.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "tls_server_config.client_ca_file {}: no certificate in it",
            ca.display()
        ));
    }
    Ok(roots)
}

/// Asks for a client certificate and takes any (Go's `RequestClientCert`
/// and `RequireAnyClientCert`); the handshake signature is still checked,
/// so the client holds the certificate's key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    webpki_signature_checks!(algorithms);
}
