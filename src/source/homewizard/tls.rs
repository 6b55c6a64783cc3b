//! Trusting a HomeWizard device over HTTPS (API v2).
//!
//! The devices' certificates are signed by HomeWizard's own "Appliance
//! Access CA" (shipped in the binary) and name the device only in the
//! subject CN, `appliance/<model>/<serial>`, which is no DNS name: the
//! usual host-name check cannot apply. [`ApplianceVerifier`] checks the
//! chain against the CA (signatures, validity dates, key usage) with
//! webpki, then compares the CN with the expected device: the configured
//! serial when there is one, else any device of the model.

use super::subject::common_name;
use crate::tls_sig::webpki_signature_checks;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use rustls::{CertificateError, OtherError};
use std::sync::Arc;
use thiserror::Error;

/// HomeWizard's "Appliance Access CA" (a self-signed X.509 v1 certificate,
/// valid to 2031), as published in homewizard/api-documentation
/// (static/homewizard-ca-cert.pem).
pub const HOMEWIZARD_CA_PEM: &[u8] = include_bytes!("appliance-access-ca.pem");

/// The CN prefix of a P1 meter's certificate. HomeWizard calls the model
/// `p1dongle` there, not `HWE-P1`.
pub const P1_CN_PREFIX: &str = "appliance/p1dongle/";

/// Which CA the device must chain to.
#[derive(Clone, PartialEq, Eq)]
pub enum Ca {
    /// HomeWizard's Appliance Access CA: the only one for real devices.
    HomeWizard,
    /// Another CA, PEM text: for tests with a stand-in device only.
    TestOnly(Vec<u8>),
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ca::HomeWizard => f.write_str("HomeWizard Appliance Access CA"),
            Ca::TestOnly(_) => f.write_str("test-only CA"),
        }
    }
}

/// What a device must present: a certificate from `ca` whose CN is
/// [`P1_CN_PREFIX`] followed by `serial`, or by anything without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// The CA.
    pub ca: Ca,
    /// The device's serial (12 lower-case hex digits), when known.
    pub serial: Option<String>,
}

impl Trust {
    /// HomeWizard's CA and any P1 meter.
    pub fn any_p1_meter() -> Trust {
        Trust {
            ca: Ca::HomeWizard,
            serial: None,
        }
    }

    /// The CN the device must present, `*` standing for any serial.
    pub fn expected_name(&self) -> String {
        format!("{P1_CN_PREFIX}{}", self.serial.as_deref().unwrap_or("*"))
    }

    /// Whether `cn` names the expected device (serials compared without
    /// regard to case).
    fn accepts(&self, cn: &str) -> bool {
        let Some(rest) = cn
            .get(..P1_CN_PREFIX.len())
            .filter(|p| *p == P1_CN_PREFIX)
            .and_then(|_| cn.get(P1_CN_PREFIX.len()..))
        else {
            return false;
        };
        match &self.serial {
            Some(serial) => rest.eq_ignore_ascii_case(serial),
            None => !rest.is_empty(),
        }
    }
}

/// Why a CA cannot be used.
#[derive(Debug, Error)]
pub enum CaError {
    /// No certificate in the PEM text.
    #[error("no PEM certificate in it: {0}")]
    Pem(String),
    /// The certificate cannot serve as a trust anchor.
    #[error("not a usable CA certificate: {0:?}")]
    Anchor(webpki::Error),
}

/// Why a device's certificate was refused; shown in the log as is.
#[derive(Debug, Error)]
pub enum CertRefused {
    /// Not signed by the CA, expired, not for a server, or malformed.
    #[error("the device's certificate is not one of HomeWizard's ({0:?})")]
    Chain(webpki::Error),
    /// Signed by the CA but for another device or model.
    #[error("the certificate names {found:?}, expected {expected:?}")]
    WrongDevice {
        /// The CN presented.
        found: String,
        /// The CN wanted.
        expected: String,
    },
    /// Signed by the CA, but with no readable CN.
    #[error("the certificate has no subject CN, expected {0:?}")]
    NoName(String),
}

/// Checks that `trust`'s CA can be used, so that a bad test CA file stops
/// the start instead of every poll.
pub fn check_ca(ca: &Ca) -> Result<(), CaError> {
    anchor(ca).map(|_| ())
}

