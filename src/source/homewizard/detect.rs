//! Which API a device speaks, asked once at start when none is set:
//! `GET /api` over HTTPS without a token. A v2 device answers 401 (it
//! wants a token); a device without v2 answers 404, or has no HTTPS at all
//! (nothing listens on the port, or it does not speak TLS). A certificate
//! that is not HomeWizard's is an error, never a reason to fall back to
//! plain HTTP.

use super::client::{exchange, ExchangeError, Request};
use super::tls::{self, CaError};
use super::{v2, Api, HomewizardConfig};
use hyper::StatusCode;
use std::io::ErrorKind;
use thiserror::Error;

/// The API found, and why (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// [`Api::V1`] or [`Api::V2`].
    pub api: Api,
    /// What the device did that says so.
    pub why: String,
}

/// Why the API could not be told.
#[derive(Debug, Error)]
pub enum DetectError {
    /// The CA cannot be used.
    #[error("{0}")]
    Ca(#[from] CaError),
    /// No answer, or the certificate was refused.
    #[error("asking GET /api over HTTPS: {0}")]
    Exchange(#[from] ExchangeError),
    /// An answer that says neither v1 nor v2.
    #[error("GET /api over HTTPS answered {0}, neither 401 (API v2) nor 404 (API v1); set the API explicitly")]
    Status(StatusCode),
}

/// Asks the device of `cfg` which API it speaks.
pub async fn detect(cfg: &HomewizardConfig) -> Result<Detected, DetectError> {
    let target = cfg.v2_target()?;
    let port = cfg.port.unwrap_or(443);
    let found = |api, why: String| Ok(Detected { api, why });
    match exchange(&target, Request::get(v2::INFO_PATH, true, None)).await {
        Ok(r) if r.status == StatusCode::UNAUTHORIZED => {
            found(Api::V2, "it answered 401 on GET /api over HTTPS".to_owned())
        }
        Ok(r) if r.status == StatusCode::NOT_FOUND => {
            found(Api::V1, "it answered 404 on GET /api over HTTPS".to_owned())
        }
        Ok(r) => Err(DetectError::Status(r.status)),
        Err(ExchangeError::Connect(e)) if e.kind() == ErrorKind::ConnectionRefused => {
            found(Api::V1, format!("nothing listens for HTTPS on port {port}"))
        }
        Err(ExchangeError::Tls(e)) if !tls::is_certificate_error(&e) => {
            found(Api::V1, format!("port {port} does not speak TLS ({e})"))
        }
        Err(e) => Err(e.into()),
    }
}
