//! The handshake-signature checks of the exporter's own rustls verifiers
//! (the web config's `RequestClientCert` / `RequireAnyClientCert`, the
//! HomeWizard device check). rustls asks every verifier for them, and
//! both verifiers answer as rustls' own do: with the provider's
//! algorithms. Only the certificate checks differ, so only those are
//! written out in each verifier.

/// Implements `verify_tls12_signature`, `verify_tls13_signature` and
/// `supported_verify_schemes` of a rustls verifier trait
/// (`ServerCertVerifier`, `ClientCertVerifier`) with the
/// `rustls::crypto::WebPkiSupportedAlgorithms` in the field `$algorithms`
/// of `self`. Write it inside the trait's `impl` block.
macro_rules! webpki_signature_checks {
    ($algorithms:ident) => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.$algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &rustls::pki_types::CertificateDer<'_>,
            dss: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.$algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.$algorithms.supported_schemes()
        }
    };
}

pub(crate) use webpki_signature_checks;