/// The CA as a webpki trust anchor.
fn anchor(ca: &Ca) -> Result<TrustAnchor<'static>, CaError> {
    let pem = match ca {
        Ca::HomeWizard => HOMEWIZARD_CA_PEM,
        Ca::TestOnly(pem) => pem.as_slice(),
    };
    let der = CertificateDer::from_pem_slice(pem).map_err(|e| CaError::Pem(e.to_string()))?;
    webpki::anchor_from_trusted_cert(&der)
        .map(|a| a.to_owned())
        .map_err(CaError::Anchor)
}

/// A client configuration that trusts exactly the device `trust` names.
pub fn client_config(trust: &Trust) -> Result<Arc<rustls::ClientConfig>, CaError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = ApplianceVerifier {
        anchors: vec![anchor(&trust.ca)?],
        trust: trust.clone(),
        algorithms: provider.signature_verification_algorithms,
    };
    // The ring provider supports the default protocol versions; this
    // cannot fail, but a failure is reported rather than unwrapped.
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CaError::Pem(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The host as rustls wants it. The name only goes into SNI (and not at
/// all for an IP address); the verifier ignores it. A host that is neither
/// an address nor a valid DNS name is sent without SNI.
pub fn server_name(host: &str) -> ServerName<'static> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return ServerName::IpAddress(ip.into());
    }
    ServerName::try_from(bare.to_owned()).unwrap_or(ServerName::IpAddress(
        std::net::Ipv4Addr::UNSPECIFIED.into(),
    ))
}

/// The device's `CertRefused`, if a TLS error is one.
pub fn refusal(e: &std::io::Error) -> Option<&CertRefused> {
    let inner = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match inner {
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(other))) => {
            other.downcast_ref::<CertRefused>()
        }
        _ => None,
    }
}

/// Whether a TLS error says the peer's certificate was refused (by us or
/// by rustls), as opposed to a peer that does not speak TLS.
pub fn is_certificate_error(e: &std::io::Error) -> bool {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .is_some_and(|r| {
            matches!(
                r,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            )
        })
}

/// Checks the chain against the CA, then the CN against [`Trust`].
#[derive(Debug)]
struct ApplianceVerifier {
    anchors: Vec<TrustAnchor<'static>>,
    trust: Trust,
    algorithms: WebPkiSupportedAlgorithms,
}

fn refused(r: CertRefused) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(r))))
}

impl ServerCertVerifier for ApplianceVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| refused(CertRefused::Chain(e)))?;
        cert.verify_for_usage(
            self.algorithms.all,
            &self.anchors,
            intermediates,
            now,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|e| refused(CertRefused::Chain(e)))?;
        let expected = self.trust.expected_name();
        match common_name(cert.subject()) {
            Some(cn) if self.trust.accepts(cn) => Ok(ServerCertVerified::assertion()),
            Some(cn) => Err(refused(CertRefused::WrongDevice {
                found: cn.to_owned(),
                expected,
            })),
            None => Err(refused(CertRefused::NoName(expected))),
        }
    }

    webpki_signature_checks!(algorithms);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_ca_is_a_usable_v1_anchor() {
        check_ca(&Ca::HomeWizard).expect("HomeWizard's CA parses as a trust anchor");
        assert!(client_config(&Trust::any_p1_meter()).is_ok());
    }

    #[test]
    fn names_are_compared_with_the_model_prefix_and_the_serial() {
        let any = Trust::any_p1_meter();
        assert!(any.accepts("appliance/p1dongle/5c2fafaabbcc"));
        assert!(!any.accepts("appliance/p1dongle/"));
        assert!(!any.accepts("appliance/energysocket/5c2fafaabbcc"));
        assert!(!any.accepts("5c2fafaabbcc"));
        let one = Trust {
            serial: Some("5c2fafaabbcc".into()),
            ..any
        };
        assert!(one.accepts("appliance/p1dongle/5C2FAFAABBCC"));
        assert!(!one.accepts("appliance/p1dongle/5c2fafaabbcd"));
        assert_eq!(one.expected_name(), "appliance/p1dongle/5c2fafaabbcc");
    }

    #[test]
    fn a_bad_test_ca_is_refused() {
        assert!(check_ca(&Ca::TestOnly(b"not pem".to_vec())).is_err());
    }
}
