//! TLS stand-ins: a CA made here with rcgen that signs leaf certificates,
//! and rustls client and server configurations on the ring provider (the
//! exporter's): what tests/operator_http.rs, tests/webconfig.rs and
//! tests/homewizard_v2.rs share.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub cert: String,
    pub key: String,
}

impl Leaf {
    /// A self-signed certificate for `names` (rcgen's simple one).
    pub fn self_signed(names: &[&str]) -> Leaf {
        let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let ck = rcgen::generate_simple_self_signed(names).expect("rcgen");
        Leaf {
            cert: ck.cert.pem(),
            key: ck.signing_key.serialize_pem(),
        }
    }
}

/// A CA of its own (a self-signed, unconstrained CA certificate) for the
/// certificates of one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// Its certificate, PEM: what a client or server trusts.
    pub pem: String,
}

impl TestCa {
    /// A CA whose subject is `CN=common_name`.
    pub fn new(common_name: &str) -> TestCa {
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, common_name);
        let issuer =
            CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA");
        let pem = issuer.pem();
        TestCa { issuer, pem }
    }

    /// A certificate as `params` describe it, on a new key, signed by this CA.
    pub fn sign(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// The exporter's crypto provider (ring), for the test's side too.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in `pem`.
pub fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate PEM")
}

/// A TLS client that trusts the certificates in `ca_pem` only, and shows
/// `client` (a certificate and its key) when the server asks for one.
pub fn client_config(ca_pem: &str, client: Option<&Leaf>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(ca_pem) {
        roots.add(c).expect("add CA");
    }
    let b = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let cfg = match client {
        None => b.with_no_client_auth(),
        Some(leaf) => {
            let key = PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).expect("client key");
            b.with_client_auth_cert(certs(&leaf.cert), key)
                .expect("client auth")
        }
    };
    Arc::new(cfg)
}

/// A TLS server that presents `leaf` and asks for no client certificate.
pub fn server_config(leaf: &Leaf) -> Arc<rustls::ServerConfig> {
    let key = PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).expect("server key");
    let cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs(&leaf.cert), key)
        .expect("server config");
    Arc::new(cfg)
}
